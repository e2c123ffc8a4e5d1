"""Reading posts: YAML front matter (safe loading, with line numbers) and a Markdown body."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import InputError, Problem

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same marks, faster
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


@dataclass(frozen=True)
class Post:
    path: Path               # absolute
    rel: str                 # "posts/week-1.md", used in messages
    meta: dict[str, Any]     # front matter without `experiments`
    experiments: dict[str, Any]
    lines: dict[tuple, int] = field(repr=False)  # key path -> 1-based line in the file
    body: str = field(repr=False)
    body_line: int = 1       # file line of the body's first line
    slug: str = ""

    def line(self, *keys: Any) -> int | None:
        """The line of the deepest known key along ``keys``."""
        for n in range(len(keys), 0, -1):
            if keys[:n] in self.lines:
                return self.lines[keys[:n]]
        return None

    @property
    def stem(self) -> str:
        return self.path.stem


def _walk(node: yaml.Node, path: tuple, lines: dict, dups: list) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for knode, vnode in node.value:
            key = knode.value if isinstance(knode, yaml.ScalarNode) else None
            if key is None:
                continue
            sub = path + (key,)
            if key in seen:
                dups.append((sub, knode.start_mark.line))
            seen.add(key)
            lines[sub] = knode.start_mark.line
            _walk(vnode, sub, lines, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line
            _walk(item, path + (i,), lines, dups)


def split_front_matter(text: str, rel: str) -> tuple[str | None, str, int]:
    """Return (front matter text or None, body, line of the body's first line)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, text, 1
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), i + 2
    raise InputError(Problem(rel, 1, None, "front matter opened with '---' is never closed "
                                           "(expected a line '---' after the YAML)"))


def read_post(path: Path, root: Path) -> Post:
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # tolerate a UTF-8 byte-order mark
    except UnicodeDecodeError as e:
        raise InputError(Problem(rel, None, None, f"is not UTF-8 text ({e.reason} at byte {e.start})")) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fm, body, body_line = split_front_matter(text, rel)
    if fm is None:
        raise InputError(Problem(rel, 1, None, "has no front matter: a post starts with a '---' line, "
                                               "YAML with at least `date:`, and a closing '---'"))
    loader = _Loader(fm)
    try:  # one parse: the node tree gives line numbers, then the data is built from it
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        bad_line = fm.split("\n")[mark.line] if mark is not None and mark.line < fm.count("\n") + 1 else ""
        hint = " (YAML does not allow tabs for indentation)" if "\t" in bad_line else ""
        raise InputError(Problem(rel, line, None, f"front matter is not valid YAML: {what}{hint}")) from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(Problem(rel, 2, None, f"front matter must be a mapping of keys to values, "
                                               f"not a {type(data).__name__}"))
    lines: dict[tuple, int] = {}
    dups: list = []
    if node is not None:
        _walk(node, (), lines, dups)
    lines = {k: v + 2 for k, v in lines.items()}  # node lines are 0-based within the YAML
    problems = []
    for keys, line in dups:
        what = "experiment name" if keys[:1] == ("experiments",) and len(keys) == 2 else "key"
        problems.append(Problem(rel, line + 2, ".".join(map(str, keys)),
                                f"duplicate {what} (each may appear once)"))
    exps = data.pop("experiments", None)
    if exps is None:
        exps = {}
    elif not isinstance(exps, dict):
        problems.append(Problem(rel, lines.get(("experiments",)), "experiments",
                                "must be a mapping of experiment names to their settings"))
        exps = {}
    slug = data.get("slug", path.stem)
    if "slug" in data and (not isinstance(slug, str) or not _SLUG.match(slug)):
        problems.append(Problem(rel, lines.get(("slug",)), "slug",
                                "must be lowercase letters, digits and '-' (at most 80), "
                                f"got {slug!r}"))
    elif "slug" not in data:
        slug = _slugify(path.stem)
    if "date" not in data:
        problems.append(Problem(rel, 1, "date", "is missing: the blog needs a date such as 2024-07-04"))
    if "freeze" in data and not isinstance(data["freeze"], bool):
        problems.append(Problem(rel, lines.get(("freeze",)), "freeze",
                                f"expected true or false, got {data['freeze']!r}"))
    if problems:
        raise InputError(problems)
    return Post(path=path, rel=rel, meta=data, experiments=exps, lines=lines, body=body,
                body_line=body_line, slug=slug)


def _slugify(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s or "post")[:80]


def read_posts(root: Path, posts_dir: str = "posts") -> list[Post]:
    """Read every ``posts/*.md``; collect the problems of all posts, then raise once."""
    folder = root / posts_dir
    if not folder.is_dir():
        raise InputError(Problem(posts_dir, None, None, "folder not found: the journal's posts live "
                                                        "in posts/*.md (`journal init .` makes a journal "
                                                        "here, or adds what one lacks)"))
    posts, problems = [], []
    for path in sorted(folder.glob("*.md")):
        try:
            posts.append(read_post(path, root))
        except InputError as e:
            problems.extend(e.problems)
    by_slug: dict[str, Post] = {}
    for post in posts:
        if post.slug in by_slug:
            problems.append(Problem(post.rel, post.line("slug") or 1, "slug",
                                    f"'{post.slug}' is also the slug of {by_slug[post.slug].rel}"))
        by_slug[post.slug] = post
    if problems:
        raise InputError(problems)
    return posts


def select_posts(posts: list[Post], wanted: tuple[str, ...] | list[str], root: Path) -> list[Post]:
    """The posts that command-line arguments name: a path (``posts/week-2.md``, relative to the
    journal or the working directory), a file name (``week-2.md``) or a slug (``week-2``).
    No arguments: every post. An argument that names no post is an error listing the posts."""
    if not wanted:
        return posts
    chosen: dict[str, Post] = {}
    unknown = []
    for arg in wanted:
        path = Path(arg)
        absolute = {(root / path).resolve(), path.resolve()}
        found = [p for p in posts
                 if arg in (p.rel, p.path.name, p.stem, p.slug) or p.path.resolve() in absolute]
        if not found:
            unknown.append(arg)
        for p in found:
            chosen[p.rel] = p
    if unknown:
        raise InputError(Problem("command line", None, "POST",
                                 f"no post {', '.join(repr(u) for u in unknown)} (posts: "
                                 f"{', '.join(p.rel for p in posts) or 'none'})"))
    return [p for p in posts if p.rel in chosen]


_FREEZE = re.compile(r"^freeze\s*:[^#\n]*?(\s*#.*)?$")


def set_frozen(post: Post, frozen: bool) -> bool:
    """Pin (``freeze: true``) or unpin a post by editing one line of its front matter; every
    other byte of the file stays as it is. Returns whether the file changed."""
    raw = post.path.read_bytes().decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in raw else "\n"
    lines = raw.split(newline)
    end = next(i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "..."))
    at = next((i for i in range(1, end) if _FREEZE.match(lines[i])), None)
    if frozen:
        if at is not None:
            comment = _FREEZE.match(lines[at]).group(1) or ""
            if lines[at].split(":", 1)[1].split("#")[0].strip() == "true":
                return False
            lines[at] = f"freeze: true{comment}"
        else:  # after the date, where a reader of the front matter looks first
            date = next((i for i in range(1, end) if lines[i].startswith("date:")), 0)
            lines.insert(date + 1, "freeze: true")
    else:
        if at is None:
            return False
        del lines[at]
    text = newline.join(lines)
    post.path.write_bytes((("\ufeff" if post.path.read_bytes().startswith(b"\xef\xbb\xbf") else "")
                           + text).encode("utf-8"))
    return True
