"""`journal init`: a new journal that builds at once, the example weeks, refusing and repairing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

import generator
from generator.commands.build import Options, build
from generator.commands.init import Settings, init
from generator.commands.init import site_config as make_site_config
from generator.commands.status import status
from generator.plan.freshness import State

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def site_config(root: Path) -> dict:
    # mkdocs.yml may hold python tags (pymdownx), so read only its plain top-level keys
    text = (root / "mkdocs.yml").read_text(encoding="utf-8")
    return {m[1]: yaml.safe_load(m[2]) for m in re.finditer(r"(?m)^(\w+): (.*)$", text)}


def test_init_then_build_shows_the_first_post_with_its_metric_figure_and_chart(tmp_path):
    root = tmp_path / "ada-learns"
    made = cli("init", str(root), "--title", "Ada learns ML", "--author", "Ada Lovelace",
               "--github", "Ada/learning-ml")
    assert made.returncode == 0, made.stderr
    assert "posts/week-1.md" in made.stdout and "journal build" in made.stdout
    config = site_config(root)
    assert config["site_name"] == "Ada learns ML"
    assert config["site_url"] == "https://ada.github.io/learning-ml/"
    assert config["repo_url"] == "https://github.com/Ada/learning-ml"
    assert "Ada Lovelace" in config["copyright"]
    # the writing reference and the workflow are the tool's own, copied, not rewritten
    assert (root / "docs/reference.md").read_bytes() == (REPO / "docs/reference.md").read_bytes()
    assert (root / ".github/workflows/pages.yml").read_bytes() == \
        (REPO / ".github/workflows/pages.yml").read_bytes()
    assert '"journal @ ' in (root / "pyproject.toml").read_text()

    summary = build(root, Options(quiet=True, jobs=1))
    assert (summary.ran, summary.pages) == (1, 1)
    result = next((root / "results" / "bigram.train").glob("*/metrics.json"))
    dev_nll = json.loads(result.read_text())["dev_nll"]
    page = next((root / "site" / "blog").rglob("week-1/index.html")).read_text(encoding="utf-8")
    assert f"{dev_nll:.3f} nats per character" in page
    assert re.search(r'<img[^>]+src="[^"]*table\.light\.png#only-light"', page)
    assert re.search(r'<img[^>]+src="[^"]*chart-[0-9a-f]+\.light\.png#only-light"', page)
    home = (root / "site" / "index.html").read_text(encoding="utf-8")
    assert "Ada learns ML" in home and f"{dev_nll:.3f}" in home   # the headline
    version = cli("--version").stdout.strip()
    assert version == f"journal {generator.__version__}"
    assert f"<!-- built by {version} -->" in home             # the site records what built it


def test_init_without_github_keeps_the_tools_marked_placeholders(tmp_path):
    made = init(tmp_path / "j", Settings(author="Ada"))
    config, tool = site_config(made.root), site_config(REPO)
    assert config["site_name"] == "Learning ML in public" and "Ada" in config["copyright"]
    assert config["site_url"] == tool["site_url"]          # the placeholder deploy refuses
    assert config.get("repo_url") == tool.get("repo_url")
    text = (made.root / "mkdocs.yml").read_text()
    head = (REPO / "mkdocs.yml").read_text().split("\nsite_name:")[0]
    assert text.startswith(head) and "site_url" in head     # the comment that marks them stays


def test_init_example_is_fresh_on_arrival(tmp_path):
    made = init(tmp_path / "example", Settings(example=True))
    lines = status(made.root)
    def runs(spec: dict) -> int:   # status lists every seed of an experiment with seeds
        seeds = spec.get("seeds", 1)
        return len(seeds) if isinstance(seeds, list) else seeds

    shipped = sum(runs(spec) for p in (REPO / "posts").glob("*.md")
                  for spec in yaml.safe_load(p.read_text().split("---")[1])["experiments"].values())
    assert len(lines) == shipped > 0
    # as fresh as in the repository itself: pinned weeks stay pinned, nothing would run
    assert [(line.run.label, line.state) for line in lines] == \
        [(line.run.label, line.state) for line in status(REPO)]
    assert {line.state for line in lines} <= {State.FRESH, State.FROZEN}
    assert build(made.root, Options(quiet=True, frozen=True, site=False)).ran == 0
    assert not (made.root / "experiments" / "bigram.py").exists()   # the example replaces the first post


def test_init_refuses_a_folder_that_is_not_a_journal(tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "README.md").write_text("mine too")
    refused = cli("init", str(folder))
    assert refused.returncode == 2
    assert "not empty (notes.txt)" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "notes.txt"]
    bad = cli("init", str(tmp_path / "new"), "--github", "not a repo")
    assert bad.returncode == 2 and "--github" in bad.stderr and not (tmp_path / "new").exists()


def test_init_accepts_a_fresh_repository_and_keeps_its_files(tmp_path):
    folder = tmp_path / "repo"
    (folder / ".git").mkdir(parents=True)
    (folder / "README.md").write_text("my journal\n")
    made = init(folder, Settings())
    assert "README.md" not in made.added and (folder / "README.md").read_text() == "my journal\n"
    assert (folder / "posts/week-1.md").is_file()


def test_init_repairs_a_journal_adding_only_what_is_missing(tmp_path):
    root = tmp_path / "j"
    init(root, Settings(title="Mine"))
    (root / "docs/about.md").unlink()
    (root / "mkdocs.yml").write_text((root / "mkdocs.yml").read_text().replace("Mine", "Renamed"))
    (root / "posts/week-1.md").rename(root / "posts/week-7.md")
    repaired = cli("init", str(root), "--title", "Other")
    assert repaired.returncode == 0, repaired.stderr
    assert "added the 1 missing file:" in repaired.stdout
    assert re.findall(r"(?m)^  \+ (.*)$", repaired.stdout) == ["docs/about.md"]
    assert (root / "docs/about.md").is_file()
    assert site_config(root)["site_name"] == "Renamed"        # never overwritten
    assert not (root / "posts/week-1.md").exists()            # the author's posts are theirs
    again = cli("init", str(root))
    assert again.returncode == 0 and "nothing missing" in again.stdout


def test_github_urls_replace_a_commented_repo_url_and_keep_the_rest():
    tool = ("# how to set the URLs\nsite_name: Tool\nsite_url: https://example.github.io/journal/\n"
            "# repo_url: https://github.com/<user>/<repo>\ntheme:\n  custom_dir: overrides\n")
    lines = make_site_config(tool, Settings(title="Mine", github="ada/ada.github.io"), "Ada").splitlines()
    assert lines[0] == "# The site of Mine, published with GitHub Pages from github.com/ada/ada.github.io."
    assert lines[1] == 'site_name: "Mine"'
    assert "site_url: https://ada.github.io/" in lines       # a user site: no path
    assert "repo_url: https://github.com/ada/ada.github.io" in lines
    assert lines[-2:] == ["theme:", "  custom_dir: overrides"]
    assert not [line for line in lines if "how to set" in line or "<user>" in line]
    assert len([line for line in lines if line.startswith(("copyright:", "site_description:"))]) == 2


def test_a_post_started_in_an_empty_folder_becomes_a_journal_with_init(tmp_path):
    root = tmp_path / "blank"
    root.mkdir()
    started = cli("-C", str(root), "new", "Hello")
    assert started.returncode == 0 and "journal init ." in started.stderr
    failed = cli("-C", str(root), "build")
    assert failed.returncode == 2 and "journal init ." in failed.stderr
    repaired = cli("-C", str(root), "init", ".")
    assert repaired.returncode == 0, repaired.stderr
    added = re.findall(r"(?m)^  \+ (.*)$", repaired.stdout)
    assert "mkdocs.yml" in added and "experiments/__init__.py" in added
    assert "posts/week-1.md" not in added and "experiments/bigram.py" not in added   # the author's post stays
    built = cli("-C", str(root), "build")
    assert built.returncode == 0, built.stderr
    assert list((root / "site" / "blog").rglob("week-1/index.html"))


def test_init_leaves_a_plain_mkdocs_project_alone(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: Handbook\n")
    refused = cli("init", str(tmp_path))
    assert refused.returncode == 2 and "is not a journal" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "mkdocs.yml"]
