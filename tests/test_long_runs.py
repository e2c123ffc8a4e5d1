"""Long runs: a run killed or timed out carries on from its last checkpoint under the same
key, and ends with exactly the result an uninterrupted run makes."""

from __future__ import annotations

import json

import pytest

from generator.errors import RunFailed
from generator.handle import RunHandle

LONG = '''
import os, signal, time
from pathlib import Path
import torch

def train(run, *, steps: int = 60):
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.2), torch.nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    start = 0
    state = run.resume()
    if state is not None:
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"]); start = state["step"]
    run.total(steps)
    kill_at = int(os.environ.get("KILL_AT", "-1"))
    marker = Path(os.environ["JOURNAL_WRITABLE"]) / "killed"
    for step in range(start, steps):
        x = torch.randn(8, 4)
        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        run.log(step + 1, loss=loss.item())
        if (step + 1) % 10 == 0:
            run.checkpoint({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1})
        if step + 1 == kill_at and not marker.exists():
            marker.write_text("once")
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(float(os.environ.get("SLOW", "0")))
    run.metric("final_loss", loss.item())
    run.metric("probe", torch.rand(1).item())
'''

POST = "m: {run: long.train}"


def _killed_at(journal, monkeypatch, step: int) -> None:
    """A build whose run is SIGKILLed once, after step ``step`` (checkpoints every 10)."""
    journal.write("experiments/long.py", LONG)
    journal.post("week-1", POST, "{{ m.final_loss }}\n")
    monkeypatch.setenv("KILL_AT", str(step))
    with pytest.raises(RunFailed, match="stopped with a checkpoint"):
        journal.build()


def _result(journal):
    (result,) = [p for p in (journal.root / "results").rglob("result.json")]
    folder = result.parent
    meta = json.loads(result.read_text())
    return (json.loads((folder / "metrics.json").read_text()),
            json.loads((folder / "series.json").read_text()), meta["provenance"])


def test_a_killed_run_resumes_to_the_uninterrupted_result(journal, monkeypatch):
    journal.write("experiments/long.py", LONG)
    journal.post("week-1", POST, "{{ m.final_loss }}\n")
    monkeypatch.setenv("KILL_AT", "35")
    out = journal.cli("build")
    assert out.returncode == 1, out.stdout + out.stderr
    said = out.stdout + out.stderr
    assert "stopped" in said and "checkpoint at step 30 of 60" in said, said
    (summary,) = (journal.root / ".journal/checkpoints").glob("*/checkpoint.json")
    assert json.loads(summary.read_text())["step"] == 30
    out = journal.cli("build")          # the marker is there: this attempt runs to the end
    assert out.returncode == 0, out.stdout + out.stderr
    metrics, series, prov = _result(journal)
    assert prov["attempts"] == 2 and prov["resumed_from_step"] == 30
    steps = [s for s, _ in series["loss"]]
    assert steps == list(range(1, 61))   # points after the checkpoint are not logged twice
    assert not list((journal.root / ".journal/checkpoints").glob("*/checkpoint.pt"))  # dropped
    monkeypatch.delenv("KILL_AT")
    journal.build(rerun=("m",))          # the same key, uninterrupted
    again, series_again, prov_again = _result(journal)
    assert prov_again["attempts"] == 1 and prov_again["resumed_from_step"] is None
    assert again == metrics and series_again == series


def test_a_timed_out_run_is_stopped_not_failed_and_carries_on(journal, monkeypatch):
    journal.write("experiments/long.py", LONG)
    journal.post("week-1", "m: {run: long.train, timeout: 10s}", "{{ m.final_loss }}\n")
    monkeypatch.setenv("SLOW", "0.4")    # 60 steps of 0.4 s: past the 10 s timeout
    with pytest.raises(RunFailed) as e:
        journal.build()
    assert "stopped at step" in str(e.value) and "resumes it from its checkpoint" in str(e.value)
    assert "`timeout:` limits each attempt" in str(e.value)
    monkeypatch.setenv("SLOW", "0")
    journal.build()
    _, series, prov = _result(journal)
    assert prov["attempts"] == 2 and prov["resumed_from_step"] >= 10
    assert [s for s, _ in series["loss"]] == list(range(1, 61))


def test_rerun_starts_over_and_a_changed_key_never_resumes(journal, monkeypatch):
    _killed_at(journal, monkeypatch, 25)
    assert list((journal.root / ".journal/checkpoints").glob("*/checkpoint.pt"))
    journal.post("week-1", "m: {run: long.train, params: {steps: 40}}", "{{ m.final_loss }}\n")
    journal.build()                      # another key: from step 0
    _, _, prov = _result(journal)
    assert prov["attempts"] == 1 and prov["resumed_from_step"] is None


def test_resume_is_called_once_before_the_loop(tmp_path):
    run = RunHandle(tmp_path / "out", checkpoints=tmp_path / "ckpt", key="k")
    assert run.resume() is None
    with pytest.raises(RuntimeError, match="called once"):
        run.resume()
    late = RunHandle(tmp_path / "out2", checkpoints=tmp_path / "ckpt2", key="k")
    late.log(1, loss=1.0)
    with pytest.raises(RuntimeError, match="before the training loop"):
        late.resume()


def test_a_state_that_cannot_be_saved_is_a_clear_error_and_keeps_the_last_one(tmp_path):
    from generator.checkpoints import CheckpointError

    run = RunHandle(tmp_path / "out", checkpoints=tmp_path / "ckpt", key="k")
    run.progress(5)
    run.checkpoint({"step": 5})
    with pytest.raises(CheckpointError, match="cannot save this state"):
        run.checkpoint({"step": 6, "f": lambda: 1})
    again = RunHandle(tmp_path / "out3", checkpoints=tmp_path / "ckpt", key="k")
    assert again.resume() == {"step": 5} and again.resumed_from == 5
    other = RunHandle(tmp_path / "out4", checkpoints=tmp_path / "ckpt", key="another")
    assert other.resume() is None        # a state another key wrote is never used


def test_status_lists_a_resumable_run_and_rerun_discards_it(journal, monkeypatch):
    _killed_at(journal, monkeypatch, 25)
    out = journal.cli("status")
    assert "interrupted at step 20/60" in out.stdout and "resumes it" in out.stdout, out.stdout
    monkeypatch.delenv("KILL_AT")
    journal.build(rerun=("m",))
    _, _, prov = _result(journal)
    assert prov["attempts"] == 1              # --rerun started over
    assert "interrupted" not in journal.cli("status").stdout
