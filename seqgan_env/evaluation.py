"""Evaluation of generators and discriminators, in one module: the trainer, the examples and your own code use it.

Every function splits its rows over ranks when given a :class:`~seqgan_env.parallel.Parallel` (each rank scores
its block, the sums are all-reduced) and draws its samples from a named stream keyed by global row
(:mod:`seqgan_env.streams`), so the figures do not depend on the number of ranks, and every model evaluated with
the same ``seed`` and ``stream`` sees the same random numbers (common random numbers: differences between models
are not sampling noise of the evaluation).

* :func:`nll_oracle`: the oracle's mean per-token NLL of samples of G (the paper's quality metric).
* :func:`nll_test`: G's mean per-token NLL of held-out real sequences (the diversity/coverage metric).
* :func:`sampling_log_probs`: per-token log-probabilities under the distribution G actually samples from at a
  temperature and a nucleus (top-p), so NLL-oracle and NLL-test are measured on the same distribution along a
  sweep (:func:`quality_diversity`).
* Text (no oracle): :func:`text_reference_split` (BLEU references and real held-out rows, disjoint),
  :func:`text_scores` (BLEU-n against the references, Self-BLEU on a fixed number of samples),
  :func:`unigram_samples` (the floor) and :func:`text_quality_diversity` (the sweep).
* :func:`discriminator_eval`: D's loss and accuracy on samples against held-out real sequences, and the mean D(Y).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from . import streams
from .discriminator import Discriminator
from .generator import Generator, token_log_probs
from .parallel import Parallel

__all__ = [
    "sample_rows", "nll_sums", "sequence_nll", "nll_oracle", "nll_test", "nll_test_stats", "nll_test_sweep",
    "sampling_log_probs",
    "quality_diversity",
    "discriminator_eval", "EVAL_STREAM", "NUCLEUS_EPSILON", "text_reference_split", "unigram_samples", "text_scores",
    "text_quality_diversity", "curve_gap",
]

EVAL_STREAM = "eval"
NUCLEUS_EPSILON = 1e-3
"""Weight of the full (temperature-scaled) distribution mixed into a truncated one when scoring held-out data:
see :func:`sampling_log_probs`."""


def _check_sampling(temperature: float, top_p: float) -> None:
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature={temperature!r}: it must be a finite number > 0 (1.0 samples G as trained).")
    if not (math.isfinite(top_p) and 0 < top_p <= 1):
        raise ValueError(f"top_p={top_p!r}: it must be in (0, 1] (1.0 turns nucleus truncation off).")


def sampling_log_probs(
    model: Generator, tokens: Tensor, *, temperature: float = 1.0, top_p: float = 1.0,
    epsilon: float = NUCLEUS_EPSILON,
) -> tuple[Tensor, Tensor]:
    """Per-token log-probabilities of ``tokens`` (B, T) under the distribution ``model`` samples from with
    ``temperature`` and ``top_p``, and which tokens fall outside the nucleus: ((B, T) float, (B, T) bool).

    The sampler (:func:`seqgan_env.kernels.rollout.sample_next`) divides the logits by the temperature, then keeps
    the smallest set of most likely tokens whose mass reaches ``top_p``. Temperature alone is exact:
    ``log softmax(logits / temperature)``. Truncation gives probability 0 to every token outside the nucleus, so a
    held-out sequence with one such token has infinite NLL and the mean NLL-test would be infinite for every
    ``top_p < 1``. Held-out tokens are therefore scored under the mixture ``(1 - epsilon) * nucleus + epsilon *
    full`` (both at the temperature), a standard smoothing whose cost shows in the NLL: a token outside the nucleus
    costs at least ``-log(epsilon * p)``. The returned mask counts those tokens (reported as
    ``outside_nucleus``); ``epsilon=0`` gives the exact, possibly infinite, truncated log-probabilities.
    NLL-oracle needs none of this: it scores G's samples under the oracle.
    """
    _check_sampling(temperature, top_p)
    if not 0 <= epsilon < 1:
        raise ValueError(f"epsilon={epsilon!r}: it must be in [0, 1).")
    from seqgan_env.kernels.rollout import nucleus_mask

    logits = model(tokens).float() / temperature  # (B, T, V)
    full = torch.log_softmax(logits, dim=-1)
    lp_full = full.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    if top_p >= 1.0:
        return lp_full, torch.zeros_like(tokens, dtype=torch.bool)
    b, t, v = logits.shape
    kept = nucleus_mask(logits.reshape(b * t, v), top_p).reshape(b, t, v)
    nucleus = torch.log_softmax(kept, dim=-1)
    lp_nuc = nucleus.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # -inf outside the nucleus
    outside = torch.isneginf(lp_nuc)
    if epsilon == 0:
        return lp_nuc, outside
    # log((1 - eps) * p_nuc + eps * p_full), with p_nuc = 0 outside the nucleus
    mixed = torch.logaddexp(lp_nuc + math.log1p(-epsilon), lp_full + math.log(epsilon))
    return mixed, outside


@torch.no_grad()
def sample_rows(
    generator: Generator, rows: range, *, seed: int, stream: str = EVAL_STREAM, temperature: float = 1.0,
    top_p: float = 1.0, batch_size: int = 1024,
) -> Tensor:
    """The samples of global rows ``rows`` of the stream ``(seed, stream)``: (len(rows), T) long. Row r is the same
    whichever other rows are drawn, and for every generator row r uses the same random numbers."""
    seeds = streams.row_seeds(seed, stream, rows=rows, device=generator.device)
    return generator.sample_batches(len(rows), batch_size, row_seeds=seeds, temperature=temperature, top_p=top_p)


@torch.no_grad()
def nll_sums(
    model: Generator, tokens: Tensor, *, batch_size: int = 1024, temperature: float = 1.0, top_p: float = 1.0,
    epsilon: float = NUCLEUS_EPSILON,
) -> tuple[float, int, int]:
    """(sum of -log p over every token of ``tokens`` (N, T) under ``model`` at ``temperature``/``top_p`` (see
    :func:`sampling_log_probs`), number of tokens, number of tokens outside the nucleus), the sum in float64."""
    was_training = model.training
    model.eval()
    total, count, outside = 0.0, 0, 0
    plain = temperature == 1.0 and top_p >= 1.0
    try:
        for i in range(0, tokens.shape[0], batch_size):
            chunk = tokens[i : i + batch_size].to(model.device)
            if plain:
                lp = model.log_probs(chunk)
            else:
                lp, out = sampling_log_probs(model, chunk, temperature=temperature, top_p=top_p, epsilon=epsilon)
                outside += int(out.sum())
            total += float(-lp.double().sum())
            count += chunk.numel()
    finally:
        model.train(was_training)
    return total, count, outside


def sequence_nll(model: Generator, tokens: Tensor, *, batch_size: int = 1024) -> float:
    """Mean per-token NLL (nats) of ``tokens`` (N, T) under ``model``: sum of -log p over all tokens / (N*T)."""
    total, count, _ = nll_sums(model, tokens, batch_size=batch_size)
    if count == 0:
        raise ValueError("no tokens to score; pass a non-empty (N, T) tensor.")
    return total / count


def _mean(parallel: Parallel, total: float, count: int) -> float:
    total, count = parallel.sum_floats(total, float(count)) if parallel.enabled else (total, float(count))
    return total / count if count else math.nan


def nll_oracle(
    generator: Generator, oracle: Generator, *, num_samples: int = 9_984, seed: int = 0, stream: str = EVAL_STREAM,
    temperature: float = 1.0, top_p: float = 1.0, parallel: Parallel | None = None, batch_size: int = 1024,
) -> float:
    """NLL-oracle: the oracle's mean per-token NLL (nats) of ``num_samples`` sequences sampled from ``generator``
    (at ``temperature`` / ``top_p``). The reference code scores 9,984 samples; the paper 100,000."""
    parallel = parallel or Parallel()
    lo, hi = parallel.shard(num_samples)
    samples = sample_rows(generator, range(lo, hi), seed=seed, stream=stream, temperature=temperature, top_p=top_p,
                          batch_size=batch_size)
    total, count, _ = nll_sums(oracle, samples.to(oracle.device), batch_size=batch_size)
    return _mean(parallel, total, count)


def nll_test_stats(
    generator: Generator, data: Tensor, *, temperature: float = 1.0, top_p: float = 1.0,
    epsilon: float = NUCLEUS_EPSILON, parallel: Parallel | None = None, batch_size: int = 1024,
) -> dict[str, float]:
    """``{"nll_test": ..., "outside_nucleus": ...}``: ``generator``'s mean per-token NLL (nats) of the held-out
    sequences ``data`` (N, T) under its sampling distribution at ``temperature``/``top_p``, and the fraction of
    held-out tokens outside the nucleus (0 when ``top_p`` is 1; see :func:`sampling_log_probs`)."""
    _check_sampling(temperature, top_p)
    parallel = parallel or Parallel()
    lo, hi = parallel.shard(data.shape[0])
    total, count, outside = nll_sums(generator, data[lo:hi], batch_size=batch_size, temperature=temperature,
                                     top_p=top_p, epsilon=epsilon)
    if parallel.enabled:
        total, fcount, foutside = parallel.sum_floats(total, float(count), float(outside))
    else:
        fcount, foutside = float(count), float(outside)
    return {
        "nll_test": total / fcount if fcount else math.nan,
        "outside_nucleus": foutside / fcount if fcount else math.nan,
    }


def nll_test(
    generator: Generator, data: Tensor, *, temperature: float = 1.0, top_p: float = 1.0,
    parallel: Parallel | None = None, batch_size: int = 1024,
) -> float:
    """NLL-test: ``generator``'s mean per-token NLL (nats) of the held-out sequences ``data`` (N, T), under its
    sampling distribution at ``temperature``/``top_p`` (the defaults: G as trained)."""
    return nll_test_stats(generator, data, temperature=temperature, top_p=top_p, parallel=parallel,
                          batch_size=batch_size)["nll_test"]


@torch.no_grad()
def nll_test_sweep(
    generator: Generator, data: Tensor, *, temperatures: Sequence[float] = (), top_ps: Sequence[float] = (),
    epsilon: float = NUCLEUS_EPSILON, parallel: Parallel | None = None, batch_size: int = 1024,
) -> list[dict[str, float]]:
    """:func:`nll_test_stats` for every temperature (top_p 1) and then every ``top_p`` (temperature 1), in one pass
    over ``data`` (N, T): each chunk's logits are computed once, and its probabilities sorted once for all the
    nucleus masses (the sort is the expensive part of a top-p sweep). Returns one ``{"nll_test",
    "outside_nucleus"}`` per setting, in that order; each equals :func:`nll_test_stats` of its setting."""
    for t in temperatures:
        _check_sampling(float(t), 1.0)
    for q in top_ps:
        _check_sampling(1.0, float(q))
    if not 0 <= epsilon < 1:
        raise ValueError(f"epsilon={epsilon!r}: it must be in [0, 1).")
    parallel = parallel or Parallel()
    lo, hi = parallel.shard(data.shape[0])
    n_set = len(temperatures) + len(top_ps)
    totals, outside = [0.0] * n_set, [0.0] * n_set
    count = 0
    model = generator
    was_training = model.training
    model.eval()
    try:
        for i in range(lo, hi, batch_size):
            chunk = data[i : min(i + batch_size, hi)].to(model.device)
            logits = model(chunk).float()  # (B, T, V)
            target = chunk.unsqueeze(-1)
            for k, t in enumerate(temperatures):
                lp = token_log_probs(logits, chunk) if float(t) == 1.0 else \
                    torch.log_softmax(logits / float(t), dim=-1).gather(-1, target).squeeze(-1)
                totals[k] += float(-lp.double().sum())
            if top_ps:
                full = torch.log_softmax(logits, dim=-1)
                lp_full = full.gather(-1, target).squeeze(-1)  # (B, T)
                b, t_len, v = logits.shape
                probs = torch.softmax(logits.reshape(b * t_len, v), dim=-1)
                sorted_p, idx = torch.sort(probs, dim=-1, descending=True, stable=True)
                before = torch.cumsum(sorted_p, dim=-1) - sorted_p  # mass of the more likely tokens
                # the rank of each row's target token in the sorted order
                rank = torch.empty_like(idx).scatter_(-1, idx, torch.arange(v, device=idx.device).expand_as(idx))
                target_rank = rank.gather(-1, chunk.reshape(-1, 1)).squeeze(-1)
                target_before = before.gather(-1, target_rank.unsqueeze(-1)).squeeze(-1).reshape(b, t_len)
                for j, q in enumerate(top_ps):
                    k = len(temperatures) + j
                    keep = before < float(q)  # the nucleus (nucleus_mask's rule: the top token always stays)
                    kept_mass = (sorted_p * keep).sum(-1).reshape(b, t_len)
                    inside = target_before < float(q)
                    lp_nuc = torch.where(inside, lp_full - torch.log(kept_mass), torch.full_like(lp_full, -math.inf))
                    lp = lp_nuc if epsilon == 0 else torch.logaddexp(lp_nuc + math.log1p(-epsilon),
                                                                     lp_full + math.log(epsilon))
                    totals[k] += float(-lp.double().sum())
                    outside[k] += float((~inside).sum())
            count += chunk.numel()
    finally:
        model.train(was_training)
    if parallel.enabled:
        sums = parallel.sum_floats(*totals, *outside, float(count))
        totals, outside, count = list(sums[:n_set]), list(sums[n_set : 2 * n_set]), sums[-1]
    return [{"nll_test": totals[k] / count if count else math.nan,
             "outside_nucleus": outside[k] / count if count else math.nan} for k in range(n_set)]


def quality_diversity(
    generator: Generator, oracle: Generator, test_data: Tensor, *, temperatures: Sequence[float] = (1.0,),
    top_ps: Sequence[float] = (), num_samples: int = 9_984, seed: int = 0, stream: str = EVAL_STREAM,
    epsilon: float = NUCLEUS_EPSILON, parallel: Parallel | None = None, batch_size: int = 1024,
) -> list[dict[str, float]]:
    """The quality-diversity curve of ``generator`` on the oracle task: one record per temperature (top_p 1) and
    one per ``top_p`` (temperature 1), each ``{"temperature", "top_p", "sweep", "nll_oracle", "nll_test",
    "outside_nucleus"}``. NLL-oracle (quality, lower is better) scores ``num_samples`` samples drawn at that
    setting; NLL-test (diversity/coverage, lower is better) scores ``test_data`` (N, T) under the same
    distribution. Every setting and every generator draws from the same stream ``(seed, stream)``: the
    comparison between models is not evaluation noise (Caccia et al., 2020, sweep temperature the same way)."""
    settings = [("temperature", float(t), 1.0) for t in temperatures] + [("top_p", 1.0, float(p)) for p in top_ps]
    if not settings:
        raise ValueError("quality_diversity: give at least one temperature or top_p.")
    tests = nll_test_sweep(generator, test_data, temperatures=temperatures, top_ps=top_ps, epsilon=epsilon,
                           parallel=parallel, batch_size=batch_size)
    records = []
    for (sweep, temp, top_p), test in zip(settings, tests):
        rec: dict[str, Any] = {"sweep": sweep, "temperature": temp, "top_p": top_p}
        rec["nll_oracle"] = nll_oracle(generator, oracle, num_samples=num_samples, seed=seed, stream=stream,
                                       temperature=temp, top_p=top_p, parallel=parallel, batch_size=batch_size)
        rec.update(test)
        records.append(rec)
    return records


def curve_gap(x: float, y: float, curve: Sequence[tuple[float, float]]) -> float | None:
    """How far the point (x, y) is above the piecewise-linear curve through ``curve`` (points (x, y), any order)
    at the same x: ``y - curve(x)``; ``None`` when x is outside the curve's x range (nothing can be said there).

    With x = NLL-test and y = NLL-oracle (both lower is better), a negative gap means the point has better
    quality than the curve at the same diversity: a model "beats the temperature curve" of another exactly
    where its gap is negative."""
    pts = sorted((float(a), float(b)) for a, b in curve if math.isfinite(a) and math.isfinite(b))
    if not pts or not (pts[0][0] <= x <= pts[-1][0]):
        return None
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            return y - (y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return y - pts[0][1]  # a single point with the same x


# ---------------------------------------------------------------------------------------------------- text
def text_reference_split(
    test: Tensor, *, num_real: int, num_references: int | None = None, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Split held-out rows ``test`` (N, T) into (BLEU references, real held-out rows), disjoint, by a keyed
    permutation: ``num_real`` rows (at most N // 2) score *real text* the way samples are scored (the ceiling a
    model can reach; scored against references that include it, it would get BLEU 1), and the next
    ``num_references`` rows (default: all the others) are the reference set. Every model and every evaluation of a
    run uses the same references, so their BLEU values are comparable; BLEU rises with the number of references,
    so that number is reported with the scores."""
    n = test.shape[0]
    if n < 2:
        raise ValueError(f"the held-out split has {n} rows; BLEU needs at least 2 (one reference, one real row).")
    num_real = max(1, min(int(num_real), n // 2))
    avail = n - num_real
    num_refs = avail if num_references is None else int(num_references)
    if not 1 <= num_refs:
        raise ValueError(f"num_references={num_references}: pass a number >= 1 (or None for all {avail}).")
    num_refs = min(num_refs, avail)
    perm = streams.permutation(seed, "bleu_split", n=n).to(test.device)
    return test[perm[num_real : num_real + num_refs]], test[perm[:num_real]]


@torch.no_grad()
def unigram_samples(train: Tensor, num: int, *, seed: int = 0, stream: str = "unigram") -> Tensor:
    """(num, T) rows whose tokens are drawn independently from the token frequencies of ``train`` (N, T), pad and
    end tokens included (so lengths vary as the data's do, roughly): the floor that knows only which words are
    common."""
    counts = torch.bincount(train.reshape(-1).cpu(), minlength=int(train.max()) + 1).double()
    gen = streams.torch_generator(seed, stream)
    flat = torch.multinomial(counts / counts.sum(), num * train.shape[1], replacement=True, generator=gen)
    return flat.reshape(num, train.shape[1]).to(train.device)


def text_scores(
    hyps: Sequence[Sequence[str]], references: Any, *, orders: Sequence[int] = (2, 3, 4), self_bleu_size: int = 500,
    self_bleu_order: int = 4,
) -> dict[str, float]:
    """BLEU-n of every hypothesis against the whole reference set (``references``: a
    :class:`seqgan_env.text.bleu.BleuReference`), averaged (the Texygen recipe), and Self-BLEU-``self_bleu_order``
    of the first ``self_bleu_size`` hypotheses (diversity: lower is more diverse; it grows with the number of
    samples, so compare rows with the same size). Keys ``bleu{n}``, ``self_bleu{order}``, ``self_bleu_size``."""
    from seqgan_env.text.bleu import self_bleu

    out: dict[str, float] = {f"bleu{n}": references.bleu(list(hyps), n) for n in orders}
    k = min(self_bleu_size, len(hyps))
    out[f"self_bleu{self_bleu_order}"] = self_bleu(list(hyps[:k]), self_bleu_order) if k >= 2 else math.nan
    out["self_bleu_size"] = k
    return out


def text_quality_diversity(
    generator: Generator, decode: Any, references: Any, test_data: Tensor, *,
    temperatures: Sequence[float] = (1.0,), top_ps: Sequence[float] = (), num_samples: int = 1000,
    self_bleu_size: int = 500, seed: int = 0, stream: str = "text_eval", epsilon: float = NUCLEUS_EPSILON,
) -> list[dict[str, Any]]:
    """The text analogue of :func:`quality_diversity`: for each temperature (top_p 1) and each ``top_p``
    (temperature 1), ``num_samples`` samples from the stream ``(seed, stream)`` (the same for every model) are
    decoded with ``decode`` ((N, T) ids -> token lists) and scored by :func:`text_scores` against
    ``references``; ``nll_test`` (and ``outside_nucleus``) score ``test_data`` under the same distribution."""
    settings = [("temperature", float(t), 1.0) for t in temperatures] + [("top_p", 1.0, float(p)) for p in top_ps]
    if not settings:
        raise ValueError("text_quality_diversity: give at least one temperature or top_p.")
    tests = nll_test_sweep(generator, test_data, temperatures=temperatures, top_ps=top_ps, epsilon=epsilon)
    records = []
    for (sweep, temp, top_p), test in zip(settings, tests):
        ids = sample_rows(generator, range(num_samples), seed=seed, stream=stream, temperature=temp, top_p=top_p)
        rec: dict[str, Any] = {"sweep": sweep, "temperature": temp, "top_p": top_p}
        rec.update(text_scores(decode(ids), references, self_bleu_size=self_bleu_size))
        rec.update(test)
        records.append(rec)
    return records


@torch.no_grad()
def discriminator_eval(
    discriminator: Discriminator, fake: Tensor, real: Tensor, *, parallel: Parallel | None = None,
    num_fake: int | None = None, num_real: int | None = None,
) -> dict[str, float]:
    """D without dropout on ``fake`` (label 0) and ``real`` (label 1): ``d_loss`` (mean cross-entropy), ``d_acc``,
    ``d_acc_fake``, ``d_acc_real`` and ``d_fake_score`` (mean D(Y) of the fakes). With ``parallel``, ``fake`` and
    ``real`` are this rank's blocks and ``num_fake``/``num_real`` the global counts."""
    parallel = parallel or Parallel()
    d = discriminator
    was = d.training
    d.eval()
    try:
        sums = []
        for rows, label in ((fake, 0), (real, 1)):
            if rows.shape[0]:
                logits = d(rows.to(d.device))
                labels = torch.full((rows.shape[0],), label, dtype=torch.long, device=d.device)
                ce = float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
                right = float((logits.argmax(-1) == labels).sum())
                score = float(torch.softmax(logits.float(), -1)[:, 1].sum())
            else:
                ce = right = score = 0.0
            sums += [ce, right, score]
    finally:
        d.train(was)
    if parallel.enabled:
        sums = parallel.sum_floats(*sums)
    nf = num_fake if num_fake is not None else fake.shape[0]
    nr = num_real if num_real is not None else real.shape[0]
    ce_f, right_f, score_f, ce_r, right_r, _ = sums
    n = nf + nr
    return {
        "d_loss": (ce_f + ce_r) / n if n else math.nan,
        "d_acc": (right_f + right_r) / n if n else math.nan,
        "d_acc_fake": right_f / nf if nf else math.nan,
        "d_acc_real": right_r / nr if nr else math.nan,
        "d_fake_score": score_f / nf if nf else math.nan,
    }
