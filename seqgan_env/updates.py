"""MLE pretraining of the generator and supervised training of the discriminator.

Both follow the reference code: Adam (G: lr 0.01, global grad-norm clip 5; D: lr 1e-4), batch 64.

Both steps run unchanged in one process or data-parallel over ranks (:class:`~seqgan_env.parallel.Parallel`):
every global batch is split into per-rank blocks of rows, the loss is computed through ``model`` (the trainer's
DDP wrapper of the module, or the module itself) and scaled so that DDP's gradient average is the gradient of the
whole batch's loss, and the NaN check reads the loss summed over ranks, so every rank stops together. With a
stream ``key`` (:mod:`seqgan_env.streams`) the shuffles and D's dropout masks are keyed by epoch, batch and row,
so K ranks, and a resumed run, draw what one process draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from . import streams
from .config import MLEConfig
from .data import iterate_batches
from .discriminator import Discriminator
from .generator import Generator, token_log_probs
from .parallel import Parallel, local_rows

__all__ = [
    "NonFiniteLossError",
    "make_generator_optimizer",
    "make_discriminator_optimizer",
    "mle_epoch",
    "pretrain_mle",
    "DiscriminatorStats",
    "train_discriminator",
]


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stops so the last good checkpoint survives."""


def _check_finite(value: float, what: str) -> None:
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"{what} loss is {value}; stopping. Lower the learning rate or check the inputs."
        )


def make_generator_optimizer(generator: Generator, lr: float = 0.01) -> torch.optim.Adam:
    """Adam over the generator's trainable parameters (paper: lr 0.01)."""
    return torch.optim.Adam(generator.trainable_parameters(), lr=lr)


def make_discriminator_optimizer(discriminator: Discriminator) -> torch.optim.Adam:
    """Adam at ``discriminator.config.lr`` (paper: 1e-4)."""
    return torch.optim.Adam(discriminator.parameters(), lr=discriminator.config.lr)


def mle_epoch(
    generator: Generator,
    optimizer: torch.optim.Optimizer,
    data: Tensor,
    config: MLEConfig | None = None,
    *,
    rng: torch.Generator | None = None,
    order: Tensor | None = None,
    model: nn.Module | None = None,
    parallel: Parallel | None = None,
) -> float:
    """One epoch of teacher-forced MLE over ``data`` (N, T); returns the mean training NLL (nats/token).

    Args:
        generator: G (its trainable parameters are clipped).
        optimizer: G's Adam.
        data: the training sequences.
        config: batch size, clip, batch order and ``drop_last`` (paper / reference defaults).
        rng: shuffles the rows (ignored when ``order`` is given, or with ``config.batch_order="fixed"``).
        order: the epoch's row permutation (N,), e.g. ``streams.permutation(seed, "mle", epoch, n=N)``.
        model: what the loss is computed through (the DDP wrapper of ``generator``); default ``generator``.
        parallel: the data-parallel context (default: one process).
    """
    config = config or MLEConfig()
    parallel = parallel or Parallel()
    model = model or generator
    generator.train()
    dev = generator.device
    n, t_len = data.shape
    if order is None:
        order = torch.arange(n) if config.batch_order == "fixed" else torch.randperm(n, generator=rng)
    ws = parallel.world_size
    total, count = 0.0, 0
    stop = n - n % config.batch_size if config.drop_last and n >= config.batch_size else n
    for i in range(0, stop, config.batch_size):
        idx = order[i : i + config.batch_size]
        lo, hi, empty = local_rows(parallel, idx.numel())
        batch = data[idx[lo:hi] if not empty else idx[:1]].to(dev)
        logp = token_log_probs(model(batch), batch)  # through the wrapper: DDP syncs the gradients
        local_sum = -logp.sum() * (0.0 if empty else 1.0)
        tokens = idx.numel() * t_len
        global_sum = float(local_sum.detach())
        if parallel.enabled:
            global_sum = parallel.sum_floats(global_sum)[0]
        _check_finite(global_sum / tokens, "MLE")
        loss = local_sum / tokens * ws
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(generator.trainable_parameters(), config.grad_clip)
        optimizer.step()
        total += global_sum
        count += tokens
    return total / max(count, 1)


def pretrain_mle(
    generator: Generator,
    data: Tensor,
    config: MLEConfig | None = None,
    *,
    rng: torch.Generator | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    progress: bool = False,
    on_epoch=None,  # noqa: ANN001  callable(epoch: int, train_nll: float) -> None
) -> list[float]:
    """Run ``config.epochs`` MLE epochs (paper: 120). Returns the training NLL of each epoch."""
    config = config or MLEConfig()
    optimizer = optimizer or make_generator_optimizer(generator, config.lr)
    from tqdm.auto import tqdm

    losses = []
    for epoch in tqdm(range(config.epochs), desc="MLE", disable=not progress):
        losses.append(mle_epoch(generator, optimizer, data, config, rng=rng))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
    return losses


@dataclass
class DiscriminatorStats:
    """Mean loss and accuracy over the batches of a discriminator training call."""

    loss: float
    accuracy: float
    steps: int


def train_discriminator(
    discriminator: Discriminator,
    optimizer: torch.optim.Optimizer,
    real: Tensor,
    fake: Tensor,
    *,
    epochs: int = 3,
    batch_size: int = 64,
    rng: torch.Generator | None = None,
    key: int | None = None,
    model: nn.Module | None = None,
    parallel: Parallel | None = None,
    batch_order: str = "reshuffle",
    drop_last: bool = False,
) -> DiscriminatorStats:
    """Train D for ``epochs`` passes over ``real`` (label 1) and ``fake`` (label 0), shuffled together.

    The reference code's inner loop: 3 epochs over a fresh set of negatives, batch 64, dropout keep 0.75.
    ``batch_order="reshuffle"`` (default) shuffles every epoch; ``"once"`` shuffles once and replays that order in
    every epoch, as the reference code's loader (``reset_pointer`` between epochs). ``drop_last`` drops the short last
    batch (the reference does).

    Randomness: with a stream ``key`` (``streams.key(...)``) epoch e's permutation is ``("d_shuffle", e)`` of the
    key and the dropout mask of the row at position p of batch j in epoch e is keyed by ``("d_dropout", e, j)`` and
    p, so the result does not depend on the number of ranks; without it, ``rng`` shuffles and torch's global RNG
    draws the masks. ``model`` is the DDP wrapper of ``discriminator`` (default: the module), ``parallel`` the
    data-parallel context (default: one process); every rank must pass the same ``real`` and ``fake``.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} sequences differ in length.")
    parallel = parallel or Parallel()
    model = model or discriminator
    discriminator.train()
    dev = discriminator.device
    tokens = torch.cat([real, fake])
    labels = torch.cat([torch.ones(real.shape[0], dtype=torch.long), torch.zeros(fake.shape[0], dtype=torch.long)])
    n = tokens.shape[0]
    if batch_order not in ("reshuffle", "once"):
        raise ValueError(f"batch_order={batch_order!r}; use 'reshuffle' (default) or 'once' (the reference code).")
    ws = parallel.world_size
    loss_sum, correct, seen, steps = 0.0, 0.0, 0, 0
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    order = torch.empty(0, dtype=torch.long)
    for e in range(epochs):
        if e == 0 or batch_order == "reshuffle":
            if key is not None:
                order = streams.permutation(key, "d_shuffle", e, n=n)
            else:
                order = torch.randperm(n, generator=rng)
        for j, i in enumerate(range(0, stop, batch_size)):
            idx = order[i : i + batch_size]
            gb = idx.numel()
            lo, hi, empty = local_rows(parallel, gb)
            rows = idx[lo:hi] if not empty else idx[:1]
            x, y = tokens[rows].to(dev), labels[rows].to(dev)
            seeds = None
            if key is not None:
                seeds = streams.row_seeds(key, "d_dropout", e, j, rows=range(lo, hi) if not empty else [0])
            logits = model(x, dropout_seeds=seeds)
            weight = 0.0 if empty else 1.0
            ce_sum = nn.functional.cross_entropy(logits, y, reduction="sum") * weight
            l2 = 0.5 * (discriminator.out.weight.square().sum() + discriminator.out.bias.square().sum())
            right = float((logits.argmax(-1) == y).sum()) * weight
            if parallel.enabled:
                ce_global, right = parallel.sum_floats(float(ce_sum.detach()), right)
            else:
                ce_global = float(ce_sum.detach())
            batch_loss = ce_global / gb + discriminator.config.l2_reg * float(l2.detach())
            _check_finite(batch_loss, "discriminator")
            loss = ce_sum / gb * ws + discriminator.config.l2_reg * l2  # DDP averages: the batch's loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += batch_loss * gb
            correct += right
            seen += gb
            steps += 1
    if seen == 0:
        return DiscriminatorStats(loss=math.nan, accuracy=math.nan, steps=0)
    return DiscriminatorStats(loss=loss_sum / seen, accuracy=correct / seen, steps=steps)


__all__ += ["iterate_batches"]  # re-exported for callers that built their own loops on it
