import math

import pytest
import torch

from seqgan_env.config import GeneratorConfig
from seqgan_env.generator import Generator
from seqgan_env.metrics import nll_oracle, nll_test, sequence_nll

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
