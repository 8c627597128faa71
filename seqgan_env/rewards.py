"""The Monte Carlo rollout reward: the component the env, the REINFORCE agent and the kernels share.

For a sequence Y_{1:T} and a discriminator D, the paper's action value of y_t after Y_{1:t-1} is

    Q_t = (1/N) sum_n D(Y^n_{1:T}),  Y^n ~ MC^beta(Y_{1:t}; N)     for t < T
    Q_T = D(Y_{1:T})

where the rollout policy beta samples the completion of the prefix Y_{1:t} (positions t+1..T). The rollout
policy is the current generator (what the reference code does; the default) or, with
``rollout_policy="delayed"``, a delayed copy updated as beta <- rate*beta + (1-rate)*theta (rate 0.8, the paper's
text). :meth:`RolloutReward.update_rollout_policy` does that update; it is a no-op for "current".

Batch layout: all B*N*(T-1) rollouts of a :meth:`RolloutReward.q_values` call are one batch of rows. Row
``r = (b * (T-1) + (t-1)) * N + n`` completes the prefix of length t of sequence b with rollout n. Prefix LSTM
states are computed once per sequence and shared by its N rollouts.

Backends (``backend=``) only change how the rows are sampled; all sample exactly from softmax(logits):

* ``"torch"``: batched PyTorch, randomness from ``torch.Generator().manual_seed(seed)`` (default on CPU).
* other names are registered with :func:`register_rollout_backend` (``seqgan_env.kernels`` registers the
  Triton kernel and its Philox-exact PyTorch reference).

Per-row seeds (``row_seeds=`` of :meth:`RolloutReward.prefix_values`): row b's N rollouts then draw from a
counter-based stream that depends only on ``row_seeds[b]``, the rollout index n and the position p
(:func:`rollout_keys`, :func:`keyed_uniform`), not on the other rows of the batch. A batch of B prefixes then gives
the same rollouts as B calls of one prefix each, which is what lets the vector env (one batched call for all its
envs) reproduce the single env exactly. Backends may register a keyed sampler (``keyed=``); otherwise the batched
PyTorch keyed sampler :func:`torch_rollout_keyed` is used.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import torch
from torch import Tensor

from .discriminator import Discriminator
from .generator import Generator, LSTMWeights, lstm_cell

__all__ = [
    "RolloutBackend",
    "RolloutReward",
    "register_rollout_backend",
    "available_backends",
    "torch_rollout",
    "torch_rollout_keyed",
    "rollout_keys",
    "keyed_uniform",
]


class RolloutBackend(Protocol):
    """Samples completions of prefixes.

    Args:
        weights: the rollout policy's weights.
        tokens: (R, T) long; positions < ``starts[r]`` hold the prefix (the rest is ignored).
        starts: (R,) long in [0, T]: the prefix length of each row.
        h0, c0: (R, H) prefix states (the state after consuming the start token and the prefix).
        seed, offset: the random stream; equal (seed, offset) give equal tokens.

    Returns:
        (R, T) long: the prefix copied, positions >= starts sampled from the policy.
    """

    def __call__(
        self, weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seed: int,
        offset: int = 0,
    ) -> Tensor: ...


#: Rows per chunk of the sampling loop on CPU: keeps the (rows, V) softmax/CDF buffers in cache (at V = 5000 a
#: chunk of 1024 rows is 20 MB instead of 390 MB for 19,456 rows; 2.3x faster on the 2-core dev box). Chunking
#: does not change which uniform a row gets, so results do not depend on it. No chunking on other devices.
CPU_ROW_CHUNK = 1024


def _rollout_loop(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor,
    uniforms: Callable[[Tensor, int], Tensor],
) -> Tensor:
    """The shared sampling loop. ``uniforms(rows, p)`` gives (k, 1) uniforms in [0, 1) for the original row
    indices ``rows`` (k,) at position p; each token is the inverse-CDF draw of softmax(logits) at that uniform
    (exactly :func:`seqgan_env.generator.sample_categorical`). On CPU the rows are processed in chunks of
    :data:`CPU_ROW_CHUNK` (sorted by start), which changes nothing but speed."""
    r, t_len = tokens.shape
    order = torch.argsort(starts, stable=True)
    s_sorted = starts[order]
    out = tokens[order].clone()
    chunk = CPU_ROW_CHUNK if tokens.device.type == "cpu" else max(r, 1)
    w = weights
    for lo in range(0, r, chunk):
        hi = min(lo + chunk, r)
        rows, s_c = order[lo:hi], s_sorted[lo:hi]
        h, c = h0[rows], c0[rows]
        for p in range(int(s_c.min()), t_len):
            k = int(torch.searchsorted(s_c, torch.tensor(p, device=s_c.device), right=True))
            if k == 0:
                continue
            logits = h[:k] @ w.w_out.T + w.b_out
            cdf = torch.softmax(logits.float(), dim=-1).cumsum(dim=-1)
            u = uniforms(rows[:k], p) * cdf[:, -1:]
            tok = torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=logits.shape[-1] - 1)
            out[lo : lo + k, p] = tok
            if p + 1 < t_len:
                h_new, c_new = lstm_cell(w.emb[tok], h[:k], c[:k], w.w_ih, w.w_hh, w.bias)
                h = torch.cat([h_new, h[k:]])
                c = torch.cat([c_new, c[k:]])
    result = torch.empty_like(out)
    result[order] = out
    return result


@torch.no_grad()
def torch_rollout(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, seed: int, offset: int = 0
) -> Tensor:
    """Batched PyTorch rollouts (see :class:`RolloutBackend`). Rows are processed sorted by start (stable), so
    step p only runs the rows whose prefix ends at or before p; at each step p the k active rows, in that sorted
    order, take ``torch.rand(k, 1)`` from one ``torch.Generator`` seeded with ``seed * 1_000_003 + offset``."""
    gen = torch.Generator(device=tokens.device).manual_seed((int(seed) * 1_000_003 + int(offset)) % (2**63))
    # The uniforms, drawn up front in that order (R * T floats), so the loop can run in row chunks.
    r, t_len = tokens.shape
    order = torch.argsort(starts, stable=True)
    table = torch.zeros(r, t_len, device=tokens.device)
    for p in range(int(starts.min()) if r else t_len, t_len):
        k = int((starts <= p).sum())
        if k:
            table[order[:k], p] = torch.rand(k, generator=gen, device=tokens.device)
    return _rollout_loop(weights, tokens, starts, h0, c0, lambda rows, p: table[rows, p][:, None])


# ---------------------------------------------------------------------- counter-based (keyed) randomness
_M32 = 0xFFFFFFFF


def _mul32(x: Tensor, m: int) -> Tensor:
    """(x * m) mod 2**32 for int64 ``x`` in [0, 2**32) without int64 overflow (16-bit split)."""
    lo, hi = x & 0xFFFF, x >> 16
    return ((((hi * m) & 0xFFFF) << 16) + lo * m) & _M32


def _mix32(x: Tensor) -> Tensor:
    """A bijective 32-bit avalanche hash (Wellons' "lowbias32") on int64 tensors holding 32-bit values."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def rollout_keys(row_seeds: Tensor, num_rollouts: int) -> Tensor:
    """Keys of the N rollouts of each row: ``row_seeds`` (B,) int64 in [0, 2**62) -> (B*N,) int64.

    Row ``b * N + n`` gets a key that depends only on ``(row_seeds[b], n)``.
    """
    s = torch.as_tensor(row_seeds, dtype=torch.long).repeat_interleave(num_rollouts)
    n = torch.arange(num_rollouts, device=s.device).repeat(s.shape[0] // max(num_rollouts, 1))
    lo, hi = s & _M32, (s >> 32) & _M32
    k_lo = _mix32(lo ^ _mix32((n * 0x9E3779B9) & _M32))
    k_hi = _mix32(hi ^ _mix32((k_lo + 0x85EBCA6B) & _M32))
    return ((k_hi & 0x7FFFFFFF) << 32) | k_lo


def keyed_uniform(keys: Tensor, position: int) -> Tensor:
    """Uniforms in [0, 1) (24-bit, float32) for ``keys`` (R,) int64 at sequence position ``position``: (R,).

    A pure function of (key, position): the counter-based stream behind ``row_seeds``.
    """
    lo, hi = keys & _M32, (keys >> 32) & _M32
    x = _mix32(lo ^ _mix32((hi + int(position) * 0x9E3779B9) & _M32))
    x = _mix32(x ^ hi)
    return (x >> 8).to(torch.float32) * (1.0 / 16777216.0)


@torch.no_grad()
def torch_rollout_keyed(
    weights: LSTMWeights, tokens: Tensor, starts: Tensor, h0: Tensor, c0: Tensor, *, keys: Tensor
) -> Tensor:
    """Batched PyTorch rollouts like :func:`torch_rollout`, but row r at position p draws its uniform from
    ``keyed_uniform(keys[r], p)``, so each row's tokens do not depend on the rest of the batch.

    ``keys`` (R,) int64 (from :func:`rollout_keys`); other arguments as :class:`RolloutBackend`.
    """
    keys = keys.to(tokens.device)
    return _rollout_loop(weights, tokens, starts, h0, c0, lambda rows, p: keyed_uniform(keys[rows], p)[:, None])


_BACKENDS: dict[str, Callable[..., Tensor]] = {"torch": torch_rollout}
_KEYED_BACKENDS: dict[str, Callable[..., Tensor]] = {"torch": torch_rollout_keyed}


def register_rollout_backend(
    name: str, fn: Callable[..., Tensor], *, keyed: Callable[..., Tensor] | None = None
) -> None:
    """Make ``fn`` (a :class:`RolloutBackend`) available as ``RolloutReward(backend=name)``.

    ``keyed``, optional, is the backend's per-row-seed sampler with the signature of :func:`torch_rollout_keyed`
    (used for ``row_seeds=``); without it, ``row_seeds`` calls use :func:`torch_rollout_keyed`.
    """
    _BACKENDS[name] = fn
    if keyed is not None:
        _KEYED_BACKENDS[name] = keyed


def available_backends() -> list[str]:
    """Names accepted by ``RolloutReward(backend=...)`` (importing ``seqgan_env.kernels`` adds its own)."""
    try:  # the kernels register themselves on import; they need no Gymnasium
        import seqgan_env.kernels  # noqa: F401
    except ImportError:
        pass
    return sorted(_BACKENDS) + ["auto"]


ScoreFn = Callable[[Tensor], Tensor]


class RolloutReward:
    """Monte Carlo rollout rewards Q_t for batches of sequences or prefixes.

    Args:
        generator: G_theta, the policy being trained. The rollout policy reads its live weights
            (``rollout_policy="current"``) or a delayed copy of them (``"delayed"``).
        discriminator: D_phi; scored without dropout.
        num_rollouts: N (paper: 16).
        rollout_policy: ``"current"`` (reference code, default) or ``"delayed"`` (paper text).
        update_rate: the delayed copy's rate: beta <- rate * beta + (1 - rate) * theta (paper: 0.8).
        backend: ``"torch"``, ``"auto"`` (the Triton kernel on CUDA when available, else torch) or a name
            from :func:`available_backends`.
        score_fn: optional replacement for ``discriminator.prob_real`` (tokens (R, T) -> (R,)).
        score_batch_size: rows per discriminator call in the default scorer; default 4096 on CUDA and 256 on CPU
            (smaller chunks stay in cache: 1.6x faster for the paper's D on the 2-core dev box).
    """

    def __init__(
        self,
        generator: Generator,
        discriminator: Discriminator,
        num_rollouts: int = 16,
        *,
        rollout_policy: Literal["current", "delayed"] = "current",
        update_rate: float = 0.8,
        backend: str = "auto",
        score_fn: ScoreFn | None = None,
        score_batch_size: int | None = None,
    ) -> None:
        if generator.vocab_size != discriminator.vocab_size:
            raise ValueError(
                f"generator vocab_size {generator.vocab_size} != discriminator vocab_size "
                f"{discriminator.vocab_size}; build both with the same vocabulary."
            )
        if generator.seq_len != discriminator.seq_len:
            raise ValueError(
                f"generator seq_len {generator.seq_len} != discriminator seq_len {discriminator.seq_len}; "
                "build both for the same length."
            )
        if num_rollouts < 1:
            raise ValueError(f"num_rollouts={num_rollouts} must be >= 1 (paper: 16).")
        if rollout_policy not in ("current", "delayed"):
            raise ValueError(f"rollout_policy={rollout_policy!r}; use 'current' or 'delayed'.")
        if not 0.0 <= update_rate <= 1.0:
            raise ValueError(f"update_rate={update_rate} must be in [0, 1] (paper: 0.8).")
        self.generator = generator
        self.discriminator = discriminator
        self.num_rollouts = int(num_rollouts)
        self.rollout_policy = rollout_policy
        self.update_rate = float(update_rate)
        if score_batch_size is None:
            score_batch_size = 4096 if generator.device.type == "cuda" else 256
        self.score_batch_size = int(score_batch_size)
        self._score_fn = score_fn
        self.backend = self._resolve_backend(backend)
        self._delayed: Generator | None = None
        if rollout_policy == "delayed":
            self._delayed = copy.deepcopy(generator).requires_grad_(False)

    # ------------------------------------------------------------------ configuration
    def _resolve_backend(self, backend: str) -> str:
        names = available_backends()
        if backend == "auto":
            if self.generator.device.type == "cuda" and "triton" in _BACKENDS:
                return "triton"
            return "torch"
        if backend not in _BACKENDS:
            raise ValueError(f"unknown rollout backend {backend!r}; choose one of {names}.")
        return backend

    @property
    def seq_len(self) -> int:
        return self.generator.seq_len

    @property
    def rollout_generator(self) -> Generator:
        """The generator the rollouts sample from: G itself, or its delayed copy."""
        return self._delayed if self._delayed is not None else self.generator

    @torch.no_grad()
    def update_rollout_policy(self) -> None:
        """beta <- rate * beta + (1 - rate) * theta for the delayed copy; nothing for ``"current"``."""
        if self._delayed is None:
            return
        for b, g in zip(self._delayed.state_dict().values(), self.generator.state_dict().values()):
            if b.dtype.is_floating_point:
                b.mul_(self.update_rate).add_(g.detach(), alpha=1.0 - self.update_rate)

    def score(self, tokens: Tensor) -> Tensor:
        """D(Y) for (R, T) tokens -> (R,) float, no dropout."""
        if self._score_fn is not None:
            return self._score_fn(tokens)
        return self.discriminator.prob_real(tokens, batch_size=self.score_batch_size)

    # ------------------------------------------------------------------ rollouts
    @torch.no_grad()
    def rollouts(self, tokens: Tensor, starts: Tensor, *, seed: int, offset: int = 0) -> Tensor:
        """Complete each row of ``tokens`` (R, T) after its prefix of length ``starts`` (R,) once.

        Prefix states are computed here; callers that repeat a prefix N times should pass it N times (or use
        :meth:`q_values` / :meth:`prefix_values`, which compute each prefix state once).
        """
        g = self.rollout_generator
        h_all, c_all = g.prefix_states(tokens)
        idx = torch.arange(tokens.shape[0], device=tokens.device)
        return _BACKENDS[self.backend](
            g.weights(), tokens, starts, h_all[idx, starts], c_all[idx, starts], seed=seed, offset=offset
        )

    def _expanded_rollouts(
        self, tokens: Tensor, starts: Tensor, seed: int | None, offset: int, row_seeds: Tensor | None = None
    ) -> Tensor:
        """Rows (b, n) for each (tokens[b], starts[b]), n < N; prefix states computed once per b.

        With ``row_seeds`` (B,), row (b, n) draws from ``rollout_keys(row_seeds, N)[b * N + n]``."""
        g = self.rollout_generator
        n = self.num_rollouts
        h_all, c_all = g.prefix_states(tokens)
        idx = torch.arange(tokens.shape[0], device=tokens.device)
        h0 = h_all[idx, starts].repeat_interleave(n, 0)
        c0 = c_all[idx, starts].repeat_interleave(n, 0)
        rows = tokens.repeat_interleave(n, 0)
        s = starts.repeat_interleave(n, 0)
        if row_seeds is not None:
            keyed = _KEYED_BACKENDS.get(self.backend, torch_rollout_keyed)
            return keyed(g.weights(), rows, s, h0, c0, keys=rollout_keys(row_seeds, n).to(tokens.device))
        return _BACKENDS[self.backend](g.weights(), rows, s, h0, c0, seed=seed, offset=offset)

    @torch.no_grad()
    def q_values(self, sequences: Tensor, *, seed: int, offset: int = 0) -> Tensor:
        """Q_t for every position of every sequence, in one batched call over B*N*(T-1) rollouts.

        Args:
            sequences: (B, T) long, finished sequences from the generator.
            seed, offset: the random stream of the rollouts.

        Returns:
            (B, T) float: column t-1 holds Q_t; the last column is D(Y).
        """
        self._check(sequences)
        b, t_len = sequences.shape
        dev = sequences.device
        starts = torch.arange(1, t_len, device=dev).repeat(b)  # (B*(T-1),), b-major
        seqs = sequences.repeat_interleave(t_len - 1, 0)
        rolled = self._expanded_rollouts(seqs, starts, seed, offset)  # (B*(T-1)*N, T)
        scores = self.score(rolled).view(b, t_len - 1, self.num_rollouts).mean(-1)
        final = self.score(sequences).view(b, 1)
        return torch.cat([scores, final], dim=1)

    @torch.no_grad()
    def prefix_values(
        self,
        prefixes: Tensor,
        lengths: Tensor,
        *,
        seed: int | None = None,
        offset: int = 0,
        row_seeds: Tensor | Sequence[int] | None = None,
    ) -> Tensor:
        """Q for each row's prefix: ``prefixes`` (B, T) long, ``lengths`` (B,) in [0, T] -> (B,) float.

        Length T gives D(Y); length t < T gives the mean of N rollouts; length 0 estimates Q_0, the expected
        score of a fresh sequence from the rollout policy (used by the "shaped" reward). Positions at or after a
        row's length are ignored (but must hold valid ids).

        Randomness: either ``seed`` (and ``offset``), one stream for the whole batch through the backend, or
        ``row_seeds`` (B,) ints in [0, 2**62): row b's rollouts depend only on ``row_seeds[b]`` (see the module
        docstring), so a batch equals the concatenation of single-row calls with the same seeds.
        """
        self._check(prefixes)
        if (seed is None) == (row_seeds is None):
            raise ValueError("pass exactly one of seed= (one stream for the batch) or row_seeds= (one per row).")
        lengths = torch.as_tensor(lengths, device=prefixes.device, dtype=torch.long)
        if lengths.shape != (prefixes.shape[0],) or int(lengths.min()) < 0 or int(lengths.max()) > self.seq_len:
            raise ValueError(f"lengths must be (B,) in [0, {self.seq_len}], got {lengths.tolist()}.")
        if row_seeds is not None:
            row_seeds = torch.as_tensor(row_seeds, dtype=torch.long)
            if row_seeds.shape != (prefixes.shape[0],):
                raise ValueError(
                    f"row_seeds has shape {tuple(row_seeds.shape)}; pass one seed per row, "
                    f"shape ({prefixes.shape[0]},)."
                )
        out = torch.empty(prefixes.shape[0], device=prefixes.device)
        done = lengths == self.seq_len
        if done.any():
            out[done] = self.score(prefixes[done]).to(out.dtype)
        part = ~done
        if part.any():
            rs = None if row_seeds is None else row_seeds[part.cpu()]
            rolled = self._expanded_rollouts(prefixes[part], lengths[part], seed, offset, rs)
            out[part] = self.score(rolled).view(-1, self.num_rollouts).mean(-1).to(out.dtype)
        return out

    def _check(self, tokens: Tensor) -> None:
        from .generator import check_tokens

        check_tokens(tokens, self.generator.vocab_size, self.seq_len, name="sequences")
