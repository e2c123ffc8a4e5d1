"""``journal init``: a new journal that builds at once, or the missing files of one.

A journal is made of three kinds of file:

- the starter (``generator/templates/starter/``): the home and about pages, a
  first post and its experiment, and the journal's ``pyproject.toml``, filled in
  with the title, author and the tool's version;
- files shipped with the tool and copied as they are, so that they never drift
  from the tool's own: the writing reference and the other generic pages, the
  site's assets, the Pages workflow, ``.gitignore``, the makemore data helpers,
  and ``mkdocs.yml`` with its name and URLs replaced;
- with ``--example``, this repository's weeks: posts, experiments and their
  committed results, so the example is fresh on arrival and builds without
  running anything.

The shipped files live in the repository beside ``generator/``; a wheel carries
them in ``generator/_shipped/`` (see ``pyproject.toml``). Nothing is ever
overwritten: in an existing journal only missing files are added.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import string
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import generator
from generator import git
from generator.errors import InputError, Problem

PACKAGE = Path(generator.__file__).resolve().parent
STARTER = PACKAGE / "templates" / "starter"

# Copied from the tool as they are (folders: every file below them).
SHIPPED = ("docs/reference.md", "docs/cluster.md", "docs/progress.md", "docs/tags.md", "docs/blog/index.md", "docs/assets",
           ".github/workflows/pages.yml", ".gitignore", "experiments/makemore/data.py")
EXAMPLE = ("posts", "experiments", "results")
TOOL_ONLY_PAGES = ("tutorial.md", "notebooks.md")   # tutorials of the tool's own site
FIRST_POST = ("posts/week-1.md", "experiments/bigram.py")   # only into a journal without posts
# What may already be in a folder before it becomes a journal (a fresh GitHub repository).
PRE_EXISTING = {".git", ".gitignore", ".gitattributes", "README", "README.md", "LICENSE", "LICENSE.md",
                "LICENSE.txt"}
_GITHUB = re.compile(r"^(?P<user>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<repo>[A-Za-z0-9._-]{1,100})$")
_SKIPPED = re.compile(r"(^|/)(__pycache__|\.tmp)(/|$)|\.old-|\.pyc$")


@dataclass(frozen=True)
class Settings:
    title: str = "Learning ML in public"
    author: str | None = None
    github: str | None = None          # USER/REPO
    example: bool = False
    tool: str | None = None            # the requirement for the tool in pyproject.toml


@dataclass(frozen=True)
class Made:
    root: Path
    repaired: bool                     # True: the folder was a journal already
    added: tuple[str, ...]             # paths relative to root, in creation order
    kept: tuple[str, ...]              # files that were there already


def version() -> str:
    return generator.__version__


def shipped_root() -> Path:
    """Where the tool's shipped files are: inside an installed wheel, else the repository."""
    inside = PACKAGE / "_shipped"
    return inside if inside.is_dir() else PACKAGE.parent


def _files(base: Path, rel: str) -> list[str]:
    """``rel`` (a file, or every file under a folder) as paths relative to ``base``."""
    path = base / rel
    if path.is_file():
        return [rel]
    if not path.is_dir():
        return []
    found = (p.relative_to(base).as_posix() for p in sorted(path.rglob("*")) if p.is_file())
    return [f for f in found if not _SKIPPED.search(f)]


def is_journal(root: Path) -> bool:
    """A journal, if perhaps an incomplete one: a post, an experiments package, or a site config
    beside a posts/ or results/ folder (a plain MkDocs project is not one)."""
    return (any((root / "posts").glob("*.md")) or (root / "experiments" / "__init__.py").is_file()
            or ((root / "mkdocs.yml").is_file() and any((root / d).is_dir() for d in ("posts", "results"))))


def _check_folder(root: Path) -> bool:
    """True when ``root`` is a journal to repair; raise when it is a folder init must not touch."""
    if root.exists() and not root.is_dir():
        raise InputError(Problem(str(root), None, None, "is a file: journal init needs a folder"))
    if not root.exists() or is_journal(root):
        return root.exists()
    other = sorted(p.name for p in root.iterdir() if p.name not in PRE_EXISTING)
    if other:
        shown = ", ".join(other[:5]) + (", ..." if len(other) > 5 else "")
        raise InputError(Problem(str(root), None, None,
                                 f"is not empty ({shown}) and is not a journal (no posts/*.md, no "
                                 "experiments/__init__.py): journal init writes a new journal into an "
                                 "empty or new folder, or adds the missing files to an existing journal"))
    return False


def _urls(github: str) -> tuple[str, str]:
    """site_url and repo_url of a GitHub repository published with GitHub Pages."""
    m = _GITHUB.match(github)
    if not m:
        raise InputError(Problem("command line", None, "--github",
                                 f"'{github}' is not USER/REPO (e.g. --github ada/learning-ml)"))
    user, repo = m["user"], m["repo"]
    host = f"{user.lower()}.github.io"
    site = f"https://{host}/" if repo.lower() == host else f"https://{host}/{repo}/"
    return site, f"https://github.com/{user}/{repo}"


def _author(given: str | None) -> str:
    if given and given.strip():
        return " ".join(given.split())
    return git.user_name() or "the author"


def _yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)   # a JSON string is a YAML double-quoted scalar


def site_config(text: str, settings: Settings, author: str) -> str:
    """The tool's mkdocs.yml made this journal's: name and copyright replaced, and with
    ``--github`` the URLs; without it the tool's placeholder URLs and the comment that marks
    them stay (``journal deploy`` refuses the placeholder). The rest is kept as it is."""
    year = _dt.date.today().year
    values = {"site_name": _yaml_str(settings.title),
              "site_description": _yaml_str(f"{author}'s weekly journal of machine-learning experiments, "
                                            "with every number and plot produced by code."),
              "copyright": _yaml_str(f"© {year} {author}. Every number on this site comes from an "
                                     "experiment in the repository.")}
    header = ""
    if settings.github:
        values["site_url"], values["repo_url"] = _urls(settings.github)
        lines = text.splitlines(keepends=True)
        while lines and lines[0].startswith("#"):      # the tool's comment about placeholders
            lines.pop(0)
        text = "".join(lines)
        header = f"# The site of {settings.title}, published with GitHub Pages from github.com/{settings.github}.\n"
    # the tool's tutorials are pages of the tool's site, not of a journal's
    for page in TOOL_ONLY_PAGES:
        text = re.sub(rf"(?m)^[ \t]*- [^\n]*: {re.escape(page)}\n", "", text)
    for key, value in values.items():
        line = f"{key}: {value}"
        text, n = re.subn(rf"(?m)^(# )?{key}:.*$", lambda _m, s=line: s, text, count=1)
        if not n:   # after site_url, else first
            text, n = re.subn(r"(?m)^site_url:.*$", lambda m, s=line: f"{m[0]}\n{s}", text, count=1)
        if not n:
            text = f"{line}\n{text}"
    return header + text


def tool_requirement() -> tuple[str, str]:
    """How the journal's environment installs this tool (a requirement and a note above it),
    pinned to where this one came from.

    Installed from git: that commit. Otherwise this version's tag in a repository
    the author names (the name ``journal`` on PyPI is another project, so a bare
    version pin would not find this tool)."""
    try:
        direct = json.loads(metadata.distribution("journal").read_text("direct_url.json") or "null")
    except (metadata.PackageNotFoundError, ValueError):
        direct = None
    vcs = (direct or {}).get("vcs_info")
    if vcs and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        return f"journal @ git+{direct['url']}@{vcs['commit_id']}", ""
    return (f"journal @ git+https://github.com/USER/journal@v{version()}",
            "\n    # PLACEHOLDER: replace USER with the tool's owner on GitHub, or use"
            "\n    # `journal @ file:///path/to/journal` for a copy on this machine only.")


def _starter_text(rel: str, settings: Settings, author: str, name: str, tool: tuple[str, str]) -> str:
    template = string.Template((STARTER / rel).read_text(encoding="utf-8"))
    return template.safe_substitute(title=settings.title, author=author, name=name, version=version(),
                                    tool_requirement=json.dumps(tool[0])[1:-1], tool_note=tool[1],
                                    date=_dt.date.today().isoformat())


def plan_init(root: Path, settings: Settings) -> tuple[bool, dict[str, tuple[str, object]]]:
    """Whether ``root`` is a journal being repaired, and every file a complete journal has:
    relative path -> ("text", content) or ("copy", source path)."""
    repairing = _check_folder(root)
    author = _author(settings.author)
    name = re.sub(r"[^a-z0-9]+", "-", root.resolve().name.lower()).strip("-") or "journal"
    tool = (settings.tool, "") if settings.tool else tool_requirement()
    files: dict[str, tuple[str, object]] = {}
    for rel in _files(STARTER, "."):
        rel = rel.removeprefix("./")
        files[rel] = ("text", _starter_text(rel, settings, author, name, tool))
    shipped = shipped_root()
    for rel in SHIPPED:
        found = _files(shipped, rel)
        if not found:
            raise FileNotFoundError(f"the tool's {rel} is missing from {shipped}: reinstall journal")
        for f in found:
            files[f] = ("copy", shipped / f)
    config = (shipped / "mkdocs.yml").read_text(encoding="utf-8")
    files["mkdocs.yml"] = ("text", site_config(config, settings, author))
    theme = re.search(r"(?m)^[ \t]+custom_dir:[ \t]*['\"]?([^\s'\"#]+)", config)
    for f in _files(shipped, theme[1]) if theme else ():    # the theme's template overrides
        files[f] = ("copy", shipped / f)
    has_posts = (root / "posts").is_dir() and any((root / "posts").glob("*.md"))
    if settings.example or has_posts:
        for rel in FIRST_POST:      # the example's weeks, or the author's own, come instead
            files.pop(rel, None)
    if settings.example:
        for rel in EXAMPLE:
            for f in _files(shipped, rel):
                files[f] = ("copy", shipped / f)
    return repairing, files


def init(root: Path, settings: Settings = Settings()) -> Made:
    """Write a new journal at ``root``, or the files an existing journal lacks."""
    repairing, files = plan_init(root, settings)
    added, kept = [], []
    for rel, (kind, content) in files.items():
        path = root / rel
        if path.exists() or path.is_symlink():
            kept.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if kind == "text" else Path(content).read_bytes()
        with open(path, "xb") as f:        # "x": never overwrite, even a file made meanwhile
            f.write(data)
        added.append(rel)
    return Made(root, repairing, tuple(added), tuple(kept))


def report(made: Made, github: str | None, shown: str) -> None:
    """Say what ``init`` wrote (``shown``: the journal's folder as the user sees it)."""
    from generator.console import out

    if made.repaired and not made.added:
        out.print(f"{shown} is a journal with nothing missing: nothing written", markup=False)
        return
    out.print(f"{shown} is a journal: added the {len(made.added)} missing file"
              f"{'s' * (len(made.added) != 1)}:" if made.repaired else
              f"a new journal in {shown}: {len(made.added)} files", markup=False, highlight=False)
    for rel in made.added:
        out.print(f"  + {rel}", markup=False, highlight=False)
    for rel in made.kept:
        out.print(f"  kept {rel} (already there)", markup=False, highlight=False)
    if not made.repaired:
        out.print(f"\nnext: cd {shown} && journal build && journal serve", markup=False, highlight=False)
        if github is None:
            out.print("set site_url and repo_url in mkdocs.yml (or use --github USER/REPO) "
                      "before publishing", markup=False, highlight=False)
