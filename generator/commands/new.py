"""``journal new``: the next week's post, and on request an experiment module for it.

The week number comes from the title ("Week 3: BatchNorm") or, when the title
has none, from the posts already written; the file is ``posts/week-<n>.md``.
Categories are carried over from the latest post; tags are left empty, with the
latest post's in a comment, because a week's topics are its own. Nothing is ever
overwritten: if a file to be created exists, nothing is written at all.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.errors import InputError, Problem
from generator.source.posts import Post, read_post

_WEEK = re.compile(r"\bweek[\s_-]*(\d{1,4})\b", re.IGNORECASE)
_MODULE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
CARRIED = ("categories",)   # front matter the next week inherits from the last


@dataclass(frozen=True)
class Scaffold:
    """What ``journal new`` will write: file -> text, in creation order."""

    title: str
    week: int
    files: dict[Path, str]


def week_of(text: str) -> int | None:
    m = _WEEK.search(text or "")
    return int(m.group(1)) if m else None


def _readable_posts(root: Path) -> list[Post]:
    """Every post that parses; a broken one does not stop a new one from being written."""
    posts = []
    for path in sorted((root / "posts").glob("*.md")):
        try:
            posts.append(read_post(path, root))
        except InputError:
            continue
    return posts


def _latest(posts: list[Post]) -> Post | None:
    return max(posts, key=lambda p: (str(p.meta.get("date", "")), p.rel), default=None)


def next_week(posts: list[Post]) -> int:
    """One more than the highest "Week N" among titles and file names; else the post count + 1."""
    numbers = [n for p in posts for n in (week_of(str(p.meta.get("title", ""))), week_of(p.stem))
               if n is not None]
    return max(numbers) + 1 if numbers else len(posts) + 1


def _flow(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1000).strip()


def _front_matter(title: str, date: _dt.date, carried: dict, experiment: str | None) -> str:
    lines = ["---", f"title: {json.dumps(title, ensure_ascii=False)}", f"date: {date.isoformat()}",
             "description: One sentence on what this week is about (home page, blog index, share cards)."]
    for key in CARRIED:
        if key in carried:
            lines.append(f"{key}: {_flow(carried[key])}")
    last = f" (last week's: {_flow(tags)[1:-1]})" if (tags := carried.get("tags")) else ""
    lines.append(f"tags: []   # this week's topics, e.g. [makemore, batchnorm]{last}")
    lines.append("experiments:")
    if experiment:
        lines += [f"  {experiment}:",
                  f"    run: {experiment}.train",
                  "    params: {steps: 200, lr: 0.1}",
                  "    quick: {steps: 20}"]
    lines += [
        "  # name:                     # the body writes {{ name.metric }}",
        "  #   run: makemore.mlp       # a function in the experiments package",
        "  #   params: {steps: 50000}  # keyword parameters of that function",
        "  #   quick: {steps: 1000}    # overrides for `journal build --quick`",
        "  #   timeout: 20m            # default 30m",
    ]
    if experiment:
        lines.append(f"headline: [{experiment}.loss:.4f]   # shown beside the week on the home page")
    else:
        lines.append("# headline: [name.metric:.3f]  # shown beside the week on the home page")
    lines.append("---")
    return "\n".join(lines) + "\n"


def _body(title: str, experiment: str | None) -> str:
    parts = [f"# {title}", "",
             "What I set out to learn this week, and what I expected to see.", "",
             "<!-- more -->", ""]
    if experiment:
        parts += [f"After {{{{ param {experiment}.steps }}}} steps of gradient descent the loss is "
                  f"{{{{ {experiment}.loss:.4f }}}}, with w = {{{{ {experiment}.w:.3f }}}} and "
                  f"b = {{{{ {experiment}.b:.3f }}}}.", "",
                  f'{{{{ figure {experiment}.fit "The data and the fitted line" }}}}', "",
                  f'{{{{ chart {experiment}.loss logy "Training loss" }}}}', ""]
    parts += ["<!-- Numbers, figures, tables and charts come from the experiments above through",
              "     references such as `{{ name.metric:.3f }}` and `{{ figure name.plot \"caption\" }}`;",
              "     docs/reference.md lists them all. -->", ""]
    return "\n".join(parts)


EXPERIMENT_TEMPLATE = '''\
"""{title}: the experiment behind {post}.

An experiment is a plain function. Its first argument is the run handle; its
keyword parameters, with defaults and type annotations, are what the post's
front matter may set under `params:` (and `quick:`, for `journal build --quick`).
Editing this file, a module of the experiments package it imports, or a
parameter re-runs it; editing the post's prose does not.
"""

import random


def train(run, *, steps: int = 200, lr: float = 0.1):
    """Fit y = 2x + 1 to noisy points by gradient descent; replace with this week's model.

    What the run handle offers:
        run.seed, run.device       the seed (python, numpy and torch are already seeded
                                   with it) and "cpu" / "cuda" / "mps"
        run.generator()            a torch.Generator seeded with run.seed
        run.total(n)               how many steps there will be (the progress bar)
        run.log(step, loss=...)    one point of each named series (charts)
        run.metrics(loss=...)      final numbers (also: return a dict)
        run.figure(name, fig)      a matplotlib figure, saved light and dark
        run.artifact(name, text)   a small text file, e.g. samples
        run.read_text(path)        a data file; editing it re-runs the experiment
    """
    rng = random.Random(run.seed)
    xs = [rng.uniform(-1, 1) for _ in range(64)]
    ys = [2 * x + 1 + rng.gauss(0, 0.1) for x in xs]
    w = b = 0.0
    run.total(steps)
    for step in range(steps):
        errors = [w * x + b - y for x, y in zip(xs, ys)]
        loss = sum(e * e for e in errors) / len(xs)            # mean squared error
        w -= lr * 2 * sum(e * x for e, x in zip(errors, xs)) / len(xs)
        b -= lr * 2 * sum(errors) / len(xs)
        run.log(step, loss=loss)
    run.metrics(loss=loss, w=w, b=b)

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.scatter(xs, ys, s=8, label="data")
    ax.plot([-1, 1], [b - w, b + w], color="C1", label=f"y = {{w:.2f}}x + {{b:.2f}}")
    ax.legend()
    run.figure("fit", fig)
    plt.close(fig)
'''


def plan_new(root: Path, title: str, *, date: _dt.date | None = None,
             experiment: str | None = None) -> Scaffold:
    """Decide the files of a new post without writing anything."""
    title = " ".join(title.split())
    if not title:
        raise InputError(Problem("command line", None, "TITLE", "the post needs a title, "
                                 'e.g. journal new "Week 2: makemore"'))
    if experiment is not None and not _MODULE.match(experiment):
        raise InputError(Problem("command line", None, "--experiment",
                                 f"'{experiment}' is not a module name: use lowercase letters, digits "
                                 "and '_', starting with a letter"))
    posts = _readable_posts(root)
    week = week_of(title)
    if week is None:
        week = next_week(posts)
        title = f"Week {week}: {title}"
    latest = _latest(posts)
    carried = {k: latest.meta[k] for k in (*CARRIED, "tags") if latest and latest.meta.get(k)}
    post = root / "posts" / f"week-{week}.md"
    files = {post: _front_matter(title, date or _dt.date.today(), carried, experiment)
             + "\n" + _body(title, experiment)}
    if experiment:
        rel = post.relative_to(root).as_posix()
        files[root / "experiments" / f"{experiment}.py"] = EXPERIMENT_TEMPLATE.format(
            title=title.replace('"', "'"), post=rel)
        package = root / "experiments" / experiment
        if package.exists():
            raise InputError(Problem(package.relative_to(root).as_posix(), None, None,
                                     "already exists: choose another name for --experiment"))
    existing = [p for p in files if p.exists()]
    if existing:
        raise InputError([Problem(p.relative_to(root).as_posix(), None, None,
                                  "already exists; journal new never overwrites a file "
                                  "(pick another title or week number, or edit that file)")
                          for p in existing])
    return Scaffold(title, week, files)


def create(root: Path, title: str, *, date: _dt.date | None = None,
           experiment: str | None = None) -> list[Path]:
    """Write the new post (and experiment module); return the paths created."""
    scaffold = plan_new(root, title, date=date, experiment=experiment)
    if experiment and not (root / "experiments" / "__init__.py").is_file():
        raise InputError(Problem("experiments/__init__.py", None, None,
                                 "not found: experiments/ must be a Python package"))
    created: list[Path] = []
    try:
        for path, text in scaffold.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as f:   # "x": fail rather than overwrite
                f.write(text)
            created.append(path)
    except FileExistsError as e:
        for path in created:   # someone wrote one of the files meanwhile: leave no half scaffold
            path.unlink()
        raise InputError(Problem(str(e.filename), None, None, "already exists; journal new "
                                                              "never overwrites a file")) from None
    return created
