"""Published notebooks: a page for each notebook experiment with ``publish: true``.

The page shows the notebook as it ran for the post (its cells, their outputs, figures
light and dark, the parameters injected), from the executed copy stored with the result
(``notebook.ipynb``); the post links it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from generator import escape
from generator.plan.model import Plan
from generator.site import Engine
from generator.source.posts import Post
from generator.store import Result
from generator.store.results import NOTEBOOK_FILE


def published(post: Post, plan: Plan, results: dict[str, Result]):
    """(run, result) of each of the post's notebook experiments that asks to be published."""
    for run in plan.by_post.get(post.rel, {}).values():
        if run.publish and results.get(run.key) is not None:
            yield run, results[run.key]


def notebook_links(post: Post, plan: Plan, results: dict[str, Result], site: Engine) -> list[str]:
    lines = []
    for run, _ in published(post, plan, results):
        target = f"{site.notebooks_dir}/{page_rel(post.slug, run.name)}"
        link = os.path.relpath(target, site.posts_dir).replace(os.sep, "/")
        lines += ["", f"[The notebook behind these numbers: `{run.function}`]({link})"]
    return lines


def notebook_pages(posts: list[Post], plan: Plan, results: dict[str, Result],
                   site: Engine) -> list[tuple[str, str, dict[str, Path]]]:
    """(page, its Markdown, its images) for each published notebook: cells and outputs as they ran."""
    pages = []
    for post in posts:
        for run, res in published(post, plan, results):
            title = str(post.meta.get("title") or post.slug)
            link = os.path.relpath(site.post_link(post.slug), site.notebooks_dir).replace(os.sep, "/")
            text, files = render_page(res, run, title, link, site)
            pages.append((page_rel(post.slug, run.name), text, files))
    return pages


def page_rel(slug: str, name: str) -> str:
    """The published notebook's page, relative to the engine's notebooks folder."""
    return f"{slug}-{name}.md"


def _demoted(markdown: str) -> str:
    """A Markdown cell's headings one level down: the page's own title is the one ``#``."""
    out, fence = [], None
    for line in markdown.split("\n"):
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
        if m and (fence is None or m.group(1).startswith(fence)):
            fence = None if fence else m.group(1)
        elif fence is None and re.match(r"^#{1,5} ", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def render_page(result, run, post_title: str, post_link: str, site) -> tuple[str, dict[str, Path]]:
    """Markdown for the executed notebook stored with ``result``: its cells, their outputs
    (text as code blocks, figures light and dark), and the parameters injected."""
    stored = json.loads((result.path / NOTEBOOK_FILE).read_text(encoding="utf-8"))
    nbinfo = result.meta.get("notebook", {})
    slug = Path(post_link).stem
    files: dict[str, Path] = {}
    params = ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in nbinfo.get("params", {}).items())
    out = ["---", f"title: {json.dumps(f'The notebook behind {post_title}')}", "---", "",
           "# The notebook behind these numbers", "",
           f"`{run.function}`, as it ran for [{escape.inline(post_title)}]({post_link})"
           f" (experiment `{run.name}`, seed {run.seed}).", ""]
    if params:
        out += [site.box("info", "Parameters", f"Injected after the `parameters` cell: {params}"), ""]
    singles = set(nbinfo.get("single_image_figures", []))
    for cell in stored.get("cells", []):
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            out += [_demoted(source), ""]
            continue
        if cell.get("cell_type") != "code" or not source.strip():
            continue
        out += [escape.block(source, "python"), ""]
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            name = (o.get("metadata") or {}).get("journal_figure")
            if name and name in result.figures:
                base = f"assets/{slug}-{run.name}-{result.key[:8]}-{name}"
                for variant in ("light", "dark"):
                    files[f"{base}.{variant}.png"] = result.figure_path(name, variant)
                caption = f"{name} (one image, not re-drawn for the dark palette)" \
                    if name in singles else name
                out += [site.figure(base, name, caption), ""]
            elif kind == "stream":
                out += [escape.block("".join(o.get("text", "")).rstrip("\n")), ""]
            elif kind == "execute_result" and "text/plain" in o.get("data", {}):
                text = o["data"]["text/plain"]
                out += [escape.block("".join(text) if isinstance(text, list) else text), ""]
    return "\n".join(out).rstrip() + "\n", files
