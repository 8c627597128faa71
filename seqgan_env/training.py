"""MLE pretraining of the generator and supervised training of the discriminator.

Both follow the reference code: Adam (G: lr 0.01, global grad-norm clip 5; D: lr 1e-4), batch 64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .config import MLEConfig
from .data import discriminator_batches, iterate_batches
from .discriminator import Discriminator
from .generator import Generator

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


def _check_finite(loss: Tensor, what: str) -> None:
    if not torch.isfinite(loss).all():
        raise NonFiniteLossError(
            f"{what} loss is {float(loss.detach())}; stopping. Lower the learning rate or check the inputs."
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
) -> float:
    """One epoch of teacher-forced MLE over ``data`` (N, T); returns the mean training NLL (nats/token)."""
    config = config or MLEConfig()
    generator.train()
    total, count = 0.0, 0
    for batch in iterate_batches(data, config.batch_size, shuffle=True, generator=rng):
        loss = generator.nll(batch.to(generator.device))
        _check_finite(loss, "MLE")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(generator.trainable_parameters(), config.grad_clip)
        optimizer.step()
        total += float(loss.detach()) * batch.shape[0]
        count += batch.shape[0]
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
) -> DiscriminatorStats:
    """Train D for ``epochs`` passes over ``real`` (label 1) and ``fake`` (label 0), shuffled together.

    The reference code's inner loop: 3 epochs over a fresh set of negatives, batch 64, dropout keep 0.75.
    """
    discriminator.train()
    dev = discriminator.device
    loss_sum, correct, seen, steps = 0.0, 0, 0, 0
    for _ in range(epochs):
        for tokens, labels in discriminator_batches(real, fake, batch_size, generator=rng):
            tokens, labels = tokens.to(dev), labels.to(dev)
            logits = discriminator(tokens)
            loss = discriminator.loss_from_logits(logits, labels)
            _check_finite(loss, "discriminator")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * tokens.shape[0]
            correct += int((logits.argmax(-1) == labels).sum())
            seen += tokens.shape[0]
            steps += 1
    if seen == 0:
        return DiscriminatorStats(loss=math.nan, accuracy=math.nan, steps=0)
    return DiscriminatorStats(loss=loss_sum / seen, accuracy=correct / seen, steps=steps)
