"""Writing and publishing: `journal new`, `diff`, `deploy`, `serve` and the Pages workflow.

Real git repositories (a bare one stands in for GitHub), real mkdocs builds, a
real server on 127.0.0.1.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.source.posts import read_post

REPO = Path(__file__).resolve().parents[1]
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

EXPERIMENTS = """
    sq:
      run: toy.square
      params: {n: 4, scale: 2.0}
    pic:
      run: toy.plot
"""
BODY = "# Squares\n\nThe total is {{ sq.total:.1f }}.\n\n{{ figure pic.curve \"A curve\" }}\n"


@pytest.fixture
def tiny(journal, monkeypatch):
    """The tiny journal; what ran is read from the results store, not from a counter file."""
    monkeypatch.delenv("JOURNAL_TEST_COUNTER", raising=False)
    return journal


def results(journal) -> dict[str, int]:
    """Each stored result and when it was written: a run that happens changes this."""
    return {p.parent.relative_to(journal.root).as_posix(): p.stat().st_mtime_ns
            for p in (journal.root / "results").glob("*/*/result.json")}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


@pytest.fixture
def repo(tiny, monkeypatch):
    """The tiny journal, built, committed in a git repository whose origin is a bare repository."""
    for var, value in (("GIT_AUTHOR_NAME", "Ada"), ("GIT_AUTHOR_EMAIL", "ada@example.org"),
                       ("GIT_COMMITTER_NAME", "Ada"), ("GIT_COMMITTER_EMAIL", "ada@example.org"),
                       ("GIT_CONFIG_NOSYSTEM", "1")):
        monkeypatch.setenv(var, value)
    journal = tiny
    journal.post("week-1", EXPERIMENTS, BODY, extra="categories: [Zero to Hero]\ntags: [micrograd]\n")
    journal.build()
    shutil.copy(REPO / ".gitignore", journal.root / ".gitignore")
    git(journal.root, "init", "-q", "-b", "main")
    git(journal.root, "add", "-A")
    git(journal.root, "commit", "-q", "-m", "Week 1")
    bare = journal.root.parent / "remote.git"
    git(journal.root.parent, "init", "-q", "--bare", str(bare))
    git(journal.root, "remote", "add", "origin", str(bare))
    journal.bare = bare
    return journal


def commit(journal, message: str) -> None:
    git(journal.root, "add", "-A")
    git(journal.root, "commit", "-q", "-m", message)


# -- journal new ------------------------------------------------------------------

def test_new_scaffolds_the_next_week_and_never_overwrites(tiny):
    journal = tiny
    journal.post("week-1", "sq: {run: toy.square}", "# One\n", date="2024-07-04",
                 extra="categories: [Zero to Hero]\ntags: [micrograd, makemore]\n")
    journal.post("week-2", "sq: {run: toy.square}", "# Two\n", date="2024-07-11",
                 extra="categories: [Papers]\ntags: [bengio2003]\n")

    r = journal.cli("new", "Batch normalization", "--date", "2024-07-18")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(journal.root / "posts" / "week-3.md")]
    post = read_post(journal.root / "posts" / "week-3.md", journal.root)
    assert post.meta["title"] == "Week 3: Batch normalization"
    assert str(post.meta["date"]) == "2024-07-18"
    assert post.meta["categories"] == ["Papers"]          # from the latest post, not the first
    assert post.meta["tags"] == []                          # a week's topics are its own ...
    assert "tags: []   # this week's topics, e.g. [makemore, batchnorm] (last week's: bengio2003)" \
        in post.path.read_text()                           # ... last week's are a comment
    assert post.experiments == {}                          # the example is commented out
    assert "#   run: makemore.mlp" in post.path.read_text()
    assert post.meta["description"]                         # the home page's and share cards' line
    intro, more, rest = post.body.partition("\n<!-- more -->\n")   # the blog index's excerpt ends here
    assert more and "What I set out to learn" in intro and "reference" in rest
    assert post.slug == "week-3"
    assert not (journal.root / "experiments" / "batch.py").exists()  # only when asked

    before = post.path.read_text()
    again = journal.cli("new", "Week 3: something else")
    assert again.returncode == 2
    assert "posts/week-3.md: already exists" in again.stderr and "never overwrites" in again.stderr
    assert post.path.read_text() == before

    bad = journal.cli("new", "Week 4", "--date", "18/07/2024")
    assert bad.returncode == 2 and "--date" in bad.stderr
    assert not (journal.root / "posts" / "week-4.md").exists()


def test_new_with_an_experiment_builds_at_once(tiny):
    journal = tiny
    (journal.root / "posts").mkdir(exist_ok=True)
    r = journal.cli("new", "Week 1: a first fit", "--experiment", "linfit", "--date", "2024-07-04")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(journal.root / "posts" / "week-1.md"),
                                str(journal.root / "experiments" / "linfit.py")]
    module = (journal.root / "experiments" / "linfit.py").read_text()
    assert "def train(run, *, steps: int = 200" in module and "run.metrics(" in module

    summary = journal.build()
    assert summary.ran == 1 and not summary.failed
    html = journal.html("week-1")
    assert "After 200 steps of gradient descent the loss is 0.0" in html
    assert "fit.dark.png#only-dark" in html

    # a second scaffold with the same module never touches the first
    (journal.root / "posts" / "week-1.md").rename(journal.root / "posts" / "first.md")
    clash = journal.cli("new", "Week 2: more", "--experiment", "linfit")
    assert clash.returncode == 2 and "experiments/linfit.py: already exists" in clash.stderr
    assert not (journal.root / "posts" / "week-2.md").exists()   # nothing half-written
    assert (journal.root / "experiments" / "linfit.py").read_text() == module


# -- journal diff -------------------------------------------------------------------

@needs_git
def test_diff_reports_metric_changes_against_a_revision(repo):
    r = repo.cli("diff")
    assert r.returncode == 0, r.stderr
    assert "no changes: 2 experiments compared with HEAD" in r.stdout

    post = repo.root / "posts" / "week-1.md"
    post.write_text(post.read_text().replace("scale: 2.0", "scale: 3.0").replace(
        "  pic:", "  sq2:\n    run: toy.square\n  pic:"))
    repo.build()
    r = repo.cli("diff")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert ["week-1/sq", "total", "28", "42", "+14", "(+50.00%)"] in rows   # 2*14 -> 3*14
    assert ["week-1/sq2", "total", "—", "30", "added"] in rows
    assert not any(row[:2] == ["week-1/sq", "n"] for row in rows)          # unchanged: not listed
    assert not any(row and row[0] == "week-1/pic" for row in rows)
    assert "week-1/sq2: no result at HEAD" in r.stderr

    commit(repo, "Scale 3")
    assert "no changes" in repo.cli("diff", "HEAD").stdout
    r = repo.cli("diff", "HEAD~1")
    assert ["week-1/sq", "total", "28", "42", "+14", "(+50.00%)"] in [ln.split() for ln in r.stdout.splitlines()]

    unknown = repo.cli("diff", "no-such-rev")
    assert unknown.returncode == 2
    assert "'no-such-rev' is not a commit of this repository" in unknown.stderr


# -- journal deploy -----------------------------------------------------------------

@needs_git
def test_deploy_pushes_the_frozen_site_to_gh_pages(repo):
    before = results(repo)
    placeholder = repo.cli("deploy")            # the shipped mkdocs.yml's site_url is an example
    assert placeholder.returncode == 1
    assert "refusing to deploy: mkdocs.yml still has placeholder URLs" in placeholder.stderr
    assert "site_url: https://example.github.io/journal/" in placeholder.stderr
    assert "--allow-placeholders" in placeholder.stderr
    assert git(repo.bare, "branch", "--list", "gh-pages").strip() == ""     # nothing published
    frozen = repo.cli("build", "--frozen")
    assert frozen.returncode == 0 and "site_url: https://example.github.io/journal/ is a placeholder" \
        in frozen.stderr

    r = repo.cli("deploy", "--allow-placeholders")
    assert r.returncode == 0, r.stderr
    assert "to origin/gh-pages" in r.stderr
    files = git(repo.bare, "ls-tree", "-r", "--name-only", "gh-pages").split()
    assert "index.html" in files and ".nojekyll" in files
    assert any(f.startswith("blog/") and f.endswith("week-1/index.html") for f in files)
    assert any(f.endswith("curve.dark.png") for f in files)
    head = git(repo.root, "rev-parse", "--short=12", "HEAD").strip()
    assert f"Deployed {head} with journal" in git(repo.bare, "log", "-1", "--format=%s", "gh-pages")
    assert results(repo) == before                              # deploying ran nothing

    config = repo.root / "mkdocs.yml"                            # the site's own URL from now on
    config.write_text(config.read_text().replace("https://example.github.io/journal/",
                                                 "https://ada.github.io/journal/"))
    commit(repo, "The site's own URL")
    assert "placeholder" not in repo.cli("build", "--frozen").stderr
    published = git(repo.bare, "rev-parse", "gh-pages")
    post = repo.root / "posts" / "week-1.md"
    post.write_text(post.read_text().replace("n: 4", "n: 6"))  # params changed, not re-run
    commit(repo, "More steps")
    stale = repo.cli("deploy")
    assert stale.returncode == 1
    assert "refusing to deploy: results are stale" in stale.stderr
    assert "params.n: 4 → 6" in stale.stderr
    assert git(repo.bare, "rev-parse", "gh-pages") == published
    assert results(repo) == before

    repo.build()                                                 # re-run, but not committed
    dirty = repo.cli("deploy")
    assert dirty.returncode == 1
    assert "not committed" in dirty.stderr and "results/" in dirty.stderr
    assert git(repo.bare, "rev-parse", "gh-pages") == published

    commit(repo, "Results for n=6")
    r = repo.cli("deploy", "--message", "Week 1, n=6")
    assert r.returncode == 0, r.stderr
    assert git(repo.bare, "log", "-1", "--format=%s", "gh-pages").strip() == "Week 1, n=6"

    nowhere = repo.cli("deploy", "--remote", "upstream")
    assert nowhere.returncode == 2 and "no git remote named 'upstream'" in nowhere.stderr


# -- the GitHub Actions workflow ------------------------------------------------------

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _journal_commands(workflow: Path) -> list[list[str]]:
    data = yaml.safe_load(workflow.read_text())
    commands = []
    for job in data["jobs"].values():
        for step in job.get("steps", []):
            for line in str(step.get("run", "")).splitlines():
                words = shlex.split(line, comments=True)
                if words and words[0] == "journal":
                    commands.append(words[1:])
    return commands


def _cli_accepts(args: list[str]) -> bool:
    """True if click parses these arguments: every command and option exists."""
    result = CliRunner().invoke(main, [*args, "--help"])
    return result.exit_code == 0 and "Usage:" in result.output


def test_cli_check_rejects_what_does_not_exist():
    assert _cli_accepts(["build", "--frozen"])
    assert not _cli_accepts(["build", "--frozn"])
    assert not _cli_accepts(["publish"])


def test_pages_workflow_builds_frozen_and_publishes():
    pages = REPO / ".github" / "workflows" / "pages.yml"
    data = yaml.safe_load(pages.read_text())
    triggers = data[True] if True in data else data["on"]   # YAML 1.1 reads `on:` as true
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert data["permissions"]["pages"] == "write" and data["permissions"]["id-token"] == "write"
    steps = [s for job in data["jobs"].values() for s in job["steps"]]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    for action in ("actions/checkout", "actions/setup-python", "actions/upload-pages-artifact",
                   "actions/deploy-pages"):
        assert action in uses
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip" and str(python["with"]["python-version"]) == "3.11"
    assert _journal_commands(pages) == [["build", "--frozen"]]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_commands_exist_and_never_train(workflow):
    for args in _journal_commands(workflow):
        assert _cli_accepts(args), f"{workflow.name}: `journal {' '.join(args)}` is not a command of the CLI"
        assert args[0] not in ("run", "serve"), f"{workflow.name}: CI never runs experiments"
        if args[0] in ("build", "deploy"):
            assert args[0] == "deploy" or "--frozen" in args, \
                f"{workflow.name}: `journal build` in CI must be --frozen (it never trains)"


# -- journal serve --------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return ""


def _wait_for(url: str, predicate, seconds: float, server) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped"
        text = _get(url)
        if predicate(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"{url} did not show the change within {seconds}s; last page:\n{text[-2000:]}")


def test_serve_rerenders_edits_shows_errors_and_keeps_running(tiny, tmp_path):
    journal = tiny
    journal.post("week-1", "sq: {run: toy.square, params: {n: 4}}",
                 "# Squares\n\nFirst draft: the total is {{ sq.total }}.\n")
    journal.build()
    before = results(journal)
    port = _free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "generator", "-C", str(journal.root), "serve",
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    page = f"{base}/journal/blog/2024/07/04/week-1/"
    post = journal.root / "posts" / "week-1.md"
    try:
        home = _wait_for(f"{base}/", lambda t: "week-1" in t, 30, server)
        assert "Learning ML in public" in home and "livereload" in home

        post.write_text(post.read_text().replace("First draft", "Second draft"))
        t0 = time.monotonic()
        _wait_for(page, lambda t: "Second draft: the total is 14" in t, 15, server)
        print(f"prose edit visible after {time.monotonic() - t0:.2f}s")
        assert results(journal) == before                    # prose: nothing ran
        # the quick rebuild redid the post's page; the full one after it, the blog's index too
        _wait_for(f"{base}/journal/blog/", lambda t: "Second draft" in t, 30, server)

        post.write_text(post.read_text().replace("{{ sq.total }}", "{{ sq.totl }}"))
        text = _wait_for(page, lambda t: 'id="journal-banner"' in t, 15, server)
        assert "reported no metric &#x27;totl&#x27;" in text
        assert "Second draft" in text                          # the last good page, under the banner

        post.write_text(post.read_text().replace("{{ sq.totl }}", "{{ sq.total }}").replace(
            "n: 4", "n: 5"))                                     # fixed, and a param changed
        _wait_for(page, lambda t: "the total is 30" in t and "journal-banner" not in t, 60, server)
        after = results(journal)                               # only the changed experiment ran
        assert len(after) == len(before) + 1 and all(after[k] == t for k, t in before.items())
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        finally:
            server.kill()
            log.close()
    output = (tmp_path / "serve.log").read_text()
    assert f"serving {base}/journal/" in output
    assert "reported no metric 'totl'" in output               # errors reach the terminal too
    assert "stale experiment" in output and "1 experiment ran" in output


@pytest.mark.parametrize("url, placeholder", [
    ("https://example.github.io/journal/", True),
    ("https://example.com/journal/", True),
    ("https://docs.example.org/", True),
    ("https://github.com/example/journal", True),
    ("https://github.com/<user>/<repo>", True),
    ("https://ada.github.io/learning-ml/", False),
    ("https://github.com/ada/learning-ml", False),
    ("https://examples.dev/", False),
])
def test_placeholder_urls(url, placeholder):
    from generator.site.base import _is_placeholder

    assert _is_placeholder(url) is placeholder


@needs_git
def test_provenance_links_each_result_to_the_commit_that_holds_it(repo):
    config = repo.root / "mkdocs.yml"
    config.write_text(config.read_text() + "repo_url: https://github.com/ada/journal\n")
    repo.build()
    head = git(repo.root, "rev-parse", "HEAD").strip()       # "Week 1" added the results
    page = (repo.root / "docs/blog/posts/week-1.md").read_text()
    box = page.split("Provenance: where these numbers come from", 1)[1]
    assert f"[{head[:10]}](https://github.com/ada/journal/tree/{head})" in box
    assert "+dirty" not in box
