"""The fused Monte Carlo rollout kernel (Triton). Loaded lazily by :mod:`seqgan_env.kernels.rollout`.

The math, the keyed random-number layout and the memory traffic are documented in ``rollout.py`` (next to the
PyTorch reference, which implements the same function) and in ``docs/kernels.md``. Written to the subset of Triton
shared by 3.6 and 3.9: no block pointers, no ``boundary_check``, explicit ``out_dtype`` on ``tl.dot``, no
libdevice (sigmoid and tanh are written with ``tl.exp``), Philox written out here (``tl.umulhi`` and uint32
arithmetic) so the per-row key and the four counter words do not depend on Triton's ``tl.philox`` signature.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def _tanh(x):
    return 2.0 / (1.0 + tl.exp(-2.0 * x)) - 1.0


@triton.jit
def _philox(c0, c1, c2, c3, k0, k1):
    """Philox-4x32-10 on uint32 tensors (counter c0..c3, key k0, k1), as ``kernels/philox.py``."""
    for _ in tl.static_range(10):
        a0 = c0
        a2 = c2
        c0 = tl.umulhi(a2, 0xCD9E8D57) ^ c1 ^ k0
        c2 = tl.umulhi(a0, 0xD2511F53) ^ c3 ^ k1
        c1 = a2 * 0xCD9E8D57
        c3 = a0 * 0xD2511F53
        k0 = k0 + 0x9E3779B9
        k1 = k1 + 0xBB67AE85
    return c0, c1, c2, c3


@triton.jit
def _uniform(x):
    """Triton's uint_to_uniform_float: uint32 -> float32 in [0, 1)."""
    x = x.to(tl.int32, bitcast=True)
    x = tl.where(x < 0, -x - 1, x)
    return x.to(tl.float32) * 4.6566127342e-10


@triton.jit
def _sample_tile(
    h, w_out_ptr, b_out_ptr, j, V, H, inv_temp, u_pick, u_acc, m_run, z_run, choice, offs_h, hmask,
    BLOCK_V: tl.constexpr, PRECISION: tl.constexpr,
):
    """One vocabulary tile of the reservoir sampler for a block of rows; returns the new (m_run, z_run, choice)."""
    offs_v = j * BLOCK_V + tl.arange(0, BLOCK_V)
    vmask = offs_v < V
    w = tl.load(
        w_out_ptr + offs_v[None, :].to(tl.int64) * H + offs_h[:, None], mask=hmask[:, None] & vmask[None, :], other=0.0
    )  # (BLOCK_H, BLOCK_V) = W_out[tile]^T
    b = tl.load(b_out_ptr + offs_v, mask=vmask, other=0.0)
    logits = (tl.dot(h, w, input_precision=PRECISION, out_dtype=tl.float32) + b[None, :]) * inv_temp
    logits = tl.where(vmask[None, :], logits, float("-inf"))
    m_new = tl.maximum(m_run, tl.max(logits, axis=1))
    m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # a fully masked tile so far: no -inf - -inf
    e = tl.where(vmask[None, :], tl.exp(logits - m_safe[:, None]), 0.0)  # the only exp per logit
    cs = tl.cumsum(e, axis=1)
    s = tl.max(cs, axis=1)  # tile mass relative to m_safe (cumsum is nondecreasing)
    thr = u_pick * s
    cand = tl.sum((cs <= thr[:, None]).to(tl.int32), axis=1)  # inverse CDF inside the tile
    nvalid = tl.minimum(V - j * BLOCK_V, BLOCK_V)
    cand = tl.minimum(cand, nvalid - 1)
    z_new = z_run * tl.exp(m_run - m_safe) + s
    accept = u_acc * z_new < s  # replace the reservoir with probability s / z_new (never for an empty tile)
    choice = tl.where(accept, j * BLOCK_V + cand, choice)
    return m_new, z_new, choice


@triton.jit
def mc_rollout_kernel(
    tokens_ptr, starts_ptr, h0_ptr, c0_ptr, order_ptr, seeds_ptr, rids_ptr, out_ptr,
    emb_ptr, w_ih_ptr, w_hh_ptr, bias_ptr, w_out_ptr, b_out_ptr,
    R, T, V, E, H, NT, inv_temp,
    BLOCK_R: tl.constexpr, BLOCK_V: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_H: tl.constexpr,
    BLOCK_T: tl.constexpr, PRECISION: tl.constexpr,
):
    """Program ``pid`` completes the rows ``order[pid*BLOCK_R : (pid+1)*BLOCK_R]`` (original row ids)."""
    pid = tl.program_id(0)
    offs_r = pid * BLOCK_R + tl.arange(0, BLOCK_R)
    rmask = offs_r < R
    rows = tl.load(order_ptr + offs_r, mask=rmask, other=0).to(tl.int64)
    start = tl.load(starts_ptr + rows, mask=rmask, other=T).to(tl.int32)
    # the Philox key (the row's seed) and the per-row counter words (rollout id, start)
    seed = tl.load(seeds_ptr + rows, mask=rmask, other=0)
    k0 = (seed & 0xFFFFFFFF).to(tl.uint32)
    k1 = ((seed >> 32) & 0xFFFFFFFF).to(tl.uint32)
    c2 = tl.load(rids_ptr + rows, mask=rmask, other=0).to(tl.uint32)
    c3 = start.to(tl.uint32)
    zero = tl.zeros((BLOCK_R,), tl.int32)

    # 1. the prefix, copied (positions < start)
    offs_t = tl.arange(0, BLOCK_T)
    tmask = rmask[:, None] & (offs_t[None, :] < start[:, None])
    pref = tl.load(tokens_ptr + rows[:, None] * T + offs_t[None, :], mask=tmask, other=0)
    tl.store(out_ptr + rows[:, None] * T + offs_t[None, :], pref, mask=tmask)

    # 2. state and weights
    offs_h = tl.arange(0, BLOCK_H)
    hmask = offs_h < H
    offs_e = tl.arange(0, BLOCK_E)
    emask = offs_e < E
    smask = rmask[:, None] & hmask[None, :]
    h = tl.load(h0_ptr + rows[:, None] * H + offs_h[None, :], mask=smask, other=0.0).to(tl.float32)
    c = tl.load(c0_ptr + rows[:, None] * H + offs_h[None, :], mask=smask, other=0.0).to(tl.float32)
    xmask = emask[:, None] & hmask[None, :]
    hhmask = hmask[:, None] & hmask[None, :]
    # transposed gate blocks: wx_g[e, k] = w_ih[g*H + k, e], wh_g[j, k] = w_hh[g*H + k, j]
    wx_i = tl.load(w_ih_ptr + (0 * H + offs_h[None, :]) * E + offs_e[:, None], mask=xmask, other=0.0)
    wx_f = tl.load(w_ih_ptr + (1 * H + offs_h[None, :]) * E + offs_e[:, None], mask=xmask, other=0.0)
    wx_g = tl.load(w_ih_ptr + (2 * H + offs_h[None, :]) * E + offs_e[:, None], mask=xmask, other=0.0)
    wx_o = tl.load(w_ih_ptr + (3 * H + offs_h[None, :]) * E + offs_e[:, None], mask=xmask, other=0.0)
    wh_i = tl.load(w_hh_ptr + (0 * H + offs_h[None, :]) * H + offs_h[:, None], mask=hhmask, other=0.0)
    wh_f = tl.load(w_hh_ptr + (1 * H + offs_h[None, :]) * H + offs_h[:, None], mask=hhmask, other=0.0)
    wh_g = tl.load(w_hh_ptr + (2 * H + offs_h[None, :]) * H + offs_h[:, None], mask=hhmask, other=0.0)
    wh_o = tl.load(w_hh_ptr + (3 * H + offs_h[None, :]) * H + offs_h[:, None], mask=hhmask, other=0.0)
    b_i = tl.load(bias_ptr + 0 * H + offs_h, mask=hmask, other=0.0)
    b_f = tl.load(bias_ptr + 1 * H + offs_h, mask=hmask, other=0.0)
    b_g = tl.load(bias_ptr + 2 * H + offs_h, mask=hmask, other=0.0)
    b_o = tl.load(bias_ptr + 3 * H + offs_h, mask=hmask, other=0.0)

    # 3. step every row from the block's earliest start to the end
    p0 = tl.min(start, axis=0)
    for p in range(p0, T):
        active = rmask & (start <= p)
        c1 = (zero + p).to(tl.uint32)
        m_run = tl.full((BLOCK_R,), float("-inf"), tl.float32)
        z_run = tl.zeros((BLOCK_R,), tl.float32)
        choice = tl.full((BLOCK_R,), -1, tl.int32)  # stays -1 if no tile is accepted (all -inf / NaN)
        for j in range(0, NT):  # one tile per iteration (short live ranges); Philox pair (u0, u1) | (u2, u3)
            r0, r1, r2, r3 = _philox((zero + j // 2).to(tl.uint32), c1, c2, c3, k0, k1)
            odd = (j % 2) == 1
            u_pick = _uniform(tl.where(odd, r2, r0))
            u_acc = _uniform(tl.where(odd, r3, r1))
            m_run, z_run, choice = _sample_tile(
                h, w_out_ptr, b_out_ptr, j, V, H, inv_temp, u_pick, u_acc, m_run, z_run, choice, offs_h, hmask,
                BLOCK_V, PRECISION,
            )
        tl.store(out_ptr + rows * T + p, choice.to(tl.int64), mask=active)
        # LSTM cell on the sampled token (rows before their start keep their prefix state; a -1 reads row 0)
        safe = tl.maximum(choice, 0).to(tl.int64)
        x = tl.load(emb_ptr + safe[:, None] * E + offs_e[None, :], mask=emask[None, :], other=0.0)
        gi = tl.dot(x, wx_i, input_precision=PRECISION, out_dtype=tl.float32)
        gi += tl.dot(h, wh_i, input_precision=PRECISION, out_dtype=tl.float32) + b_i[None, :]
        gf = tl.dot(x, wx_f, input_precision=PRECISION, out_dtype=tl.float32)
        gf += tl.dot(h, wh_f, input_precision=PRECISION, out_dtype=tl.float32) + b_f[None, :]
        gg = tl.dot(x, wx_g, input_precision=PRECISION, out_dtype=tl.float32)
        gg += tl.dot(h, wh_g, input_precision=PRECISION, out_dtype=tl.float32) + b_g[None, :]
        go = tl.dot(x, wx_o, input_precision=PRECISION, out_dtype=tl.float32)
        go += tl.dot(h, wh_o, input_precision=PRECISION, out_dtype=tl.float32) + b_o[None, :]
        c_new = _sigmoid(gf) * c + _sigmoid(gi) * _tanh(gg)
        h_new = _sigmoid(go) * _tanh(c_new)
        c = tl.where(active[:, None], c_new, c)
        h = tl.where(active[:, None], h_new, h)
