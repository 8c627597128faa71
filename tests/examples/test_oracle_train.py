"""examples/oracle_train.py end to end with the tiny preset (a V=50, T=8 random oracle; seconds)."""

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from example_loader import load_example

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "oracle_train.py"


@pytest.fixture(scope="module")
def ot():
    return load_example("oracle_train")


@pytest.fixture(autouse=True)
def _env_oracle_is_ignored_by_tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQGAN_ORACLE_PARAMS", str(tmp_path / "does-not-exist.npz"))


def tiny(ot, out: Path, *extra: str) -> int:
    return ot.cli(["--preset", "tiny", "--out", str(out), "--progress", "false", *extra])


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def one_error_line(capsys, *needles: str) -> str:
    """The command printed exactly one line to stderr, starting with 'error: ', without a traceback."""
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_tiny_run_writes_every_file_and_resume_matches(ot, tmp_path, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    assert tiny(ot, full) == 0
    log = capsys.readouterr().out
    assert "seeded random oracle" in log
    rows = read_rows(full / "metrics.csv")
    for col in ("phase", "step", "nll_oracle", "nll_test", "d_loss", "d_acc", "d_fake_score", "seconds"):
        assert col in rows[0]
    assert {r["phase"] for r in rows} == {"mle", "d_pretrain", "adversarial", "mle_baseline"}
    summary = json.loads((full / "summary.json").read_text())
    for key in ("mle_nll_oracle", "seqgan_nll_oracle", "mle_nll_test", "seqgan_nll_test", "timings_s", "schedule"):
        assert key in summary
    assert summary["seqgan_nll_oracle"] == float([r for r in rows if r["phase"] == "adversarial"][-1]["nll_oracle"])
    assert summary["schedule"]["adv_rounds"] == ot.PRESETS["tiny"]["adv_rounds"] and summary["nonfinite"] == []
    png = (full / "learning_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert any(p.name.startswith("events.out.tfevents") for p in (full / "tb").iterdir())
    assert not (full / ".lock").exists() and not list(full.glob("*.tmp"))
    # killed after 2 adversarial rounds, then resumed: the same metrics as the uninterrupted run
    assert tiny(ot, part, "--stop-after-rounds", "2") == 0
    assert not (part / "summary.json").exists()
    assert ot.cli(["--resume", str(part), "--progress", "false"]) == 0
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(read_rows(part / "metrics.csv")) == strip(rows)
    a, b = json.loads((part / "summary.json").read_text()), summary
    assert (a["seqgan_nll_oracle"], a["mle_nll_oracle"]) == (b["seqgan_nll_oracle"], b["mle_nll_oracle"])


def test_command_line_mistakes_are_one_line(ot, tmp_path, capsys):
    assert ot.cli(["--preset", "fast", "--out", str(tmp_path)]) == 2
    one_error_line(capsys, "invalid choice: 'fast'", "--help")
    assert ot.cli(["--preset", "tiny", "--adv-roundz", "3"]) == 2
    one_error_line(capsys, "unrecognized arguments: --adv-roundz")
    assert ot.cli(["--adv-rounds", "three"]) == 2
    one_error_line(capsys, "invalid int value")
    assert ot.cli(["--preset", "tiny", "--pg-lr", "inf", "--out", str(tmp_path / "x")]) == 2
    one_error_line(capsys, "lr=inf", "finite")
    for argv, needle in ((["--threads", "0"], "--threads=0 must be a whole number >= 1"),
                         (["--device", "foo"], "--device='foo' is not a torch device"),
                         (["--dist-timeout", "0"], "--dist-timeout=0.0 must be a finite number > 0"),
                         (["--stop-after-rounds", "-1"], "--stop-after-rounds -1"),
                         (["--rollout-backend", "triton"], "--rollout-backend triton: backend='triton' needs")):
        assert ot.cli(["--preset", "tiny", "--out", str(tmp_path / "x"), *argv]) == 2
        one_error_line(capsys, needle)
    assert not any(tmp_path.iterdir())
    afile = tmp_path / "afile"
    afile.write_text("")
    assert tiny(ot, afile) == 2
    one_error_line(capsys, "is a file")
    with pytest.raises(ValueError, match="invalid choice"):  # --debug: the traceback of a user error
        ot.cli(["--preset", "fast", "--debug"])


def test_resume_refuses_bad_checkpoint_or_other_settings(ot, tmp_path, capsys):
    run = tmp_path / "run"
    assert tiny(ot, run, "--stop-after-rounds", "1") == 0
    capsys.readouterr()
    assert ot.cli(["--resume", str(run), "--adv-rounds", "9", "--progress", "false"]) == 2
    one_error_line(capsys, "--adv-rounds 9 (the run used 4)")
    assert ot.cli(["--resume", str(run), "--out", str(tmp_path / "elsewhere")]) == 2
    one_error_line(capsys, "drop --out")
    assert not (tmp_path / "elsewhere").exists()
    assert tiny(ot, run) == 2  # a fresh run never overwrites an existing one
    one_error_line(capsys, "already holds a run")
    ck = run / "checkpoint.pt"
    ck.write_bytes(b"not a checkpoint")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert ot.cli(["--resume", str(run), "--progress", "false"]) == 2
    one_error_line(capsys, "not a checkpoint written by seqgan-env")
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert ot.cli(["--resume", str(tmp_path / "missing"), "--progress", "false"]) == 2
    one_error_line(capsys, "no run there")
    ck.unlink()  # as if the run had been killed before its first checkpoint
    assert ot.cli(["--resume", str(run)]) == 2
    one_error_line(capsys, "before its first checkpoint", "original command")


def test_two_runs_cannot_share_an_out_directory(ot, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text(f"{os.getppid()} {__import__('socket').gethostname()}\n")  # a live process
    assert tiny(ot, out) == 2
    one_error_line(capsys, "in use by another run")
    (out / ".lock").write_text(f"{2**22 + 12345} {__import__('socket').gethostname()}\n")  # a dead one: stale
    assert tiny(ot, out, "--stop-after-rounds", "0") == 0
    assert not (out / ".lock").exists()


def test_divergence_stops_and_resume_lowers_the_learning_rate(ot, tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.warns(UserWarning, match="far above the paper"):
        code = tiny(ot, run, "--pg-lr", "1e30", "--checkpoint-every", "1")
    assert code == 1
    err = capsys.readouterr().err
    assert "stopped:" in err and ("diverged" in err or "non-finite" in err) and f"--resume {run} --pg-lr" in err
    from seqgan_env.agents import AdversarialTrainer

    state = AdversarialTrainer.read_checkpoint(run)
    assert state["phase"] == "adversarial"  # the last good checkpoint: before the first adversarial round
    assert ot.cli(["--resume", str(run), "--pg-lr", "0.001", "--progress", "false"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["learning_rate_changes"][0]["pg_lr"] == {"from": 1e30, "to": 0.001}
    assert summary["agent"]["config"]["lr"] == 0.001


def test_oracle_file_errors(ot, tmp_path, capsys, monkeypatch):
    from seqgan_env.oracle import ORACLE_KEYS

    rng = np.random.default_rng(0)
    v, e, h = 50, 32, 32
    shapes = {"embeddings": (v, e), "Wo": (h, v), "bo": (v,)}
    for g in ("i", "f", "og", "c"):
        shapes.update({f"W{g}": (e, h), f"U{g}": (h, h), f"b{g}": (h,)})
    params = {k: rng.standard_normal(shapes[k]).astype(np.float32) for k in ORACLE_KEYS}
    params["Wi"][3, 4] = np.nan
    bad = tmp_path / "nan_oracle.npz"
    np.savez(bad, **params)
    assert tiny(ot, tmp_path / "r1", "--oracle-params", str(bad)) == 2
    one_error_line(capsys, "non-finite", "Wi")
    junk = tmp_path / "junk.npz"
    np.save(tmp_path / "junk.npy", np.array([object()], dtype=object))
    junk.write_bytes((tmp_path / "junk.npy").read_bytes())
    assert tiny(ot, tmp_path / "r2", "--oracle-params", str(junk)) == 2
    assert "allow_pickle" not in one_error_line(capsys, "junk.npz")
    monkeypatch.setenv("SEQGAN_ORACLE_PARAMS", str(tmp_path / "nowhere.npz"))
    assert ot.cli(["--preset", "quick", "--out", str(tmp_path / "r3")]) == 2
    one_error_line(capsys, "$SEQGAN_ORACLE_PARAMS", "nowhere.npz")


def test_oracle_source_precedence(ot, oracle_path, monkeypatch):
    monkeypatch.setenv("SEQGAN_ORACLE_PARAMS", str(oracle_path))
    args, _ = ot.parse_args(["--preset", "quick"])
    oracle, src = ot.oracle_and_source(args)
    assert "reference oracle file" in src and "SEQGAN_ORACLE_PARAMS" in src and oracle.vocab_size == 5000
    args, _ = ot.parse_args(["--preset", "tiny"])
    assert "seeded random oracle" in ot.oracle_and_source(args)[1]
    args, _ = ot.parse_args(["--preset", "quick", "--oracle-params", str(oracle_path)])
    assert "$SEQGAN" not in ot.oracle_and_source(args)[1]
    assert (args.schedule.mle_epochs, args.schedule.adv_rounds, args.agent.num_rollouts) == (40, 40, 4)  # preset
    args, _ = ot.parse_args(["--preset", "quick", "--adv-rounds", "7"])  # then flags
    assert args.schedule.adv_rounds == 7 and args.schedule.mle_epochs == 40


def torchrun(script: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TRITON_INTERPRET", None)
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                           str(script), *args], capture_output=True, text=True, env=env, timeout=300)


def test_torchrun_two_ranks_match_one_process_and_resume(ot, tmp_path):
    """``torchrun --nproc-per-node 2`` (gloo on CPU): the tiny preset's final NLL-oracle and NLL-test equal the
    single-process run's within 1e-3, a run stopped on 2 ranks resumes on 2 ranks, and summary.json records 2."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert tiny(ot, one, "--seed", "3", "--threads", "1") == 0
    res = torchrun(EXAMPLE, "--preset", "tiny", "--seed", "3", "--out", str(two), "--progress", "false",
                   "--stop-after-rounds", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    assert not (two / "summary.json").exists() and (two / "checkpoint.pt").is_file()
    res = torchrun(EXAMPLE, "--resume", str(two), "--progress", "false")
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = (json.loads((d / "summary.json").read_text()) for d in (one, two))
    assert (a["world_size"], b["world_size"]) == (1, 2)
    for key in ("mle_nll_oracle", "seqgan_nll_oracle", "mle_nll_test", "seqgan_nll_test"):
        assert abs(a[key] - b[key]) < 1e-3, (key, a[key], b[key])
    assert len(read_rows(one / "metrics.csv")) == len(read_rows(two / "metrics.csv"))


def test_fork_from_pretraining_equals_a_run_from_scratch(ot, tmp_path):
    """The controls start from one pretraining: a fork gives exactly what the same flags give from scratch, and a
    forked run resumes like any other."""
    from seqgan_env.generator_files import load_generator

    control = ["--baseline", "mean", "--reward-source", "constant", "--baseline-epochs", "0"]
    assert tiny(ot, tmp_path / "scratch", *control) == 0
    assert tiny(ot, tmp_path / "pre", "--stop-after-rounds", "0") == 0
    assert tiny(ot, tmp_path / "fork", *control, "--fork-from", str(tmp_path / "pre"), "--stop-after-rounds", "2") == 0
    assert ot.cli(["--resume", str(tmp_path / "fork"), "--progress", "false"]) == 0
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(read_rows(tmp_path / "fork" / "metrics.csv")) == strip(read_rows(tmp_path / "scratch" / "metrics.csv"))
    summary = json.loads((tmp_path / "fork" / "summary.json").read_text())
    assert summary["forked_from"] == str(tmp_path / "pre") and summary["agent"]["config"]["baseline"] == "mean"
    for name in ("mle_pretrained", "seqgan"):
        a = load_generator(tmp_path / "fork" / "generators" / f"{name}.pt").generator.state_dict()
        b = load_generator(tmp_path / "scratch" / "generators" / f"{name}.pt").generator.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    # a fork needs a run stopped right after pretraining
    assert ot.cli(["--preset", "tiny", "--fork-from", str(tmp_path / "scratch"), "--out", str(tmp_path / "x")]) == 2


def test_runs_write_loadable_generators_and_d_accuracies(ot, tmp_path):
    from seqgan_env.generator_files import load_generator

    assert tiny(ot, tmp_path / "run") == 0
    files = {p.stem: load_generator(p) for p in (tmp_path / "run" / "generators").glob("*.pt")}
    assert set(files) == {"mle_pretrained", "mle_baseline", "seqgan"}
    assert all(f.generator.vocab_size == 50 and f.generator.seq_len == 8 for f in files.values())
    assert files["seqgan"].meta["model"] == "seqgan" and files["seqgan"].meta["seed"] == 0
    assert not torch.equal(files["seqgan"].generator.out.weight, files["mle_pretrained"].generator.out.weight)
    rows = read_rows(tmp_path / "run" / "metrics.csv")
    for r in rows:
        if r["phase"] in ("d_pretrain", "adversarial"):
            assert 0.0 <= float(r["d_train_acc"]) <= 1.0 and 0.0 <= float(r["d_heldout_acc"]) <= 1.0, r
        else:
            assert r["d_train_acc"] == "" and r["d_heldout_acc"] == ""
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    last_adv = [r for r in rows if r["phase"] == "adversarial"][-1]
    assert summary["discriminator_accuracy"]["adversarial"]["heldout"] == float(last_adv["d_heldout_acc"])
    # nll_self: G's NLL of its own samples, beside the oracle's NLL of the same samples
    for r in rows:
        if r["phase"] in ("mle", "adversarial", "mle_baseline"):
            assert 0.0 < float(r["nll_self"]) < math.log(50) + 0.5 and float(r["nll_oracle"]) > 0
    assert summary["seqgan_nll_self"] == float(last_adv["nll_self"])


@pytest.mark.parametrize(("device", "backend"), [("cpu", "gloo"), ("cuda", "nccl")])
def test_torchrun_backend_follows_the_device(ot, tmp_path, monkeypatch, device, backend):
    """On a machine with GPUs, a CPU run (--device cpu) must use gloo: nccl would hand DDP a CPU module with
    device_ids. The backend is what from_env is asked for (CUDA is faked, so nothing starts)."""
    asked = {}

    class Stop(Exception):
        pass

    def from_env(**kw):
        asked.update(kw)
        raise Stop

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(ot.Parallel, "from_env", staticmethod(from_env))
    with pytest.raises(Stop):
        ot.main(["--preset", "tiny", "--device", device, "--out", str(tmp_path / "o"), "--progress", "false"])
    assert asked["backend"] == backend
