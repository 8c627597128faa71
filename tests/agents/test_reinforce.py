import copy

import pytest
import torch

from seqgan_env.agents import GeneratorAgent, ReinforceAgent, ReinforceConfig
from seqgan_env.config import DiscriminatorConfig, GeneratorConfig
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator
from seqgan_env.rewards import RolloutReward
from seqgan_env.updates import NonFiniteLossError

V, T = 30, 6


def make_models(seed: int = 0) -> tuple[Generator, Discriminator]:
    g = Generator(GeneratorConfig(vocab_size=V, seq_len=T, init_std=0.5), seed=seed)
    dcfg = DiscriminatorConfig.for_length(T, vocab_size=V)
    dcfg = DiscriminatorConfig(vocab_size=V, seq_len=T, filter_sizes=dcfg.filter_sizes,
                               num_filters=tuple(max(1, n // 20) for n in dcfg.num_filters))
    d = Discriminator(dcfg, seed=seed + 1)
    with torch.no_grad():  # a fixed, opinionated D: scores of G's samples spread around 0.5 (std ~0.35)
        d.out.weight.mul_(10.0)
        logits = d(g.sample(2048, generator=torch.Generator().manual_seed(9)))
        d.out.bias[1] -= (logits[:, 1] - logits[:, 0]).median()
    return g.requires_grad_(True), d.requires_grad_(False)


def test_agent_implements_protocol():
    g, _ = make_models()
    assert isinstance(ReinforceAgent(g), GeneratorAgent)


def test_defaults_are_the_papers():
    c = ReinforceConfig()
    assert (c.lr, c.grad_clip, c.batch_size, c.num_rollouts) == (0.01, 5.0, 64, 16)
    assert (c.baseline, c.rollout_policy, c.loss_reduction, c.update_rate) == ("none", "current", "sum", 0.8)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("baseline", ["none", "mean"])
def test_loss_is_the_reference_formula(reduction, baseline):
    g, _ = make_models()
    agent = ReinforceAgent(g, ReinforceConfig(loss_reduction=reduction, baseline=baseline))
    tokens = torch.randint(0, V, (5, T), generator=torch.Generator().manual_seed(1))
    q = torch.rand(5, T, generator=torch.Generator().manual_seed(2))
    # independent computation: log-softmax of the teacher-forced logits, picked by hand
    logits = g(tokens)
    logp = torch.stack([torch.log_softmax(logits[b, t], -1)[tokens[b, t]] for b in range(5) for t in range(T)])
    adv = q - q.mean(0, keepdim=True) if baseline == "mean" else q
    want = -(logp.view(5, T) * adv).sum()
    if reduction == "mean":
        want = want / (5 * T)
    torch.testing.assert_close(agent.loss(tokens, q), want)


def test_loss_rejects_bad_shapes():
    g, _ = make_models()
    agent = ReinforceAgent(g)
    with pytest.raises(ValueError, match="rewards has shape"):
        agent.loss(torch.zeros(2, T, dtype=torch.long), torch.zeros(2, T - 1))
    with pytest.raises(ValueError):
        ReinforceConfig(baseline="critic")  # type: ignore[arg-type]


def mean_score(g: Generator, d: Discriminator, n: int = 4096) -> float:
    return float(d.prob_real(g.sample(n, generator=torch.Generator().manual_seed(123))).mean())


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_one_step_moves_mean_discriminator_score(sign):
    """One REINFORCE step raises the mean D of fresh samples; the negated loss lowers it (so the check can fail)."""
    g, d = make_models()
    agent = ReinforceAgent(g, ReinforceConfig(lr=0.05, batch_size=256, num_rollouts=4, backend="torch"))
    if sign < 0:
        plain = agent.loss
        agent.loss = lambda tokens, rewards, **kw: -plain(tokens, rewards, **kw)  # type: ignore[method-assign]
    before = mean_score(g, d)
    m = agent.generator_step(agent.make_rollout_reward(d), torch.Generator().manual_seed(0))
    after = mean_score(g, d)
    assert 0.0 < m["g_reward"] < 1.0 and agent.steps == 1
    assert sign * (after - before) > 0.03, (before, after)


def test_update_on_collected_batch_and_nan_stops():
    g, _ = make_models()
    agent = ReinforceAgent(g)
    tokens = torch.randint(0, V, (4, T))
    before = copy.deepcopy(g.state_dict())
    agent.update(tokens, torch.rand(4, T))
    assert any(not torch.equal(before[k], v) for k, v in g.state_dict().items())
    snap = copy.deepcopy(g.state_dict())
    q = torch.rand(4, T)
    q[1, 2] = float("nan")
    with pytest.raises(NonFiniteLossError, match="policy-gradient loss"):
        agent.update(tokens, q)
    assert all(torch.equal(snap[k], v) for k, v in g.state_dict().items())  # no step taken


def test_delayed_rollout_policy_moves_with_rate():
    g, d = make_models()
    agent = ReinforceAgent(g, ReinforceConfig(rollout_policy="delayed", num_rollouts=2, backend="torch"))
    rf = agent.make_rollout_reward(d)
    beta0 = copy.deepcopy(rf.rollout_generator.state_dict())
    agent.generator_step(rf, torch.Generator().manual_seed(0))
    theta = g.state_dict()
    for k, v in rf.rollout_generator.state_dict().items():  # the embeddings are the live ones (reference ROLLOUT)
        torch.testing.assert_close(v, theta[k] if k == "embedding.weight" else 0.8 * beta0[k] + 0.2 * theta[k])
    assert RolloutReward(g, d, 2, backend="torch").rollout_generator is g


def test_state_dict_round_trip_continues_identically():
    g, d = make_models()
    a = ReinforceAgent(g, ReinforceConfig(num_rollouts=2, batch_size=8, backend="torch"))
    a.generator_step(a.make_rollout_reward(d), torch.Generator().manual_seed(0))
    g2, _ = make_models(seed=5)
    b = ReinforceAgent(g2, a.config)
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    for agent in (a, b):
        agent.generator_step(agent.make_rollout_reward(d), torch.Generator().manual_seed(1))
    for k, v in a.generator.state_dict().items():
        assert torch.equal(v, b.generator.state_dict()[k])
    with pytest.raises(ValueError, match="differs"):
        ReinforceAgent(g2, ReinforceConfig(lr=0.5)).load_state_dict(a.state_dict())


def test_vector_env_experience_feeds_the_same_update():
    """Episodes from SeqGANVectorEnv in mode "mc" give (B, T) tokens/rewards; the last reward is D(Y)."""
    pytest.importorskip("gymnasium")
    from seqgan_env.env import SeqGANVectorEnv

    g, d = make_models()
    envs = SeqGANVectorEnv(num_envs=5, generator=g, discriminator=d, num_rollouts=2, reward_mode="mc",
                           reward_backend="torch", seed=0)
    agent = ReinforceAgent(g, ReinforceConfig(num_rollouts=2, backend="torch"))
    tokens, rewards = agent.collect_from_vector_env(envs, torch.Generator().manual_seed(0), seed=3)
    assert tokens.shape == rewards.shape == (5, T)
    assert ((rewards >= 0) & (rewards <= 1)).all()
    torch.testing.assert_close(rewards[:, -1], d.prob_real(tokens), atol=1e-5, rtol=1e-4)
    before = g.out.weight.clone()
    m = agent.update(tokens, rewards)
    assert m["g_reward"] == pytest.approx(float(rewards.mean()))
    assert not torch.equal(before, g.out.weight)


@pytest.mark.parametrize("mode", ["shaped", "terminal"])
def test_vector_env_experience_must_be_mc(mode):
    """The paper's loss multiplies log-probs by Q_t: shaped or terminal rewards would give a wrong gradient."""
    pytest.importorskip("gymnasium")
    from seqgan_env.env import SeqGANVectorEnv

    g, d = make_models()
    envs = SeqGANVectorEnv(num_envs=2, generator=g, discriminator=d, num_rollouts=2, reward_mode=mode,
                           reward_backend="torch", seed=0)
    agent = ReinforceAgent(g, ReinforceConfig(num_rollouts=2, backend="torch"))
    with pytest.raises(ValueError, match=f"reward_mode='{mode}'"):
        agent.collect_from_vector_env(envs, torch.Generator().manual_seed(0))


def test_constant_reward_ablation_replaces_the_discriminator():
    g, d = make_models()
    agent = ReinforceAgent(g, ReinforceConfig(num_rollouts=2, backend="torch", reward_source="constant",
                                              constant_reward=0.25))
    rollout_reward = agent.make_rollout_reward(d)
    q = rollout_reward.q_values(g.sample(3, generator=torch.Generator().manual_seed(0)), seed=0)
    assert torch.equal(q, torch.full_like(q, 0.25))
    paper = ReinforceAgent(g, ReinforceConfig(num_rollouts=2, backend="torch")).make_rollout_reward(d)
    assert not torch.equal(paper.q_values(g.sample(3), seed=0), torch.full_like(q, 0.25))
    with pytest.raises(ValueError, match="reward_source='oracle'"):
        ReinforceConfig(reward_source="oracle")  # type: ignore[arg-type]
