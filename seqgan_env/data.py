"""Synthetic data from the oracle, and batched loaders.

The training set is ``num_train`` oracle samples (paper: 10,000 of length 20); a held-out set of ``num_test``
samples, drawn from a different named stream, gives NLL-test. Everything is keyed by (seed, name, row), so runs are
reproducible whatever the batch size or the number of ranks.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from . import streams
from .config import DataConfig
from .generator import Generator
from .parallel import Parallel

__all__ = ["SequenceData", "make_oracle_data", "iterate_batches", "discriminator_batches"]


@dataclass
class SequenceData:
    """Real sequences: ``train`` (num_train, T) and ``test`` (num_test, T), both long. Drawn from the oracle
    (:func:`make_oracle_data`) or a text corpus's split."""

    train: Tensor
    test: Tensor


def __getattr__(name: str) -> Any:
    """``OracleData``: the deprecated former name of :class:`SequenceData` (it also carries text corpora)."""
    if name == "OracleData":
        warnings.warn("seqgan_env.data.OracleData is deprecated; it is SequenceData (it also carries text corpora).",
                      DeprecationWarning, stacklevel=2)
        return SequenceData
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_oracle_data(
    oracle: Generator, config: DataConfig | None = None, *, batch_size: int = 2048, parallel: Parallel | None = None
) -> SequenceData:
    """Sample the training and held-out sets from ``oracle``. Row i of each set is keyed by ``(config.seed,
    "data_train" / "data_test", i)`` (:mod:`seqgan_env.streams`), so the sets do not depend on ``batch_size`` or on
    how many ranks share the work (with ``parallel``, each rank samples its block of rows and the blocks are
    gathered: every rank ends with the whole sets)."""
    config = config or DataConfig()
    parallel = parallel or Parallel()
    out = []
    for name, n in (("data_train", config.num_train), ("data_test", config.num_test)):
        lo, hi = parallel.shard(n)
        seeds = streams.row_seeds(config.seed, name, rows=range(lo, hi), device=oracle.device)
        part = oracle.sample_batches(hi - lo, batch_size, row_seeds=seeds)
        out.append(parallel.all_gather_rows(part))
    return SequenceData(train=out[0], test=out[1])


def iterate_batches(
    data: Tensor, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[Tensor]:
    """Yield (batch_size, T) row batches of ``data`` (N, T), reshuffled each call when ``shuffle``."""
    if batch_size <= 0:
        raise ValueError(f"batch_size={batch_size} must be positive.")
    n = data.shape[0]
    order = torch.randperm(n, generator=generator).to(data.device) if shuffle else torch.arange(n, device=data.device)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield data[order[i : i + batch_size]]


def discriminator_batches(
    real: Tensor, fake: Tensor, batch_size: int, *, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Shuffled (tokens, labels) batches of real (label 1) and fake (label 0) sequences, as the reference does."""
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} sequences differ in length.")
    tokens = torch.cat([real, fake])
    labels = torch.cat(
        [torch.ones(real.shape[0], dtype=torch.long), torch.zeros(fake.shape[0], dtype=torch.long)]
    ).to(tokens.device)
    order = torch.randperm(tokens.shape[0], generator=generator).to(tokens.device)
    for i in range(0, tokens.shape[0], batch_size):
        idx = order[i : i + batch_size]
        yield tokens[idx], labels[idx]
