"""NLL-oracle and NLL-test, the synthetic experiment's metrics (nats per token)."""

from __future__ import annotations

import torch
from torch import Tensor

from .generator import Generator

__all__ = ["sequence_nll", "nll_oracle", "nll_test"]


@torch.no_grad()
def sequence_nll(model: Generator, tokens: Tensor, *, batch_size: int = 1024) -> float:
    """Mean per-token NLL of ``tokens`` (N, T) under ``model``: sum of -log p over all tokens / (N*T)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for i in range(0, tokens.shape[0], batch_size):
            chunk = tokens[i : i + batch_size].to(model.device)
            total += float(-model.log_probs(chunk).double().sum())
            count += chunk.numel()
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("no tokens to score; pass a non-empty (N, T) tensor.")
    return total / count


@torch.no_grad()
def nll_oracle(
    generator: Generator,
    oracle: Generator,
    *,
    num_samples: int = 9_984,
    batch_size: int = 1024,
    seed: int | None = None,
    rng: torch.Generator | None = None,
) -> float:
    """NLL-oracle: mean per-token NLL, under ``oracle``, of ``num_samples`` sequences sampled from ``generator``.

    The paper's figure uses about 10,000 samples (reference code: 9,984). ``seed`` or ``rng`` fixes the samples.
    """
    if rng is None and seed is not None:
        rng = torch.Generator(device=generator.device).manual_seed(seed)
    samples = generator.sample_batches(num_samples, batch_size, generator=rng)
    return sequence_nll(oracle, samples.to(oracle.device), batch_size=batch_size)


def nll_test(generator: Generator, test_data: Tensor, *, batch_size: int = 1024) -> float:
    """NLL-test: the generator's mean per-token NLL of held-out oracle samples ``test_data`` (N, T)."""
    return sequence_nll(generator, test_data, batch_size=batch_size)
