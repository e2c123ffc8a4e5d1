"""``journal deploy``: publish ``site/`` to the ``gh-pages`` branch of a git remote.

The site is built with ``--frozen``, so what is published is exactly what the
committed results say. Deploying refuses when a result would have to run, and
when ``results/``, ``posts/`` or ``experiments/`` hold changes git does not have
yet: a published page should be reproducible from the repository. The branch is
written and pushed by ghp-import, the machinery behind ``mkdocs gh-deploy``,
with a ``.nojekyll`` file so GitHub Pages serves the site as it is.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from generator import git as _git
from generator.errors import InputError, JournalError, Problem, StaleResults

CHECKED = ("results", "posts", "experiments")   # what a published page is made of


class DeployError(JournalError):
    """The site was not published: exit 1."""


@dataclass(frozen=True)
class Deployed:
    remote: str
    branch: str
    commit: str        # the source commit the site was built from
    site: Path


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        return _git.git(root, *args, check=check, why="deploying (it pushes to a git remote)")
    except _git.GitError as e:
        raise DeployError(str(e)) from None


def uncommitted(root: Path) -> list[str]:
    """``git status --porcelain`` lines for the folders a page is built from."""
    out = git(root, "status", "--porcelain", "--untracked-files=all", "--", *CHECKED).stdout
    return [line for line in out.splitlines() if line.strip()]


def _check_repository(root: Path, remote: str) -> str:
    if git(root, "rev-parse", "--is-inside-work-tree", check=False).returncode != 0:
        raise InputError(Problem(str(root), None, None, "is not in a git repository: `journal deploy` "
                                 "pushes the site to a branch of a git remote (git init, commit, "
                                 "git remote add origin URL)"))
    if git(root, "remote", "get-url", remote, check=False).returncode != 0:
        known = git(root, "remote", check=False).stdout.split()
        raise InputError(Problem("command line", None, "--remote",
                                 f"no git remote named '{remote}' (known: {', '.join(known) or 'none'})"))
    head = git(root, "rev-parse", "--short=12", "HEAD", check=False)
    if head.returncode != 0:
        raise DeployError("the repository has no commit yet: commit the posts, experiments and "
                          "results first")
    return head.stdout.strip()


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    """ghp-import runs git in the working directory."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def deploy(root: Path, *, remote: str = "origin", branch: str = "gh-pages",
           message: str | None = None, quiet: bool = False,
           allow_placeholders: bool = False) -> Deployed:
    """Build with --frozen and push the site; refuse if anything is stale or uncommitted, or
    while mkdocs.yml's site_url or repo_url are placeholders (unless ``allow_placeholders``)."""
    from ghp_import import GhpError, ghp_import

    from generator.commands.build import Options, build
    from generator.context import Journal

    root = root.resolve()
    commit = _check_repository(root, remote)
    placeholders = Journal.open(root).placeholders()
    if placeholders and not allow_placeholders:
        raise DeployError("refusing to deploy: mkdocs.yml still has placeholder URLs, so share cards, "
                          "the feed and links would point at a site that is not yours:\n  "
                          + "\n  ".join(placeholders)
                          + "\nSet site_url to https://<user>.github.io/<repo>/ and repo_url to your "
                            "repository (or remove repo_url), or pass --allow-placeholders.")
    dirty = uncommitted(root)
    if dirty:
        raise DeployError("refusing to deploy: these files have changes that are not committed, so the "
                          "published site could not be rebuilt from the repository:\n  "
                          + "\n  ".join(dirty)
                          + "\nCommit them (results/ included) and deploy again.")
    try:
        summary = build(root, Options(frozen=True, quiet=quiet))
    except StaleResults as e:
        raise DeployError(f"refusing to deploy: results are stale.\n{e}") from None
    site = summary.site
    if site is None or not (site / "index.html").is_file():
        raise DeployError(f"the build wrote no site to {site}")
    from generator import __version__

    mesg = message or f"Deployed {commit} with journal {__version__}"
    try:
        with _cwd(root):
            ghp_import(str(site), mesg=mesg, remote=remote, branch=branch, push=True, force=True,
                       nojekyll=True)
    except GhpError as e:
        raise DeployError(f"could not write the {branch} branch: {e.message}") from None
    except subprocess.CalledProcessError:
        raise DeployError(f"git push {remote} {branch} failed (see git's message above); the "
                          f"local {branch} branch holds the site") from None
    return Deployed(remote, branch, commit, site)
