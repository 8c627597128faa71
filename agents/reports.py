"""What a trainer reports: its evaluations (the metric rows' values) and the run's summary.

Functions of an :class:`~seqgan_env.agents.trainer.AdversarialTrainer` (its ``evaluate``,
``discriminator_accuracies`` and ``summary`` methods call them). The evaluation functions themselves are in
:mod:`seqgan_env.evaluation`; this module decides which samples and models they see.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import torch

from seqgan_env import evaluation, streams
from seqgan_env.generator import Generator

if TYPE_CHECKING:
    from .trainer import AdversarialTrainer

__all__ = ["evaluate", "discriminator_accuracies", "summary"]


@torch.no_grad()
def evaluate(
    trainer: AdversarialTrainer, model: Generator | None = None, *, with_discriminator: bool = True
) -> dict[str, float]:
    """NLL-oracle, NLL-test and (optionally) D's loss/accuracy and mean score on samples of ``model``.

    The samples are rows of the fixed stream ``"eval"`` of the trainer's seed (:mod:`seqgan_env.evaluation`),
    so the call is a pure function of the models, and split over ranks.
    """
    model = model or trainer.generator
    s, p = trainer.schedule, trainer.parallel
    lo, hi = p.shard(s.eval_samples)
    samples = evaluation.sample_rows(model, range(lo, hi), seed=trainer.seed)
    self_sum, count, _ = evaluation.nll_sums(model, samples)
    oracle_sum = evaluation.nll_sums(trainer.oracle, samples)[0] if trainer.oracle is not None else math.nan
    if p.enabled:
        self_sum, oracle_sum, count = p.sum_floats(self_sum, oracle_sum, float(count))
    if trainer.sample_decoder is not None and p.is_main:
        trainer._last_samples = trainer.sample_decoder(samples[: trainer.num_show])
    out = {
        "nll_oracle": oracle_sum / count if count else math.nan,
        "nll_self": self_sum / count if count else math.nan,
        "nll_test": evaluation.nll_test(model, trainer.data.test, parallel=p),
        "d_loss": math.nan,
        "d_acc": math.nan,
        "d_fake_score": math.nan,
    }
    if with_discriminator:
        k = min(s.d_eval_samples, s.eval_samples, trainer.data.test.shape[0])
        lo, hi = p.shard(k)
        fake = evaluation.sample_rows(model, range(lo, hi), seed=trainer.seed)
        ev = evaluation.discriminator_eval(trainer.discriminator, fake, trainer.data.test[lo:hi], parallel=p,
                                           num_fake=k, num_real=k)
        out.update({key: ev[key] for key in ("d_loss", "d_acc", "d_fake_score")})
    return out


@torch.no_grad()
def discriminator_accuracies(trainer: AdversarialTrainer) -> dict[str, float]:
    """D (no dropout) on rows it was trained on and on held-out rows, both classes each: ``d_train_acc`` on the
    first ``d_eval_samples`` negatives and positives of its last retraining (re-drawn from their keyed
    streams, so nothing is stored), ``d_heldout_acc`` on as many fresh samples of G (the ``"eval"`` stream)
    and held-out real sequences. A gap between the two is D memorising its training set (the paper's D
    reached 0.99 on its training data and 0.53 on held-out sequences)."""
    if trainer.d_updates == 0:
        return {"d_train_acc": math.nan, "d_heldout_acc": math.nan}
    u, p, s = trainer.d_updates - 1, trainer.parallel, trainer.schedule
    train = trainer.data.train
    n = trainer.num_negatives
    k = min(s.d_eval_samples, n, trainer.data.test.shape[0])
    lo, hi = p.shard(k)
    seeds = streams.row_seeds(trainer.seed, "negatives", u, rows=range(lo, hi), device=trainer.device)
    fake_seen = trainer.generator.sample_batches(hi - lo, 1024, row_seeds=seeds)
    real_rows = torch.arange(k) if n >= train.shape[0] else \
        streams.permutation(trainer.seed, "real_subset", u, n=train.shape[0])[:k]
    real_seen = train[real_rows[lo:hi].to(train.device)]
    seen = evaluation.discriminator_eval(trainer.discriminator, fake_seen, real_seen, parallel=p, num_fake=k,
                                         num_real=k)
    fresh = evaluation.sample_rows(trainer.generator, range(lo, hi), seed=trainer.seed)
    held = evaluation.discriminator_eval(trainer.discriminator, fresh, trainer.data.test[lo:hi], parallel=p,
                                         num_fake=k, num_real=k)
    return {"d_train_acc": seen["d_acc"], "d_heldout_acc": held["d_acc"]}


def summary(trainer: AdversarialTrainer) -> dict[str, Any]:
    """Final figures: the last evaluation of each curve, best SeqGAN value, budgets, timings and config."""

    def last(phase: str) -> dict[str, Any] | None:
        rows = [r for r in trainer.rows if r["phase"] == phase]
        return rows[-1] if rows else None

    pre, adv, base, dpre = last("mle"), last("adversarial"), last("mle_baseline"), last("d_pretrain")
    mle_row = base or pre
    adv_rows = [r for r in trainer.rows if r["phase"] == "adversarial"]
    batches = math.ceil(trainer.data.train.shape[0] / trainer.mle.batch_size)
    nan = math.nan
    return {
        "phase": trainer.phase,
        "pretrain_nll_oracle": pre["nll_oracle"] if pre else nan,
        "pretrain_nll_test": pre["nll_test"] if pre else nan,
        "mle_nll_oracle": mle_row["nll_oracle"] if mle_row else nan,
        "mle_nll_test": mle_row["nll_test"] if mle_row else nan,
        "seqgan_nll_oracle": adv["nll_oracle"] if adv else nan,
        "seqgan_nll_test": adv["nll_test"] if adv else nan,
        "best_seqgan_nll_oracle": min((r["nll_oracle"] for r in adv_rows), default=nan),
        "pretrain_nll_self": pre["nll_self"] if pre else nan,
        "mle_nll_self": mle_row["nll_self"] if mle_row else nan,
        "seqgan_nll_self": adv["nll_self"] if adv else nan,
        "discriminator_accuracy": {
            "definition": "D without dropout on the negatives and positives of its last retraining (train) and "
                          "on fresh G samples and held-out real sequences (heldout), after each phase",
            "d_pretrain": {"train": dpre["d_train_acc"] if dpre else nan,
                           "heldout": dpre["d_heldout_acc"] if dpre else nan},
            "adversarial": {"train": adv["d_train_acc"] if adv else nan,
                            "heldout": adv["d_heldout_acc"] if adv else nan},
        },
        "budget": {
            "definition": "MLE-only continues MLE from the pretrained G for baseline_epochs epochs, one per "
                          "adversarial round (the paper figure's x axis)",
            "adv_rounds": trainer.schedule.adv_rounds,
            "baseline_epochs": trainer.schedule.resolved_baseline_epochs,
            "seqgan_generator_updates": trainer.schedule.adv_rounds * trainer.schedule.g_steps,
            "mle_generator_updates": trainer.schedule.resolved_baseline_epochs * batches,
        },
        "timings_s": {k: round(v, 2) for k, v in trainer.elapsed.items()}
        | {"total": round(trainer._total_seconds(), 2)},
        "cpu_s": {k: round(v, 2) for k, v in trainer.cpu.items()} | {"total": round(sum(trainer.cpu.values()), 2)},
        "world_size": trainer.parallel.world_size,
        "schedule": asdict(trainer.schedule),
        # the learning rates in force (a resume may have changed them: learning_rate_changes), not the built ones
        "mle": asdict(trainer.mle) | {"lr": trainer.learning_rates()["mle"]},
        "agent": {"type": type(trainer.agent).__name__, "config": trainer.agent.state_dict().get("config")},
        "generator": asdict(trainer.generator.config),
        "discriminator": asdict(trainer.discriminator.config) | {"lr": trainer.learning_rates()["d"]},
        "seed": trainer.seed,
        "extra": trainer.extra_config,
        "learning_rate_changes": [dict(c) for c in trainer.lr_changes],
        "forked_from": trainer.forked_from,
    }
