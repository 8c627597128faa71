import csv
import math
from pathlib import Path

import pytest
import torch

from seqgan_env.agents import (
    AdversarialTrainer,
    CheckpointError,
    ReinforceAgent,
    ReinforceConfig,
    ScheduleConfig,
    TrainingStopped,
)
from seqgan_env.agents.trainer import METRIC_COLUMNS, DivergenceError
from seqgan_env.config import DataConfig, DiscriminatorConfig, GeneratorConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.discriminator import Discriminator
from seqgan_env.files import load_checked, save_checked
from seqgan_env.generator import Generator
from seqgan_env.oracle import random_oracle

V, T = 24, 6
SCHEDULE = ScheduleConfig(
    mle_epochs=2, d_pretrain_rounds=2, d_pretrain_epochs=1, adv_rounds=5, g_steps=1, d_steps=1, d_epochs=1,
    eval_every=2, num_negatives=96, eval_samples=128, d_eval_samples=64, checkpoint_every=2, baseline_epochs=3,
)


def build(out: Path | None, *, seed: int = 0, schedule: ScheduleConfig = SCHEDULE, **agent_kw) -> AdversarialTrainer:
    """A fresh tiny trainer; every call builds equal models from the seed."""
    gcfg = GeneratorConfig(vocab_size=V, seq_len=T)
    oracle = random_oracle(gcfg, seed=seed)
    data = make_oracle_data(oracle, DataConfig(num_train=192, num_test=96, seed=seed))
    dcfg = DiscriminatorConfig(vocab_size=V, seq_len=T, filter_sizes=(1, 2, 3), num_filters=(8, 8, 8))
    agent = ReinforceAgent(Generator(gcfg, seed=seed + 1),
                           ReinforceConfig(batch_size=16, num_rollouts=2, backend="torch", **agent_kw))
    return AdversarialTrainer(agent, Discriminator(dcfg, seed=seed + 2), oracle, data, schedule=schedule,
                              seed=seed, out_dir=out, tensorboard=False)


def rows_without_time(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def same_nan_aware(a, b):
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        for k in ra:
            x, y = ra[k], rb[k]
            if isinstance(x, float) and math.isnan(x):
                assert isinstance(y, float) and math.isnan(y), k
            else:
                assert x == y, (k, x, y)


def test_schedule_defaults_are_the_papers():
    s = ScheduleConfig()
    assert (s.mle_epochs, s.d_pretrain_rounds, s.d_pretrain_epochs, s.adv_rounds) == (120, 50, 3, 200)
    assert (s.g_steps, s.d_steps, s.d_epochs, s.eval_every, s.d_batch_size, s.eval_samples) == (1, 5, 3, 5, 64, 9984)
    assert s.num_negatives is None and s.resolved_baseline_epochs == 200
    with pytest.raises(ValueError):
        ScheduleConfig(eval_every=0)


def test_full_run_phases_files_and_summary(tmp_path):
    tr = build(tmp_path)
    summary = tr.run()
    assert tr.phase == "done"
    phases = [r["phase"] for r in tr.rows]
    assert phases == ["mle", "mle", "d_pretrain", "d_pretrain", "adversarial", "adversarial", "adversarial",
                      "mle_baseline", "mle_baseline"]
    assert [r["step"] for r in tr.rows if r["phase"] == "adversarial"] == [0, 2, 4]
    assert [r["epoch"] for r in tr.rows if r["phase"] == "mle_baseline"] == [3, 5]
    with open(tmp_path / "metrics.csv") as fh:
        got = list(csv.DictReader(fh))
    assert tuple(got[0]) == METRIC_COLUMNS and len(got) == len(tr.rows)
    adv = [r for r in tr.rows if r["phase"] == "adversarial"]
    assert summary["seqgan_nll_oracle"] == adv[-1]["nll_oracle"]
    assert summary["mle_nll_oracle"] == tr.rows[-1]["nll_oracle"]
    assert summary["budget"]["seqgan_generator_updates"] == 5 and summary["budget"]["mle_generator_updates"] == 3 * 3
    assert all(0 <= r["d_acc"] <= 1 for r in adv)
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "checkpoint.pt").is_file()
    # the baseline is a copy of G at the end of MLE, trained separately: the SeqGAN generator differs from it
    assert not torch.equal(tr.generator.out.weight, tr.baseline_generator.out.weight)


def test_resume_equals_uninterrupted(tmp_path):
    full = build(tmp_path / "full")
    full.run()
    part = build(tmp_path / "part")
    part.run(stop_after_rounds=3)
    assert part.phase == "adversarial" and part.index == 3
    resumed = build(tmp_path / "part")  # a fresh process would build exactly this
    resumed.load_checkpoint(tmp_path / "part")
    assert (resumed.phase, resumed.index) == ("adversarial", 3)
    resumed.run()
    same_nan_aware(rows_without_time(full.rows), rows_without_time(resumed.rows))
    for a, b in ((full.generator, resumed.generator), (full.discriminator, resumed.discriminator),
                 (full.baseline_generator, resumed.baseline_generator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    a_csv = (tmp_path / "full" / "metrics.csv").read_text().splitlines()
    b_csv = (tmp_path / "part" / "metrics.csv").read_text().splitlines()
    assert [r.rsplit(",", 1)[0] for r in a_csv] == [r.rsplit(",", 1)[0] for r in b_csv]


def test_resume_with_delayed_rollout_policy_is_exact(tmp_path):
    short = ScheduleConfig(**{**SCHEDULE.__dict__, "adv_rounds": 3, "baseline_epochs": 0})
    full = build(tmp_path / "a", schedule=short, rollout_policy="delayed")
    full.run()
    part = build(tmp_path / "b", schedule=short, rollout_policy="delayed")
    part.run(stop_after_rounds=1)
    resumed = build(tmp_path / "b", schedule=short, rollout_policy="delayed")
    resumed.load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    resumed.run()
    sa, sb = full.rollout_reward.rollout_generator.state_dict(), resumed.rollout_reward.rollout_generator.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    same_nan_aware(rows_without_time(full.rows), rows_without_time(resumed.rows))


def test_corrupt_or_incompatible_checkpoint_changes_nothing(tmp_path):
    tr = build(tmp_path)
    tr.run(stop_after_rounds=1)
    ck, csv_path = tmp_path / "checkpoint.pt", tmp_path / "metrics.csv"
    good_csv = csv_path.read_bytes()
    # incompatible: another schedule
    other = build(tmp_path, schedule=ScheduleConfig(**{**SCHEDULE.__dict__, "adv_rounds": 7}))
    before = {k: v.clone() for k, v in other.generator.state_dict().items()}
    with pytest.raises(CheckpointError, match="adv_rounds") as info:
        other.load_checkpoint(tmp_path)
    assert "mle_epochs" not in str(info.value)  # only the settings that differ, not two whole configs
    assert all(torch.equal(before[k], v) for k, v in other.generator.state_dict().items())
    assert other.phase == "mle" and other.index == 0
    # corrupt: truncated bytes
    ck.write_bytes(ck.read_bytes()[:300])
    damaged = ck.read_bytes()
    fresh = build(tmp_path)
    with pytest.raises(CheckpointError, match="fails its checksum"):
        fresh.load_checkpoint(tmp_path)
    assert ck.read_bytes() == damaged and csv_path.read_bytes() == good_csv
    with pytest.raises(CheckpointError, match="no checkpoint"):
        fresh.load_checkpoint(tmp_path / "nowhere")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    tr = build(tmp_path)
    tr.run(stop_after_rounds=2)
    ck = tmp_path / "checkpoint.pt"
    good = ck.read_bytes()
    with torch.no_grad():
        tr.discriminator.out.bias.fill_(float("nan"))  # D scores, hence Q, become NaN
    with pytest.raises(TrainingStopped, match="discriminator returned non-finite scores") as info:
        tr.run()
    assert info.value.checkpoint == ck
    assert ck.read_bytes() == good
    state = AdversarialTrainer.read_checkpoint(ck)
    assert (state["phase"], state["index"]) == ("adversarial", 2)


def test_discriminator_step_is_public_and_trains(tmp_path):
    tr = build(None)
    tr.run(stop_after_rounds=0)
    probe = tr.evaluate()
    for _ in range(6):
        stats = tr.discriminator_step(epochs=2)
    assert stats.steps > 0 and 0.0 <= stats.accuracy <= 1.0
    assert tr.evaluate()["d_loss"] < probe["d_loss"]


def test_checkpoint_that_does_not_fit_is_rolled_back(tmp_path):
    tr = build(tmp_path)
    tr.run(stop_after_rounds=1)
    ck = tmp_path / "checkpoint.pt"
    state = load_checked(ck)
    state["discriminator"].pop("out.bias")  # same fingerprint, broken contents
    save_checked(ck, state)
    csv_before = (tmp_path / "metrics.csv").read_bytes()
    fresh = build(tmp_path)
    weights = {k: v.clone() for k, v in fresh.generator.state_dict().items()}
    with pytest.raises(CheckpointError, match="does not fit"):
        fresh.load_checkpoint(ck)
    assert (fresh.phase, fresh.index, fresh.rows) == ("mle", 0, [])
    assert all(torch.equal(weights[k], v) for k, v in fresh.generator.state_dict().items())
    assert (tmp_path / "metrics.csv").read_bytes() == csv_before


# ---------------------------------------------------------------------- reliability
def test_flipped_bytes_inside_a_tensor_are_caught(tmp_path):
    tr = build(tmp_path)
    tr.run(stop_after_rounds=1)
    ck = tmp_path / "checkpoint.pt"
    data = bytearray(ck.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])  # 64 flipped bytes inside the payload
    ck.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="fails its checksum"):
        build(tmp_path).load_checkpoint(tmp_path)
    ck.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        build(tmp_path).load_checkpoint(tmp_path)
    torch.save({"version": 2}, ck)  # a plain torch file, not one of ours
    with pytest.raises(CheckpointError, match="not a checkpoint written by seqgan-env"):
        build(tmp_path).load_checkpoint(tmp_path)


def test_divergence_stops_and_nothing_non_finite_is_saved(tmp_path):
    """A learning rate of 1e30 used to run to the end (weights near 1e31, SeqGAN "beating" MLE) and NaN weights
    could be saved as the last good checkpoint. Now the guard stops the run and the last good file stays."""
    every_round = ScheduleConfig(**{**SCHEDULE.__dict__, "checkpoint_every": 1})
    tr = build(tmp_path, schedule=every_round)
    tr.run(stop_after_rounds=1)
    ck = tmp_path / "checkpoint.pt"
    good = ck.read_bytes()
    with pytest.warns(UserWarning, match="far above the paper"):
        tr.set_learning_rates(pg=1e30)
    with pytest.raises(TrainingStopped, match="diverged|non-finite") as info:
        tr.run()
    assert info.value.checkpoint == ck and ck.read_bytes() == good
    state = AdversarialTrainer.read_checkpoint(ck)
    assert all(torch.isfinite(v).all() for v in state["agent"]["generator"].values())
    with pytest.raises(DivergenceError):  # and a checkpoint is never written with the bad weights
        tr.save_checkpoint()
    assert ck.read_bytes() == good


def test_resume_with_a_lower_learning_rate_is_recorded(tmp_path):
    tr = build(tmp_path)
    tr.run(stop_after_rounds=1)
    resumed = build(tmp_path)
    resumed.load_checkpoint(tmp_path)
    resumed.set_learning_rates(pg=0.002, d=5e-5)
    assert resumed.learning_rates()["pg"] == 0.002 and resumed.agent.config.lr == 0.002
    resumed.run(stop_after_rounds=3)
    again = build(tmp_path)  # built with the original lr: the checkpoint's lr is adopted
    again.load_checkpoint(tmp_path)
    assert again.learning_rates() == resumed.learning_rates()
    summary = again.summary()
    assert summary["learning_rate_changes"] == [
        {"phase": "adversarial", "unit": 1, "pg_lr": {"from": 0.01, "to": 0.002}, "d_lr": {"from": 1e-4, "to": 5e-5}}]
    assert summary["discriminator"]["lr"] == 5e-5 and summary["mle"]["lr"] == 0.01  # the rates in force
    with pytest.raises(ValueError, match="finite number > 0"):
        again.set_learning_rates(mle=float("inf"))


def test_disk_full_leaves_the_previous_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    import seqgan_env.files as files

    tr = build(tmp_path)
    tr.run(stop_after_rounds=1)
    ck = tmp_path / "checkpoint.pt"
    good = ck.read_bytes()

    def full(fh, payload):  # the disk fills up half way through the write
        fh.write(payload[: len(payload) // 2])
        raise OSError(28, "No space left on device")

    real_atomic = files.atomic_write
    monkeypatch.setattr(files, "atomic_write", lambda path, write, mode="wb": real_atomic(
        path, lambda fh: full(fh, b"x" * 4096), mode))
    with pytest.raises(OSError, match="No space left"):
        tr.save_checkpoint()
    assert ck.read_bytes() == good and not (tmp_path / "checkpoint.pt.tmp").exists()


def test_summary_is_strict_json(tmp_path):
    import json

    no_adversarial = ScheduleConfig(**{**SCHEDULE.__dict__, "adv_rounds": 0, "baseline_epochs": 0})
    tr = build(tmp_path, schedule=no_adversarial)
    tr.run()
    text = (tmp_path / "summary.json").read_text()

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    summary = json.loads(text, parse_constant=refuse)  # strict: no NaN/Infinity tokens
    assert summary["seqgan_nll_oracle"] is None and "seqgan_nll_oracle" in summary["nonfinite"]


def test_fork_refuses_settings_that_pretraining_reads(tmp_path):
    """A fork must equal a run from scratch: different MLE/D learning rates or eval_every (which picks the
    pretraining rows) are refused; the agent and the adversarial budget may differ."""
    import dataclasses

    build(tmp_path / "pre").run(stop_after_rounds=0)
    ok = build(tmp_path / "ok", schedule=dataclasses.replace(SCHEDULE, adv_rounds=3), baseline="mean")
    ok.load_checkpoint(tmp_path / "pre", fork=True)
    lr = build(tmp_path / "lr")
    lr.set_learning_rates(d=1e-3)
    with pytest.raises(CheckpointError, match="other learning rates .*d learning rate 0.0001 there, 0.001 here"):
        lr.load_checkpoint(tmp_path / "pre", fork=True)
    ev = build(tmp_path / "ev", schedule=dataclasses.replace(SCHEDULE, eval_every=1))
    with pytest.raises(CheckpointError, match="eval_every"):
        ev.load_checkpoint(tmp_path / "pre", fork=True)


def test_negatives_are_capped_at_the_training_set_and_d_accuracy_runs():
    """num_negatives above the training-set size: D stays balanced (a warning says so) and the accuracy report,
    which used to index past the real rows, runs."""
    import dataclasses

    with pytest.warns(UserWarning, match="num_negatives=400 is more than the 192 training sequences"):
        tr = build(None, schedule=dataclasses.replace(SCHEDULE, num_negatives=400, d_eval_samples=300))
    real, fake = tr._negatives_and_positives(0)
    assert real.shape == fake.shape == (192, T)
    tr.discriminator_step()
    acc = tr.discriminator_accuracies()
    assert 0.0 <= acc["d_train_acc"] <= 1.0 and 0.0 <= acc["d_heldout_acc"] <= 1.0


def test_reference_batching_options_reach_the_trainer_and_old_checkpoints_resume(tmp_path):
    """mle.batch_order/drop_last and schedule.d_batch_order/d_drop_last change the run (they reach the loops);
    a checkpoint fingerprint written before these fields existed reads as the defaults (it still resumes)."""
    import dataclasses
    import json

    from seqgan_env.agents.checkpoint import upgrade_fingerprint
    from seqgan_env.config import MLEConfig

    sched = dataclasses.replace(SCHEDULE, adv_rounds=1, baseline_epochs=0)
    default = build(None, schedule=sched)
    ref = build(None, schedule=dataclasses.replace(sched, d_batch_order="once", d_drop_last=True))
    ref.mle = MLEConfig(epochs=sched.mle_epochs, batch_order="fixed", drop_last=True)
    a, b = default.run(), ref.run()
    assert a["seqgan_nll_oracle"] != b["seqgan_nll_oracle"]
    old = json.loads(default.fingerprint())
    for part, names in (("schedule", ("d_batch_order", "d_drop_last")), ("mle", ("batch_order", "drop_last"))):
        for n in names:
            del old[part][n]
    assert upgrade_fingerprint(old) == json.loads(default.fingerprint())
