"""Reading posts: YAML front matter (safe loading, with line numbers) and a Markdown body."""

from __future__ import annotations

import datetime as _dt
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import InputError, Problem

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same marks, faster
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MAX_NODES = 20_000  # values a front matter may hold once its aliases are expanded


class _Loader(_Base):
    """Safe loading where a value that cannot be built (``!!int ten``, ``2024-02-30``) is a
    YAML error at its own line, not a crash."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as e:
            what = {"tag:yaml.org,2002:timestamp": "date"}.get(node.tag, node.tag.rsplit(":", 1)[-1])
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid {what} ({e})", node.start_mark) from None


class _TooBig(Exception):
    pass


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


def _walk(node: yaml.Node, path: tuple, lines: dict, dups: list, budget: list[int] | None = None,
          within: frozenset = frozenset()) -> None:
    """Line numbers of every key; a node met again through aliases counts each time, so an
    alias bomb (or an alias to itself) stops at MAX_NODES instead of exhausting memory."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0 or id(node) in within:
        raise _TooBig()
    within = within | {id(node)}
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
            _walk(vnode, sub, lines, dups, budget, within)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line
            _walk(item, path + (i,), lines, dups, budget, within)


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
    lines: dict[tuple, int] = {}
    dups: list = []
    try:  # one parse: the node tree gives line numbers, then the data is built from it
        node = loader.get_single_node()
        if node is not None:
            _walk(node, (), lines, dups)  # first: it bounds what aliases expand to
        data = loader.construct_document(node) if node is not None else None
    except _TooBig:
        raise InputError(Problem(rel, 2, None, f"front matter expands to more than {MAX_NODES:,} values "
                                               "(YAML aliases that repeat, or refer to themselves)")) from None
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
    problems += _blog_keys(data, lines, rel, root)
    if problems:
        raise InputError(problems)
    return Post(path=path, rel=rel, meta=data, experiments=exps, lines=lines, body=body,
                body_line=body_line, slug=slug)


def _is_date(value: Any) -> bool:
    return isinstance(value, (_dt.date, _dt.datetime))


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _blog_keys(data: dict, lines: dict, rel: str, root: Path) -> list[Problem]:
    """The keys the blog reads, checked before anything runs (the site build would fail
    on them only after the experiments ran)."""
    problems = []

    def bad(key: str, message: str, *sub) -> None:
        problems.append(Problem(rel, lines.get((key, *sub)) or lines.get((key,)) or 1,
                                ".".join(map(str, (key, *sub))), message))

    date = data.get("date")
    if "date" in data:
        if isinstance(date, dict):
            if "created" not in date:
                bad("date", "a mapping of dates needs `created:` (and may have `updated:`)")
            for k, v in date.items():
                if not _is_date(v):
                    bad("date", f"expected a date such as 2024-07-04, got {v!r}", k)
        elif not _is_date(date):
            bad("date", f"expected a date such as 2024-07-04 (or created:/updated: dates), got {date!r}")
    for key in ("categories", "tags", "authors"):
        if data.get(key) is not None and not _str_list(data[key]):
            bad(key, f"expected a list of names such as [{'alice' if key == 'authors' else 'basics'}], "
                     f"got {data[key]!r}")
    if _str_list(data.get("authors")) and data["authors"]:
        known = _authors(root)
        for i, name in enumerate(data["authors"]):
            if name not in known:
                bad("authors", f"'{name}' is not in docs/blog/.authors.yml"
                               f"{' (it lists: ' + ', '.join(known) + ')' if known else ' (there is none)'}", i)
    for key in ("draft", "pin"):
        if key in data and not isinstance(data[key], bool):
            bad(key, f"expected true or false, got {data[key]!r}")
    if "readtime" in data and (isinstance(data["readtime"], bool) or not isinstance(data["readtime"], int)
                               or not 0 < data["readtime"] < 1000):
        bad("readtime", f"expected whole minutes such as 5, got {data['readtime']!r}")
    if "links" in data:
        problems += _links(data["links"], lines, rel)
    for key in ("title", "description"):
        if key in data and not isinstance(data[key], str):
            bad(key, f"expected text, got {data[key]!r} (quote it)")
    return problems


def _links(links: Any, lines: dict, rel: str) -> list[Problem]:
    """Material's `links:`: a list of paths or URLs, or of sections mapping a title to such a list."""
    from generator.escape import unsafe_link

    problems = []
    where = lines.get(("links",)) or 1

    def one(item: Any, sub: tuple) -> None:
        if isinstance(item, str):
            scheme = unsafe_link(f"[x]({item})")
            if scheme:
                problems.append(Problem(rel, lines.get(sub) or where, ".".join(map(str, sub)),
                                        f"a link to a '{scheme}:' URL is not allowed"))
        elif isinstance(item, dict) and len(item) == 1:
            ((title, target),) = item.items()
            if isinstance(target, list):
                for j, x in enumerate(target):
                    one(x, (*sub, title, j))
            else:
                one(target, (*sub, title))
        else:
            problems.append(Problem(rel, lines.get(sub) or where, ".".join(map(str, sub)),
                                    f"expected a path or URL (or a section: title: [links]), got {item!r}"))

    if not isinstance(links, list):
        return [Problem(rel, where, "links", f"expected a list of paths or URLs, got {links!r}")]
    for i, item in enumerate(links):
        one(item, ("links", i))
    return problems


def _authors(root: Path) -> list[str]:
    path = root / "docs" / "blog" / ".authors.yml"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    authors = data.get("authors") if isinstance(data, dict) else None
    return [str(k) for k in authors] if isinstance(authors, dict) else []


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
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        try:
            mode = os.stat(path).st_mode  # follows a symlink; never opens a FIFO
        except OSError as e:
            problems.append(Problem(rel, None, None, "is a symbolic link to nothing" if path.is_symlink()
                                    else f"cannot be read ({e.strerror})"))
            continue
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a file"
            problems.append(Problem(rel, None, None, f"is {what}: posts/ holds only Markdown files"))
            continue
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
