"""Fused Monte Carlo rollouts: the Triton kernel's host launcher and its exact PyTorch reference.

The function (shared by both backends, see :class:`seqgan_env.rewards.RolloutBackend`)
-----------------------------------------------------------------------------------------
Row r has tokens y (T,), a start s_r in [0, T] and the prefix state (h, c) (the LSTM state after the start token
and y_1..y_s, see ``seqgan_env.generator``). For p = s_r .. T-1:

    l = h W_out^T + b_out                       (V,)  logits, never written to memory by the kernel
    y_p ~ softmax(l)                            exact categorical draw (below)
    (h, c) = LSTMCell(emb[y_p], (h, c))         gate order (i, f, g, o); sigmoid(x) = 1/(1+e^-x),
                                                tanh(x) = 2 sigmoid(2x) - 1 (no libdevice in the interpreter)

Positions < s_r are copied from the input; row with s_r = T is copied unchanged.

The sampler: weighted reservoir sampling over vocabulary tiles, with an online max
---------------------------------------------------------------------------------
The vocabulary is cut into NT = ceil(V / BV) tiles of BV logits (``block_v``, default 256). Tiles are visited
in order j = 0..NT-1 with a running max M, a running mass Z (relative to M) and a running choice:

    M_j = max(M_{j-1}, max l[tile j])          e = exp(l[tile j] - M_j)   (one exp per logit)
    C = cumsum(e);  S_j = C[-1]                 the tile's mass relative to M_j
    k = #{i : C_i <= u_pick * S_j}              inverse CDF inside the tile (one uniform)
    Z_j = Z_{j-1} exp(M_{j-1} - M_j) + S_j
    if u_acc * Z_j < S_j: choice = j*BV + k     accept with probability S_j / Z_j (a second uniform)

P(choice in tile j) = (S_j/Z_j) prod_{i>j} (1 - S_i/Z_i) = S_j / Z_NT (the products telescope, Z_i - S_i =
Z_{i-1} rescaled), and inside the tile k is drawn with probability e_k / S_j, so the token is drawn from
softmax(l) exactly (up to float rounding of the CDF): 2 uniforms per tile instead of one per logit.

Random numbers: Philox-4x32-10 (``tl.rand4x``), one counter per (row, position, pair of tiles):

    counter(r, p, q) = offset + (r * T + p) * NQ + q       NQ = ceil(NT / 2), int64 (64-bit Philox counter)
    tile 2q uses (u0, u1) = (u_pick, u_acc), tile 2q+1 uses (u2, u3)

r is the row's index in the input, so the stream does not depend on the launch schedule or ``block_r``; it
depends on (seed, offset, T, V, block_v). Calls with different ``offset`` ranges [offset, offset + R*T*NQ) are
independent.

Memory traffic per call (fp32): read tokens/starts/h0/c0 (R*(T+2H+1) words), write R*T tokens; per program and
step, the W_out tiles (V*H words, L2-resident: 640 KB at the paper config) and BR embedding rows. The logits
(R * 10.5 * V words on average at the paper config, 4 GB in fp32) never leave registers. Arithmetic per sampled
token: 2*V*H FMA for the projection, 8*H*(E+H) for the cell, one exp, one compare and a scan step per logit, one
10-round Philox per tile (the kernel visits one tile per loop iteration to keep live ranges short and evaluates
each pair's Philox call for both of its tiles: 1/256 of a Philox per logit at BV = 256, against one per logit for
Gumbel-max).

Work schedule (the kernel): rows are sorted by start (stable) and blocks of ``block_r`` consecutive sorted rows
form one program, launched longest-first (smallest start first), which both keeps a block's rows in step (no
idle lanes) and balances the programs (longest-processing-time-first: the short blocks of late starts fill the
tail, the same effect as pairing starts t and T-t). The sort does not change the random stream.

Precision: the reference is fp32 throughout. The kernel accumulates in fp32; ``precision="ieee"`` uses fp32
FMA dots (tokens equal the reference's except where a uniform falls within float rounding of a CDF boundary,
about 1e-6 per draw), ``"tf32"`` (the default on GPU) rounds the dot inputs to 10-bit mantissas: logits move by
about 1e-4 at the paper's scale (|h| < 1, W ~ N(0, 0.1), H = 32), i.e. each draw comes from softmax(l + d),
|d| <~ 1e-3, a total-variation error of about 1e-3 per draw; rows then diverge from the reference after the first
differing token. ``"tf32x3"`` is close to ieee accuracy at 3 tensor-core passes. The interpreter ignores the
precision (fp32 numpy).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from seqgan_env.generator import LSTMWeights

from ._loader import interpret_mode, load_kernel_module, triton_available
from .philox import rand4x

__all__ = ["mc_rollout", "rollout_reference", "triton_rollout", "DEFAULT_BLOCK_V", "Precision"]

DEFAULT_BLOCK_V = 256
DEFAULT_BLOCK_R = 16
# Launch options, from compiling for sm_90 with triton 3.9's ptxas (no GPU needed; see tests/kernels): with
# BLOCK_R=16, BLOCK_V=256, E=H=32, tf32, num_stages=1 and 8 warps use 155 registers and 65 KB of shared memory with
# no spills; 4 warps need 202 registers; num_stages=3 (the default) pipelines the W_out tiles into 112 KB of shared
# memory and spills 1.6 KB of stack per thread.
DEFAULT_NUM_WARPS = 8
DEFAULT_NUM_STAGES = 1
MAX_HIDDEN = 128  # registers: the kernel keeps 8 (E|H x H) gate blocks per program
Precision = Literal["ieee", "tf32", "tf32x3"]
_FLOATS = (torch.float32, torch.float16, torch.bfloat16)
_INTS = (torch.int64, torch.int32)


# ---------------------------------------------------------------------------------------------------- validation
def _prepare(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, seed: int, offset: int,
    block_v: int,
) -> tuple[LSTMWeights, Tensor, Tensor, Tensor, Tensor]:
    """Check shapes, dtypes, devices and ranges; return fp32/int64 contiguous copies (views when already so)."""
    if not isinstance(weights, LSTMWeights):
        weights = LSTMWeights(*weights)
    for name, t in zip(("tokens", "starts"), (tokens, starts)):
        if not isinstance(t, Tensor) or t.dtype not in _INTS:
            got = t.dtype if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name} must be an int64 or int32 tensor, got {got}.")
    for name, t in list(zip(LSTMWeights._fields, weights)) + [("h0", h0), ("c0", c0)]:
        if not isinstance(t, Tensor) or t.dtype not in _FLOATS:
            got = t.dtype if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(
                f"{name} must be a float32, float16 or bfloat16 tensor (computed in float32), got {got}."
            )
    devices = {t.device for t in (tokens, starts, h0, c0, *weights)}
    if len(devices) != 1:
        raise ValueError(f"all tensors must be on one device, got {sorted(str(d) for d in devices)}.")
    if tokens.dim() != 2:
        raise ValueError(f"tokens must be (R, T), got shape {tuple(tokens.shape)}.")
    r, t_len = tokens.shape
    v, e = weights.emb.shape
    h = weights.w_hh.shape[-1]
    expect = {"w_ih": (4 * h, e), "w_hh": (4 * h, h), "bias": (4 * h,), "w_out": (v, h), "b_out": (v,)}
    for name, shape in expect.items():
        got = tuple(getattr(weights, name).shape)
        if got != shape:
            raise ValueError(f"weights.{name} has shape {got}; expected {shape} for V={v}, E={e}, H={h}.")
    if tuple(starts.shape) != (r,):
        raise ValueError(f"starts must be (R,) = ({r},), got {tuple(starts.shape)}.")
    for name, t in (("h0", h0), ("c0", c0)):
        if tuple(t.shape) != (r, h):
            raise ValueError(f"{name} must be (R, H) = ({r}, {h}), got {tuple(t.shape)}.")
    if t_len < 1 or v < 1:
        raise ValueError(f"need T >= 1 and V >= 1, got T={t_len}, V={v}.")
    if block_v < 16 or block_v & (block_v - 1):
        raise ValueError(f"block_v={block_v} must be a power of two >= 16.")
    if r and (int(starts.min()) < 0 or int(starts.max()) > t_len):
        raise ValueError(f"starts must lie in [0, T={t_len}], got [{int(starts.min())}, {int(starts.max())}].")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed={seed} must be in [0, 2**63).")
    nq = _num_pairs(v, block_v)
    if not 0 <= int(offset) or int(offset) + r * t_len * nq >= 2**63:
        raise ValueError(f"offset={offset} must be >= 0 with offset + R*T*NQ < 2**63 (the 64-bit Philox counter).")
    w = LSTMWeights(*(t.detach().to(torch.float32).contiguous() for t in weights))
    return (
        w,
        tokens.to(torch.int64).contiguous(),
        starts.to(torch.int64).contiguous(),
        h0.detach().to(torch.float32).contiguous(),
        c0.detach().to(torch.float32).contiguous(),
    )


def _num_pairs(v: int, block_v: int) -> int:
    return (math.ceil(v / block_v) + 1) // 2


# ---------------------------------------------------------------------------------------------------- reference
def _sigmoid(x: Tensor) -> Tensor:
    return 1.0 / (1.0 + torch.exp(-x))


def _tanh(x: Tensor) -> Tensor:
    return 2.0 / (1.0 + torch.exp(-2.0 * x)) - 1.0


def _cell(x: Tensor, h: Tensor, c: Tensor, w: LSTMWeights) -> tuple[Tensor, Tensor]:
    """The kernel's LSTM cell: per gate, x W_x^T + (h W_h^T + b), with the exp-based sigmoid and tanh."""
    hh = w.w_hh.shape[-1]
    gx = x @ w.w_ih.T
    gh = h @ w.w_hh.T + w.bias
    gi, gf, gg, go = ((gx[:, k * hh : (k + 1) * hh] + gh[:, k * hh : (k + 1) * hh]) for k in range(4))
    c = _sigmoid(gf) * c + _sigmoid(gi) * _tanh(gg)
    h = _sigmoid(go) * _tanh(c)
    return h, c


def sample_tiles(
    logits: Tensor, u_pick: Tensor, u_acc: Tensor, block_v: int = DEFAULT_BLOCK_V
) -> Tensor:
    """The kernel's sampler on explicit uniforms. ``logits`` (R, V); ``u_pick``/``u_acc`` (R, NT) -> (R,) long.

    Exposed for the distribution tests (a chi-square test can feed it any uniforms).
    """
    r, v = logits.shape
    nt = math.ceil(v / block_v)
    pad = nt * block_v - v
    lp = torch.nn.functional.pad(logits.float(), (0, pad), value=float("-inf")).view(r, nt, block_v)
    valid = torch.nn.functional.pad(torch.ones(v, dtype=torch.bool, device=logits.device), (0, pad)).view(nt, block_v)
    m = torch.cummax(lp.amax(-1), dim=1).values  # (R, NT): the running max after each tile
    e = torch.where(valid, torch.exp(lp - m[..., None]), torch.zeros((), device=logits.device))
    cs = torch.cumsum(e, dim=-1)
    s = cs.amax(-1)  # (R, NT)
    cand = (cs <= (u_pick[:, :nt] * s)[..., None]).sum(-1)
    nvalid = torch.clamp(v - torch.arange(nt, device=logits.device) * block_v, max=block_v)
    cand = torch.minimum(cand, nvalid - 1)
    z = torch.zeros(r, device=logits.device)
    m_prev = torch.full((r,), float("-inf"), device=logits.device)
    choice = torch.zeros(r, dtype=torch.long, device=logits.device)
    for j in range(nt):
        z = z * torch.exp(m_prev - m[:, j]) + s[:, j]
        accept = u_acc[:, j] * z < s[:, j]
        choice = torch.where(accept, j * block_v + cand[:, j], choice)
        m_prev = m[:, j]
    return choice


def _uniforms(seed: int, counters: Tensor, nt: int) -> tuple[Tensor, Tensor]:
    """(u_pick, u_acc), each (R, NT), from Philox at ``counters`` (R, NQ): tile 2q <- (u0, u1), 2q+1 <- (u2, u3)."""
    u0, u1, u2, u3 = rand4x(seed, counters)
    u_pick = torch.stack([u0, u2], dim=-1).flatten(1)[:, :nt]
    u_acc = torch.stack([u1, u3], dim=-1).flatten(1)[:, :nt]
    return u_pick, u_acc


@torch.no_grad()
def rollout_reference(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seed: int, offset: int = 0,
    block_v: int = DEFAULT_BLOCK_V,
) -> Tensor:
    """PyTorch reference of the fused kernel: the same function and the same Philox stream (any device).

    Args:
        weights: the rollout policy (:class:`LSTMWeights`; V, E, H from its shapes).
        tokens: (R, T) int64/int32; positions < ``starts[r]`` are the prefix.
        starts: (R,) in [0, T].
        h0, c0: (R, H) prefix states.
        seed, offset: the Philox stream (see the module docstring for the counter layout).
        block_v: the vocabulary tile BV (part of the stream's definition; must match the kernel's).

    Returns:
        (R, T) int64: prefixes copied, positions >= start sampled.
    """
    w, tokens, starts, h, c = _prepare(weights, tokens, starts, h0, c0, seed, offset, block_v)
    r, t_len = tokens.shape
    v = w.emb.shape[0]
    out = tokens.clone()
    if r == 0:
        return out
    nt = math.ceil(v / block_v)
    nq = _num_pairs(v, block_v)
    order = torch.argsort(starts, stable=True)
    s_sorted = starts[order]
    h, c = h[order], c[order]
    q = torch.arange(nq, device=tokens.device)
    for p in range(int(s_sorted[0]), t_len):
        k = int((s_sorted <= p).sum())  # rows active at p are the first k in start order
        rows = order[:k]
        logits = h[:k] @ w.w_out.T + w.b_out
        counters = int(offset) + (rows * t_len + p)[:, None] * nq + q  # (k, NQ)
        u_pick, u_acc = _uniforms(int(seed), counters, nt)
        tok = sample_tiles(logits, u_pick, u_acc, block_v)
        out[rows, p] = tok
        if p + 1 < t_len:
            h_new, c_new = _cell(w.emb[tok], h[:k], c[:k], w)
            h = torch.cat([h_new, h[k:]])
            c = torch.cat([c_new, c[k:]])
    return out


# ---------------------------------------------------------------------------------------------------- triton
def triton_rollout(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seed: int, offset: int = 0,
    block_v: int = DEFAULT_BLOCK_V, block_r: int = DEFAULT_BLOCK_R, precision: Precision = "tf32",
    num_warps: int = DEFAULT_NUM_WARPS, num_stages: int = DEFAULT_NUM_STAGES, out: Tensor | None = None,
) -> Tensor:
    """The fused Triton kernel (CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1``). Same contract as
    :func:`rollout_reference`; ``block_r`` rows per program (>= 16 for ``tl.dot``), ``precision`` of the dots,
    ``num_warps``/``num_stages`` the launch options, ``out`` an optional preallocated (R, T) int64 result buffer
    (every element is written). See :data:`DEFAULT_NUM_WARPS` for the register budget behind the defaults."""
    if not triton_available():
        raise ValueError(
            "the Triton backend needs the 'triton' package, which is not installed here; use backend='reference'."
        )
    device = tokens.device if isinstance(tokens, Tensor) else None
    if device is not None and device.type != "cuda" and not interpret_mode():
        raise ValueError(
            f"the Triton backend needs CUDA tensors (got {device}); set TRITON_INTERPRET=1 to run it on CPU "
            "tensors in the interpreter, or use backend='reference'."
        )
    if precision not in ("ieee", "tf32", "tf32x3"):
        raise ValueError(f"precision={precision!r}; use 'ieee', 'tf32' or 'tf32x3'.")
    if block_r < 16 or block_r & (block_r - 1):
        raise ValueError(f"block_r={block_r} must be a power of two >= 16 (tl.dot's minimum M).")
    w, tokens, starts, h, c = _prepare(weights, tokens, starts, h0, c0, seed, offset, block_v)
    r, t_len = tokens.shape
    v, e = w.emb.shape
    hid = w.w_hh.shape[-1]
    if hid > MAX_HIDDEN or e > MAX_HIDDEN:
        raise ValueError(f"the Triton backend supports E, H <= {MAX_HIDDEN} (got E={e}, H={hid}); use 'reference'.")
    if t_len > 4096:
        raise ValueError(f"T={t_len} > 4096 is not supported by the Triton backend.")
    if out is None:
        out = torch.empty_like(tokens)
    elif out.shape != tokens.shape or out.dtype != torch.int64 or out.device != tokens.device:
        raise ValueError(f"out must be an int64 tensor of shape {tuple(tokens.shape)} on {tokens.device}.")
    elif not out.is_contiguous():
        raise ValueError("out must be contiguous.")
    if r == 0:
        return out
    mod = load_kernel_module("rollout_triton")
    order = torch.argsort(starts, stable=True)  # longest rows first; see the module docstring
    grid = (math.ceil(r / block_r),)
    mod.mc_rollout_kernel[grid](
        tokens, starts, h, c, order, out,
        w.emb, w.w_ih, w.w_hh, w.bias, w.w_out, w.b_out,
        r, t_len, v, e, hid, math.ceil(v / block_v), _num_pairs(v, block_v), int(seed), int(offset),
        BLOCK_R=block_r, BLOCK_V=block_v, BLOCK_E=max(16, _next_pow2(e)), BLOCK_H=max(16, _next_pow2(hid)),
        BLOCK_T=max(16, _next_pow2(t_len)), PRECISION=precision, num_warps=num_warps, num_stages=num_stages,
    )
    return out


def _next_pow2(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


# ---------------------------------------------------------------------------------------------------- launcher
def mc_rollout(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seed: int, offset: int = 0,
    backend: Literal["auto", "triton", "reference"] = "auto", block_v: int = DEFAULT_BLOCK_V,
    precision: Precision = "tf32",
) -> Tensor:
    """Complete each row after its prefix: (R, T) int64 (see the module docstring for the function).

    ``backend="auto"`` runs the Triton kernel for CUDA tensors and the PyTorch reference otherwise; "triton" on
    CPU tensors needs ``TRITON_INTERPRET=1``. ``precision`` applies to the kernel only.
    """
    if backend not in ("auto", "triton", "reference"):
        raise ValueError(f"backend={backend!r}; use 'auto', 'triton' or 'reference'.")
    if backend == "auto":
        is_cuda = isinstance(tokens, Tensor) and tokens.device.type == "cuda"
        backend = "triton" if is_cuda and triton_available() else "reference"
    if backend == "triton":
        return triton_rollout(
            weights, tokens, starts, h0, c0, seed=seed, offset=offset, block_v=block_v, precision=precision
        )
    return rollout_reference(weights, tokens, starts, h0, c0, seed=seed, offset=offset, block_v=block_v)
