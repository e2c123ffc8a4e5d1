"""Material for MkDocs: admonitions, ``#only-light``/``#only-dark`` images, attribute lists."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

from generator.site.base import Engine


class Material(Engine):
    name = "material"
    partial_previews = True     # mkdocs' dirty build: pages whose Markdown did not change are kept

    def figure(self, base: str, alt: str, caption: str, narrow: bool = False) -> str:
        # One link per palette (GLightbox's two galleries), around the figure drawn for the
        # text column and, with ``narrow``, the one drawn for a phone's width: the stylesheet
        # shows one of them (docs/assets/journal.css), the lightbox the full-size one. Markdown
        # links and images, not raw HTML, so that the engine resolves every path.
        alt = html.escape(alt.replace("]", ")").replace("[", "("))
        out = ['<figure markdown="span">']
        for scheme in ("light", "dark"):
            images = f"![{alt}]({base}.{scheme}.png#only-{scheme}){{ .journal-wide loading=lazy }}"
            if narrow:
                images += f"![{alt}]({base}.narrow.{scheme}.png#only-{scheme}){{ .journal-narrow loading=lazy }}"
            out.append(f"  [{images}]({base}.{scheme}.png){{ .glightbox data-type=image "
                       f'data-gallery={scheme} data-title="{alt}" data-desc-position=bottom }}')
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

    def preview(self, root: Path, *, quick: bool) -> Path:
        # mkdocs' dirty build (its public `build(config, dirty=True)`, what `mkdocs serve
        # --dirty` does) rebuilds only the pages whose Markdown is newer than their HTML.
        # It is never strict: mkdocs warns that it is dirty. A full preview follows it
        from generator.site.mkdocs import build_site

        folder = self.preview_dir(root)
        quick = quick and (folder / "index.html").is_file()
        return build_site(root, site_dir=folder, strict=not quick, dirty=quick)


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.split("\n"))
