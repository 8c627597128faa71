import random
import warnings

import pytest

from seqgan_env.text.bleu import BleuReference, bleu, self_bleu

try:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
except ImportError:  # the comparisons need NLTK (the dev extra); the hand-computed checks below do not
    sentence_bleu = None

needs_nltk = pytest.mark.skipif(sentence_bleu is None, reason="nltk not installed (pip install nltk)")
SMOOTH = {"method1": SmoothingFunction().method1, None: None} if sentence_bleu is not None else {}


def nltk_bleu(hyps, refs, n, smoothing):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # method0 warns on zero counts
        w = (1 / n,) * n
        return sum(sentence_bleu(refs, h, w, smoothing_function=SMOOTH[smoothing]) for h in hyps) / len(hyps)


def nltk_self_bleu(samples, n, smoothing):
    return sum(nltk_bleu([s], samples[:i] + samples[i + 1 :], n, smoothing) for i, s in enumerate(samples)) / len(
        samples
    )


REFS = [
    "the cat is on the mat".split(),
    "there is a cat on the mat".split(),
    "a dog sat on the log by the mat".split(),
    "the".split(),
]
EDGE_HYPS = [
    "the cat is on the mat".split(),  # exact match
    "the the the the the the the".split(),  # clipping
    "cat".split(),  # shorter than the bigram order: zero higher-order counts, brevity penalty
    [],  # empty hypothesis: BLEU 0
    "zebra quagga okapi".split(),  # no unigram match: BLEU 0
    "on the mat the cat".split(),  # brevity penalty against the closest length
    "a dog sat on the log by the mat and the cat".split(),  # longer than every reference: no penalty
    "the mat".split(),  # closest reference length 1 < 2: no penalty
    "the cat sat on the mat by the".split(),  # 8 words: references of 7 and 9 tie -> the shorter (7) is used
]


@needs_nltk
@pytest.mark.parametrize("smoothing", ["method1", None])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_matches_nltk_on_edge_cases(n, smoothing):
    for h in EDGE_HYPS:
        assert bleu([h], REFS, n, smoothing=smoothing) == pytest.approx(nltk_bleu([h], REFS, n, smoothing), abs=1e-9)
    assert bleu(EDGE_HYPS, REFS, n, smoothing=smoothing) == pytest.approx(
        nltk_bleu(EDGE_HYPS, REFS, n, smoothing), abs=1e-9
    )


def test_edge_values_are_what_bleu_defines():
    table = BleuReference(REFS, 2)
    assert table.closest_length(8) == 7 and table.closest_length(2) == 1 and table.closest_length(20) == 9
    assert bleu([REFS[0]], REFS, 4) == pytest.approx(1.0)
    assert bleu([[]], REFS, 2) == 0.0
    assert bleu([["zebra"]], REFS, 2) == 0.0
    # "cat": unigram precision 1, bigram smoothed 0.1/1, closest reference length 1 -> no penalty
    assert bleu([["cat"]], REFS, 2) == pytest.approx(0.1**0.5)


@needs_nltk
@pytest.mark.parametrize("smoothing", ["method1", None])
def test_random_cases_match_nltk_including_self_bleu(smoothing):
    rng = random.Random(7)
    for _ in range(25):
        vocab = rng.choice([2, 4, 12])
        refs = [[rng.randrange(vocab) for _ in range(rng.randrange(1, 10))] for _ in range(rng.randrange(2, 7))]
        hyps = [[rng.randrange(vocab) for _ in range(rng.randrange(0, 10))] for _ in range(4)]
        for n in (2, 3, 4):
            assert bleu(hyps, refs, n, smoothing=smoothing) == pytest.approx(
                nltk_bleu(hyps, refs, n, smoothing), abs=1e-9
            )
            assert self_bleu(refs, n, smoothing=smoothing) == pytest.approx(
                nltk_self_bleu(refs, n, smoothing), abs=1e-9
            )


def test_self_bleu_leaves_the_sample_out():
    samples = [["a", "b", "c"], ["a", "b", "c"], ["x", "y", "z"]]
    # samples 0 and 1 match each other exactly (BLEU 1); "x y z" has no unigram match (0)
    assert self_bleu(samples, 2) == pytest.approx(2 / 3, abs=1e-12)
    assert self_bleu(samples, 2, exclude_self=False) == pytest.approx(1.0)  # Texygen's in-sample variant
    assert self_bleu([["a", "b"], ["a", "b"]], 2) == pytest.approx(1.0)


def test_several_orders_at_once_and_errors():
    scores = bleu(EDGE_HYPS, REFS, (2, 3, 4))
    assert set(scores) == {2, 3, 4} and scores[2] == pytest.approx(bleu(EDGE_HYPS, REFS, 2))
    with pytest.raises(ValueError):
        bleu([["a"]], [], 2)
    with pytest.raises(ValueError, match="max_n"):
        BleuReference(REFS, 2).sentence_bleu(["a"], 3)
    with pytest.raises(ValueError, match="smoothing"):
        bleu([["the"]], REFS, 2, smoothing="method7")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keep_second"):
        BleuReference(REFS, 2).sentence_bleu(["a"], 2, exclude_self=True)


@needs_nltk
def test_cost_does_not_scale_with_references():
    """One table, then each hypothesis costs O(its length): 200 hypotheses against 5,000 references is quick."""
    import time

    rng = random.Random(0)
    refs = [[rng.randrange(300) for _ in range(20)] for _ in range(5000)]
    hyps = [[rng.randrange(300) for _ in range(20)] for _ in range(200)]
    table = BleuReference(refs, 4)
    t0 = time.perf_counter()
    table.bleu(hyps, 4)
    assert time.perf_counter() - t0 < 1.0
    assert table.sentence_bleu(hyps[0], 4) == pytest.approx(nltk_bleu(hyps[:1], refs, 4, "method1"), abs=1e-9)
