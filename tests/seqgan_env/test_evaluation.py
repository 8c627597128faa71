import math

import pytest
import torch

from seqgan_env.config import GeneratorConfig
from seqgan_env.evaluation import nll_oracle, nll_test, sequence_nll
from seqgan_env.generator import Generator

CFG = GeneratorConfig(vocab_size=6, emb_dim=4, hidden_dim=4, seq_len=3, init_std=1.0)


def test_sequence_nll_is_mean_per_token_negative_log_likelihood():
    g = Generator(CFG, seed=0)
    tokens = torch.randint(0, 6, (10, 3))
    expected = float(-g.log_probs(tokens).detach().double().sum()) / 30
    assert math.isclose(sequence_nll(g, tokens, batch_size=4), expected, rel_tol=1e-6)
    assert math.isclose(nll_test(g, tokens), expected, rel_tol=1e-6)


def test_nll_oracle_equals_cross_entropy_in_expectation():
    """NLL-oracle of G's own samples under G is G's entropy rate: compare with the exact value over all 6^3."""
    g = Generator(CFG, seed=1)
    seqs = torch.cartesian_prod(*[torch.arange(6)] * 3)
    logp = g.log_probs(seqs).sum(1).double().detach()
    entropy_per_token = float(-(logp.exp() * logp).sum()) / 3
    value = nll_oracle(g, g, num_samples=20_000, seed=0)
    assert abs(value - entropy_per_token) < 0.02, (value, entropy_per_token)
    assert nll_oracle(g, g, num_samples=500, seed=3) == nll_oracle(g, g, num_samples=500, seed=3)


def test_empty_input_raises():
    with pytest.raises(ValueError, match="no tokens"):
        sequence_nll(Generator(CFG), torch.empty(0, 3, dtype=torch.long))


# --- the sampling distribution at a temperature / nucleus, and the quality-diversity sweep -------------------

from seqgan_env.evaluation import (  # noqa: E402
    nll_test_stats,
    quality_diversity,
    sampling_log_probs,
)


@pytest.mark.parametrize("temperature,top_p", [(0.6, 1.0), (1.5, 1.0), (1.0, 0.7), (0.8, 0.5)])
def test_sampling_log_probs_match_the_sampler_frequencies(temperature, top_p):
    """exp(sampling_log_probs) at the first position is the distribution Generator.sample draws from: compare
    with the empirical frequencies of 40,000 samples (and no sampled token is ever outside the nucleus)."""
    g = Generator(CFG, seed=4)
    n = 40_000
    samples = g.sample(n, seed=11, temperature=temperature, top_p=top_p)
    freq = torch.bincount(samples[:, 0], minlength=6).double() / n
    probe = torch.stack([torch.full((3,), v) for v in range(6)])  # every first token, any continuation
    with torch.no_grad():
        lp, outside = sampling_log_probs(g, probe, temperature=temperature, top_p=top_p, epsilon=0.0)
    p = lp[:, 0].double().exp()
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-5)
    assert float((freq - p).abs().max()) < 0.01, (freq, p)
    assert bool((freq[outside[:, 0]] == 0).all())  # tokens outside the nucleus are never sampled
    with torch.no_grad():
        _, out_s = sampling_log_probs(g, samples[:2000], temperature=temperature, top_p=top_p)
    assert not bool(out_s.any())


def test_nucleus_mixture_is_a_distribution_and_counts_outside_tokens():
    g = Generator(CFG, seed=5)
    probe = torch.stack([torch.full((3,), v) for v in range(6)])
    with torch.no_grad():
        mixed, outside = sampling_log_probs(g, probe, temperature=1.0, top_p=0.4, epsilon=0.01)
        exact, _ = sampling_log_probs(g, probe, temperature=1.0, top_p=0.4, epsilon=0.0)
        full, none = sampling_log_probs(g, probe)
    assert math.isclose(float(mixed[:, 0].double().exp().sum()), 1.0, rel_tol=1e-5)
    assert bool(outside[:, 0].any()) and not bool(none.any())
    assert bool(torch.isneginf(exact[:, 0][outside[:, 0]]).all())
    expected = torch.log(0.99 * exact[:, 0].exp() + 0.01 * full[:, 0].exp())
    torch.testing.assert_close(mixed[:, 0], expected, rtol=1e-5, atol=1e-6)
    stats = nll_test_stats(g, probe, top_p=0.4, epsilon=0.01)
    assert stats["outside_nucleus"] == float(outside.double().mean())
    assert math.isclose(stats["nll_test"], float(-mixed.double().mean()), rel_tol=1e-6)


def test_temperature_one_is_plain_nll_and_bad_settings_are_refused():
    g = Generator(CFG, seed=6)
    tokens = torch.randint(0, 6, (20, 3), generator=torch.Generator().manual_seed(0))
    assert math.isclose(nll_test(g, tokens, temperature=1.0), sequence_nll(g, tokens), rel_tol=1e-9)
    assert nll_test(g, tokens, temperature=0.5) != nll_test(g, tokens)
    for bad in ({"temperature": 0.0}, {"temperature": float("nan")}, {"top_p": 0.0}, {"top_p": 1.5}):
        with pytest.raises(ValueError, match="temperature|top_p"):
            nll_test(g, tokens, **bad)


def test_quality_diversity_sweeps_temperature_then_top_p_on_one_stream():
    oracle = Generator(CFG, seed=1)
    g = Generator(CFG, seed=2)
    test_data = oracle.sample(300, seed=5)
    recs = quality_diversity(g, oracle, test_data, temperatures=[0.5, 1.0, 2.0], top_ps=[0.6], num_samples=2_000,
                             seed=3)
    assert [(r["sweep"], r["temperature"], r["top_p"]) for r in recs] == [
        ("temperature", 0.5, 1.0), ("temperature", 1.0, 1.0), ("temperature", 2.0, 1.0), ("top_p", 1.0, 0.6)]
    assert recs[1]["nll_oracle"] == nll_oracle(g, oracle, num_samples=2_000, seed=3)
    assert recs[1]["nll_test"] == pytest.approx(nll_test(g, test_data), rel=1e-9)
    assert recs[3]["outside_nucleus"] > 0
    # a cold G is more typical of itself: its samples sit where it puts mass, so on held-out data it is worse
    assert recs[0]["nll_test"] > recs[1]["nll_test"]
    with pytest.raises(ValueError, match="at least one"):
        quality_diversity(g, oracle, test_data, temperatures=[])


def test_one_pass_sweep_equals_each_setting_alone():
    from seqgan_env.evaluation import nll_test_sweep

    oracle = Generator(CFG, seed=1)
    g = Generator(CFG, seed=2)
    data = oracle.sample(300, seed=5)
    temps, tops = [0.5, 1.0, 1.7], [0.3, 0.6, 0.95]
    swept = nll_test_sweep(g, data, temperatures=temps, top_ps=tops, batch_size=64)
    alone = [nll_test_stats(g, data, temperature=t) for t in temps] + [nll_test_stats(g, data, top_p=q) for q in tops]
    for a, b in zip(swept, alone):
        assert a["outside_nucleus"] == b["outside_nucleus"]
        assert a["nll_test"] == pytest.approx(b["nll_test"], rel=1e-6)
    assert swept[1]["nll_test"] == pytest.approx(nll_test(g, data), rel=1e-12)
    assert swept[3]["outside_nucleus"] > swept[5]["outside_nucleus"] > 0
