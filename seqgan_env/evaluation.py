"""Evaluation of generators and discriminators, in one module: the trainer, the examples and your own code use it.

Every function splits its rows over ranks when given a :class:`~seqgan_env.parallel.Parallel` (each rank scores
its block, the sums are all-reduced) and draws its samples from a named stream keyed by global row
(:mod:`seqgan_env.streams`), so the figures do not depend on the number of ranks, and every model evaluated with
the same ``seed`` and ``stream`` sees the same random numbers (common random numbers: differences between models
are not sampling noise of the evaluation).

* :func:`nll_oracle`: the oracle's mean per-token NLL of samples of G (the paper's quality metric).
* :func:`nll_test`: G's mean per-token NLL of held-out real sequences (the diversity/coverage metric).
* :func:`discriminator_eval`: D's loss and accuracy on samples against held-out real sequences, and the mean D(Y).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from . import streams
from .discriminator import Discriminator
from .generator import Generator
from .parallel import Parallel

__all__ = ["sample_rows", "nll_sums", "nll_oracle", "nll_test", "discriminator_eval", "EVAL_STREAM"]

EVAL_STREAM = "eval"


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
def nll_sums(model: Generator, tokens: Tensor, *, batch_size: int = 1024) -> tuple[float, int]:
    """(sum of -log p over every token of ``tokens`` (N, T) under ``model``, number of tokens), in float64."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for i in range(0, tokens.shape[0], batch_size):
            chunk = tokens[i : i + batch_size].to(model.device)
            total += float(-model.log_probs(chunk).double().sum())
            count += chunk.numel()
    finally:
        model.train(was_training)
    return total, count


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
    return _mean(parallel, *nll_sums(oracle, samples.to(oracle.device), batch_size=batch_size))


def nll_test(
    generator: Generator, data: Tensor, *, parallel: Parallel | None = None, batch_size: int = 1024
) -> float:
    """NLL-test: ``generator``'s mean per-token NLL (nats) of the held-out sequences ``data`` (N, T)."""
    parallel = parallel or Parallel()
    lo, hi = parallel.shard(data.shape[0])
    return _mean(parallel, *nll_sums(generator, data[lo:hi], batch_size=batch_size))


@torch.no_grad()
def discriminator_eval(
    discriminator: Discriminator, fake: Tensor, real: Tensor, *, parallel: Parallel | None = None,
    num_fake: int | None = None, num_real: int | None = None,
) -> dict[str, float]:
    """D without dropout on ``fake`` (label 0) and ``real`` (label 1): ``d_loss`` (mean cross-entropy), ``d_acc``,
    ``d_acc_fake``, ``d_acc_real`` and ``g_reward`` (mean D(Y) of the fakes). With ``parallel``, ``fake`` and
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
        "g_reward": score_f / nf if nf else math.nan,
    }
