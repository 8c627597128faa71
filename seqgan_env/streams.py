"""Named random streams: every random draw of training is a pure function of (seed, name, path, global row).

Training never threads a random state through its steps. Each draw asks for the stream it needs by name and
position, for example the permutation of MLE epoch 7, or the seeds of the negatives of D retraining 12:

    perm = permutation(seed, "mle", 7, n=10_000)
    seeds = row_seeds(seed, "negatives", 12, rows=range(lo, hi))     # rows = global row indices

so a run split over K ranks (each drawing only its rows), a resumed run (which starts at unit k) and the plain
run draw exactly the same numbers: nothing depends on how many draws came before. A key is built with the kernels'
Philox (:func:`seqgan_env.kernels.derive_seeds`): the name is hashed (sha256) to a 32-bit domain, then every path
element is folded in, each with its own domain, so ``("mle", 7)`` and ``("mle", 7, 0)`` and ``("mlx", 7)`` are
unrelated streams.

The names the trainer uses (``seqgan_env.agents.trainer``): ``"mle"`` and ``"mle_baseline"`` (epoch
permutations), ``"negatives"``, ``"real_subset"``, ``"d_shuffle"`` and ``"d_dropout"`` (per D retraining),
``"agent"`` (per generator step), ``"eval"`` (the fixed evaluation samples); :func:`seqgan_env.data.make_oracle_data`
uses ``"data_train"`` and ``"data_test"``; the examples seed their models with ``"generator_init"`` and
``"discriminator_init"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import torch
from torch import Tensor

from .kernels.philox import derive_seed, derive_seeds

__all__ = ["key", "row_seeds", "permutation", "torch_generator"]

_MASK62 = (1 << 62) - 1


def _name_domain(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def key(seed: int, name: str, *path: int) -> int:
    """The 62-bit key of the stream ``(seed, name, *path)``: a pure function of its arguments."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"seed={seed!r} must be an int in [0, 2**63).")
    k = derive_seed(seed, _name_domain(name), domain=0x4E414D45)
    for i, p in enumerate(path):
        if not isinstance(p, int) or p < 0:
            raise ValueError(f"stream path element {p!r} of {name!r} must be an int >= 0.")
        k = derive_seed(k, p, domain=i + 1)
    return k & _MASK62


def row_seeds(
    seed: int, name: str, *path: int, rows: Tensor | Iterable[int] | int, device: torch.device | str = "cpu"
) -> Tensor:
    """Per-row seeds (int64, [0, 2**62)) of the stream ``(seed, name, *path)`` for global row indices ``rows``
    (an int n means rows 0..n-1). Row r's seed does not depend on which other rows are asked for."""
    if isinstance(rows, int):
        idx = torch.arange(rows, dtype=torch.int64)
    elif isinstance(rows, Tensor):
        idx = rows.to("cpu", torch.int64)
    else:
        idx = torch.tensor(list(rows), dtype=torch.int64)
    return derive_seeds(key(seed, name, *path), idx).to(device)


def torch_generator(seed: int, name: str, *path: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with the stream's key (for code that wants a generator)."""
    return torch.Generator(device=device).manual_seed(key(seed, name, *path))


def permutation(seed: int, name: str, *path: int, n: int) -> Tensor:
    """A random permutation of ``range(n)`` (CPU int64) from the stream ``(seed, name, *path)``."""
    return torch.randperm(n, generator=torch_generator(seed, name, *path))
