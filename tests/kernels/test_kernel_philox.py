"""The PyTorch Philox equals Triton's tl.rand / tl.randint4x bit for bit, and the published test vectors."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import requires_triton

from seqgan_env.kernels import philox

# Random123's known-answer vectors for Philox-4x32-10: (counter, key) -> output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_known_answer_vectors(ctr: tuple[int, ...], key: tuple[int, int], expected: tuple[int, ...]) -> None:
    words = [torch.tensor([c], dtype=torch.int64) for c in ctr]
    out = philox.philox4x32(*words, key[0], key[1])
    assert [int(w) for w in out] == list(expected)


def test_uniforms_in_unit_interval() -> None:
    u = philox.rand(3, torch.arange(50_000, dtype=torch.int64))
    assert u.dtype == torch.float32 and float(u.min()) >= 0.0 and float(u.max()) < 1.0
    assert abs(float(u.mean()) - 0.5) < 0.01


def test_rejects_bad_seed() -> None:
    with pytest.raises(ValueError, match="seed"):
        philox.rand(-1, torch.arange(4))


@requires_triton
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 + 5, 2**40 + 7])
def test_matches_tl_rand_bit_for_bit(device: torch.device, seed: int) -> None:
    import triton
    import triton.language as tl

    @triton.jit
    def _rand_kernel(off_ptr, u_ptr, w_ptr, seed, N: tl.constexpr):
        i = tl.arange(0, N)
        off = tl.load(off_ptr + i)
        tl.store(u_ptr + i, tl.rand(seed, off))
        a, b, c, d = tl.randint4x(seed, off)
        tl.store(w_ptr + 4 * i + 0, a.to(tl.int64) & 0xFFFFFFFF)
        tl.store(w_ptr + 4 * i + 1, b.to(tl.int64) & 0xFFFFFFFF)
        tl.store(w_ptr + 4 * i + 2, c.to(tl.int64) & 0xFFFFFFFF)
        tl.store(w_ptr + 4 * i + 3, d.to(tl.int64) & 0xFFFFFFFF)

    gen = torch.Generator().manual_seed(seed % 1000)
    # small counters, counters around 2^31 / 2^32 and full 64-bit ones (the high word is Philox's second counter)
    off = torch.cat(
        [
            torch.arange(16),
            torch.tensor([2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 1_950_000_000, 2**62, 2**63 - 1]),
            torch.randint(0, 2**62, (40,), generator=gen),
        ]
    ).to(torch.int64)
    n = off.numel()
    u = torch.empty(n, device=device)
    words = torch.empty(n, 4, dtype=torch.int64, device=device)
    _rand_kernel[(1,)](off.to(device), u, words, seed, N=n)
    ref_u = philox.rand(seed, off)
    ref_words = torch.stack(philox.randint4x(seed, off), dim=1)
    assert torch.equal(words.cpu(), ref_words)
    assert torch.equal(u.cpu().view(torch.int32), ref_u.view(torch.int32))  # bit for bit


def test_tensor_keys_equal_scalar_keys() -> None:
    """Per-element keys (the rollout kernel keys each row by its seed) give what one call per key gives."""
    keys = torch.tensor([0, 5, 2**32 + 7, 2**62 + 11], dtype=torch.int64)
    ctr = torch.arange(4, dtype=torch.int64)
    one = torch.ones_like(ctr)
    batched = philox.philox4x32(ctr, one, 2 * one, 3 * one, keys & philox.MASK32, keys >> 32)
    for i, k in enumerate(keys.tolist()):
        single = philox.philox4x32(ctr[i : i + 1], one[:1], 2 * one[:1], 3 * one[:1], k & philox.MASK32, k >> 32)
        assert [int(w[i]) for w in batched] == [int(w[0]) for w in single]


def test_derive_seeds_errors() -> None:
    with pytest.raises(ValueError, match="seed"):
        philox.derive_seeds(-1, torch.arange(3))
    with pytest.raises(ValueError, match="index"):
        philox.derive_seeds(1, torch.tensor([-1]))


def test_derive_seed_equals_derive_seeds():
    """The plain-integer scalar version (used for stream keys) gives derive_seeds' values bit for bit."""
    from seqgan_env.kernels.philox import derive_seed, derive_seeds

    g = torch.Generator().manual_seed(0)
    seeds = [0, 1, 2**32 - 1, 2**32, 2**62 - 1, 2**63 - 1] + torch.randint(0, 2**62, (20,), generator=g).tolist()
    index = torch.tensor([0, 1, 7, 2**31, 2**32 + 5, 2**40 + 3, 2**62 + 11], dtype=torch.int64)
    for seed in seeds:
        for domain in (0, 1, 5, 0x4E414D45, 2**32 - 1):
            want = derive_seeds(seed, index, domain=domain).tolist()
            assert [derive_seed(seed, int(i), domain=domain) for i in index] == want
    with pytest.raises(ValueError):
        derive_seed(0, -1)
