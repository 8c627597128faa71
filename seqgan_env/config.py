"""Typed configuration for the paper's networks and training schedule.

Every default is the value of the SeqGAN paper (Yu et al., AAAI 2017) or, where the paper is silent, of the
reference code (LantaoYu/SeqGAN). A departure from the paper is a named field whose default is the paper's value.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

from .checks import check_int

__all__ = [
    "GeneratorConfig", "DiscriminatorConfig", "DiscriminatorOptions", "MLEConfig", "DataConfig", "warn_if_large_lr",
]

PAPER_FILTER_SIZES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
PAPER_NUM_FILTERS: tuple[int, ...] = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


def _check_size(obj: object, name: str) -> None:
    """A size field of a frozen config: a whole number >= 1, stored as an ``int``."""
    object.__setattr__(obj, name, check_int(name, getattr(obj, name), minimum=1))


def _check_positive(name: str, value: int | float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} must be a finite number > 0.")


def warn_if_large_lr(name: str, lr: float, paper: float) -> None:
    """Warn (it works, but rarely well) when a learning rate is above 1 and far above the paper's value."""
    if lr > max(1.0, 100 * paper):
        warnings.warn(
            f"{name}={lr:g} is far above the paper's {paper:g}: expect the weights to diverge (training then stops "
            "with a clear message and keeps the last good checkpoint).",
            stacklevel=3,
        )


@dataclass(frozen=True)
class GeneratorConfig:
    """The generator (and oracle) LSTM.

    Attributes:
        vocab_size: V, the number of token ids (paper: 5000).
        emb_dim: token embedding size (paper: 32).
        hidden_dim: LSTM hidden and cell size (paper: 32).
        seq_len: T, the fixed sequence length (paper: 20). There is no EOS and no padding.
        start_token: the id fed as the first input x_1 (paper code: 0). It is also an ordinary token.
        init_std: every parameter is drawn from N(0, init_std) (paper code: 0.1).
    """

    vocab_size: int = 5000
    emb_dim: int = 32
    hidden_dim: int = 32
    seq_len: int = 20
    start_token: int = 0
    init_std: float = 0.1

    def __post_init__(self) -> None:
        for name in ("vocab_size", "emb_dim", "hidden_dim", "seq_len"):
            _check_size(self, name)
        object.__setattr__(self, "start_token", check_int("start_token", self.start_token))
        if not 0 <= self.start_token < self.vocab_size:
            raise ValueError(
                f"start_token={self.start_token} is outside [0, vocab_size={self.vocab_size}); "
                "pick an id inside the vocabulary."
            )
        if self.init_std < 0:
            raise ValueError(f"init_std={self.init_std} must be >= 0.")


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The paper's CNN discriminator.

    Attributes:
        vocab_size: V (paper: 5000).
        seq_len: T (paper: 20). Filters wider than T are an error.
        emb_dim: embedding size (paper: 64), initialised uniform(-1, 1).
        filter_sizes: convolution widths (paper: 1..10, 15, 20).
        num_filters: filters per width (paper: 100, 200 x4, 100 x5, 160, 160; 1,720 in all).
        dropout_keep: keep probability in training (paper: 0.75); scoring always uses 1.0.
        l2_reg: L2 weight on the output layer only, as tf.nn.l2_loss (sum of squares / 2) (paper: 0.2).
        lr: Adam learning rate (paper: 1e-4).
        highway_gate_bias: constant added to the highway gate pre-activation (reference code: 0).
    """

    vocab_size: int = 5000
    seq_len: int = 20
    emb_dim: int = 64
    filter_sizes: tuple[int, ...] = PAPER_FILTER_SIZES
    num_filters: tuple[int, ...] = PAPER_NUM_FILTERS
    dropout_keep: float = 0.75
    l2_reg: float = 0.2
    lr: float = 1e-4
    highway_gate_bias: float = 0.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "seq_len", "emb_dim"):
            _check_size(self, name)
        if len(self.filter_sizes) != len(self.num_filters):
            raise ValueError(
                f"filter_sizes has {len(self.filter_sizes)} entries but num_filters has "
                f"{len(self.num_filters)}; give one filter count per width."
            )
        too_wide = [k for k in self.filter_sizes if k > self.seq_len or k < 1]
        if too_wide:
            raise ValueError(
                f"filter widths {too_wide} do not fit seq_len={self.seq_len}; use widths in [1, seq_len] "
                "(DiscriminatorConfig.for_length() trims the paper's widths to a shorter length)."
            )
        if not 0 < self.dropout_keep <= 1:
            raise ValueError(f"dropout_keep={self.dropout_keep} must be in (0, 1].")
        _check_positive("lr", self.lr)
        warn_if_large_lr("DiscriminatorConfig.lr", self.lr, 1e-4)

    @property
    def total_filters(self) -> int:
        return int(sum(self.num_filters))

    def with_filter_scale(self, scale: float) -> DiscriminatorConfig:
        """This config with every width's filter count multiplied by ``scale`` (rounded, at least 1 each)."""
        if not scale > 0:
            raise ValueError(f"filter scale {scale!r} must be positive (1.0 keeps the paper's 1,720 filters).")
        return dataclasses.replace(self, num_filters=tuple(max(1, round(n * scale)) for n in self.num_filters))

    @classmethod
    def for_length(cls, seq_len: int, vocab_size: int = 5000, **kwargs: object) -> DiscriminatorConfig:
        """The paper's discriminator with the widths that exceed ``seq_len`` dropped."""
        pairs = [(k, n) for k, n in zip(PAPER_FILTER_SIZES, PAPER_NUM_FILTERS) if k <= seq_len]
        return cls(
            vocab_size=vocab_size,
            seq_len=seq_len,
            filter_sizes=tuple(k for k, _ in pairs),
            num_filters=tuple(n for _, n in pairs),
            **kwargs,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class DiscriminatorOptions:
    """A run's discriminator relative to the paper's: :meth:`config` builds the
    :class:`DiscriminatorConfig` for a task's T and V (``for_length``, then these options).

    Attributes:
        filter_scale: multiplies the paper's filter count of every width (1.0 = the paper's 1,720 filters at
            T=20; rounded, at least 1 per width).
        lr: the discriminator's Adam learning rate (paper: 1e-4).
    """

    filter_scale: float = 1.0
    lr: float = 1e-4

    def __post_init__(self) -> None:
        if not (isinstance(self.filter_scale, (int, float)) and math.isfinite(self.filter_scale)
                and self.filter_scale > 0):
            raise ValueError(f"filter_scale={self.filter_scale!r} must be a finite number > 0 (1.0 = the paper's "
                             "filters).")
        DiscriminatorConfig(lr=self.lr)  # the learning-rate checks

    def config(self, seq_len: int, vocab_size: int) -> DiscriminatorConfig:
        """The paper's discriminator for length ``seq_len`` and ``vocab_size``, scaled and with this ``lr``."""
        cfg = DiscriminatorConfig.for_length(seq_len, vocab_size=vocab_size).with_filter_scale(self.filter_scale)
        return dataclasses.replace(cfg, lr=self.lr)


@dataclass(frozen=True)
class MLEConfig:
    """Maximum-likelihood pretraining of the generator (paper and reference code values).

    Attributes:
        epochs: epochs of :func:`seqgan_env.updates.pretrain_mle` (120). The adversarial trainer's count is
            ``ScheduleConfig.mle_epochs`` (it sets this field from it).
        batch_size: the generator's MLE batch size (64).
        lr: Adam learning rate of MLE (0.01).
        grad_clip: global gradient-norm clip (5.0).
        batch_order: ``"reshuffle"`` (default: a fresh keyed permutation every epoch) or ``"fixed"`` (the data's
            own order every epoch, as the reference code's loader, which never shuffles). The paper is silent.
        drop_last: drop the short last batch of an epoch (the reference code does: 9,984 of 10,000 rows in 156
            batches); default False (157 updates, the last of 16 rows).
    """

    epochs: int = 120
    batch_size: int = 64
    lr: float = 0.01
    grad_clip: float = 5.0
    batch_order: str = "reshuffle"
    drop_last: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "epochs", check_int("epochs", self.epochs, minimum=0))
        _check_size(self, "batch_size")
        _check_positive("lr", self.lr)
        warn_if_large_lr("MLEConfig.lr", self.lr, 0.01)
        _check_positive("grad_clip", self.grad_clip)
        if self.batch_order not in ("reshuffle", "fixed"):
            raise ValueError(f"batch_order={self.batch_order!r}; use 'reshuffle' (default) or 'fixed' (the reference "
                             "code's loader).")


@dataclass(frozen=True)
class DataConfig:
    """The synthetic data drawn from the oracle.

    Attributes:
        num_train: oracle samples used as real data (paper: 10,000; reference code: 9,984).
        num_test: held-out oracle samples for NLL-test.
        seed: seed of the oracle sampling.
    """

    num_train: int = 10_000
    num_test: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("num_train", "num_test"):
            _check_size(self, name)
        object.__setattr__(self, "seed", check_int("seed", self.seed))
