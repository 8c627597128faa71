"""examples/sb3_train.py and examples/custom_agent.py end to end on the tiny task (seconds each)."""

from __future__ import annotations

import csv
import json
import sys

import pytest
from example_loader import load_example as load

from seqgan_env.cli import run_cli


@pytest.fixture(scope="module")
def st():
    return load("sb3_train")


@pytest.mark.parametrize("algo", ["ppo", "reinforce", "recurrent-ppo"])
def test_tiny_run_writes_summary_metrics_and_setup(st, tmp_path, algo):
    if algo == "recurrent-ppo":
        pytest.importorskip("sb3_contrib")
    out = tmp_path / algo
    assert st.main(["--algo", algo, "--preset", "tiny", "--out", str(out), "--timesteps", "1024",
                    "--eval-every", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("nll_oracle", "d_score_before", "d_score_after"):
        assert 0 < summary[key] < (10 if key == "nll_oracle" else 1), (key, summary[key])
    assert summary["budget"]["timesteps"] == 1024 and summary["algo"] == algo
    with open(out / "metrics.csv") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    from seqgan_env.agents.trainer import METRIC_COLUMNS

    assert tuple(reader.fieldnames) == METRIC_COLUMNS
    assert {r["phase"] for r in rows} == {"mle", "d_pretrain", "adversarial"}
    adv = [r for r in rows if r["phase"] == "adversarial"]
    assert len(adv) >= 3 and float(adv[-1]["nll_oracle"]) == pytest.approx(summary["nll_oracle"])
    with open(out / "sb3" / "progress.csv") as fh:
        assert "gan/d_loss" in next(csv.reader(fh))
    from seqgan_env.agents.sb3 import load_setup

    setup = load_setup(out / "setup")
    assert setup.env.num_envs == 8 and setup.env.env_kwargs["reward_mode"] == "shaped"


def test_contrib_algos_say_how_to_install(st, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)  # makes `import sb3_contrib` raise ImportError
    assert st.cli(["--algo", "maskable-ppo", "--preset", "tiny", "--out", str(tmp_path), "--timesteps", "128"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs sb3-contrib" in err[0] and "seqgan-env[contrib]" in err[0]


@pytest.mark.parametrize(("argv", "needle"), [
    (["--threads", "0"], "--threads=0 must be a whole number >= 1"),
    (["--device", "foo"], "--device='foo' is not a torch device"),
    (["--eval-every", "0"], "--eval-every=0 must be a whole number >= 1"),
    (["--num-envs", "0"], "--num-envs=0 must be a whole number >= 1"),
    (["--d-every", "0"], "--d-every=0 must be a whole number >= 1"),
    (["--gamma", "nan"], "--gamma=nan must be a finite number in [0, 1]"),
    (["--learning-rate", "0"], "--learning-rate=0.0 must be a finite number > 0"),
    (["--reward-backend", "triton"], "--reward-backend triton: backend='triton' needs"),
])
def test_bad_values_are_refused_before_pretraining(st, tmp_path, capsys, argv, needle):
    """Every value is checked when the flags are read: one error line, exit 2, nothing written (they used to fail
    after pretraining, or with a traceback)."""
    assert st.cli(["--preset", "tiny", "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert not (tmp_path / "o").exists()


def test_tiny_preset_refuses_an_oracle_file(st, tmp_path, capsys):
    """--preset tiny builds its own V=32 oracle: an --oracle-params that it would ignore is an error instead."""
    assert st.cli(["--preset", "tiny", "--oracle-params", str(tmp_path / "x.npz"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot use --oracle-params" in err[0] and not (tmp_path / "o").exists()


def test_custom_agent_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert load("custom_agent").main([]) == 0
    assert "custom agent" in capsys.readouterr().out
    assert (tmp_path / "runs" / "custom_agent" / "metrics.csv").is_file()


@pytest.mark.parametrize("argv", [["--no-such-flag"], ["--threads", "0"], ["--adv-rounds", "-1"]])
def test_custom_agent_bad_flags_are_one_line_before_any_work(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    ca = load("custom_agent")
    assert run_cli(ca.main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and not (tmp_path / "runs").exists()
