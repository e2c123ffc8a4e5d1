"""Reliability under attack: the README's guarantees hold when the input, the disk or the
experiment itself tries to break them.

Each case works on a copy of a journal built once, and runs the real `journal` command,
as tests/test_bad_input.py does.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_bad_input import built, fm  # noqa: F401 - the journal built once, front matter

LIFECYCLE = '''
import html
import json
import os
import re
import subprocess
import sys
import threading
import time


def _child():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(os.path.join(os.environ["JOURNAL_TEST_PIDS"], "child.pid"), "w") as f:
        f.write(str(proc.pid))
    return proc.pid


def lingering_thread(run):
    threading.Thread(target=time.sleep, args=(120,), daemon=False).start()
    return {"x": 1}


def child_then_return(run):
    return {"child": _child()}


def child_then_hang(run):
    _child()
    time.sleep(120)
'''


class Copy:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.pids = tmp / "pids"
        self.pids.mkdir()
        self.env = dict(os.environ, COLUMNS="300", JOURNAL_TEST_PIDS=str(self.pids),
                        JOURNAL_WRITABLE=str(self.pids), JOURNAL_TEST_COUNTER=str(self.pids / "calls"))

    def calls(self) -> list[str]:
        """The toy experiments that ran."""
        path = self.pids / "calls"
        return path.read_text().split() if path.exists() else []

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return path

    def args(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "generator", "-C", str(self.root), *args]

    def cli(self, *args: str, timeout: float = 120, memory: int | None = None) -> subprocess.CompletedProcess:
        """Run the command; ``memory`` bounds its address space (bytes) for cases that could
        exhaust the machine."""
        def limit():
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        return subprocess.run(self.args(*args), capture_output=True, text=True, env=self.env,
                              timeout=timeout, preexec_fn=limit if memory else None)

    def child_pid(self, wait: float = 30) -> int:
        path = self.pids / "child.pid"
        deadline = time.monotonic() + wait
        while not (path.exists() and path.read_text()):
            assert time.monotonic() < deadline, "the experiment never started its child"
            time.sleep(0.05)
        return int(path.read_text())


@pytest.fixture
def copy(built, tmp_path) -> Copy:  # noqa: F811 - the fixture imported above
    root = tmp_path / "journal"
    shutil.copytree(built, root, ignore=shutil.ignore_patterns("site"))
    return Copy(root, tmp_path)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for init to reap it does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # do not leave it behind for the next test
            return False
        time.sleep(0.02)
    return True


# -- worker lifecycle: process groups and bounded waits ---------------------------------

def test_a_lingering_thread_does_not_hold_the_build(copy):
    copy.write("experiments/lifecycle.py", LIFECYCLE)
    copy.write("posts/bad.md", fm("  b: {run: lifecycle.lingering_thread, timeout: 5s}\n", "{{ b.x }}\n"))
    start = time.monotonic()
    r = copy.cli("build", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - start < 30  # the thread sleeps 120 s


def test_children_of_a_finished_run_are_gone(copy):
    copy.write("experiments/lifecycle.py", LIFECYCLE)
    copy.write("posts/bad.md", fm("  b: {run: lifecycle.child_then_return}\n", "{{ b.child }}\n"))
    r = copy.cli("build", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _gone_within(copy.child_pid(), 1.0)


def test_children_of_a_timed_out_run_are_gone(copy):
    copy.write("experiments/lifecycle.py", LIFECYCLE)
    copy.write("posts/bad.md", fm("  b: {run: lifecycle.child_then_hang, timeout: 2s}\n"))
    start = time.monotonic()
    r = copy.cli("build", "--keep-going", timeout=60)
    assert r.returncode == 1 and "timed out after 2s" in r.stderr, r.stdout + r.stderr
    assert time.monotonic() - start < 30
    assert _gone_within(copy.child_pid(), 1.0)


def test_children_of_an_interrupted_run_are_gone(copy):
    copy.write("experiments/lifecycle.py", LIFECYCLE)
    copy.write("posts/bad.md", fm("  b: {run: lifecycle.child_then_hang}\n"))
    proc = subprocess.Popen(copy.args("build"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=copy.env)
    try:
        pid = copy.child_pid()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert _gone_within(pid, 1.0)
    tmp = copy.root / "results" / ".tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


# -- result strings are data: escaped for HTML and Markdown wherever they reach a page ----

ATTACK = '''
def strings(run):
    run.metric("label", "[click](javascript:alert(1)) <b>bold</b> **strong**")
    run.metric("cell", "a | 0.123")
    run.artifact("snip", 'before\\n--8<-- "mkdocs.yml"\\nafter')
    return {"v": 7}
'''

ATTACK_POST = """# Attack

Label: {{ b.label }}

{{ table b : cell v }}

{{ text b.snip }}
"""


def _cells(page: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)] for row in rows]


def test_result_strings_form_no_markup_anywhere(copy):
    copy.write("experiments/attack.py", ATTACK)
    copy.write("posts/attack.md", fm("  b: {run: attack.strings}\n", ATTACK_POST,
                                     head="date: 2024-07-11\nheadline: [b.label]\n"))
    r = copy.cli("build")
    assert r.returncode == 0, r.stdout + r.stderr
    site = copy.root / "site"
    pages = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    post = next(text for rel, text in pages.items() if rel.endswith("attack/index.html"))
    shown = "[click](javascript:alert(1)) <b>bold</b> **strong**"
    # home page (headline), blog index, archive and the post all show the string as text
    for rel in ("index.html", "blog/index.html", "blog/archive/2024/index.html"):
        assert shown in html.unescape(re.sub(r"<[^>]+>", "", pages[rel])), rel
    assert shown in html.unescape(re.sub(r"<[^>]+>", "", post))
    for rel, text in pages.items():
        assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", text, re.I), rel
        assert "<b>bold</b>" not in text and "<strong>strong</strong>" not in text, rel
    # the | stays inside its cell
    table = next(rows for rows in [_cells(post)] if rows)
    assert ["b", "a | 0.123", "7"] in table, table
    # the snippet line is shown, not expanded: mkdocs.yml is not published
    assert '--8<-- "mkdocs.yml"' in html.unescape(post)
    assert "docs_dir" not in post and "markdown_extensions" not in post


def test_links_with_unsafe_schemes_are_refused(copy):
    copy.write("posts/bad.md", fm("  b: {run: toy.square}\n",
                                  "Fine [a](https://example.org) and [b](../x.md).\n"
                                  "Bad [c](JavaScript:alert(1)).\n"))
    r = copy.cli("build")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "posts/bad.md:7: a link to a 'javascript:' URL" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


# -- references: one line each, never inside code, headlines checked ---------------------

CODE_BODY = """# Code

- an item with {{ b.total }}

        indented code in the item {{ not.a_ref }}

    ```python
    template = "{{ fenced.in_item }}"
    ```

!!! note "A box"
    In the box {{ b.n }}

    ```
    {{ fenced.in_box }}
    ```

After.

    top-level indented code {{ nor.this }}
"""


def test_code_is_never_scanned(copy):
    copy.write("posts/bad.md", fm("  b: {run: toy.square, params: {n: 2}}\n", CODE_BODY))
    r = copy.cli("build")
    assert r.returncode == 0, r.stdout + r.stderr
    page = next((copy.root / "site/blog").rglob("bad/index.html")).read_text()
    text = html.unescape(page)
    for literal in ("{{ not.a_ref }}", '"{{ fenced.in_item }}"', "{{ fenced.in_box }}", "{{ nor.this }}"):
        assert literal in text, literal
    assert "an item with 1" in text and "In the box 2" in text


@pytest.mark.parametrize("body, says", [
    ("Before {{ table b :\ntotal }} after.\n", "posts/bad.md:6: '{{' is not closed on its line"),
    ("Width {{ b.total:>3000000000 }}.\n", "posts/bad.md:6: '>3000000000': width and precision are at most 100"),
    ("Precision {{ b.total:.999f }}.\n", "posts/bad.md:6: '.999f': width and precision are at most 100"),
])
def test_references_that_cannot_render_are_refused_before_running(copy, body, says):
    copy.write("posts/bad.md", fm("  b: {run: toy.square, params: {n: 2}}\n", body))
    r = copy.cli("build", memory=2 << 30)
    assert r.returncode == 2 and says in r.stderr, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert copy.calls() == []  # found before anything ran


def test_a_headline_typo_is_an_error(copy):
    copy.write("posts/bad.md", fm("  b: {run: toy.square, params: {n: 2}}\n", "{{ b.total }}\n",
                                  head="date: 2024-07-11\nheadline: [b.total, b.totl]\n"))
    r = copy.cli("build")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "posts/bad.md:3: headline: b.totl: toy.square reported no metric 'totl' (did you mean 'total'?)" \
        in r.stderr, r.stderr


# -- a damaged store is reported, never an internal error; --rerun replaces it ------------

def _result_json(root: Path) -> Path:
    return next((root / "results").glob("toy.square/*/result.json"))


@pytest.mark.parametrize("damage", ["garbage", "conflict", "empty-list", "edited"])
def test_a_damaged_result_json_is_reported_and_replaced_on_request(copy, damage):
    meta = _result_json(copy.root)
    folder = meta.parent.relative_to(copy.root).as_posix()
    text = meta.read_text()
    meta.write_text({"garbage": "\x00not json{",
                     "conflict": f"<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n",
                     "empty-list": "[]\n",
                     "edited": text.replace('"threads": ', '"threads": 1', 1)}[damage])
    for args in (("build",), ("status",), ("show",)):
        r = copy.cli(*args)
        assert r.returncode == 1, (args, r.stdout + r.stderr)
        assert folder in r.stdout + r.stderr and "corrupt" in r.stdout + r.stderr, (args, r.stdout + r.stderr)
        assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert copy.cli("gc").returncode == 0 and meta.exists()  # gc keeps what a post uses
    r = copy.cli("build", "--rerun", "sq")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(meta.read_text())["key"].startswith(meta.parent.name)
    assert copy.cli("status").returncode == 0


def test_a_damaged_index_is_reported(copy):
    index = copy.root / "results" / "index.json"
    index.write_text("<<<<<<< HEAD\n{}\n")
    for args in (("build", "--rerun", "sq"), ("status",)):
        r = copy.cli(*args)
        assert r.returncode == 1, (args, r.stdout + r.stderr)
        assert "results/index.json is not valid JSON" in r.stderr and "delete it" in r.stderr, r.stderr
        assert "internal error" not in r.stderr
    assert copy.calls() == []


def test_a_rerun_killed_between_its_renames_is_restored(copy):
    meta = _result_json(copy.root)
    folder = meta.parent
    before = meta.read_bytes()
    folder.rename(folder.with_name(folder.name + ".old-1a2b3c"))  # the first rename, then the kill
    r = copy.cli("build")
    assert r.returncode == 0, r.stdout + r.stderr
    assert copy.calls() == []  # the last good result came back; nothing ran again
    assert meta.read_bytes() == before
    assert not list(folder.parent.glob("*.old-*"))


FULL_DISK = '''
import os


def disk_full(run):
    fd = os.open("/dev/full", os.O_WRONLY)  # every write fails with ENOSPC, as on a full disk
    os.dup2(fd, 1)
    os.dup2(fd, 2)  # the run's log is on it too
    with open("/dev/full", "w") as f:
        f.write("x" * 100_000)
    return {"x": 1}
'''


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_in_a_worker_is_named(copy):
    copy.write("experiments/full.py", FULL_DISK)
    copy.write("posts/bad.md", fm("  b: {run: full.disk_full}\n", "{{ b.x }}\n"))
    copy.env["JOURNAL_WRITABLE"] += os.pathsep + "/dev/full"
    r = copy.cli("build")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "No space left on device" in r.stderr and "the disk is full" in r.stderr, r.stderr
    assert "os._exit" not in r.stderr
    tmp = copy.root / "results" / ".tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


@pytest.mark.parametrize("fault, says", [
    ("index", "could not write results/index.json: the disk is full; nothing was changed there"),
    ("read-only", "could not write results/.tmp/"),
])
def test_an_unwritable_store_is_named_and_left_clean(copy, monkeypatch, fault, says):
    """Faults injected in-process: a full disk or a read-only mount cannot be made without root."""
    import errno

    from generator.commands.build import Options, build
    from generator.errors import JournalError

    copy.write("posts/bad.md", fm("  b: {run: toy.square, params: {n: 4}}\n", "{{ b.total }}\n"))
    real_write, real_mkdir = Path.write_text, Path.mkdir

    def write_text(self, *a, **k):
        if fault == "index" and self.name.startswith(".index.json."):
            real_write(self, "{", encoding="utf-8")  # a partial write, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, *a, **k)

    def mkdir(self, *a, **k):
        if fault == "read-only" and self.parent.name == ".tmp":
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", write_text)
    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.chdir(copy.root)
    before = (copy.root / "results" / "index.json").read_bytes()
    with pytest.raises(JournalError) as e:
        build(copy.root, Options(quiet=True, jobs=1))
    assert e.value.exit_code == 1 and says in str(e.value), str(e.value)
    assert (copy.root / "results" / "index.json").read_bytes() == before
    assert not list((copy.root / "results").glob(".index.json.*"))


# -- two builds never interleave, the site build included --------------------------------

def test_warm_builds_started_together_both_succeed(copy):
    assert copy.cli("build", "-q").returncode == 0  # warm: nothing to run, only the site
    for _ in range(2):
        procs = [subprocess.Popen(copy.args("build", "-q"), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=copy.env) for _ in range(2)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, out + err
    assert (copy.root / "site" / "index.html").is_file()


# -- bad input is caught before anything runs ---------------------------------------------

EXP = "  b: {run: toy.square, params: {n: 9}}\n"  # not stored yet: it would run


@pytest.mark.parametrize("head, says", [
    ("date: 2024-02-30\n", "posts/bad.md:2: front matter is not valid YAML: '2024-02-30' is not a valid date"),
    ("date: 2024-13-45\n", "posts/bad.md:2: front matter is not valid YAML: '2024-13-45' is not a valid date"),
    ("date: next tuesday\n", "posts/bad.md:2: date: expected a date such as 2024-07-04"),
    ("date: {updated: 2024-07-12}\n", "posts/bad.md:2: date: a mapping of dates needs `created:`"),
    ("date:\n  created: 2024-07-11\n  updated: soon\n", "posts/bad.md:4: date.updated: expected a date"),
    ("date: 2024-07-11\nn: !!int ten\n", "posts/bad.md:3: front matter is not valid YAML: 'ten' is not a valid int"),
    ("date: 2024-07-11\ncategories: 5\n", "posts/bad.md:3: categories: expected a list of names"),
    ("date: 2024-07-11\ntags: basics\n", "posts/bad.md:3: tags: expected a list of names"),
    ("date: 2024-07-11\nauthors: [alice]\n", "posts/bad.md:3: authors.0: 'alice' is not in docs/blog/.authors.yml"),
    ("date: 2024-07-11\ndraft: maybe\n", "posts/bad.md:3: draft: expected true or false, got 'maybe'"),
    ("date: 2024-07-11\npin: 1\n", "posts/bad.md:3: pin: expected true or false, got 1"),
    ("date: 2024-07-11\nreadtime: -3\n", "posts/bad.md:3: readtime: expected whole minutes"),
    ("date: 2024-07-11\nlinks: [javascript:alert(1)]\n", "links.0: a link to a 'javascript:' URL is not allowed"),
    ("date: 2024-07-11\nlinks: 7\n", "posts/bad.md:3: links: expected a list of paths or URLs"),
])
def test_blog_keys_are_checked_before_anything_runs(copy, head, says):
    copy.write("posts/bad.md", fm(EXP, "{{ b.total }}\n", head=head))
    r = copy.cli("build")
    assert r.returncode == 2 and says in r.stderr, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert copy.calls() == []


def test_valid_blog_keys_build(copy):
    copy.write("docs/blog/.authors.yml", "authors:\n  alice:\n    name: Alice\n    description: Writer\n    avatar: https://example.org/a.png\n")
    copy.write("posts/bad.md", fm(EXP, "{{ b.total }}\n", head=(
        "date:\n  created: 2024-07-11\n  updated: 2024-07-12\ncategories: [Basics]\ntags: [toy]\n"
        "authors: [alice]\ndraft: false\npin: true\nreadtime: 3\nlinks: [https://example.org]\n")))
    r = copy.cli("build")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("edit, says", [
    (("name: material", "name: materialx"), "Unrecognised theme name: 'materialx'"),
    (("  - search\n", "  - searchx\n"), 'The "searchx" plugin is not installed'),
    (("site_name: ", "site_name: ["), "error parsing the configuration file"),
])
def test_a_wrong_mkdocs_yml_is_found_before_anything_runs(copy, edit, says):
    config = copy.root / "mkdocs.yml"
    config.write_text(config.read_text().replace(*edit, 1))
    copy.write("posts/bad.md", fm(EXP, "{{ b.total }}\n"))
    r = copy.cli("build")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "mkdocs.yml: invalid mkdocs configuration" in r.stderr and says in r.stderr, r.stderr
    assert copy.calls() == []


@pytest.mark.parametrize("kind", ["fifo", "folder", "dangling-symlink"])
def test_only_regular_files_are_read_from_posts(copy, kind):
    path = copy.root / "posts" / "x.md"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(copy.root / "posts" / "gone.md")
    copy.write("posts/bad.md", fm(EXP, "{{ b.total }}\n"))
    r = copy.cli("build", timeout=60)  # a FIFO read would hang here
    assert r.returncode == 2, r.stdout + r.stderr
    assert {"fifo": "posts/x.md: is a FIFO", "folder": "posts/x.md: is a folder",
            "dangling-symlink": "posts/x.md: is a symbolic link to nothing"}[kind] in r.stderr, r.stderr
    assert copy.calls() == []


def test_a_yaml_alias_bomb_is_refused_in_bounded_memory(copy):
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]\n"
    copy.write("posts/bad.md", "---\ndate: 2024-07-11\n" + bomb + "experiments:\n" + EXP + "---\nx\n")
    r = copy.cli("build", memory=2 << 30, timeout=60)  # 10**9 values if expanded
    assert r.returncode == 2, r.stdout + r.stderr
    assert "posts/bad.md:2: front matter expands to more than 20,000 values" in r.stderr, r.stderr
    assert copy.calls() == []


def test_names_are_printed_escaped(copy):
    copy.write("posts/bad.md", fm('  "a\\0b\\e[31m": {run: toy.square}\n'))
    r = copy.cli("build")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "\x00" not in r.stderr and "\x1b" not in r.stderr, repr(r.stderr)
    assert "a\\x00b\\x1b[31m" in r.stderr, r.stderr


# -- the write guard is what the README says: a guard against accidents, not a sandbox -----

GUARD = '''
import os
import subprocess
import sys


def by_open(run):
    with open(os.path.join(os.environ["JOURNAL_TEST_OUTSIDE"], "open.txt"), "w") as f:
        f.write("x")


def by_subprocess(run):
    path = os.path.join(os.environ["JOURNAL_TEST_OUTSIDE"], "child.txt")
    subprocess.run([sys.executable, "-c", f"open({path!r}, 'w').write('x')"], check=True)
    return {"x": 1}
'''


def test_the_write_guard_is_described_honestly(copy, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    copy.env["JOURNAL_TEST_OUTSIDE"] = str(outside)
    copy.write("experiments/guard.py", GUARD)
    copy.write("posts/bad.md", fm("  a: {run: guard.by_open}\n  b: {run: guard.by_subprocess}\n"))
    r = copy.cli("build", "--keep-going")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "refused to write" in r.stderr and "it is not a sandbox" in r.stderr, r.stderr
    assert not (outside / "open.txt").exists()
    # what the guard does not see, as the README's threat model says
    assert (outside / "child.txt").exists()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "### Threat model" in readme and "not a sandbox" in readme and "subprocess" in readme
