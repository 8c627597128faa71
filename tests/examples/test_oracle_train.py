"""examples/oracle_train.py end to end with the tiny preset (a V=50, T=8 random oracle; seconds)."""

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "oracle_train.py"


@pytest.fixture(scope="module")
def ot():
    spec = importlib.util.spec_from_file_location("oracle_train", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["oracle_train"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def _env_oracle_is_ignored_by_tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQGAN_ORACLE_PARAMS", str(tmp_path / "does-not-exist.npz"))


def tiny(ot, out: Path, *extra: str) -> int:
    return ot.main(["--preset", "tiny", "--out", str(out), "--progress", "false", *extra])


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_tiny_run_writes_every_file_and_resume_matches(ot, tmp_path, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    assert tiny(ot, full) == 0
    log = capsys.readouterr().out
    assert "seeded random oracle" in log
    rows = read_rows(full / "metrics.csv")
    for col in ("phase", "step", "nll_oracle", "nll_test", "d_loss", "d_acc", "g_reward", "seconds"):
        assert col in rows[0]
    assert {r["phase"] for r in rows} == {"mle", "d_pretrain", "adversarial", "mle_baseline"}
    summary = json.loads((full / "summary.json").read_text())
    for key in ("mle_nll_oracle", "seqgan_nll_oracle", "mle_nll_test", "seqgan_nll_test", "timings_s", "schedule"):
        assert key in summary
    assert summary["seqgan_nll_oracle"] == float([r for r in rows if r["phase"] == "adversarial"][-1]["nll_oracle"])
    assert summary["schedule"]["adv_rounds"] == ot.PRESETS["tiny"]["adv_rounds"]
    png = (full / "learning_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert any(p.name.startswith("events.out.tfevents") for p in (full / "tb").iterdir())
    # killed after 2 adversarial rounds, then resumed: the same metrics as the uninterrupted run
    assert tiny(ot, part, "--stop-after-rounds", "2") == 0
    assert not (part / "summary.json").exists()
    assert ot.main(["--resume", str(part), "--progress", "false"]) == 0
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(read_rows(part / "metrics.csv")) == strip(rows)
    a, b = json.loads((part / "summary.json").read_text()), summary
    assert (a["seqgan_nll_oracle"], a["mle_nll_oracle"]) == (b["seqgan_nll_oracle"], b["mle_nll_oracle"])


def test_unknown_preset_or_knob_is_a_clear_error(ot, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        ot.main(["--preset", "fast", "--out", str(tmp_path)])
    assert e.value.code == 2 and "invalid choice: 'fast'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        ot.main(["--preset", "tiny", "--adv-roundz", "3"])
    assert e.value.code == 2 and "unrecognized arguments: --adv-roundz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ot.main(["--adv-rounds", "three"])
    assert "invalid int value" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_resume_refuses_bad_checkpoint_or_other_settings(ot, tmp_path, capsys):
    run = tmp_path / "run"
    assert tiny(ot, run, "--stop-after-rounds", "1") == 0
    assert ot.main(["--resume", str(run), "--adv-rounds", "9", "--progress", "false"]) == 2
    assert "--adv-rounds 9 (run used 4)" in capsys.readouterr().err
    assert tiny(ot, run) == 2  # a fresh run never overwrites an existing one
    assert "already holds a run" in capsys.readouterr().err
    ck = run / "checkpoint.pt"
    ck.write_bytes(b"not a checkpoint")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert ot.main(["--resume", str(run), "--progress", "false"]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert ot.main(["--resume", str(tmp_path / "missing"), "--progress", "false"]) == 2


def test_oracle_source_precedence(ot, oracle_path, monkeypatch):
    monkeypatch.setenv("SEQGAN_ORACLE_PARAMS", str(oracle_path))
    args, _ = ot.parse_args(["--preset", "quick"])
    oracle, src = ot.oracle_and_source(args)
    assert "reference oracle file" in src and "SEQGAN_ORACLE_PARAMS" in src and oracle.vocab_size == 5000
    args, _ = ot.parse_args(["--preset", "tiny"])
    assert "seeded random oracle" in ot.oracle_and_source(args)[1]
    args, _ = ot.parse_args(["--preset", "quick", "--oracle-params", str(oracle_path)])
    assert "$SEQGAN" not in ot.oracle_and_source(args)[1]
    assert (args.mle_epochs, args.adv_rounds, args.num_rollouts) == (40, 40, 4)  # preset, then flags
    args, _ = ot.parse_args(["--preset", "quick", "--adv-rounds", "7"])
    assert args.adv_rounds == 7 and args.mle_epochs == 40
