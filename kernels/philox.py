"""A pure-PyTorch Philox-4x32-10 that reproduces Triton's ``tl.randint4x`` / ``tl.rand`` bit for bit.

Triton's generator (``triton/language/random.py``), for a scalar ``seed`` and an integer ``offset``:

    counter = (offset mod 2^32, offset >> 32 (0 for 32-bit offsets), 0, 0)     four uint32 words
    key     = (seed mod 2^32, seed >> 32)
    10 rounds:  c0' = umulhi(B, c2) ^ c1 ^ k0     c2' = umulhi(A, c0) ^ c3 ^ k1
                c1' = B * c2  (mod 2^32)          c3' = A * c0  (mod 2^32)
                k0 += 0x9E3779B9, k1 += 0xBB67AE85                 (A = 0xD2511F53, B = 0xCD9E8D57)
    randint4x(seed, offset) = (c0, c1, c2, c3);  randint = c0
    uniform(x) = float32(x' ) * float32(4.6566127342e-10),  x' = int32(x) if >= 0 else ~int32(x)   in [0, 1)
    rand(seed, offset) = uniform(randint(seed, offset))

Here every uint32 word lives in an int64 tensor (values in [0, 2^32)); products are split into 16-bit halves so
no intermediate leaves int64. Offsets are int64 (the 64-bit counter path of Triton: ``offset_hi`` is the high
word). Works on any device; cost is about 150 int64 ops per call.

Keyed streams (what the rollout kernel uses): :func:`philox4x32` also takes per-element keys (tensors), and
:func:`derive_seeds` turns one integer seed into independent per-row seeds, a pure function of (seed, row index,
domain), so a batch and its rows one at a time (or split across ranks) get the same seeds.
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor

__all__ = ["philox4x32", "randint4x", "uint_to_uniform", "rand", "rand4x", "derive_seeds", "derive_seed", "check_seeds",
           "MASK32", "SEED_BOUND"]

MASK32 = 0xFFFFFFFF
_ROUND_A = 0xD2511F53
_ROUND_B = 0xCD9E8D57
_KEY_A = 0x9E3779B9
_KEY_B = 0xBB67AE85
_UNIFORM_SCALE = 4.6566127342e-10  # Triton's (2^23 - 1) / 2^23 * 2^-31, rounded to float32 by the multiply


def _mul32(a: int, b: Tensor) -> tuple[Tensor, Tensor]:
    """(hi, lo) 32-bit words of the 64-bit product of the constant ``a`` and ``b`` (int64 holding uint32).

    a * b = x * 2^16 + y with x = (a >> 16) * b and y = (a & 0xFFFF) * b, both < 2^48 (no int64 overflow).
    """
    x = (a >> 16) * b
    y = (a & 0xFFFF) * b
    t = (x & 0xFFFF) * 65536 + y
    return ((x >> 16) + (t >> 32)) & MASK32, t & MASK32


def philox4x32(
    c0: Tensor, c1: Tensor, c2: Tensor, c3: Tensor, k0: int | Tensor, k1: int | Tensor, n_rounds: int = 10
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Philox-4x32 with ``n_rounds`` rounds. Counters: int64 tensors holding uint32 (broadcastable shapes); keys:
    ints or int64 tensors holding uint32 (one key per element: the rollout kernel keys each row by its seed)."""
    k0 = k0 & MASK32
    k1 = k1 & MASK32
    for _ in range(n_rounds):
        hi_b, lo_b = _mul32(_ROUND_B, c2)
        hi_a, lo_a = _mul32(_ROUND_A, c0)
        c0, c1, c2, c3 = hi_b ^ c1 ^ k0, lo_b, hi_a ^ c3 ^ k1, lo_a
        k0 = (k0 + _KEY_A) & MASK32
        k1 = (k1 + _KEY_B) & MASK32
    return c0, c1, c2, c3


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        if isinstance(seed, Tensor) and seed.numel() == 1 and not seed.is_floating_point():
            seed = int(seed)
        else:
            raise ValueError(f"seed={seed!r} must be an integer in [0, 2**63) (a float is not truncated).")
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed={seed} must be in [0, 2**63) (Triton passes it as a signed 64-bit integer).")
    return seed


def randint4x(seed: int, offset: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``tl.randint4x(seed, offset)`` for an int64 ``offset`` tensor (any shape): four int64 tensors of uint32.

    ``offset`` must be non-negative (the counter is its 64-bit two's complement, so negative values would also
    match Triton, but nothing here needs them).
    """
    seed = _check_seed(seed)
    if offset.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"offset must be an int64 (or int32) tensor, got {offset.dtype}.")
    off = offset.to(torch.int64)
    lo = off & MASK32
    hi = (off >> 32) & MASK32 if offset.dtype == torch.int64 else torch.zeros_like(off)
    zero = torch.zeros_like(off)
    return philox4x32(lo, hi, zero, zero, seed & MASK32, seed >> 32)


def uint_to_uniform(x: Tensor) -> Tensor:
    """Triton's ``uint_to_uniform_float`` for uint32 words held in int64: float32 in [0, 1)."""
    signed = torch.where(x >= 2**31, x - 2**32, x)  # bitcast to int32
    signed = torch.where(signed < 0, -signed - 1, signed)  # ~x
    scale = torch.tensor(_UNIFORM_SCALE, dtype=torch.float32, device=x.device)
    return signed.to(torch.float32) * scale


def rand(seed: int, offset: Tensor) -> Tensor:
    """``tl.rand(seed, offset)``: float32 uniforms in [0, 1), same shape as ``offset``."""
    return uint_to_uniform(randint4x(seed, offset)[0])


def rand4x(seed: int, offset: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``tl.rand4x(seed, offset)``: four float32 uniform tensors from one Philox call per element."""
    a, b, c, d = randint4x(seed, offset)
    return uint_to_uniform(a), uint_to_uniform(b), uint_to_uniform(c), uint_to_uniform(d)


#: Row seeds are integers in [0, SEED_BOUND): non-negative int64 values (Triton passes seeds as signed 64-bit).
SEED_BOUND = 2**63
_DERIVE_TAG = 0x5EED5EED  # the fourth counter word of derive_seeds: keeps its stream apart from the rollouts'


def check_seeds(seeds: Tensor, name: str = "seeds") -> Tensor:
    """Validate per-row seeds: an integer tensor of values in [0, 2**63). Returns them as int64."""
    if not isinstance(seeds, Tensor) or seeds.dtype not in (torch.int64, torch.int32):
        got = seeds.dtype if isinstance(seeds, Tensor) else type(seeds).__name__
        raise ValueError(f"{name} must be an int64 tensor of per-row seeds in [0, 2**63), got {got}.")
    if seeds.numel() and int(seeds.min()) < 0:
        raise ValueError(f"{name} contains {int(seeds.min())}; seeds must lie in [0, 2**63).")
    return seeds.to(torch.int64)


def derive_seed(seed: int, index: int, domain: int = 0) -> int:
    """:func:`derive_seeds` for one integer ``index``, in plain Python integers (no tensors): the same value, without
    the cost of some 200 one-element tensor operations (the named random streams build a key per D step)."""
    seed = _check_seed(seed)
    index = int(index)
    if index < 0:
        raise ValueError(f"index {index} must be >= 0.")
    c0, c1, c2, c3 = index & MASK32, (index >> 32) & MASK32, int(domain) & MASK32, _DERIVE_TAG
    k0, k1 = seed & MASK32, (seed >> 32) & MASK32
    for _ in range(10):
        pb, pa = _ROUND_B * c2, _ROUND_A * c0
        c0, c1, c2, c3 = (pb >> 32) ^ c1 ^ k0, pb & MASK32, (pa >> 32) ^ c3 ^ k1, pa & MASK32
        k0, k1 = (k0 + _KEY_A) & MASK32, (k1 + _KEY_B) & MASK32
    return ((c1 & 0x3FFFFFFF) << 32) | c0


def derive_seeds(seed: int, index: Tensor, domain: int = 0) -> Tensor:
    """Independent per-row seeds in [0, 2**62) from one integer ``seed``: a pure function of (seed, index, domain).

    ``index`` (any shape, int64 >= 0) is typically the global row index; ``domain`` (a uint32) separates uses
    of the same seed. One Philox-4x32-10 call per element: key = ``seed``, counter = (index lo, index hi, domain,
    a fixed tag); the seed is the first two output words with the top two bits cleared.
    """
    seed = _check_seed(seed)
    if not isinstance(index, Tensor) or index.dtype not in (torch.int64, torch.int32):
        raise ValueError("index must be an int64 tensor of row indices.")
    idx = index.to(torch.int64)
    if idx.numel() and int(idx.min()) < 0:
        raise ValueError(f"index contains {int(idx.min())}; row indices must be >= 0.")
    lo, hi = idx & MASK32, (idx >> 32) & MASK32
    c2 = torch.full_like(idx, int(domain) & MASK32)
    c3 = torch.full_like(idx, _DERIVE_TAG)
    a, b, _, _ = philox4x32(lo, hi, c2, c3, seed & MASK32, seed >> 32)
    return ((b & 0x3FFFFFFF) << 32) | a
