"""The Monte Carlo rollout reward: the one reward path the env, the vector env, REINFORCE and SB3 share.

For a sequence Y_{1:T} and a discriminator D, the paper's action value of y_t after Y_{1:t-1} is

    Q_t = (1/N) sum_n D(Y^n_{1:T}),  Y^n ~ MC^beta(Y_{1:t}; N)     for t < T
    Q_T = D(Y_{1:T})

where the rollout policy beta samples the completion of the prefix Y_{1:t} (positions t+1..T). The rollout
policy is the current generator (what the reference code does; the default) or, with
``rollout_policy="delayed"``, a delayed copy updated as beta <- rate*beta + (1-rate)*theta (rate 0.8, the value the
reference code passes to its ``ROLLOUT`` class, whose update has no effect there because its rollout graph reads the
live generator). :meth:`RolloutReward.update_rollout_policy` does that update; it is a no-op for "current".

**One path.** Every completion goes through :func:`seqgan_env.kernels.triton_rollout` (the fused kernel) or
:func:`seqgan_env.kernels.rollout_reference` (its Philox-exact PyTorch twin, the CPU path), chosen once by
``backend`` and reported by :attr:`RolloutReward.backend`; scores go through :class:`~seqgan_env.scoring.DiscScorer`
(the kernels' GEMM-form discriminator, ``score_precision``) unless a ``score_fn`` replaces D.

**Randomness: one seed per row.** Row b's N rollouts draw from Philox keyed by ``row_seeds[b]``, with the rollout
index n and the prefix length in the counter (see ``kernels/rollout.py``), so a batch gives exactly the same
rollouts as its rows one at a time. ``seed=`` (an int) stands for ``row_seeds = derive_seeds(seed, arange(B))``.

Batch layout of :meth:`RolloutReward.q_values`: row ``r = (b * (T-1) + (t-1)) * N + n`` completes the prefix of
length t of sequence b with rollout n. Prefix LSTM states are computed once per prefix and shared by its N rows.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor

from .checks import check_int
from .discriminator import Discriminator
from .generator import Generator, check_tokens, row_seeds_for
from .kernels import KernelResourceError, NonFiniteError, resolve_backend, rollout_reference, triton_rollout
from .kernels.rollout import Precision
from .scoring import DiscScorer, ScorePrecision

__all__ = ["RolloutReward", "ScoreFn", "NonFiniteError"]

ScoreFn = Callable[[Tensor], Tensor]


class RolloutReward:
    """Monte Carlo rollout rewards Q_t for batches of sequences or prefixes.

    Args:
        generator: G_theta, the policy being trained. The rollout policy reads its live weights
            (``rollout_policy="current"``) or a delayed copy of them (``"delayed"``).
        discriminator: D_phi; scored without dropout.
        num_rollouts: N (paper: 16).
        rollout_policy: ``"current"`` (reference code, default) or ``"delayed"`` (beta <- rate beta + (1-rate) theta).
        update_rate: the delayed copy's rate (reference code: 0.8).
        backend: ``"auto"`` (the Triton kernel on CUDA when triton is installed and the sizes fit, else the PyTorch
            reference), ``"triton"`` or ``"torch"``. ``"triton"`` where it cannot run raises ``ValueError``.
        precision: the kernel's dot precision (``"tf32"`` default, ``"ieee"``, ``"tf32x3"``); no effect on torch.
        score_precision: precision of the discriminator's scoring: ``"fp32"`` (default, exact), ``"tf32"``,
            ``"bf16"`` (see docs/kernels.md for the measured error).
        score_fn: optional replacement for D's score: tokens (R, T) long -> (R,) float (e.g. a constant, an
            ablation; or your own reward model). ``discriminator`` is then only used for its sizes.
        score_batch_size: rows per discriminator chunk (default 4096 on CUDA, 256 on CPU).

    Attributes:
        backend: the rollout backend that runs (``"triton"`` or ``"torch"``); a fallback under ``"auto"`` updates
            it and warns, it is never silent.
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
        precision: Precision = "tf32",
        score_precision: ScorePrecision = "fp32",
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
        num_rollouts = check_int("num_rollouts", num_rollouts, minimum=1, hint="the paper uses 16")
        if score_fn is not None and not callable(score_fn):
            raise ValueError(f"score_fn must be callable (tokens (R, T) long -> (R,) float), got "
                             f"{type(score_fn).__name__}.")
        if rollout_policy not in ("current", "delayed"):
            raise ValueError(f"rollout_policy={rollout_policy!r}; use 'current' or 'delayed'.")
        if not 0.0 <= update_rate <= 1.0:
            raise ValueError(f"update_rate={update_rate} must be in [0, 1] (reference code: 0.8).")
        if precision not in ("ieee", "tf32", "tf32x3"):
            raise ValueError(f"precision={precision!r}; use 'tf32' (default), 'ieee' or 'tf32x3'.")
        self.generator = generator
        self.discriminator = discriminator
        self.num_rollouts = int(num_rollouts)
        self.rollout_policy = rollout_policy
        self.update_rate = float(update_rate)
        self.precision: Precision = precision
        self.requested_backend = backend
        c = generator.config
        self.backend = resolve_backend(
            backend, generator.device, emb_dim=c.emb_dim, hidden_dim=c.hidden_dim, seq_len=c.seq_len
        )
        self._scorer = DiscScorer(discriminator, score_precision, score_batch_size)
        self._score_fn = score_fn
        self._delayed: Generator | None = None
        if rollout_policy == "delayed":
            self._delayed = copy.deepcopy(generator).requires_grad_(False)

    # ------------------------------------------------------------------ configuration
    @property
    def seq_len(self) -> int:
        return self.generator.seq_len

    @property
    def score_precision(self) -> str:
        return self._scorer.precision

    @property
    def score_batch_size(self) -> int:
        return self._scorer.batch_size

    @property
    def rollout_generator(self) -> Generator:
        """The generator the rollouts sample from: G itself, or its delayed copy."""
        return self._delayed if self._delayed is not None else self.generator

    @torch.no_grad()
    def update_rollout_policy(self) -> None:
        """beta <- rate * beta + (1 - rate) * theta for the delayed copy's LSTM and output layer, and the live
        embeddings copied (the reference code's ``ROLLOUT.update_params``: ``g_embeddings = tf.identity(
        lstm.g_embeddings)``, the other weights mixed); nothing for ``"current"``."""
        if self._delayed is None:
            return
        live = self.generator.state_dict()
        for name, b in self._delayed.state_dict().items():
            g = live[name].detach()
            if name == "embedding.weight":
                b.copy_(g)
            elif b.dtype.is_floating_point:
                b.mul_(self.update_rate).add_(g, alpha=1.0 - self.update_rate)

    def score(self, tokens: Tensor) -> Tensor:
        """D(Y) (or ``score_fn``) for (R, T) tokens -> (R,) float, no dropout. Raises :class:`NonFiniteError` for
        a NaN/inf score (a diverged discriminator), rather than paying it as a reward."""
        if self._score_fn is None:
            s = self._scorer(tokens)
        else:
            s = self._score_fn(tokens)
            r = tokens.shape[0]
            if not isinstance(s, Tensor) or s.shape != (r,) or not s.dtype.is_floating_point:
                got = (f"{type(s).__name__} of shape {tuple(s.shape)} and dtype {s.dtype}" if isinstance(s, Tensor)
                       else type(s).__name__)
                raise ValueError(f"score_fn must return a ({r},) float tensor, one score per sequence of the (R, T) = "
                                 f"{tuple(tokens.shape)} tokens it is given; it returned a {got}.")
            s = s.float()
        if s.numel() and not bool(torch.isfinite(s).all()):
            who = "score_fn" if self._score_fn is not None else "the discriminator"
            raise NonFiniteError(
                f"{who} returned non-finite scores (NaN or inf) for {int((~torch.isfinite(s)).sum())} of "
                f"{s.numel()} sequences; check its weights (restore the last good checkpoint)."
            )
        return s

    # ------------------------------------------------------------------ rollouts
    def _run(self, args: tuple, seeds: Tensor, rollout_ids: Tensor) -> Tensor:
        """The single place rollouts are sampled: ``args`` = (weights, rows, starts, h0, c0) on the chosen backend."""
        if self.backend == "triton":
            try:
                return triton_rollout(*args, seeds=seeds, rollout_ids=rollout_ids, precision=self.precision)
            except KernelResourceError as exc:
                if self.requested_backend != "auto":
                    raise ValueError(f"{exc} Use backend='torch' or 'auto'.") from exc
                warnings.warn(f"the Triton rollout kernel cannot launch here ({exc}); RolloutReward now uses the "
                              "PyTorch path (reward.backend = 'torch').", stacklevel=3)
                self.backend = "torch"
        return rollout_reference(*args, seeds=seeds, rollout_ids=rollout_ids)

    @torch.no_grad()
    def rollouts(
        self, tokens: Tensor, starts: Tensor, *, row_seeds: Tensor, rollout_ids: Tensor | None = None
    ) -> Tensor:
        """Complete each row of ``tokens`` (R, T) after its prefix of length ``starts`` (R,) once, row r keyed by
        ``row_seeds[r]`` and ``rollout_ids[r]`` (default 0). Returns (R, T) long."""
        self._check(tokens)
        r = tokens.shape[0]
        seeds = row_seeds_for(r, row_seeds=row_seeds, device=tokens.device)
        ids = torch.zeros(r, dtype=torch.long, device=tokens.device) if rollout_ids is None else rollout_ids.long()
        starts = torch.as_tensor(starts, device=tokens.device).long()
        g = self.rollout_generator
        h_all, c_all = g.prefix_states(tokens)
        idx = torch.arange(r, device=tokens.device)
        return self._run((g.weights(), tokens, starts, h_all[idx, starts], c_all[idx, starts]), seeds, ids)

    def _expanded(self, tokens: Tensor, starts: Tensor, seeds: Tensor, h0: Tensor, c0: Tensor) -> Tensor:
        """N rows (p, n) per prefix p: rollout n of prefix (tokens[p], starts[p]), whose state is (h0[p], c0[p]),
        keyed by (seeds[p], n). Returns (P*N, T), rollout-minor."""
        n = self.num_rollouts
        p = tokens.shape[0]
        ids = torch.arange(n, device=tokens.device).repeat(p)
        args = (
            self.rollout_generator.weights(), tokens.repeat_interleave(n, 0), starts.repeat_interleave(n, 0),
            h0.repeat_interleave(n, 0), c0.repeat_interleave(n, 0),
        )
        return self._run(args, seeds.repeat_interleave(n, 0), ids)

    def _seeds(self, b: int, seed: int | None, row_seeds: Tensor | Sequence[int] | None, device) -> Tensor:
        if (seed is None) == (row_seeds is None):
            raise ValueError("pass exactly one of seed= (an int: per-row seeds derived from it) or row_seeds= "
                             "(one seed per row).")
        if row_seeds is not None:  # float seeds are refused by check_seeds, not truncated
            return row_seeds_for(b, row_seeds=torch.as_tensor(row_seeds), device=device)
        return row_seeds_for(b, seed=seed, device=device)  # a float seed is refused there, not truncated

    @torch.no_grad()
    def q_values(
        self, sequences: Tensor, *, row_seeds: Tensor | Sequence[int] | None = None, seed: int | None = None
    ) -> Tensor:
        """Q_t for every position of every sequence, in one batched call over B*N*(T-1) rollouts.

        Args:
            sequences: (B, T) long, finished sequences from the generator.
            row_seeds: (B,) int64 seeds in [0, 2**63), one per sequence; or
            seed: an int, standing for ``row_seeds = derive_seeds(seed, arange(B))``.

        Returns:
            (B, T) float: column t-1 holds Q_t; the last column is D(Y).
        """
        self._check(sequences)
        b, t_len = sequences.shape
        dev = sequences.device
        seeds = self._seeds(b, seed, row_seeds, dev)
        if b == 0:
            return torch.empty(0, t_len, device=dev)
        h_all, c_all = self.rollout_generator.prefix_states(sequences)  # (B, T+1, H): once per sequence
        hdim = h_all.shape[-1]
        starts = torch.arange(1, t_len, device=dev).repeat(b)  # (B*(T-1),), b-major
        rolled = self._expanded(  # (B*(T-1)*N, T)
            sequences.repeat_interleave(t_len - 1, 0), starts, seeds.repeat_interleave(t_len - 1, 0),
            h_all[:, 1:t_len].reshape(-1, hdim), c_all[:, 1:t_len].reshape(-1, hdim),
        )
        scores = self.score(rolled).view(b, t_len - 1, self.num_rollouts).mean(-1)
        final = self.score(sequences).view(b, 1)
        return torch.cat([scores.float(), final.float()], dim=1)

    @torch.no_grad()
    def prefix_values(
        self,
        prefixes: Tensor,
        lengths: Tensor,
        *,
        row_seeds: Tensor | Sequence[int] | None = None,
        seed: int | None = None,
    ) -> Tensor:
        """Q for each row's prefix: ``prefixes`` (B, T) long, ``lengths`` (B,) in [0, T] -> (B,) float.

        Length T gives D(Y); length t < T gives the mean of N rollouts; length 0 estimates Q_0, the expected
        score of a fresh sequence from the rollout policy (used by the "shaped" reward). Positions at or after a
        row's length are ignored (but must hold valid ids). Randomness: ``row_seeds`` (B,), one per row (a batch
        then equals the concatenation of single-row calls with the same seeds), or ``seed`` (derived per row).
        """
        self._check(prefixes)
        b = prefixes.shape[0]
        seeds = self._seeds(b, seed, row_seeds, prefixes.device)
        lengths = torch.as_tensor(lengths, device=prefixes.device)
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise ValueError(f"lengths must be integer prefix lengths, got dtype {lengths.dtype}; pass a long tensor.")
        lengths = lengths.long()
        if lengths.shape != (b,) or (b and (int(lengths.min()) < 0 or int(lengths.max()) > self.seq_len)):
            raise ValueError(f"lengths must be (B,) in [0, {self.seq_len}], got {lengths.tolist()}.")
        out = torch.empty(b, device=prefixes.device)
        done = lengths == self.seq_len
        if done.any():
            out[done] = self.score(prefixes[done]).to(out.dtype)
        part = ~done
        if part.any():
            pre, lens = prefixes[part], lengths[part]
            h_all, c_all = self.rollout_generator.prefix_states(pre)
            idx = torch.arange(pre.shape[0], device=pre.device)
            rolled = self._expanded(pre, lens, seeds[part], h_all[idx, lens], c_all[idx, lens])
            out[part] = self.score(rolled).view(-1, self.num_rollouts).mean(-1).to(out.dtype)
        return out

    def _check(self, tokens: Tensor) -> None:
        check_tokens(tokens, self.generator.vocab_size, self.seq_len, name="sequences")
