"""Material for MkDocs: admonitions, ``#only-light``/``#only-dark`` images, attribute lists."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

from generator.site.base import Engine


class Material(Engine):
    name = "material"

    def figure(self, base: str, alt: str, caption: str) -> str:
        alt = html.escape(alt.replace("]", ")").replace("[", "("))
        out = ['<figure markdown="span">',
               f"  ![{alt}]({base}.light.png#only-light){{ loading=lazy }}",
               f"  ![{alt}]({base}.dark.png#only-dark){{ loading=lazy }}"]
        if caption:
            out.append(f"  <figcaption>{html.escape(caption)}</figcaption>")
        out.append("</figure>")
        return "\n".join(out)

    def box(self, kind: str, title: str, body: str) -> str:
        return f'!!! {kind} "{title}"\n' + _indent(body)

    def details(self, kind: str, title: str, body: str) -> str:
        return f'??? {kind} "{title}"\n\n' + _indent(body) + "\n"

    def check(self, root: Path) -> None:
        from generator.site.mkdocs import load

        load(root)

    def site_path(self, root: Path) -> str:
        from generator.site.mkdocs import load

        return urlsplit(load(root).site_url or "/").path or "/"

    def build(self, root: Path, *, site_dir: Path | None = None, strict: bool = True) -> Path:
        from generator.site.mkdocs import build_site

        return build_site(root, site_dir=site_dir, strict=strict)


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.split("\n"))
