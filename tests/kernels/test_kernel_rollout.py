"""The fused rollout kernel against its Philox-exact PyTorch reference (token for token) and against the plain
softmax + multinomial oracle (in distribution), the keyed streams, the -inf/NaN guards, shapes and errors."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from kernel_helpers import HAS_TRITON, chi_square_pvalue, requires_cuda, requires_triton

from seqgan_env.config import GeneratorConfig
from seqgan_env.generator import Generator
from seqgan_env.kernels import (
    LSTMWeights,
    NonFiniteError,
    derive_seeds,
    mc_rollout,
    next_token_probs,
    rand4x,
    resolve_backend,
    rollout_naive,
    rollout_reference,
    rollout_uniforms,
    sample_next,
    sample_tiles,
    triton_rollout,
)
from seqgan_env.kernels.philox import philox4x32

POISON = -7
KERNELS = Path(__file__).resolve().parents[2] / "kernels"


def _model(v: int, t: int, e: int = 16, h: int = 16, seed: int = 0, scale: float = 15.0) -> Generator:
    """A small generator whose output layer is scaled up so the next-token distributions are far from uniform."""
    g = Generator(GeneratorConfig(vocab_size=v, emb_dim=e, hidden_dim=h, seq_len=t), seed=seed)
    with torch.no_grad():
        g.out.weight.mul_(scale)
        g.out.bias.mul_(scale)
    return g


def _rows(g: Generator, b: int, n: int, starts: list[int] | None, seed: int = 1):
    """B sequences repeated N times with their prefix states, per-row seeds (one per sequence) and rollout ids."""
    gen = torch.Generator().manual_seed(seed)
    t = g.seq_len
    seqs = torch.randint(0, g.vocab_size, (b, t), generator=gen).repeat_interleave(n, 0)
    if starts is None:
        st = torch.randint(0, t + 1, (b * n,), generator=gen)
    else:
        st = torch.tensor(starts, dtype=torch.long)
    hs, cs = g.prefix_states(seqs)
    idx = torch.arange(seqs.shape[0])
    seeds = derive_seeds(seed + 100, torch.arange(b)).repeat_interleave(n)
    ids = torch.arange(n).repeat(b)
    return (g.weights(), seqs, st, hs[idx, st].detach(), cs[idx, st].detach()), seeds, ids


def _to(dev: torch.device, args: tuple, *ts: torch.Tensor):
    w, *rest = args
    return (LSTMWeights(*(x.detach().to(dev) for x in w)), *(x.to(dev) for x in rest)), *(x.to(dev) for x in ts)


# (V, T, B, N, starts, block_v): awkward shapes
CASES = {
    "mixed": (200, 8, 4, 4, None, 64),  # V not a multiple of the tile (200 = 3*64 + 8), random starts incl. 0 and T
    "b1_t2": (37, 2, 1, 1, [0], 16),  # B = 1, T = 2, 3 tiles (odd: the last Philox pair has a masked tile)
    "start_t_minus_1": (50, 4, 2, 2, [3, 3, 3, 3], 16),
    "start_t": (50, 4, 1, 3, [4, 4, 4], 16),  # nothing to sample: the tokens come back unchanged
    "one_tile": (16, 3, 2, 2, [0, 1, 2, 0], 16),  # V = one tile exactly
    "rows_not_multiple_of_block": (96, 5, 3, 3, None, 32),  # R = 9 < BLOCK_R
}


@pytest.mark.parametrize("case", list(CASES))
def test_reference_properties(case: str) -> None:
    v, t, b, n, starts, bv = CASES[case]
    args, seeds, ids = _rows(_model(v, t), b, n, starts)
    out = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=bv)
    again = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=bv)
    tok, st = args[1], args[2]
    assert out.dtype == torch.int64 and out.shape == tok.shape
    assert torch.equal(out, again)  # deterministic in the seeds
    pos = torch.arange(t)
    prefix = pos[None, :] < st[:, None]
    assert torch.equal(out[prefix], tok[prefix])
    assert int(out.min()) >= 0 and int(out.max()) < v
    if (st < t).sum() > 1 and case != "b1_t2":
        other = rollout_reference(*args, seeds=seeds + 1, rollout_ids=ids, block_v=bv)
        assert not torch.equal(other[~prefix], out[~prefix])


@requires_triton
@pytest.mark.parametrize("case", list(CASES))
def test_kernel_equals_reference(device: torch.device, case: str) -> None:
    v, t, b, n, starts, bv = CASES[case]
    args, seeds, ids = _rows(_model(v, t), b, n, starts)
    ref = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=bv)
    args, seeds, ids = _to(device, args, seeds, ids)
    out = torch.full_like(args[1], POISON)  # every element must be written
    got = triton_rollout(*args, seeds=seeds, rollout_ids=ids, block_v=bv, precision="ieee", out=out)
    assert got.data_ptr() == out.data_ptr()
    assert not (got == POISON).any(), "the kernel left output elements unwritten"
    assert torch.equal(got.cpu(), ref)  # token for token (fp32 ieee dots; tiny configs)


@requires_triton
def test_kernel_equals_reference_at_temperature(device: torch.device) -> None:
    args, seeds, ids = _rows(_model(200, 6, scale=4.0), 4, 4, None)
    for tau in (0.5, 1.7):
        ref = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=64, temperature=tau)
        a, s, i = _to(device, args, seeds, ids)
        got = triton_rollout(*a, seeds=s, rollout_ids=i, block_v=64, precision="ieee", temperature=tau)
        assert torch.equal(got.cpu(), ref), tau
    cold = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=64, temperature=0.5)
    hot = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=64, temperature=1.7)
    assert not torch.equal(cold, hot)


@requires_triton
def test_kernel_independent_of_block_r_and_row_order(device: torch.device) -> None:
    args, seeds, ids = _to(device, *_rows(_model(64, 6), 4, 8, None))
    a = triton_rollout(*args, seeds=seeds, rollout_ids=ids, block_v=16, precision="ieee", block_r=16)
    b = triton_rollout(*args, seeds=seeds, rollout_ids=ids, block_v=16, precision="ieee", block_r=32)
    assert torch.equal(a, b)
    perm = torch.randperm(args[1].shape[0], generator=torch.Generator().manual_seed(0)).to(device)
    w, *rest = args
    shuffled = triton_rollout(w, *(x[perm] for x in rest), seeds=seeds[perm], rollout_ids=ids[perm], block_v=16,
                              precision="ieee")
    assert torch.equal(shuffled, a[perm])  # each row's stream is its own, wherever it sits in the batch


def test_batch_equals_rows_one_at_a_time() -> None:
    args, seeds, ids = _rows(_model(90, 6), 3, 4, None)
    batch = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=32)
    w, tok, st, h0, c0 = args
    for r in range(tok.shape[0]):
        one = rollout_reference(w, tok[r : r + 1], st[r : r + 1], h0[r : r + 1], c0[r : r + 1],
                                seeds=seeds[r : r + 1], rollout_ids=ids[r : r + 1], block_v=32)
        assert torch.equal(one[0], batch[r]), r


def test_streams_do_not_overlap() -> None:
    """Every (seed, rollout id, start, position, tile pair) gets its own Philox block: within one call no two draws
    share their 128 random bits, and a call with other seeds shares none with the first (the old offset-based
    stream reused 100 % of a call's uniforms when the offset moved by one)."""
    seeds = derive_seeds(7, torch.arange(3))
    words = []
    for s in seeds.tolist():
        for n in range(4):
            for start in range(5):
                for p in range(start, 5):
                    q = torch.arange(3)
                    a, b, c, d = philox4x32(q, torch.full_like(q, p), torch.full_like(q, n),
                                            torch.full_like(q, start), s & 0xFFFFFFFF, s >> 32)
                    words += list(zip(a.tolist(), b.tolist(), c.tolist(), d.tolist()))
    assert len(words) == len(set(words))
    other = derive_seeds(8, torch.arange(3))
    u1 = rollout_uniforms(seeds, torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), 2, 6)
    u2 = rollout_uniforms(other, torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), 2, 6)
    shared = set(torch.cat(u1).flatten().tolist()) & set(torch.cat(u2).flatten().tolist())
    assert not shared
    # derive_seeds is a pure function of (seed, index, domain)
    assert torch.equal(derive_seeds(7, torch.tensor([2])), seeds[2:])
    assert not torch.equal(derive_seeds(7, torch.arange(3), domain=1), seeds)
    assert int(derive_seeds(7, torch.arange(1000)).min()) >= 0


# ---------------------------------------------------------------------------------------------------- -inf, NaN
def _masked_first_tile(v: int = 48, bv: int = 16):
    g = _model(v, 4, scale=3.0)
    args, seeds, ids = _rows(g, 4, 4, [0] * 8 + [1] * 8)
    w = args[0]
    b_out = w.b_out.detach().clone()
    b_out[:bv] = float("-inf")  # the whole first tile is forbidden
    return (w._replace(b_out=b_out), *args[1:]), seeds, ids


def test_masked_first_tile_reference() -> None:
    args, seeds, ids = _masked_first_tile()
    out = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=16)
    sampled = out[torch.arange(4)[None, :] >= args[2][:, None]]
    assert int(sampled.min()) >= 16, "a token from the fully masked first tile was drawn"
    # the rest is still sampled correctly: sample_tiles on a masked first tile passes a chi-square test
    logits = torch.randn(30, generator=torch.Generator().manual_seed(0)) * 1.5
    logits[:8] = float("-inf")
    n = 20_000
    u_pick, u_acc = rollout_uniforms(derive_seeds(3, torch.arange(n)), torch.zeros(n, dtype=torch.long),
                                     torch.zeros(n, dtype=torch.long), 0, 4)
    draws = sample_tiles(logits.expand(n, 30), u_pick, u_acc, 8)
    probs = torch.softmax(logits.double(), -1)
    counts = torch.bincount(draws, minlength=30)
    assert int(counts[:8].sum()) == 0
    assert chi_square_pvalue(counts[8:], probs[8:]) > 1e-3


@requires_triton
def test_masked_first_tile_kernel(device: torch.device) -> None:
    args, seeds, ids = _masked_first_tile()
    ref = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=16)
    a, s, i = _to(device, args, seeds, ids)
    got = triton_rollout(*a, seeds=s, rollout_ids=i, block_v=16, precision="ieee")
    assert torch.equal(got.cpu(), ref)


@pytest.mark.parametrize("where", ["w_out", "h0", "b_out_nan", "b_out_all_minus_inf"])
def test_non_finite_policy_is_an_error(where: str) -> None:
    args, seeds, ids = _rows(_model(40, 4), 2, 2, None)
    w, tok, st, h0, c0 = args
    if where == "w_out":
        w = w._replace(w_out=w.w_out.detach().clone().index_fill_(0, torch.tensor([3]), float("nan")))
    elif where == "h0":
        h0 = h0.clone()
        h0[1, 0] = float("inf")
    elif where == "b_out_nan":
        w = w._replace(b_out=torch.full_like(w.b_out, float("nan")))
    else:
        w = w._replace(b_out=torch.full_like(w.b_out, float("-inf")))
    st = torch.zeros_like(st)
    with pytest.raises(NonFiniteError, match="non-finite|-inf or NaN"):
        rollout_reference(w, tok, st, h0, c0, seeds=seeds, rollout_ids=ids, block_v=16)


@requires_triton
def test_non_finite_policy_is_an_error_kernel(device: torch.device) -> None:
    args, seeds, ids = _to(device, *_rows(_model(40, 4), 2, 2, None))
    w, tok, st, h0, c0 = args
    with pytest.raises(NonFiniteError):
        triton_rollout(w._replace(w_ih=w.w_ih * float("nan")), tok, st, h0, c0, seeds=seeds, rollout_ids=ids,
                       block_v=16)
    with pytest.raises(NonFiniteError, match="-inf or NaN"):  # finite weights, but no token can be drawn
        triton_rollout(w._replace(b_out=torch.full_like(w.b_out, float("-inf"))), tok, torch.zeros_like(st), h0, c0,
                       seeds=seeds, rollout_ids=ids, block_v=16)


# ---------------------------------------------------------------------------------------------------- distribution
def _one_step(v: int, rows: int, seed: int = 0, bias: dict[int, float] | None = None):
    """Rows sharing one prefix state: with T = 1 and start 0 each row draws one token from softmax(l)."""
    g = _model(v, 1, seed=seed, scale=2.0)
    if bias:
        with torch.no_grad():
            for k, val in bias.items():
                g.out.bias[k] += val
    w = g.weights()
    h0, c0 = g.initial_state(1)
    tok = torch.zeros(rows, 1, dtype=torch.long)
    st = torch.zeros(rows, dtype=torch.long)
    probs = next_token_probs(w, h0.detach())[0]  # the plain oracle's probabilities
    args = (w, tok, st, h0.detach().expand(rows, -1).contiguous(), c0.detach().expand(rows, -1).contiguous())
    return args, derive_seeds(seed + 1, torch.arange(rows)), probs


def test_naive_oracle_is_a_sampler_of_softmax() -> None:
    """The oracle itself: multinomial draws from softmax(l), and a wrong softmax(2 l) target is rejected."""
    args, _, probs = _one_step(12, 1)
    w, tok, st, h0, c0 = args
    rows = 6000
    out = rollout_naive(w, tok.expand(rows, 1), st.expand(rows), h0.expand(rows, -1), c0.expand(rows, -1),
                        generator=torch.Generator().manual_seed(0))[:, 0]
    counts = torch.bincount(out, minlength=12)
    assert chi_square_pvalue(counts, probs) > 1e-3
    assert chi_square_pvalue(counts, torch.softmax(2 * torch.log(probs), -1)) < 1e-6


# Several tiles (V = 40 in tiles of 16, the last partial); a heavy token first in a tile (id 16); a token with a
# tiny probability (id 39, ~1e-3).
DIST = dict(v=40, bv=16, bias={16: 3.0, 39: -6.0})


def _check_distribution(out: torch.Tensor, probs: torch.Tensor) -> None:
    counts = torch.bincount(out.cpu(), minlength=DIST["v"])
    n = int(counts.sum())
    assert float(probs[16]) == float(probs.max()), "the heavy token is not the most likely"
    assert chi_square_pvalue(counts, probs) > 1e-3
    assert chi_square_pvalue(counts, torch.softmax(2 * torch.log(probs), -1)) < 1e-6
    # the tiny-probability token: its count is within 5 binomial standard deviations of n p
    p = float(probs[39])
    assert p < 5e-3
    assert abs(int(counts[39]) - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1, (int(counts[39]), n * p)


def test_reference_distribution_against_oracle() -> None:
    args, seeds, probs = _one_step(DIST["v"], 40_000, bias=DIST["bias"])
    out = rollout_reference(*args, seeds=seeds, block_v=DIST["bv"])[:, 0]
    _check_distribution(out, probs)


@requires_triton
def test_kernel_distribution_against_oracle(device: torch.device) -> None:
    rows = 8192 if device.type == "cpu" else 400_000
    args, seeds, probs = _one_step(DIST["v"], rows, bias=DIST["bias"])
    a, s = _to(device, args, seeds)
    out = triton_rollout(*a, seeds=s, block_v=DIST["bv"], block_r=512, precision="ieee")[:, 0]
    _check_distribution(out, probs)


def test_sampler_rejects_wrong_samplers() -> None:
    """``sample_tiles`` on Philox uniforms with tiny tiles draws from softmax; fed softmax(2 l)'s logits, or with
    the acceptance step skipped, it is rejected by the same test."""
    v, n, bv = 14, 30_000, 4
    logits = torch.randn(v, generator=torch.Generator().manual_seed(3)) * 1.5
    nt = math.ceil(v / bv)
    u0, u1, u2, u3 = rand4x(77, torch.arange(n * ((nt + 1) // 2), dtype=torch.int64).view(n, -1))
    u_pick = torch.stack([u0, u2], -1).flatten(1)
    u_acc = torch.stack([u1, u3], -1).flatten(1)
    probs = torch.softmax(logits.double(), -1)
    good = sample_tiles(logits.expand(n, v), u_pick, u_acc, bv)
    assert chi_square_pvalue(torch.bincount(good, minlength=v), probs) > 1e-3
    wrong = sample_tiles(2 * logits.expand(n, v), u_pick, u_acc, bv)
    assert chi_square_pvalue(torch.bincount(wrong, minlength=v), probs) < 1e-6
    always_accept = sample_tiles(logits.expand(n, v), u_pick, torch.zeros_like(u_acc), bv)  # keeps the last tile
    assert chi_square_pvalue(torch.bincount(always_accept, minlength=v), probs) < 1e-6


# ---------------------------------------------------------------------------------------------------- launcher
def test_launcher_dispatch_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    args, seeds, ids = _rows(_model(32, 4), 2, 2, None)
    w, tok, st, h0, c0 = args
    ref = rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=16)
    assert torch.equal(mc_rollout(*args, seeds=seeds, rollout_ids=ids, block_v=16), ref)  # auto on CPU -> torch
    assert torch.equal(mc_rollout(*args, seeds=seeds, rollout_ids=ids, block_v=16, backend="torch"), ref)
    with pytest.warns(DeprecationWarning, match="reference"):
        assert torch.equal(mc_rollout(*args, seeds=seeds, rollout_ids=ids, block_v=16, backend="reference"), ref)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ValueError, match="CUDA"):
        mc_rollout(*args, seeds=seeds, backend="triton")
    with pytest.raises(ValueError, match="backend"):
        mc_rollout(*args, seeds=seeds, backend="cuda")
    with pytest.raises(ValueError, match="float32, float16 or bfloat16"):
        rollout_reference(LSTMWeights(*(x.double() for x in w)), tok, st, h0, c0, seeds=seeds)
    with pytest.raises(ValueError, match="int64 or int32"):
        rollout_reference(w, tok.float(), st, h0, c0, seeds=seeds)
    with pytest.raises(ValueError, match="starts must lie"):
        rollout_reference(w, tok, st + 5, h0, c0, seeds=seeds)
    with pytest.raises(ValueError, match=r"h0 must be \(R, H\)"):
        rollout_reference(w, tok, st, h0[:1], c0, seeds=seeds)
    with pytest.raises(ValueError, match="w_out"):
        rollout_reference(w._replace(w_out=w.w_out[:, :3]), tok, st, h0, c0, seeds=seeds)
    with pytest.raises(ValueError, match="block_v"):
        rollout_reference(*args, seeds=seeds, block_v=100)
    with pytest.raises(ValueError, match="seeds"):
        rollout_reference(*args, seeds=seeds - 2**62)
    with pytest.raises(ValueError, match=r"seeds must be \(R,\)"):
        rollout_reference(*args, seeds=seeds[:1])
    with pytest.raises(ValueError, match="temperature"):
        rollout_reference(*args, seeds=seeds, temperature=0.0)
    with pytest.raises(ValueError, match="top_p"):
        rollout_reference(*args, seeds=seeds, top_p=1.5)
    with pytest.raises(ValueError, match="too small"):  # 1/temperature overflows float32
        rollout_reference(*args, seeds=seeds, temperature=1e-40)
    with pytest.raises(ValueError, match="temperature=True"):
        rollout_reference(*args, seeds=seeds, temperature=True)
    assert torch.equal(rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=16, temperature=np.float32(1)),
                       ref)  # a numpy scalar is a number


def test_prefix_ids_are_checked_before_the_start_only() -> None:
    """Ids before a row's start must be valid (both backends share the check); positions after it are outputs."""
    args, seeds, ids = _rows(_model(32, 4), 2, 2, [2, 2, 2, 2])
    w, tok, st, h0, c0 = args
    for bad in (-1, 32):
        t = tok.clone()
        t[1, 1] = bad
        with pytest.raises(ValueError, match=r"ids outside \[0, V=32\) in a prefix"):
            rollout_reference(w, t, st, h0, c0, seeds=seeds, rollout_ids=ids, block_v=16)
    t = tok.clone()
    t[:, 2:] = -5  # after the start: overwritten, not read
    assert torch.equal(rollout_reference(w, t, st, h0, c0, seeds=seeds, rollout_ids=ids, block_v=16),
                       rollout_reference(*args, seeds=seeds, rollout_ids=ids, block_v=16))


def test_sample_next_checks_its_arguments() -> None:
    logits = torch.randn(3, 20)
    seeds = derive_seeds(1, torch.arange(3))
    assert sample_next(logits, seeds, position=0).shape == (3,)
    for kw, match in (({"temperature": -1.0}, "temperature"), ({"temperature": 0.0}, "temperature"),
                      ({"temperature": math.inf}, "temperature"), ({"top_p": 0.0}, "top_p"),
                      ({"top_p": 5.0}, "top_p")):
        with pytest.raises(ValueError, match=match):
            sample_next(logits, seeds, position=0, **kw)
    with pytest.raises(ValueError, match=r"logits must be a float \(R, V\) tensor"):
        sample_next(logits[0], seeds, position=0)
    with pytest.raises(ValueError, match=r"seeds must be \(R,\) = \(3,\)"):
        sample_next(logits, seeds[:2], position=0)
    with pytest.raises(ValueError, match="seed"):
        sample_next(logits, seeds.double(), position=0)


def test_resolve_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert resolve_backend("auto", "cpu") == "torch"
    assert resolve_backend("torch", "cuda") == "torch"
    with pytest.raises(ValueError, match="CUDA device"):
        resolve_backend("triton", "cpu")
    with pytest.raises(ValueError, match="E, H <= 64"):
        resolve_backend("triton", "cuda", emb_dim=128, hidden_dim=128, seq_len=20)
    with pytest.warns(UserWarning, match="PyTorch rollouts"):
        assert resolve_backend("auto", "cuda", emb_dim=128, hidden_dim=128, seq_len=20) == "torch"
    with pytest.raises(ValueError, match="top_p"):
        resolve_backend("triton", "cuda", top_p=0.9)
    import seqgan_env.kernels.rollout as rollout_mod

    monkeypatch.setattr(rollout_mod, "triton_available", lambda: False)
    with pytest.raises(ValueError, match="pip install triton"):
        resolve_backend("triton", "cuda")
    with pytest.warns(UserWarning, match="triton is not installed"):
        assert resolve_backend("auto", "cuda") == "torch"


@requires_triton
def test_triton_argument_errors(interpret: None) -> None:
    args, seeds, _ = _rows(_model(32, 4), 1, 2, None)
    with pytest.raises(ValueError, match="precision"):
        triton_rollout(*args, seeds=seeds, precision="fp8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="block_r"):
        triton_rollout(*args, seeds=seeds, block_r=8)
    with pytest.raises(ValueError, match="out must be"):
        triton_rollout(*args, seeds=seeds, out=torch.empty(3, 3, dtype=torch.long))
    big = _model(32, 4, e=80, h=80)
    bargs, bseeds, _ = _rows(big, 1, 2, None)
    with pytest.raises(ValueError, match="E, H <= 64"):
        triton_rollout(*bargs, seeds=bseeds)


# ---------------------------------------------------------------------------------------------------- the floor
def test_kernels_import_nothing_from_seqgan_env() -> None:
    """kernels/ is the bottom floor: no module in it imports seqgan_env (or climbs out with a relative import)."""
    for path in sorted(KERNELS.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                bad = [a.name for a in node.names if a.name.split(".")[0] == "seqgan_env"]
                assert not bad, f"{path.name}:{node.lineno} imports {bad}"
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                assert not (node.level == 0 and mod.split(".")[0] == "seqgan_env"), f"{path.name}:{node.lineno}"
                assert node.level <= 1, f"{path.name}:{node.lineno} imports from outside kernels/"


def test_import_needs_neither_triton_nor_gymnasium_nor_sb3() -> None:
    code = (
        "import sys\n"
        "for m in ('triton', 'gymnasium', 'stable_baselines3'): sys.modules[m] = None\n"
        "import torch\n"
        "import seqgan_env.kernels as k\n"
        "assert not k.triton_available()\n"
        "args = (k.LSTMWeights(torch.zeros(5, 4), torch.zeros(16, 4), torch.zeros(16, 4), torch.zeros(16),"
        " torch.zeros(5, 4), torch.zeros(5)), torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, dtype=torch.long),"
        " torch.zeros(2, 4), torch.zeros(2, 4))\n"
        "assert k.mc_rollout(*args, seeds=torch.tensor([1, 2])).shape == (2, 3)\n"
        "try:\n"
        "    k.mc_rollout(*args, seeds=torch.tensor([1, 2]), backend='triton')\n"
        "except ValueError as exc:\n"
        "    assert 'triton' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('no error without triton')\n"
        "print('ok')\n"
    )
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr


@requires_cuda
@requires_triton
def test_paper_config_on_gpu() -> None:
    """GPU only: the paper config (V=5000, H=32, T=20, B=64, N=16). ieee dots agree with the reference token for
    token on nearly every row; tf32 dots give a (documented) small divergence and still sample correctly."""
    g = _model(5000, 20, e=32, h=32, scale=1.0).cuda()
    b, n, t = 64, 16, 20
    seqs = g.sample(b, seed=0)
    starts = torch.arange(1, t, device="cuda").repeat(b).repeat_interleave(n)
    rows = seqs.repeat_interleave(t - 1, 0).repeat_interleave(n, 0)
    hs, cs = g.prefix_states(rows)
    idx = torch.arange(rows.shape[0], device="cuda")
    args = (g.weights(), rows, starts, hs[idx, starts].detach(), cs[idx, starts].detach())
    seeds = derive_seeds(42, torch.arange(b)).cuda().repeat_interleave((t - 1) * n)
    ids = torch.arange(n, device="cuda").repeat(b * (t - 1))
    ref = rollout_reference(*args, seeds=seeds, rollout_ids=ids)
    ieee = triton_rollout(*args, seeds=seeds, rollout_ids=ids, precision="ieee")
    row_equal = (ieee == ref).all(1).float().mean().item()
    assert row_equal > 0.99, f"only {row_equal:.4f} of the rows equal the reference with ieee dots"
    tf32 = triton_rollout(*args, seeds=seeds, rollout_ids=ids, precision="tf32")
    tok_equal = (tf32 == ref).float().mean().item()
    assert tok_equal > 0.9, f"tf32 tokens equal the reference at rate {tok_equal:.4f}"


@requires_triton
def test_mode_mismatch_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import triton.language as tl

    from seqgan_env.kernels._loader import check_triton_mode

    interpreted = type(tl.rand).__name__ == "InterpretedFunction"
    monkeypatch.setenv("TRITON_INTERPRET", "0" if interpreted else "1")
    with pytest.raises(ValueError, match="first imported"):
        check_triton_mode()


def test_has_triton_flag_consistent() -> None:
    from seqgan_env.kernels import triton_available

    assert triton_available() == HAS_TRITON
