"""BLEU against a whole reference set, and Self-BLEU, computed fast and exactly as NLTK does.

The text-GAN metric (SeqGAN paper, Texygen benchmark): for every generated hypothesis the references are *all*
test sentences, and the score is the mean over hypotheses of

    nltk.translate.bleu_score.sentence_bleu(references, hypothesis, weights=(1/n,)*n,
                                            smoothing_function=SmoothingFunction().method1)

(``smoothing="method1"``, Texygen's choice and the default here; ``smoothing=None`` is NLTK's own default,
``method0``). A per-sentence NLTK loop recounts every reference for every hypothesis: O(|hyps| * |refs|).

Here clipped counts only need, for each n-gram, its *largest count in any one reference*; that table is built
once per order (:class:`BleuReference`), together with the sorted reference lengths for the brevity penalty
(NLTK: the closest reference length, the shorter one on a tie). Each hypothesis then costs O(its length).
The arithmetic follows NLTK step by step (same float operations), so results agree to rounding (tested to 1e-9).

Self-BLEU (Zhu et al. 2018, diversity; lower is more diverse) scores each sample against all *other* samples.
It keeps the two largest counts of each n-gram and the multiset of lengths, so leaving one sample out is O(1)
per n-gram. (Texygen's non-parallel Self-BLEU leaves the hypothesis among its own references; that variant is
``self_bleu(..., exclude_self=False)``.)
"""

from __future__ import annotations

import bisect
import math
import sys
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Literal

__all__ = ["BleuReference", "bleu", "self_bleu", "Smoothing"]

Smoothing = Literal["method1"] | None
Token = Hashable


def _ngrams(seq: Sequence[Token], n: int) -> Counter[tuple[Token, ...]]:
    if len(seq) < n:
        return Counter()
    return Counter(tuple(seq[i : i + n]) for i in range(len(seq) - n + 1))


def _sentence_score(
    numerators: list[int], denominators: list[int], hyp_len: int, ref_len: int, weights: tuple[float, ...],
    smoothing: Smoothing, epsilon: float,
) -> float:
    """NLTK's corpus_bleu tail for one (hypothesis, references) pair, operation for operation."""
    if hyp_len > ref_len:
        bp = 1.0
    elif hyp_len == 0:
        bp = 0.0
    else:
        bp = math.exp(1 - ref_len / hyp_len)
    if numerators[0] == 0:
        return 0.0
    p_n: list[float] = []
    for num, den in zip(numerators, denominators):
        if num != 0:
            p_n.append(num / den)
        elif smoothing == "method1":
            p_n.append((num + epsilon) / den)
        elif smoothing is None:
            p_n.append(sys.float_info.min)
        else:
            raise ValueError(f"smoothing={smoothing!r}; use 'method1' (Texygen) or None (NLTK's method0).")
    s = (w * math.log(p) for w, p in zip(weights, p_n) if p > 0)
    return bp * math.exp(math.fsum(s))


def _uniform(n: int) -> tuple[float, ...]:
    if n < 1:
        raise ValueError(f"BLEU order n={n} must be >= 1.")
    return (1 / n,) * n


class BleuReference:
    """Precomputed statistics of a reference set for BLEU-1..``max_n``.

    Args:
        references: token sequences (lists of strings or ints); every hypothesis is scored against all of them.
        max_n: the highest n-gram order needed.
        keep_second: also keep each n-gram's second-largest count and the length multiset (Self-BLEU's
            leave-one-out); costs more memory.
    """

    def __init__(self, references: Sequence[Sequence[Token]], max_n: int = 4, *, keep_second: bool = False) -> None:
        if not references:
            raise ValueError("BLEU needs at least one reference sentence.")
        self.max_n = int(max_n)
        self.num_references = len(references)
        self.max_counts: list[dict[tuple[Token, ...], int]] = []
        self.second_counts: list[dict[tuple[Token, ...], int]] | None = [] if keep_second else None
        for n in range(1, self.max_n + 1):
            best: dict[tuple[Token, ...], int] = {}
            second: dict[tuple[Token, ...], int] = {}
            for ref in references:
                for g, c in _ngrams(ref, n).items():
                    b = best.get(g, 0)
                    if c > b:
                        if keep_second and b:
                            second[g] = b
                        best[g] = c
                    elif keep_second and c > second.get(g, 0):
                        second[g] = c
            self.max_counts.append(best)
            if self.second_counts is not None:
                self.second_counts.append(second)
        self.length_counts = Counter(len(r) for r in references)
        self.lengths = sorted(self.length_counts)

    def closest_length(self, hyp_len: int, exclude: int | None = None) -> int:
        """NLTK's closest reference length (ties -> the shorter); ``exclude`` removes one reference of that
        length from the multiset first."""
        lengths = self.lengths
        if exclude is not None and self.length_counts.get(exclude, 0) == 1:
            lengths = [x for x in lengths if x != exclude]
            if not lengths:
                raise ValueError("no reference left after leaving the hypothesis itself out.")
        i = bisect.bisect_left(lengths, hyp_len)
        candidates = lengths[max(0, i - 1) : i + 1]
        return min(candidates, key=lambda r: (abs(r - hyp_len), r))

    def sentence_bleu(
        self, hypothesis: Sequence[Token], n: int = 4, *, smoothing: Smoothing = "method1", epsilon: float = 0.1,
        exclude_self: bool = False,
    ) -> float:
        """BLEU-n of one hypothesis against all references (uniform weights).

        ``exclude_self``: the hypothesis is itself one of the references and is left out of them (Self-BLEU);
        needs ``keep_second=True``.
        """
        if n > self.max_n:
            raise ValueError(f"n={n} > max_n={self.max_n} of this BleuReference; build it with max_n >= {n}.")
        if exclude_self and self.second_counts is None:
            raise ValueError("exclude_self needs BleuReference(..., keep_second=True).")
        weights = _uniform(n)
        numerators, denominators = [], []
        for k in range(1, n + 1):
            counts = _ngrams(hypothesis, k)
            best = self.max_counts[k - 1]
            second = self.second_counts[k - 1] if exclude_self else None  # type: ignore[index]
            clipped = 0
            for g, c in counts.items():
                m = best.get(g, 0)
                if second is not None and c == m:
                    m = second.get(g, 0)
                clipped += c if c < m else m
            numerators.append(clipped)
            denominators.append(max(1, sum(counts.values())))
        hyp_len = len(hypothesis)
        ref_len = self.closest_length(hyp_len, exclude=hyp_len if exclude_self else None)
        return _sentence_score(numerators, denominators, hyp_len, ref_len, weights, smoothing, epsilon)

    def bleu(
        self, hypotheses: Sequence[Sequence[Token]], n: int = 4, *, smoothing: Smoothing = "method1",
        epsilon: float = 0.1,
    ) -> float:
        """Mean BLEU-n over ``hypotheses``."""
        if not hypotheses:
            raise ValueError("no hypotheses to score.")
        return math.fsum(self.sentence_bleu(h, n, smoothing=smoothing, epsilon=epsilon) for h in hypotheses) / len(
            hypotheses
        )


def bleu(
    hypotheses: Sequence[Sequence[Token]], references: Sequence[Sequence[Token]], n: int | Sequence[int] = 4, *,
    smoothing: Smoothing = "method1", epsilon: float = 0.1,
) -> float | dict[int, float]:
    """Mean BLEU-n of ``hypotheses``, each against the whole ``references`` set.

    ``n`` an int gives a float; a sequence of orders (e.g. ``(2, 3, 4)``) gives ``{n: score}`` from one table.
    Equal to ``mean(sentence_bleu(references, h, (1/n,)*n, smoothing_function=SmoothingFunction().method1))``.
    """
    orders = [n] if isinstance(n, int) else list(n)
    ref = BleuReference(references, max(orders))
    scores = {k: ref.bleu(hypotheses, k, smoothing=smoothing, epsilon=epsilon) for k in orders}
    return scores[orders[0]] if isinstance(n, int) else scores


def self_bleu(
    samples: Sequence[Sequence[Token]], n: int | Sequence[int] = 4, *, smoothing: Smoothing = "method1",
    epsilon: float = 0.1, exclude_self: bool = True,
) -> float | dict[int, float]:
    """Self-BLEU-n: the mean BLEU of each sample against the other samples (lower = more diverse).

    Equal to ``mean(sentence_bleu(samples[:i] + samples[i+1:], samples[i], ...))``; with ``exclude_self=False``
    the sample stays among its own references (Texygen's non-parallel code).
    """
    if len(samples) < 2:
        raise ValueError("Self-BLEU needs at least 2 samples.")
    orders = [n] if isinstance(n, int) else list(n)
    ref = BleuReference(samples, max(orders), keep_second=exclude_self)
    scores = {
        k: math.fsum(
            ref.sentence_bleu(s, k, smoothing=smoothing, epsilon=epsilon, exclude_self=exclude_self) for s in samples
        ) / len(samples)
        for k in orders
    }
    return scores[orders[0]] if isinstance(n, int) else scores
