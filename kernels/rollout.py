"""Fused Monte Carlo rollouts: the Triton kernel's host launcher and its exact PyTorch reference.

Everything here takes tensors and returns tensors; nothing imports ``seqgan_env`` (the model-level adapters, such
as ``Generator.weights()``, live there). The weight bundle is :class:`LSTMWeights`, defined here.

This file is over the project's 450 lines on purpose: it is one op in the Liger-Kernel layout, so the math and the
memory traffic (this docstring), the PyTorch reference, the host launcher and the backend choice (``"auto"``: the
kernel for CUDA tensors when it can run, else the reference; one function, :func:`resolve_backend`, decides for
every caller) stay next to each other; the Triton kernel itself is in ``rollout_triton.py``.

The function (shared by both backends)
--------------------------------------
Row r has tokens y (T,), a start s_r in [0, T], the prefix state (h, c) (the LSTM state after the start token and
y_1..y_s, see ``seqgan_env.generator``), a seed k_r (a non-negative int64) and a rollout index n_r. For p = s_r ..
T-1:

    l = (h W_out^T + b_out) / tau               (V,)  logits at temperature tau, never written to memory by the kernel
    y_p ~ softmax(l)                            exact categorical draw (below); top-p truncation on the torch path
    (h, c) = LSTMCell(emb[y_p], (h, c))         gate order (i, f, g, o); sigmoid(x) = 1/(1+e^-x),
                                                tanh(x) = 2 sigmoid(2x) - 1 (no libdevice in the interpreter)

Positions < s_r are copied from the input; a row with s_r = T is copied unchanged.

The sampler: weighted reservoir sampling over vocabulary tiles, with an online max
---------------------------------------------------------------------------------
The vocabulary is cut into NT = ceil(V / BV) tiles of BV logits (``block_v``, default 256). Tiles are visited
in order j = 0..NT-1 with a running max M, a running mass Z (relative to M) and a running choice (-1 at first):

    M_j = max(M_{j-1}, max l[tile j])          M'_j = M_j, or 0 while M_j = -inf (FlashAttention's guard)
    e = exp(l[tile j] - M'_j)                  one exp per logit (0 for masked logits)
    C = cumsum(e);  S_j = C[-1]                 the tile's mass relative to M_j
    k = #{i : C_i <= u_pick * S_j}              inverse CDF inside the tile (one uniform)
    Z_j = Z_{j-1} exp(M_{j-1} - M'_j) + S_j
    if u_acc * Z_j < S_j: choice = j*BV + k     accept with probability S_j / Z_j (a second uniform)

P(choice in tile j) = (S_j/Z_j) prod_{i>j} (1 - S_i/Z_i) = S_j / Z_NT (the products telescope, Z_i - S_i =
Z_{i-1} rescaled), and inside the tile k is drawn with probability e_k / S_j, so the token is drawn from
softmax(l) exactly (up to float rounding of the CDF): 2 uniforms per tile instead of one per logit. A tile whose
logits are all -inf (a top-p mask, or the padding of the last tile) has S_j = 0 and is never accepted; the guard
keeps a fully masked *first* tile from turning the running max into NaN. If no tile is accepted (every logit -inf
or NaN) the choice stays -1 and the launcher raises :class:`NonFiniteError`; non-finite weights or states are
refused before launch (a cheap check per call), so a diverged generator never quietly samples token 0.

Random numbers: keyed Philox-4x32-10, one call per (row, position, pair of tiles):

    key     = (k_r mod 2^32, k_r >> 32)                         the row's seed
    counter = (q, p, n_r, s_r)                                  tile pair q = j // 2, position p, rollout n, start s
    tile 2q uses (u0, u1) = (u_pick, u_acc), tile 2q+1 uses (u2, u3)

Every uniform is a pure function of (seed, rollout index, start, position, tile): no two draws of one call share a
uniform unless two rows share (seed, n, start), and no call overlaps another by construction. The stream does not
depend on the other rows of the batch, their order, the launch schedule or ``block_r``, so a batch gives the same
tokens as its rows one at a time (the vector env, sharded training and resumed runs rely on this). It depends on
(V, block_v, temperature).

Memory traffic per call (fp32): read tokens/starts/seeds/ids/h0/c0 (R*(T+2H+4) words), write R*T tokens; per
program and step, the W_out tiles (V*H words, L2-resident: 640 KB at the paper config) and BR embedding rows. The
logits (R * 10.5 * V words on average at the paper config, 4 GB in fp32) never leave registers. Arithmetic per
sampled token: 2*V*H FMA for the projection, 8*H*(E+H) for the cell, one exp, one compare and a scan step per
logit, one 10-round Philox per tile (the kernel visits one tile per loop iteration to keep live ranges short and
evaluates each pair's Philox call for both of its tiles: 1/256 of a Philox per logit at BV = 256, against one per
logit for Gumbel-max).

Work schedule (the kernel): rows are sorted by start (stable) and blocks of ``block_r`` consecutive sorted rows
form one program, launched longest-first (smallest start first), which both keeps a block's rows in step (no
idle lanes) and balances the programs (longest-processing-time-first). The sort does not change the stream.

Precision: the reference is fp32 throughout. The kernel accumulates in fp32; ``precision="ieee"`` uses fp32
FMA dots. Kernel and reference then disagree only where a uniform falls within float rounding of a CDF boundary:
a few draws in 100,000 at the paper config (3e-5 measured by ``benchmarks/cdf_rounding.py``: the reference's
CPU cumsum accumulates in float64, the kernel's scan in float32). ``"tf32"`` (the default on GPU) truncates the
dot inputs to 10-bit mantissas: logits move by about 1e-4 at the paper's scale (|h| < 1, W ~ N(0, 0.1),
H = 32), i.e. each draw comes from softmax(l + d), |d| <~ 1e-3, a total-variation error of about 1e-3 per draw;
rows then diverge from the reference after the first differing token. ``"tf32x3"`` is close to ieee accuracy at
3 tensor-core passes. The interpreter ignores the precision.
"""

from __future__ import annotations

import logging
import math
import numbers
import warnings
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from ._loader import interpret_mode, load_kernel_module, triton_available
from .philox import MASK32, check_seeds, philox4x32, uint_to_uniform

__all__ = [
    "LSTMWeights",
    "mc_rollout",
    "rollout_reference",
    "triton_rollout",
    "resolve_backend",
    "sample_next",
    "sample_tiles",
    "rollout_uniforms",
    "nucleus_mask",
    "NonFiniteError",
    "KernelResourceError",
    "DEFAULT_BLOCK_V",
    "BACKENDS",
    "Precision",
]

logger = logging.getLogger("seqgan_env.kernels")

DEFAULT_BLOCK_V = 256
# Launch options, chosen by measurement: on an H200 at the paper config (19,456 rollouts, triton 3.6) BLOCK_R = 32
# with 8 warps took 8.8 ms against 12.0 ms for the earlier 16 rows (benchmarks/gpu_check.sh, BENCHMARKS.md). 32 rows
# with 4 warps (8.1 ms) spills 128 B per thread under triton 3.9's ptxas, and 64 rows (8.1 ms) needs 104 KB of shared
# memory: both outside the budget tests/kernels/test_kernel_compile.py keeps. The tokens do not depend on BLOCK_R.
DEFAULT_BLOCK_R = 32
DEFAULT_NUM_WARPS = 8
DEFAULT_NUM_STAGES = 1
#: Static bound on E and H for the Triton backend (E = H = 64 compiles for sm_90 within the shared-memory budget;
#: 128 does not). On CUDA the launcher also checks the compiled kernel's shared memory against the device.
MAX_HIDDEN = 64
MAX_LEN = 4096
#: Rows per chunk of the torch path on CPU: keeps the (rows, V) buffers in cache; the stream does not depend on it.
CPU_ROW_CHUNK = 1024
BACKENDS: tuple[str, ...] = ("auto", "triton", "torch")
Precision = Literal["ieee", "tf32", "tf32x3"]
Backend = Literal["auto", "triton", "torch"]
_FLOATS = (torch.float32, torch.float16, torch.bfloat16)
_INTS = (torch.int64, torch.int32)


class LSTMWeights(NamedTuple):
    """The rollout policy's weights (a plain bundle of tensors; ``seqgan_env.Generator.weights()`` builds one).

    Shapes: ``emb`` (V, E), ``w_ih`` (4H, E), ``w_hh`` (4H, H), ``bias`` (4H,) (one bias per gate), ``w_out``
    (V, H), ``b_out`` (V,). Gate order (i, f, g, o).
    """

    emb: Tensor
    w_ih: Tensor
    w_hh: Tensor
    bias: Tensor
    w_out: Tensor
    b_out: Tensor


class NonFiniteError(ValueError):
    """The rollout policy's weights or prefix states are NaN/inf, or a row's logits were all -inf/NaN."""


class KernelResourceError(ValueError):
    """The Triton kernel cannot launch with these sizes on this device (shared memory or registers)."""


# ---------------------------------------------------------------------------------------------------- validation
class _Prepared(NamedTuple):
    w: LSTMWeights
    tokens: Tensor
    starts: Tensor
    h: Tensor
    c: Tensor
    seeds: Tensor
    rids: Tensor
    inv_temp: float


def _prepare(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, seeds: Tensor,
    rollout_ids: Tensor | None, temperature: float, top_p: float, block_v: int,
) -> _Prepared:
    """Check shapes, dtypes, devices, ranges and finiteness; return fp32/int64 contiguous copies."""
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
    seeds = check_seeds(seeds)
    if rollout_ids is None:
        rollout_ids = torch.zeros(tokens.shape[0] if tokens.dim() else 0, dtype=torch.int64, device=tokens.device)
    if not isinstance(rollout_ids, Tensor) or rollout_ids.dtype not in _INTS:
        raise ValueError("rollout_ids must be an int64 or int32 tensor (the rollout index n of each row).")
    devices = {t.device for t in (tokens, starts, h0, c0, seeds, rollout_ids, *weights)}
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
    for name, t in (("starts", starts), ("seeds", seeds), ("rollout_ids", rollout_ids)):
        if tuple(t.shape) != (r,):
            raise ValueError(f"{name} must be (R,) = ({r},), got {tuple(t.shape)}.")
    for name, t in (("h0", h0), ("c0", c0)):
        if tuple(t.shape) != (r, h):
            raise ValueError(f"{name} must be (R, H) = ({r}, {h}), got {tuple(t.shape)}.")
    if t_len < 1 or v < 1:
        raise ValueError(f"need T >= 1 and V >= 1, got T={t_len}, V={v}.")
    if block_v < 16 or block_v & (block_v - 1):
        raise ValueError(f"block_v={block_v} must be a power of two >= 16.")
    if r and (int(starts.min()) < 0 or int(starts.max()) > t_len):
        raise ValueError(f"starts must lie in [0, T={t_len}], got [{int(starts.min())}, {int(starts.max())}].")
    if r and (int(rollout_ids.min()) < 0 or int(rollout_ids.max()) > MASK32):
        raise ValueError("rollout_ids must lie in [0, 2**32) (Philox's third counter word).")
    inv_temp = _inverse_temperature(temperature, top_p)
    # One host sync: every tensor finite, except that b_out may hold -inf (a token the policy may never emit), and
    # every prefix token (position < start) a valid id.
    checks = [torch.isfinite(t).all() for t in (*weights[:5], h0, c0)]
    checks.append((torch.isfinite(weights.b_out) | (weights.b_out == float("-inf"))).all())
    in_prefix = torch.arange(t_len, device=tokens.device)[None, :] < starts[:, None]
    checks.append(~(((tokens < 0) | (tokens >= v)) & in_prefix).any())
    ok = torch.stack(checks).tolist()
    if not ok[-1]:
        raise ValueError(f"tokens hold ids outside [0, V={v}) in a prefix (before a row's start); pass valid ids.")
    names = (*LSTMWeights._fields[:5], "h0", "c0", "b_out")
    bad = [n for n, good in zip(names, ok[:-1]) if not good]
    if bad:
        raise NonFiniteError(
            f"the rollout policy has non-finite values in {', '.join(bad)} (NaN or inf); the generator has "
            "diverged. Restore the last good checkpoint and lower the learning rate."
        )
    w = LSTMWeights(*(t.detach().to(torch.float32).contiguous() for t in weights))
    return _Prepared(
        w,
        tokens.to(torch.int64).contiguous(),
        starts.to(torch.int64).contiguous(),
        h0.detach().to(torch.float32).contiguous(),
        c0.detach().to(torch.float32).contiguous(),
        seeds.contiguous(),
        rollout_ids.to(torch.int64).contiguous(),
        inv_temp,
    )


def _inverse_temperature(temperature: float, top_p: float) -> float:
    """Check the sampling arguments; return 1 / temperature as the kernel uses it (rounded to float32)."""
    real = lambda x: isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)  # noqa: E731
    if not (real(temperature) and temperature > 0):
        raise ValueError(f"temperature={temperature!r} must be a finite number > 0 (1.0 samples from G itself).")
    if not (real(top_p) and 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p={top_p!r} must be in (0, 1] (1.0 keeps the whole vocabulary).")
    inv = float(torch.tensor(1.0 / float(temperature), dtype=torch.float32))
    if not math.isfinite(inv):
        raise ValueError(f"temperature={temperature!r} is too small: 1/temperature overflows float32; pass one "
                         "above 1e-38 (or sample greedily yourself).")
    return inv


def _num_tiles(v: int, block_v: int) -> int:
    return math.ceil(v / block_v)


def _raise_no_token(where: str) -> None:
    raise NonFiniteError(
        f"{where}: every logit of a row was -inf or NaN, so no token could be drawn; the generator's outputs are not "
        "finite. Restore the last good checkpoint and lower the learning rate."
    )


# ---------------------------------------------------------------------------------------------------- the sampler
def sample_tiles(logits: Tensor, u_pick: Tensor, u_acc: Tensor, block_v: int = DEFAULT_BLOCK_V) -> Tensor:
    """The kernel's sampler on explicit uniforms. ``logits`` (R, V); ``u_pick``/``u_acc`` (R, NT) -> (R,) long.

    Returns -1 for a row where no tile is accepted (all logits -inf or NaN). Exposed for the distribution tests.
    Vectorised over tiles (one exp and one cumsum pass over the padded logits, a binary search per tile for the
    in-tile inverse CDF, which equals the kernel's count of C_i <= u S because C is nondecreasing); only the
    acceptance chain loops over the NT tiles, on (R,) vectors.
    """
    r, v = logits.shape
    nt = _num_tiles(v, block_v)
    dev = logits.device
    lp = torch.full((r, nt * block_v), float("-inf"), dtype=torch.float32, device=dev)
    lp[:, :v] = logits
    lp = lp.view(r, nt, block_v)
    m = torch.cummax(lp.amax(-1), dim=1).values  # (R, NT): the running max after each tile
    m_safe = torch.where(m == float("-inf"), torch.zeros((), device=dev), m)
    cs = lp.sub_(m_safe[..., None]).exp_().cumsum_(-1)  # padded logits are -inf: exp gives 0, as the kernel's mask
    s = cs[..., -1].contiguous()  # (R, NT): the tile's mass (the cumsum is nondecreasing, so its last is its max)
    cand = torch.searchsorted(cs, (u_pick[:, :nt] * s)[..., None], right=True)[..., 0]
    nvalid = torch.clamp(v - torch.arange(nt, device=dev) * block_v, max=block_v)
    cand = torch.minimum(cand, nvalid - 1)
    z = torch.zeros(r, device=dev)
    m_prev = torch.full((r,), float("-inf"), device=dev)
    choice = torch.full((r,), -1, dtype=torch.long, device=dev)
    for j in range(nt):
        z = z * torch.exp(m_prev - m_safe[:, j]) + s[:, j]
        accept = u_acc[:, j] * z < s[:, j]
        choice = torch.where(accept, j * block_v + cand[:, j], choice)
        m_prev = m[:, j]
    return choice


def rollout_uniforms(
    seeds: Tensor, rollout_ids: Tensor, starts: Tensor, position: int, num_tiles: int
) -> tuple[Tensor, Tensor]:
    """(u_pick, u_acc), each (R, NT): the uniforms of rows keyed by ``seeds`` (R,) at ``position`` (see the module
    docstring: key = seed, counter = (tile pair, position, rollout id, start); tile 2q <- (u0, u1), 2q+1 <- (u2,
    u3))."""
    nq = (num_tiles + 1) // 2
    dev = seeds.device
    q = torch.arange(nq, device=dev, dtype=torch.int64)[None, :]
    c1 = torch.full_like(q, int(position))
    k0, k1 = (seeds & MASK32)[:, None], (seeds >> 32)[:, None]
    a, b, c, d = philox4x32(q, c1, rollout_ids[:, None], starts[:, None], k0, k1)
    u0, u1, u2, u3 = (uint_to_uniform(x) for x in (a, b, c, d))
    u_pick = torch.stack([u0, u2], dim=-1).flatten(1)[:, :num_tiles]
    u_acc = torch.stack([u1, u3], dim=-1).flatten(1)[:, :num_tiles]
    return u_pick, u_acc


def nucleus_mask(logits: Tensor, top_p: float) -> Tensor:
    """``logits`` (R, V) with every token outside the top-p nucleus set to -inf.

    The nucleus is the smallest set of most likely tokens whose probability reaches ``top_p`` (ties broken by
    token id); the most likely token is always kept. Sampling from the masked logits samples the renormalised
    nucleus (Holtzman et al., 2020).
    """
    if top_p >= 1.0:
        return logits
    probs = torch.softmax(logits.float(), dim=-1)
    sorted_p, idx = torch.sort(probs, dim=-1, descending=True, stable=True)
    before = torch.cumsum(sorted_p, dim=-1) - sorted_p  # mass of the more likely tokens
    drop_sorted = before >= top_p
    drop = torch.zeros_like(drop_sorted).scatter(-1, idx, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample_next(
    logits: Tensor, seeds: Tensor, *, position: int, rollout_ids: Tensor | None = None, starts: Tensor | None = None,
    temperature: float = 1.0, top_p: float = 1.0, block_v: int = DEFAULT_BLOCK_V,
) -> Tensor:
    """One keyed draw per row from softmax(``logits`` / temperature) (R, V) -> (R,) long: the rollout sampler at
    one position (the same uniforms as :func:`rollout_reference` for rows with these seeds, ids and starts)."""
    seeds = check_seeds(seeds)
    if not isinstance(logits, Tensor) or logits.dim() != 2 or not logits.is_floating_point():
        got = f"shape {tuple(logits.shape)}, dtype {logits.dtype}" if isinstance(logits, Tensor) else type(logits)
        raise ValueError(f"logits must be a float (R, V) tensor, got {got}.")
    r = logits.shape[0]
    if tuple(seeds.shape) != (r,):
        raise ValueError(f"seeds must be (R,) = ({r},), got {tuple(seeds.shape)}.")
    rollout_ids = torch.zeros(r, dtype=torch.int64, device=logits.device) if rollout_ids is None else rollout_ids
    starts = torch.zeros(r, dtype=torch.int64, device=logits.device) if starts is None else starts
    inv_t = torch.tensor(_inverse_temperature(temperature, top_p), dtype=torch.float32, device=logits.device)
    lg = logits.float() * inv_t
    lg = nucleus_mask(lg, top_p)
    u_pick, u_acc = rollout_uniforms(seeds, rollout_ids.to(torch.int64), starts.to(torch.int64), position,
                                     _num_tiles(lg.shape[1], block_v))
    tok = sample_tiles(lg, u_pick, u_acc, block_v)
    if r and int(tok.min()) < 0:
        _raise_no_token("sample_next")
    return tok


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


@torch.no_grad()
def rollout_reference(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seeds: Tensor,
    rollout_ids: Tensor | None = None, temperature: float = 1.0, top_p: float = 1.0,
    block_v: int = DEFAULT_BLOCK_V, row_chunk: int | None = None,
) -> Tensor:
    """PyTorch reference of the fused kernel: the same function and the same keyed Philox stream (any device). It is
    also the ``"torch"`` backend, the CPU path.

    Args:
        weights: the rollout policy (:class:`LSTMWeights`; V, E, H from its shapes).
        tokens: (R, T) int64/int32; positions < ``starts[r]`` are the prefix.
        starts: (R,) in [0, T].
        h0, c0: (R, H) prefix states.
        seeds: (R,) int64 in [0, 2**63): each row's Philox key.
        rollout_ids: (R,) in [0, 2**32), the rollout index n of each row (default 0).
        temperature: tau > 0; the logits are multiplied by float32(1 / tau).
        top_p: nucleus truncation in (0, 1] (torch path only; the kernel samples the full softmax).
        block_v: the vocabulary tile BV (part of the stream's definition; must match the kernel's).
        row_chunk: rows per chunk (default :data:`CPU_ROW_CHUNK` on CPU, all rows elsewhere); changes only speed.

    Returns:
        (R, T) int64: prefixes copied, positions >= start sampled.

    Raises:
        NonFiniteError: non-finite weights or states, or a row whose logits are all -inf/NaN.
    """
    prep = _prepare(weights, tokens, starts, h0, c0, seeds, rollout_ids, temperature, top_p, block_v)
    w = prep.w
    r, t_len = prep.tokens.shape
    out = prep.tokens.clone()
    if r == 0:
        return out
    nt = _num_tiles(w.emb.shape[0], block_v)
    inv_t = torch.tensor(prep.inv_temp, dtype=torch.float32, device=out.device)
    order = torch.argsort(prep.starts, stable=True)
    chunk = row_chunk or (CPU_ROW_CHUNK if out.device.type == "cpu" else r)
    for lo in range(0, r, chunk):
        rows = order[lo : lo + chunk]
        s_c = prep.starts[rows]  # sorted
        h, c = prep.h[rows], prep.c[rows]
        keys, rids = prep.seeds[rows], prep.rids[rows]
        for p in range(int(s_c[0]), t_len):
            k = int(torch.searchsorted(s_c, torch.tensor(p, device=s_c.device), right=True))
            logits = torch.addmm(w.b_out, h[:k], w.w_out.T)
            if prep.inv_temp != 1.0:
                logits = logits * inv_t
            logits = nucleus_mask(logits, top_p)
            u_pick, u_acc = rollout_uniforms(keys[:k], rids[:k], s_c[:k], p, nt)
            tok = sample_tiles(logits, u_pick, u_acc, block_v)
            if int(tok.min()) < 0:
                _raise_no_token("rollout_reference")
            out[rows[:k], p] = tok
            if p + 1 < t_len:
                h_new, c_new = _cell(w.emb[tok], h[:k], c[:k], w)
                h = torch.cat([h_new, h[k:]])
                c = torch.cat([c_new, c[k:]])
    return out


# ---------------------------------------------------------------------------------------------------- triton
_RESOURCE_OK: dict[tuple, dict] = {}  # launch configuration -> the compiled kernel's resources (see compiled_resources)


def _device_shared_limit(device: torch.device) -> int | None:
    props = torch.cuda.get_device_properties(device)
    return getattr(props, "shared_memory_per_block_optin", None)


def _check_resources(kernel, args: tuple, meta: dict, grid: tuple, key: tuple, device: torch.device) -> None:
    """Compile (without launching) and compare the binary's shared memory with the device's per-block limit."""
    if key in _RESOURCE_OK:
        return
    try:
        compiled = kernel.warmup(*args, grid=grid, **meta)
    except Exception as exc:  # noqa: BLE001  triton raises OutOfResources (and others) from compilation
        if type(exc).__name__ == "OutOfResources":
            raise KernelResourceError(f"the rollout kernel does not fit this GPU ({exc}).") from exc
        raise
    metadata = getattr(compiled, "metadata", None)
    shared = int(getattr(metadata, "shared", 0) or 0)
    if getattr(compiled, "n_regs", None) is None and hasattr(compiled, "_init_handles"):
        try:  # triton fills n_regs / n_spills when it loads the binary, which warmup() leaves for the first launch
            compiled._init_handles()
        except Exception:  # noqa: BLE001  the report is optional; the launch below loads it anyway
            pass
    limit = _device_shared_limit(device)
    if limit is not None and shared > limit:
        raise KernelResourceError(
            f"the rollout kernel needs {shared} bytes of shared memory per block for E={meta['BLOCK_E']}, "
            f"H={meta['BLOCK_H']} (padded), more than this GPU's {limit}."
        )
    _RESOURCE_OK[key] = {
        "block_r": meta["BLOCK_R"], "block_v": meta["BLOCK_V"], "num_warps": meta["num_warps"],
        "num_stages": meta["num_stages"], "precision": meta["PRECISION"], "shared_bytes": shared,
        "registers": getattr(compiled, "n_regs", None), "spills": getattr(compiled, "n_spills", None),
        "shared_limit_bytes": limit,
    }


def compiled_resources() -> list[dict]:
    """What each launch configuration compiled so far in this process uses: registers per thread, register spills,
    shared memory per program (bytes), with its ``block_r``, ``block_v``, ``num_warps``, ``num_stages`` and dot
    precision (CUDA only; empty before the first launch)."""
    return [dict(v) for v in _RESOURCE_OK.values()]


def triton_rollout(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seeds: Tensor,
    rollout_ids: Tensor | None = None, temperature: float = 1.0, block_v: int = DEFAULT_BLOCK_V,
    block_r: int = DEFAULT_BLOCK_R, precision: Precision = "tf32", num_warps: int = DEFAULT_NUM_WARPS,
    num_stages: int = DEFAULT_NUM_STAGES, out: Tensor | None = None,
) -> Tensor:
    """The fused Triton kernel (CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1``). Same contract as
    :func:`rollout_reference` (no ``top_p``); ``block_r`` rows per program (>= 16 for ``tl.dot``), ``precision`` of
    the dots, ``num_warps``/``num_stages`` the launch options, ``out`` an optional preallocated (R, T) int64 result
    buffer (every element is written).

    Raises:
        ValueError: triton missing, CPU tensors without ``TRITON_INTERPRET=1``, sizes the kernel does not take.
        KernelResourceError: the compiled kernel needs more shared memory than the GPU has (E or H too large).
        NonFiniteError: as :func:`rollout_reference`.
    """
    if not triton_available():
        raise ValueError(
            "the Triton backend needs the 'triton' package, which is not installed here; pip install triton "
            "(Linux), or use backend='torch'."
        )
    device = tokens.device if isinstance(tokens, Tensor) else None
    if device is not None and device.type != "cuda" and not interpret_mode():
        raise ValueError(
            f"the Triton backend needs CUDA tensors (got {device}); set TRITON_INTERPRET=1 to run it on CPU "
            "tensors in the interpreter, or use backend='torch'."
        )
    if precision not in ("ieee", "tf32", "tf32x3"):
        raise ValueError(f"precision={precision!r}; use 'ieee', 'tf32' or 'tf32x3'.")
    if block_r < 16 or block_r & (block_r - 1):
        raise ValueError(f"block_r={block_r} must be a power of two >= 16 (tl.dot's minimum M).")
    prep = _prepare(weights, tokens, starts, h0, c0, seeds, rollout_ids, temperature, 1.0, block_v)
    w = prep.w
    r, t_len = prep.tokens.shape
    v, e = w.emb.shape
    hid = w.w_hh.shape[-1]
    check_triton_sizes(e, hid, t_len)
    if out is None:
        out = torch.empty_like(prep.tokens)
    elif out.shape != prep.tokens.shape or out.dtype != torch.int64 or out.device != prep.tokens.device:
        raise ValueError(f"out must be an int64 tensor of shape {tuple(prep.tokens.shape)} on {prep.tokens.device}.")
    elif not out.is_contiguous():
        raise ValueError("out must be contiguous.")
    if r == 0:
        return out
    mod = load_kernel_module("rollout_triton")
    order = torch.argsort(prep.starts, stable=True)  # longest rows first; see the module docstring
    grid = (math.ceil(r / block_r),)
    args = (
        prep.tokens, prep.starts, prep.h, prep.c, order, prep.seeds, prep.rids, out,
        w.emb, w.w_ih, w.w_hh, w.bias, w.w_out, w.b_out,
        r, t_len, v, e, hid, _num_tiles(v, block_v), prep.inv_temp,
    )
    meta = dict(
        BLOCK_R=block_r, BLOCK_V=block_v, BLOCK_E=max(16, _next_pow2(e)), BLOCK_H=max(16, _next_pow2(hid)),
        BLOCK_T=max(16, _next_pow2(t_len)), PRECISION=precision, num_warps=num_warps, num_stages=num_stages,
    )
    if out.device.type == "cuda":
        key = (out.device.index, e, hid, t_len, v, *sorted(meta.items()))
        _check_resources(mod.mc_rollout_kernel, args, meta, grid, key, out.device)
    mod.mc_rollout_kernel[grid](*args, **meta)
    if int(out.min()) < 0:
        _raise_no_token("triton_rollout")
    return out


def check_triton_sizes(emb_dim: int, hidden_dim: int, seq_len: int) -> None:
    """Raise :class:`KernelResourceError` for sizes the Triton kernel does not take (static bounds)."""
    if hidden_dim > MAX_HIDDEN or emb_dim > MAX_HIDDEN:
        raise KernelResourceError(
            f"the Triton rollout kernel supports E, H <= {MAX_HIDDEN} (got E={emb_dim}, H={hidden_dim}): its gate "
            "weights live in shared memory, which larger sizes overflow."
        )
    if seq_len > MAX_LEN:
        raise KernelResourceError(f"the Triton rollout kernel supports T <= {MAX_LEN} (got T={seq_len}).")


def _next_pow2(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


# ---------------------------------------------------------------------------------------------------- launcher
_LOGGED: set[tuple[str, str]] = set()


def resolve_backend(
    backend: str, device: torch.device | str, *, emb_dim: int | None = None, hidden_dim: int | None = None,
    seq_len: int | None = None, top_p: float = 1.0,
) -> str:
    """The backend that will run: ``"triton"`` or ``"torch"``.

    ``"auto"`` picks the Triton kernel for CUDA tensors when triton is installed and the sizes fit (else
    ``"torch"``, with a warning on CUDA, an INFO log line once on CPU). ``"triton"`` raises a ``ValueError``
    naming the fix where it cannot run. ``"reference"`` is a deprecated alias of ``"torch"``.
    """
    device = torch.device(device)
    if backend == "reference":
        warnings.warn("backend='reference' is deprecated; it is the 'torch' backend (the kernel's Philox-exact "
                      "PyTorch reference). Use backend='torch'.", DeprecationWarning, stacklevel=3)
        backend = "torch"
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}; use one of {list(BACKENDS)}.")
    sizes_ok, why = True, ""
    if None not in (emb_dim, hidden_dim, seq_len):
        try:
            check_triton_sizes(int(emb_dim), int(hidden_dim), int(seq_len))  # type: ignore[arg-type]
        except KernelResourceError as exc:
            sizes_ok, why = False, str(exc)
    if backend == "triton":
        if top_p < 1.0:
            raise ValueError("top_p < 1 needs backend='torch' (the kernel samples the full softmax).")
        if not triton_available():
            raise ValueError("backend='triton' needs the 'triton' package (pip install triton, Linux); "
                             "use backend='torch' or 'auto'.")
        if device.type != "cuda" and not interpret_mode():
            raise ValueError(f"backend='triton' needs a CUDA device (got {device}); use backend='torch' or 'auto', "
                             "or set TRITON_INTERPRET=1 to run the kernel in Triton's interpreter on CPU.")
        if not sizes_ok:
            raise ValueError(f"{why} Use backend='torch' or 'auto'.")
        return "triton"
    if backend == "torch":
        return "torch"
    # auto
    if device.type == "cuda":
        reason = ""
        if not triton_available():
            reason = "triton is not installed"
        elif not sizes_ok:
            reason = why
        elif top_p < 1.0:
            reason = "top_p < 1 is sampled by the torch path"
        if reason:
            warnings.warn(f"backend='auto' on CUDA runs the PyTorch rollouts, not the Triton kernel: {reason}.",
                          stacklevel=3)
            return "torch"
        chosen = "triton"
    else:
        chosen = "torch"
    if (str(device.type), chosen) not in _LOGGED:
        _LOGGED.add((str(device.type), chosen))
        logger.info("rollout backend 'auto' chose %r on %s", chosen, device.type)
    return chosen


def mc_rollout(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seeds: Tensor,
    rollout_ids: Tensor | None = None, temperature: float = 1.0, top_p: float = 1.0, backend: str = "auto",
    block_v: int = DEFAULT_BLOCK_V, precision: Precision = "tf32",
) -> Tensor:
    """Complete each row after its prefix: (R, T) int64 (see the module docstring for the function and stream).

    ``backend``: ``"auto"`` (the Triton kernel for CUDA tensors, else the PyTorch reference; see
    :func:`resolve_backend`), ``"triton"`` or ``"torch"``. ``precision`` applies to the kernel's dots only.
    With ``"auto"``, a kernel that cannot launch on this GPU (:class:`KernelResourceError`) falls back to
    ``"torch"`` with a warning.
    """
    dev = tokens.device if isinstance(tokens, Tensor) else torch.device("cpu")
    e = weights[0].shape[1] if isinstance(weights[0], Tensor) else None
    hid = weights[2].shape[-1] if isinstance(weights[2], Tensor) else None
    t_len = tokens.shape[1] if isinstance(tokens, Tensor) and tokens.dim() == 2 else None
    chosen = resolve_backend(backend, dev, emb_dim=e, hidden_dim=hid, seq_len=t_len, top_p=top_p)
    if chosen == "triton":
        try:
            return triton_rollout(weights, tokens, starts, h0, c0, seeds=seeds, rollout_ids=rollout_ids,
                                  temperature=temperature, block_v=block_v, precision=precision)
        except KernelResourceError as exc:
            if backend != "auto":
                raise ValueError(f"{exc} Use backend='torch' or 'auto'.") from exc
            warnings.warn(f"the Triton rollout kernel cannot launch here ({exc}); using the PyTorch path.",
                          stacklevel=2)
    return rollout_reference(weights, tokens, starts, h0, c0, seeds=seeds, rollout_ids=rollout_ids,
                             temperature=temperature, top_p=top_p, block_v=block_v)
