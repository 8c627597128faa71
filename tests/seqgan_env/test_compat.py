"""Renamed names keep working for one release, with a DeprecationWarning that names the new one."""

from __future__ import annotations

import importlib
import sys

import pytest
import torch

from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ScheduleConfig
from seqgan_env.config import DiscriminatorConfig, GeneratorConfig
from seqgan_env.data import SequenceData
from seqgan_env.discriminator import Discriminator
from seqgan_env.env import SeqGANEnv, SeqGANVectorEnv
from seqgan_env.generator import Generator
from seqgan_env.rewards import RolloutReward


def test_schedule_batch_size_is_d_batch_size():
    with pytest.warns(DeprecationWarning, match="d_batch_size"):
        s = ScheduleConfig(batch_size=32)
    assert s.d_batch_size == 32
    with pytest.warns(DeprecationWarning, match="d_batch_size"):
        assert s.batch_size == 32
    with pytest.raises(TypeError, match="d_batch_size= only"):
        ScheduleConfig(batch_size=32, d_batch_size=16)


def test_oracle_data_and_training_module():
    with pytest.warns(DeprecationWarning, match="SequenceData"):
        from seqgan_env.data import OracleData
    assert OracleData is SequenceData
    sys.modules.pop("seqgan_env.training", None)
    with pytest.warns(DeprecationWarning, match="seqgan_env.updates"):
        training = importlib.import_module("seqgan_env.training")
    from seqgan_env import updates

    assert training.mle_epoch is updates.mle_epoch and training.train_discriminator is updates.train_discriminator


def _models():
    g = Generator(GeneratorConfig(vocab_size=32, seq_len=8, emb_dim=8, hidden_dim=8), seed=0)
    d = Discriminator(DiscriminatorConfig.for_length(8, 32).with_filter_scale(0.05), seed=0)
    return g, d


def test_reward_fn_is_rollout_reward():
    g, d = _models()
    rr = RolloutReward(g, d, num_rollouts=2)
    for cls, kw in ((SeqGANEnv, {}), (SeqGANVectorEnv, {"num_envs": 2})):
        with pytest.warns(DeprecationWarning, match="rollout_reward="):
            env = cls(reward_fn=rr, **kw)
        assert env.rollout_reward is rr
        with pytest.warns(DeprecationWarning, match="rollout_reward"):
            assert env.reward_fn is rr
    agent = ReinforceAgent(g)
    with pytest.warns(DeprecationWarning, match="make_rollout_reward"):
        assert isinstance(agent.make_reward_fn(d), RolloutReward)


def test_an_agent_written_for_make_reward_fn_still_trains():
    g, d = _models()

    class OldAgent:
        def __init__(self, generator):
            self.generator = generator

        def make_reward_fn(self, discriminator):
            return RolloutReward(self.generator, discriminator, num_rollouts=2)

        def generator_step(self, rollout_reward, rng):
            return {"g_reward": float(rollout_reward.score(self.generator.sample(4, generator=rng)).mean())}

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    data = SequenceData(train=g.sample(64, seed=1), test=g.sample(32, seed=2))
    schedule = ScheduleConfig(mle_epochs=1, d_pretrain_rounds=1, d_pretrain_epochs=1, adv_rounds=1, d_steps=1,
                              d_epochs=1, num_negatives=32, eval_samples=32, d_eval_samples=16, baseline_epochs=0)
    with pytest.warns(DeprecationWarning, match="make_rollout_reward"):
        trainer = AdversarialTrainer(OldAgent(g), d, g, data, schedule=schedule, tensorboard=False)
    trainer.run()
    assert trainer.phase == "done" and isinstance(trainer.rollout_reward, RolloutReward)
    with pytest.warns(DeprecationWarning, match="rollout_reward"):
        assert trainer.reward_fn is trainer.rollout_reward
    assert torch.isfinite(torch.tensor(trainer.rows[-1]["nll_test"]))
