"""Notebooks as experiments: parameters, keys over code cells only, figures, failures, timeouts."""

from __future__ import annotations

import json
import textwrap

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

HELPER = '''
def triangle(n):
    return n * (n + 1) // 2
'''

CELLS = [
    ("markdown", [], "# A notebook experiment\nIt reports through the run handle."),
    ("code", ["parameters"], "steps: int = 3\nscale = 1.0"),
    ("code", [], "import generator\nfrom experiments.helper import triangle\nrun = generator.current_run()"),
    ("code", [], "run.total(steps)\nfor i in range(steps):\n    run.log(i, value=scale * i)\n"
                 "run.metrics(total=scale * triangle(steps - 1), steps=steps)\nprint('done', steps)"),
    ("code", ["curve"], "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n"
                        "ax.plot(range(steps), [scale * i for i in range(steps)])"),
]

POST_BODY = """
# Notebook

The total was {{ nb.total }} after {{ param nb.steps }} steps.

{{ figure nb.curve "The curve" }}
"""


def notebook(cells=CELLS, outputs: dict | None = None) -> str:
    out = []
    for i, (kind, tags, source) in enumerate(cells):
        cell = {"cell_type": kind, "metadata": {"tags": tags} if tags else {},
                "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell["outputs"] = (outputs or {}).get(i, [])
            cell["execution_count"] = None
        out.append(cell)
    return json.dumps({"cells": out, "metadata": {"kernelspec": {"name": "python3",
                       "display_name": "Python 3", "language": "python"}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1)


def percent(cells=CELLS) -> str:
    out = []
    for kind, tags, source in cells:
        head = "# %%" + (" [markdown]" if kind == "markdown" else "")
        if tags:
            head += " tags=" + json.dumps(tags)
        body = "\n".join("# " + line for line in source.split("\n")) if kind == "markdown" else source
        out.append(f"{head}\n{body}\n")
    return "\n".join(out)


@pytest.fixture
def nb_journal(journal):
    journal.write("experiments/helper.py", HELPER)
    journal.write("notebooks/week.ipynb", notebook())
    journal.post("notebook", """
        nb:
          run: notebooks/week.ipynb
          params: {steps: 5, scale: 2}
    """, POST_BODY)
    return journal


def test_a_notebook_runs_with_overridden_params_and_a_post_renders_its_results(nb_journal):
    s = nb_journal.build()
    assert s.ran == 1 and not s.failed
    page = nb_journal.html("notebook")
    assert "The total was 20 after 5 steps." in page  # 2 * (0+1+2+3+4)
    result = next((nb_journal.root / "results").glob("notebooks--week.ipynb/*/"))
    meta = json.loads((result / "result.json").read_text())
    assert meta["figures"] == ["curve"]
    assert (result / "figures" / "curve.dark.png").read_bytes() != \
        (result / "figures" / "curve.light.png").read_bytes()  # re-drawn for the dark palette
    stored = json.loads((result / "notebook.ipynb").read_text())
    sources = ["".join(c["source"]) for c in stored["cells"]]
    assert any("steps = 5" in s and "scale = 2" in s for s in sources)  # injected, shown
    assert not any("_journal" in s for s in sources)  # the journal's own cells are not kept
    assert "done 5" in (result / "log.txt").read_text()
    assert nb_journal.build().ran == 0


def test_markdown_and_output_edits_stale_nothing_code_edits_do(nb_journal):
    nb_journal.build()
    edited = [(k, t, s + "\nMore words." if k == "markdown" else s) for k, t, s in CELLS]
    nb_journal.write("notebooks/week.ipynb", notebook(
        edited, outputs={3: [{"output_type": "stream", "name": "stdout", "text": "old output\n"}]}))
    reformatted = [(k, t, s.replace("run.total(steps)", "run.total( steps )  # comment"))
                   for k, t, s in edited]
    nb_journal.write("notebooks/week.ipynb", notebook(reformatted))
    assert nb_journal.build().ran == 0
    changed = [(k, t, s.replace("scale * i)", "scale * i + 1)")) for k, t, s in CELLS]
    nb_journal.write("notebooks/week.ipynb", notebook(changed))
    r = nb_journal.cli("status", "--explain")
    assert "stale" in r.stdout and "notebooks/week.ipynb changed" in r.stdout, r.stdout
    assert nb_journal.build().ran == 1


def test_a_helper_the_notebook_imports_stales_it(nb_journal):
    nb_journal.build()
    nb_journal.write("experiments/helper.py", HELPER.replace("// 2", "// 2 + 0"))
    r = nb_journal.cli("status", "--explain")
    assert "experiments/helper.py changed" in r.stdout, r.stdout
    assert nb_journal.build().ran == 1


def test_a_jupytext_percent_notebook_works_the_same(journal):
    journal.write("experiments/helper.py", HELPER)
    journal.write("notebooks/week.py", percent())
    journal.post("notebook", """
        nb:
          run: notebooks/week.py
          params: {steps: 5, scale: 2}
    """, POST_BODY)
    assert journal.build().ran == 1
    assert "The total was 20 after 5 steps." in journal.html("notebook")
    text = (journal.root / "notebooks/week.py").read_text()
    journal.write("notebooks/week.py", text.replace("# It reports", "# It still reports"))
    assert journal.build().ran == 0


def test_unknown_and_mistyped_params_are_input_errors_before_anything_runs(journal):
    journal.write("experiments/helper.py", HELPER)
    journal.write("notebooks/week.ipynb", notebook())
    journal.post("notebook", """
        nb:
          run: notebooks/week.ipynb
          params: {stepz: 5, scale: "big"}
    """, POST_BODY)
    r = journal.cli("build")
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "posts/notebook.md:" in out
    assert "has no parameter 'stepz'" in out and "steps, scale" in out
    assert "experiments.nb.params.scale" in out and "a number" in out
    assert "Traceback" not in out
    assert journal.calls() == [] and not (journal.root / "results").exists()


def test_a_failing_cell_is_reported_with_the_notebook_the_cell_and_its_source(journal):
    cells = [*CELLS[:3], ("code", [], "x = 1\ny = 0\nz = x / y\nprint(z)")]
    journal.write("experiments/helper.py", HELPER)
    journal.write("notebooks/week.ipynb", notebook(cells))
    journal.post("notebook", "nb:\n  run: notebooks/week.ipynb\n", "# N\n")
    r = journal.cli("build")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "notebooks/week.ipynb: cell 4 failed: ZeroDivisionError" in out, out
    assert ">   3 | z = x / y" in out
    kept = list((journal.root / ".journal" / "logs").glob("nb-*.ipynb"))
    assert kept and "ZeroDivisionError" in kept[0].read_text()
    assert "the executed notebook: .journal/logs/nb-" in out


def test_a_hanging_cell_is_killed_at_its_timeout(journal):
    cells = [*CELLS[:3], ("code", [], "import time\ntime.sleep(600)")]
    journal.write("experiments/helper.py", HELPER)
    journal.write("notebooks/week.ipynb", notebook(cells))
    journal.post("notebook", "nb:\n  run: notebooks/week.ipynb\n  timeout: 8s\n", "# N\n")
    r = journal.cli("build", timeout=120)
    assert r.returncode == 1 and "timed out after 8s" in r.stdout + r.stderr, r.stdout + r.stderr
    import subprocess

    left = subprocess.run(["pgrep", "-f", "ipykernel_launcher"], capture_output=True, text=True)
    assert left.stdout.strip() == "" or all(
        str(journal.root) not in open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
        for pid in left.stdout.split() if _exists(pid)), "a kernel outlived its run"


def _exists(pid: str) -> bool:
    import os

    return os.path.exists(f"/proc/{pid}")


def test_current_run_outside_the_journal_prints_what_it_is_given(capsys):
    import generator

    run = generator.current_run()
    run.total(2)
    run.log(0, loss=1.5)
    run.metrics(dev_nll=2.25)
    out = capsys.readouterr().out
    assert "not run by the journal" in out and "loss=1.5" in out and "dev_nll = 2.25" in out


def test_the_parameters_cell_holds_only_literal_assignments(journal):
    cells = [("code", ["parameters"], "steps = int('3')")]
    journal.write("notebooks/week.ipynb", notebook(cells))
    journal.post("notebook", "nb:\n  run: notebooks/week.ipynb\n", "# N\n")
    r = journal.cli("build")
    assert r.returncode == 2 and "must be a literal" in r.stderr, r.stdout + r.stderr
    journal.write("notebooks/week.ipynb", textwrap.dedent("not json"))
    r = journal.cli("build")
    assert r.returncode == 2 and "is not a Jupyter notebook" in r.stderr, r.stdout + r.stderr


def test_a_published_notebook_is_a_page_linked_from_the_post(journal):
    journal.write("experiments/helper.py", HELPER)
    journal.write("notebooks/week.ipynb", notebook())
    journal.post("notebook", """
        nb:
          run: notebooks/week.ipynb
          params: {steps: 4}
          publish: true
    """, POST_BODY)
    journal.build()
    post = journal.html("notebook")
    assert "The notebook behind these numbers" in post and "notebooks/notebook-nb/" in post
    pages = list((journal.root / "site").rglob("notebook-nb/index.html"))
    assert pages, "no page for the published notebook"
    page = pages[0].read_text()
    assert "steps = 4" in page                      # the injected parameters, shown
    assert "A notebook experiment" in page           # a Markdown cell
    md = (journal.root / "docs/blog/notebooks/notebook-nb.md").read_text()
    assert "run.metrics(total=" in md and "metrics" in page  # a code cell
    assert "\n## A notebook experiment" in md  # its heading under the page's title
    assert "done 4" in page                          # what it printed
    assert "curve" in page and ".dark.png" in page   # the figure, light and dark


def test_publish_is_for_notebooks_only(journal):
    journal.post("p", "sq:\n  run: toy.square\n  publish: true\n", "# P\n")
    r = journal.cli("build")
    assert r.returncode == 2 and "only a notebook experiment" in r.stderr, r.stdout + r.stderr
