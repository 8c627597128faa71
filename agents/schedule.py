"""The adversarial schedule: its phases and :class:`ScheduleConfig` (the paper's values by default).

The schedule runs four phases in order; each is a list of *units*:

====================  =========================================================================================
phase                 unit
====================  =========================================================================================
``"mle"``             one MLE epoch over the training set (paper: 120)
``"d_pretrain"``      one D pretraining round: fresh negatives, then ``d_pretrain_epochs`` epochs (paper: 50 x 3)
``"adversarial"``     one round: ``g_steps`` agent steps, then ``d_steps`` x ``discriminator_step()`` of
                      ``d_epochs`` epochs each (paper: 200 rounds of 1 G step and 5 x 3 D epochs)
``"mle_baseline"``    one MLE epoch of a copy of G taken at the end of MLE pretraining (the paper's MLE row)
====================  =========================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from seqgan_env._compat import renamed_field
from seqgan_env.checks import check_int

__all__ = ["ScheduleConfig", "PHASES"]

PHASES: tuple[str, ...] = ("mle", "d_pretrain", "adversarial", "mle_baseline", "done")


@renamed_field("batch_size", "d_batch_size")
@dataclass(frozen=True)
class ScheduleConfig:
    """The adversarial schedule (defaults: the paper / reference code).

    Attributes:
        mle_epochs: MLE pretraining epochs (120).
        d_pretrain_rounds: D pretraining rounds, each with fresh negatives (50).
        d_pretrain_epochs: epochs per D pretraining round (3).
        adv_rounds: adversarial rounds (200).
        g_steps: agent generator steps per round (1).
        d_steps: discriminator retrainings per round, each with fresh negatives (5).
        d_epochs: epochs per discriminator retraining (3).
        eval_every: evaluate after unit i when i % eval_every == 0 and after the last unit (5).
        num_negatives: generated negatives per D training call; None means the training-set size (paper). D sees
            as many positives: the whole training set when num_negatives >= its size (the negatives are then capped
            at that size, with a warning), else a fresh random subset.
        d_batch_size: the discriminator's batch size (64). (G's MLE batch is ``MLEConfig.batch_size``, the PG
            batch the agent's.) ``batch_size`` is its deprecated former name.
        eval_samples: generated sequences scored for NLL-oracle (9,984 = 156 x 64, reference code).
        d_eval_samples: generated and held-out real sequences for the d_loss/d_acc/d_fake_score columns.
        checkpoint_every: write a checkpoint every this many units of any phase (and at phase changes).
        baseline_epochs: MLE-only baseline epochs; None means ``adv_rounds`` (the same x-axis budget); 0 skips it.
        d_batch_order: ``"reshuffle"`` (default: a fresh order every epoch of a D retraining) or ``"once"`` (one
            shuffle per retraining, replayed by its epochs, as the reference code's loader). The paper is silent.
        d_drop_last: drop the short last D batch of an epoch (the reference code does); default False.
    """

    mle_epochs: int = 120
    d_pretrain_rounds: int = 50
    d_pretrain_epochs: int = 3
    adv_rounds: int = 200
    g_steps: int = 1
    d_steps: int = 5
    d_epochs: int = 3
    eval_every: int = 5
    num_negatives: int | None = None
    d_batch_size: int = 64
    eval_samples: int = 9_984
    d_eval_samples: int = 1_024
    checkpoint_every: int = 5
    baseline_epochs: int | None = None
    d_batch_order: str = "reshuffle"
    d_drop_last: bool = False

    def __post_init__(self) -> None:
        for name in ("mle_epochs", "d_pretrain_rounds", "d_pretrain_epochs", "adv_rounds", "g_steps", "d_steps",
                     "d_epochs"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=0))
        for name in ("eval_every", "d_batch_size", "eval_samples", "d_eval_samples", "checkpoint_every"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=1))
        if self.num_negatives is not None:
            object.__setattr__(self, "num_negatives", check_int(
                "num_negatives", self.num_negatives, minimum=1, hint="or None: the training-set size"))
        if self.d_batch_order not in ("reshuffle", "once"):
            raise ValueError(f"d_batch_order={self.d_batch_order!r}; use 'reshuffle' (default) or 'once' (the "
                             "reference code's loader).")
        if self.baseline_epochs is not None:
            object.__setattr__(self, "baseline_epochs", check_int(
                "baseline_epochs", self.baseline_epochs, minimum=0, hint="or None: adv_rounds"))

    @property
    def resolved_baseline_epochs(self) -> int:
        return self.adv_rounds if self.baseline_epochs is None else self.baseline_epochs

    def phase_length(self, phase: str) -> int:
        """The number of units of ``phase`` (0 for ``"done"``)."""
        return {
            "mle": self.mle_epochs,
            "d_pretrain": self.d_pretrain_rounds,
            "adversarial": self.adv_rounds,
            "mle_baseline": self.resolved_baseline_epochs,
            "done": 0,
        }[phase]
