"""Smoke test of examples/profile_rollout.py on a tiny CPU config (table and JSON; ``--trace`` is left out because
starting torch.profiler takes ~20 s on the 2-core CI box)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from example_loader import load_example


def test_profile_rollout_runs_on_cpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = load_example("profile_rollout")
    out = tmp_path / "prof.json"
    result = mod.main(
        ["--device", "cpu", "--vocab", "64", "--hidden", "16", "--batch", "2", "--rollouts", "2", "--length", "4",
         "--repeats", "1", "--json", str(out)]
    )
    text = capsys.readouterr().out
    assert "| implementation |" in text and "| loop |" in text
    data = json.loads(out.read_text())
    assert data == json.loads(json.dumps(result))
    by_name = {r["impl"]: r for r in data["results"]}
    for name in ("loop", "torch"):
        assert by_name[name]["rollout_ms"] > 0 and by_name[name]["reward_ms"] > 0, by_name[name]
    assert by_name["loop"]["reward_vs_loop"] == pytest.approx(1.0)
    assert data["config"]["num_rollout_rows"] == 2 * 2 * 3


@pytest.mark.parametrize(("argv", "needle"), [
    (["--rollouts", "0"], "--rollouts=0 must be a whole number >= 1"),
    (["--vocab", "-3"], "--vocab=-3 must be a whole number >= 1"),
    (["--device", "foo"], "--device='foo' is not a torch device"),
    (["--block-r", "16,x"], "--block-r '16,x'"),
    (["--no-such-flag"], "unrecognized arguments"),
])
def test_profile_rollout_bad_flags_are_one_line(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]):
    assert load_example("profile_rollout").cli(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
