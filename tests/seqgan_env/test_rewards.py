"""The batched rollout reward against a plain loop, rollout by rollout and prefix by prefix.

The loop below is written for clarity: one LSTM step per call, one rollout at a time, one discriminator call per
rollout. It shares the batched code's randomness by construction (each draw is the documented keyed sampler at
(row seed, rollout index, prefix length, position)), so the two must agree token for token; a scrambled
batch/time/rollout layout (the TextGAN-PyTorch issue #62 bug) must not.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from seqgan_env import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from seqgan_env.kernels import KernelResourceError, NonFiniteError, derive_seeds, sample_next
from seqgan_env.rewards import RolloutReward

V, T, N, B = 11, 6, 3, 4


@pytest.fixture()
def models() -> tuple[Generator, Discriminator]:
    g = Generator(GeneratorConfig(vocab_size=V, seq_len=T, emb_dim=8, hidden_dim=8), seed=3)
    g.reset_parameters(seed=3, std=0.8)  # peaked distributions, so a wrong stream shows
    cfg = DiscriminatorConfig.for_length(T, V, emb_dim=8)
    cfg = dataclasses.replace(cfg, num_filters=tuple(n // 20 for n in cfg.num_filters))
    d = Discriminator(cfg, seed=4)
    return g, d


def loop_rollout(g: Generator, prefix: list[int], length: int, seed: int, n: int) -> list[int]:
    """Complete ``prefix[:length]`` to T tokens, one LSTM step per call; rollout ``n`` of a row keyed by ``seed``."""
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
        logits = h @ w.w_out.T + w.b_out
        tok = int(sample_next(logits, torch.tensor([seed]), position=p, rollout_ids=torch.tensor([n]),
                              starts=torch.tensor([length]))[0])
        out.append(tok)
        h, c = cell(w.emb[tok][None], h, c)
    return out


@torch.no_grad()
def test_q_values_match_plain_loop(models):
    g, d = models
    captured: list[torch.Tensor] = []

    def score(tokens: torch.Tensor) -> torch.Tensor:
        captured.append(tokens.clone())
        return d.prob_real(tokens)

    rf = RolloutReward(g, d, N, backend="torch", score_fn=score)
    seeds = derive_seeds(17, torch.arange(B))
    seqs = g.sample(B, row_seeds=seeds)
    q = rf.q_values(seqs, row_seeds=seeds)
    rolled = captured[0]  # (B*(T-1)*N, T), row (b*(T-1) + t-1)*N + n

    loop_q = torch.zeros(B, T)
    loop_rows = []
    for b in range(B):
        for t in range(1, T):
            scores = []
            for n in range(N):
                y = loop_rollout(g, seqs[b].tolist(), t, int(seeds[b]), n)
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
    # seed= stands for per-row seeds derived from it
    assert torch.equal(rf.q_values(seqs, seed=17), q)


@torch.no_grad()
def test_prefix_values_row_seeds_match_loop_and_single_rows(models):
    g, d = models
    rf = RolloutReward(g, d, N, backend="torch")
    prefixes = g.sample(B + 1, seed=9)
    lengths = torch.tensor([0, 2, 5, T, 1])
    seeds = torch.tensor([11, 2**40 + 3, 7, 99, 2**61 + 5])
    batched = rf.prefix_values(prefixes, lengths, row_seeds=seeds)
    singles = torch.cat(
        [rf.prefix_values(prefixes[i : i + 1], lengths[i : i + 1], row_seeds=seeds[i : i + 1]) for i in range(B + 1)]
    )
    torch.testing.assert_close(batched, singles, rtol=0, atol=1e-6)

    for i in range(B + 1):
        length = int(lengths[i])
        if length == T:
            want = float(d.prob_real(prefixes[i : i + 1])[0])
        else:
            ys = [loop_rollout(g, prefixes[i].tolist(), length, int(seeds[i]), n) for n in range(N)]
            want = float(d.prob_real(torch.tensor(ys)).mean())
        assert abs(float(batched[i]) - want) < 1e-5, (i, float(batched[i]), want)


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
    with pytest.raises(ValueError, match="exactly one"):
        rf.q_values(x)


def test_nan_in_discriminator_or_generator_is_an_error(models):
    """A NaN anywhere is raised where it enters the reward, never paid as a reward or sampled as token 0."""
    g, d = models
    x = g.sample(2, seed=0)
    with torch.no_grad():
        d.out.bias[1] = float("nan")
    with pytest.raises(NonFiniteError, match="discriminator returned non-finite"):
        RolloutReward(g, d, N, backend="torch").q_values(x, seed=1)
    with pytest.raises(NonFiniteError, match="score_fn"):
        RolloutReward(g, d, N, score_fn=lambda y: torch.full((y.shape[0],), float("inf"))).q_values(x, seed=1)
    g2, d2 = Generator(g.config, seed=1), Discriminator(d.config, seed=1)
    with torch.no_grad():
        g2.out.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="w_out"):
        RolloutReward(g2, d2, N).q_values(x, seed=1)


def test_backend_is_reported_and_never_silently_replaced(models, monkeypatch: pytest.MonkeyPatch):
    g, d = models
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert RolloutReward(g, d, N).backend == "torch"  # auto on CPU
    with pytest.raises(ValueError, match="CUDA"):
        RolloutReward(g, d, N, backend="triton")
    with pytest.raises(ValueError, match="backend"):
        RolloutReward(g, d, N, backend="fast")
    # A kernel that cannot launch: "auto" falls back with a warning and says so in .backend.
    import seqgan_env.rewards as rewards_mod

    def no_room(*args, **kwargs):
        raise KernelResourceError("needs 300000 bytes of shared memory")

    monkeypatch.setattr(rewards_mod, "triton_rollout", no_room)
    rf = RolloutReward(g, d, N)
    rf.backend = "triton"  # as resolved on a GPU
    x = g.sample(2, seed=0)
    with pytest.warns(UserWarning, match="cannot launch"):
        q = rf.q_values(x, seed=1)
    assert rf.backend == "torch"
    assert torch.equal(q, RolloutReward(g, d, N, backend="torch").q_values(x, seed=1))
    rf.backend, rf.requested_backend = "triton", "triton"
    with pytest.raises(ValueError, match="shared memory"):
        rf.q_values(x, seed=1)


def test_delayed_rollout_policy(models):
    g, d = models
    rf = RolloutReward(g, d, N, rollout_policy="delayed", update_rate=0.5)
    assert rf.rollout_generator is not g
    before = rf.rollout_generator.out.weight.detach().clone()
    with torch.no_grad():
        g.out.weight.add_(1.0)
    rf.update_rollout_policy()
    torch.testing.assert_close(rf.rollout_generator.out.weight, before + 0.5)
    with torch.no_grad():  # the embeddings are the live ones, as the reference's ROLLOUT (tf.identity), not mixed
        g.embedding.weight.add_(1.0)
    rf.update_rollout_policy()
    torch.testing.assert_close(rf.rollout_generator.embedding.weight, g.embedding.weight, rtol=0, atol=0)
    torch.testing.assert_close(rf.rollout_generator.out.weight, before + 0.75)
