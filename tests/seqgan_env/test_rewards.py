"""The batched rollout reward against a plain loop, rollout by rollout and prefix by prefix.

The loop below is written for clarity: one LSTM step per call, one rollout at a time, one discriminator call per
rollout. It shares the batched code's randomness by construction (a table of uniforms built the way each sampler
documents its stream), so the two must agree token for token; a scrambled batch/time/rollout layout (the
TextGAN-PyTorch issue #62 bug) must not.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from seqgan_env import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from seqgan_env.rewards import RolloutReward, keyed_uniform, rollout_keys, torch_rollout_keyed

V, T, N, B = 11, 6, 3, 4


@pytest.fixture()
def models() -> tuple[Generator, Discriminator]:
    g = Generator(GeneratorConfig(vocab_size=V, seq_len=T, emb_dim=8, hidden_dim=8), seed=3)
    g.reset_parameters(seed=3, std=0.8)  # peaked distributions, so a wrong stream shows
    cfg = DiscriminatorConfig.for_length(T, V, emb_dim=8)
    cfg = dataclasses.replace(cfg, num_filters=tuple(n // 20 for n in cfg.num_filters))
    d = Discriminator(cfg, seed=4)
    return g, d


def loop_rollout(g: Generator, prefix: list[int], length: int, uniform_at) -> list[int]:
    """Complete ``prefix[:length]`` to T tokens, one LSTM step per call; ``uniform_at(p)`` gives the draw at p."""
    w = g.weights()
    hdim = g.config.hidden_dim
    h, c = torch.zeros(1, hdim), torch.zeros(1, hdim)
    x = w.emb[g.config.start_token][None]

    def cell(x, h, c):
        gates = x @ w.w_ih.T + h @ w.w_hh.T + w.bias
        i, f, gg, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        return torch.sigmoid(o) * torch.tanh(c), c

    h, c = cell(x, h, c)
    out = list(prefix[:length])
    for tok in out:
        h, c = cell(w.emb[tok][None], h, c)
    for p in range(length, T):
        probs = torch.softmax((h @ w.w_out.T + w.b_out)[0], dim=-1)
        cdf = probs.cumsum(0)
        u = torch.as_tensor(uniform_at(p), dtype=torch.float32) * cdf[-1]  # float32, as the sampler does
        tok = min(int((cdf <= u).sum()), V - 1)  # first index whose cdf exceeds u
        out.append(tok)
        h, c = cell(w.emb[tok][None], h, c)
    return out


def torch_stream_table(starts: torch.Tensor, seed: int, offset: int) -> torch.Tensor:
    """U[r, p]: the uniform ``torch_rollout`` gives row r at position p (its documented consumption order)."""
    gen = torch.Generator().manual_seed((seed * 1_000_003 + offset) % (2**63))
    order = torch.argsort(starts, stable=True)
    table = torch.full((starts.shape[0], T), float("nan"))
    for p in range(int(starts.min()), T):
        k = int((starts <= p).sum())
        table[order[:k], p] = torch.rand(k, 1, generator=gen)[:, 0]
    return table


@torch.no_grad()
def test_q_values_match_plain_loop(models):
    g, d = models
    captured: list[torch.Tensor] = []

    def score(tokens: torch.Tensor) -> torch.Tensor:
        captured.append(tokens.clone())
        return d.prob_real(tokens)

    rf = RolloutReward(g, d, N, backend="torch", score_fn=score)
    seqs = g.sample(B, generator=torch.Generator().manual_seed(5))
    seed, offset = 17, 2
    q = rf.q_values(seqs, seed=seed, offset=offset)
    rolled = captured[0]  # (B*(T-1)*N, T), row (b*(T-1) + t-1)*N + n

    starts = torch.arange(1, T).repeat(B).repeat_interleave(N)
    table = torch_stream_table(starts, seed, offset)
    loop_q = torch.zeros(B, T)
    loop_rows = []
    for b in range(B):
        for t in range(1, T):
            scores = []
            for n in range(N):
                r = (b * (T - 1) + (t - 1)) * N + n
                y = loop_rollout(g, seqs[b].tolist(), t, lambda p, r=r: table[r, p])
                loop_rows.append(y)
                scores.append(float(d.prob_real(torch.tensor([y]))[0]))
            loop_q[b, t - 1] = sum(scores) / N
        loop_q[b, T - 1] = float(d.prob_real(seqs[b : b + 1])[0])

    assert torch.equal(rolled, torch.tensor(loop_rows)), "rollout tokens differ from the loop"
    torch.testing.assert_close(q, loop_q, rtol=0, atol=1e-5)
    # Negative control: the layout bug of a scrambled [N, T, B] view must be caught by the comparison above.
    flat = d.prob_real(rolled)
    scrambled = flat.view(N, T - 1, B).permute(2, 1, 0).mean(-1)
    assert not torch.allclose(scrambled, loop_q[:, :-1], atol=1e-3)


@torch.no_grad()
def test_prefix_values_row_seeds_match_loop_and_single_rows(models):
    g, d = models
    rf = RolloutReward(g, d, N, backend="torch")
    prefixes = g.sample(B + 1, generator=torch.Generator().manual_seed(9))
    lengths = torch.tensor([0, 2, 5, T, 1])
    seeds = torch.tensor([11, 2**40 + 3, 7, 99, 2**61 + 5])
    batched = rf.prefix_values(prefixes, lengths, row_seeds=seeds)
    singles = torch.cat(
        [rf.prefix_values(prefixes[i : i + 1], lengths[i : i + 1], row_seeds=seeds[i : i + 1]) for i in range(B + 1)]
    )
    torch.testing.assert_close(batched, singles, rtol=0, atol=1e-6)

    keys = rollout_keys(seeds, N)
    for i in range(B + 1):
        length = int(lengths[i])
        if length == T:
            want = float(d.prob_real(prefixes[i : i + 1])[0])
        else:
            ys = [
                loop_rollout(g, prefixes[i].tolist(), length, lambda p, k=keys[i * N + n]: keyed_uniform(k[None], p)[0])
                for n in range(N)
            ]
            want = float(d.prob_real(torch.tensor(ys)).mean())
        assert abs(float(batched[i]) - want) < 1e-5, (i, float(batched[i]), want)


@torch.no_grad()
def test_keyed_sampler_is_exact_in_distribution(models):
    """Chi-square test of the first sampled token against softmax(logits): 8,000 keyed draws from one prefix."""
    g, _ = models
    r = 8000
    tokens = torch.zeros(r, T, dtype=torch.long)
    starts = torch.zeros(r, dtype=torch.long)
    h, c = g.initial_state(r)
    out = torch_rollout_keyed(g.weights(), tokens, starts, h, c, keys=rollout_keys(torch.arange(r), 1))
    w = g.weights()
    probs = torch.softmax(h[0] @ w.w_out.T + w.b_out, -1).double()
    counts = torch.bincount(out[:, 0], minlength=V).double()
    expected = probs * r
    keep = expected >= 5
    stat = float((((counts - expected) ** 2 / expected)[keep]).sum())
    df = int(keep.sum()) - 1
    assert df >= 3
    # 99.9% chi-square quantiles (df 3..10); a biased or correlated sampler lands far above.
    crit = {3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32, 8: 26.12, 9: 27.88, 10: 29.59}[df]
    assert stat < crit, (stat, df)
    # Different keys give different streams; the same key the same one.
    u1, u2 = keyed_uniform(torch.tensor([5, 6]), 3), keyed_uniform(torch.tensor([5, 6]), 3)
    assert torch.equal(u1, u2) and u1[0] != u1[1]


def test_prefix_values_needs_exactly_one_stream(models):
    g, d = models
    rf = RolloutReward(g, d, N, backend="torch")
    x = torch.zeros(2, T, dtype=torch.long)
    with pytest.raises(ValueError, match="exactly one"):
        rf.prefix_values(x, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="exactly one"):
        rf.prefix_values(x, torch.tensor([1, 2]), seed=1, row_seeds=[1, 2])
    with pytest.raises(ValueError, match="one seed per row"):
        rf.prefix_values(x, torch.tensor([1, 2]), row_seeds=[1, 2, 3])
