import math

import pytest
import torch

from seqgan_env.config import GeneratorConfig
from seqgan_env.generator import Generator, check_tokens, lstm_cell
from seqgan_env.kernels import derive_seeds

SMALL = GeneratorConfig(vocab_size=37, emb_dim=8, hidden_dim=12, seq_len=6)


def test_paper_defaults_and_init():
    cfg = GeneratorConfig()
    assert (cfg.vocab_size, cfg.emb_dim, cfg.hidden_dim, cfg.seq_len, cfg.start_token) == (5000, 32, 32, 20, 0)
    g = Generator(seed=0)
    w = g.embedding.weight.detach()
    assert abs(float(w.std()) - 0.1) < 0.005 and abs(float(w.mean())) < 0.005
    assert torch.count_nonzero(g.lstm.bias_hh_l0) == 0
    assert not g.lstm.bias_hh_l0.requires_grad
    assert all(p.requires_grad for p in g.trainable_parameters())
    assert len(g.trainable_parameters()) == len(list(g.parameters())) - 1


def test_seeded_init_is_reproducible():
    a, b = Generator(SMALL, seed=3), Generator(SMALL, seed=3)
    c = Generator(SMALL, seed=4)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
        assert pa.numel() == 0 or not torch.equal(pa, pc) or not pa.any()


def test_log_probs_match_manual_stepping():
    g = Generator(SMALL, seed=1)
    tokens = torch.randint(0, SMALL.vocab_size, (5, SMALL.seq_len))
    lp = g.log_probs(tokens)
    assert lp.shape == (5, SMALL.seq_len)
    w = g.weights()
    h, c = g.initial_state(5)
    manual = []
    for t in range(SMALL.seq_len):
        logp = torch.log_softmax(h @ w.w_out.T + w.b_out, -1)
        manual.append(logp.gather(1, tokens[:, t : t + 1]).squeeze(1))
        h, c = lstm_cell(w.emb[tokens[:, t]], h, c, w.w_ih, w.w_hh, w.bias)
    torch.testing.assert_close(lp, torch.stack(manual, 1), rtol=1e-5, atol=1e-5)
    assert torch.isclose(g.nll(tokens), -lp.mean(), atol=1e-5)


def test_prefix_states_index_convention():
    g = Generator(SMALL, seed=2)
    tokens = torch.randint(0, SMALL.vocab_size, (3, SMALL.seq_len))
    h, c = g.prefix_states(tokens)
    assert h.shape == (3, SMALL.seq_len + 1, SMALL.hidden_dim)
    # index t gives the distribution of y_{t+1}: compare with teacher-forced logits
    logits = g(tokens)
    w = g.weights()
    torch.testing.assert_close(h[:, :-1] @ w.w_out.T + w.b_out, logits, rtol=1e-4, atol=1e-5)


def test_sample_continues_prefix():
    g = Generator(SMALL, seed=0)
    prefix = torch.randint(0, SMALL.vocab_size, (4, 3))
    gen = torch.Generator().manual_seed(0)
    out = g.sample(4, prefix=prefix, generator=gen)
    assert out.shape == (4, SMALL.seq_len) and out.dtype == torch.long
    assert torch.equal(out[:, :3], prefix)
    again = g.sample(4, prefix=prefix, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert int(out.min()) >= 0 and int(out.max()) < SMALL.vocab_size


def test_sample_rows_are_keyed_by_their_seeds():
    """One sampler, one seed per row: a batch equals its rows sampled one at a time, chunking changes nothing, and
    ``seed=`` is ``row_seeds=derive_seeds(seed, arange(B))``."""
    g = Generator(SMALL, seed=0)
    seeds = derive_seeds(11, torch.arange(5))
    batch = g.sample(5, row_seeds=seeds)
    for i in range(5):
        assert torch.equal(g.sample(1, row_seeds=seeds[i : i + 1])[0], batch[i])
    assert torch.equal(g.sample(5, seed=11), batch)
    assert torch.equal(g.sample_batches(5, 2, seed=11), batch)
    assert not torch.equal(g.sample(5, seed=12), batch)
    with pytest.raises(ValueError, match="at most one"):
        g.sample(2, seed=1, generator=torch.Generator())
    with pytest.raises(ValueError, match="one seed per row"):
        g.sample(2, row_seeds=seeds)


def test_temperature_and_top_p():
    """Temperature sharpens or flattens the sampled distribution; top-p keeps only the nucleus."""
    cfg = GeneratorConfig(vocab_size=6, emb_dim=3, hidden_dim=3, seq_len=1, init_std=1.0)
    g = Generator(cfg, seed=5)
    h, _ = g.initial_state(1)
    w = g.weights()
    logits = (h @ w.w_out.T + w.b_out)[0].detach().double()
    n = 30_000
    for tau in (0.5, 2.0):
        draws = g.sample(n, seed=3, temperature=tau)[:, 0]
        counts = torch.bincount(draws, minlength=6).double()
        for target, ok in ((torch.softmax(logits / tau, -1), True), (torch.softmax(logits, -1), False)):
            expected = target * n
            chi2 = float(((counts - expected) ** 2 / expected).sum())
            assert (chi2 < 20.52) == ok, (tau, chi2)  # 5 dof, p = 0.001
    probs = torch.softmax(logits, -1)
    order = torch.argsort(probs, descending=True)
    p = float(probs[order[:2]].sum()) - 1e-6  # a nucleus of exactly the two most likely tokens
    draws = g.sample(n, seed=4, top_p=p)[:, 0]
    assert set(draws.unique().tolist()) == set(order[:2].tolist())
    kept = probs[order[:2]] / probs[order[:2]].sum()
    frac = float((draws == order[0]).double().mean())
    assert abs(frac - float(kept[0])) < 0.02
    with pytest.raises(ValueError, match="temperature"):
        g.sample(2, temperature=0.0)
    with pytest.raises(ValueError, match="top_p"):
        g.sample(2, top_p=0.0)


def test_sampling_matches_model_probabilities():
    cfg = GeneratorConfig(vocab_size=4, emb_dim=3, hidden_dim=3, seq_len=2, init_std=1.0)
    g = Generator(cfg, seed=5)
    n = 20_000
    samples = g.sample(n, generator=torch.Generator().manual_seed(1))
    idx = samples[:, 0] * 4 + samples[:, 1]
    counts = torch.bincount(idx, minlength=16).double()
    all_seqs = torch.tensor([[a, b] for a in range(4) for b in range(4)])
    p = g.log_probs(all_seqs).sum(1).exp().double().detach()
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-5)
    expected = p * n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 37.7  # 15 dof, p = 0.001


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(4, dtype=torch.long), "shape"),
        (torch.zeros(2, 6), "dtype"),
        (torch.full((2, 6), 37), "outside"),
        (torch.full((2, 6), -1), "outside"),
    ],
)
def test_bad_tokens_raise(bad, match):
    g = Generator(SMALL, seed=0)
    with pytest.raises(ValueError, match=match):
        g.log_probs(bad)


def test_check_tokens_length():
    with pytest.raises(ValueError, match="length 3"):
        check_tokens(torch.zeros(2, 3, dtype=torch.long), 10, seq_len=4)


def test_config_validation():
    with pytest.raises(ValueError, match="start_token"):
        GeneratorConfig(vocab_size=10, start_token=10)
    with pytest.raises(ValueError, match="vocab_size"):
        GeneratorConfig(vocab_size=0)
