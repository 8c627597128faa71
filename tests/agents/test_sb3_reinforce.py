"""The paper's REINFORCE agent driven through Stable-Baselines3's algorithm API (ReinforceAlgorithm)."""

from __future__ import annotations

import copy
import csv

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig
from seqgan_env.agents.sb3 import DiscriminatorCallback, load_setup, make_sb3_env, save_setup
from seqgan_env.agents.sb3_reinforce import ReinforceAlgorithm
from seqgan_env.config import DataConfig, MLEConfig
from seqgan_env.data import make_oracle_data

V, T = 32, 8  # the "tiny" preset
B = 8


def tiny_env(**kwargs):
    return make_sb3_env(num_envs=2, **{"preset": "tiny", "num_rollouts": 2, "seed": 0, **kwargs})


def make_algo(env, seed: int = 0, **cfg) -> ReinforceAlgorithm:
    base = env.unwrapped
    config = ReinforceConfig(**{"batch_size": B, "num_rollouts": 2, "backend": "torch", **cfg})
    return ReinforceAlgorithm(base.generator, base.discriminator, config, env=env, seed=seed)


class RecordingCallback(BaseCallback):
    """Records every hook SB3 calls, with the locals ``on_step`` sees."""

    def __init__(self, stop_at_call: int | None = None) -> None:
        super().__init__()
        self.events: list[str] = []
        self.steps: list[dict] = []
        self.stop_at_call = stop_at_call

    def _on_training_start(self) -> None:
        self.events.append("training_start")

    def _on_rollout_start(self) -> None:
        self.events.append("rollout_start")

    def _on_step(self) -> bool:
        self.events.append("step")
        loc = self.locals
        self.steps.append({k: copy.deepcopy(loc[k]) for k in ("new_obs", "actions", "rewards", "dones", "infos")}
                          | {"num_timesteps": self.num_timesteps})
        return self.stop_at_call is None or self.n_calls < self.stop_at_call

    def _on_rollout_end(self) -> None:
        self.events.append("rollout_end")

    def _on_training_end(self) -> None:
        self.events.append("training_end")


def test_learn_fires_sb3_callback_hooks_in_order(tmp_path):
    env = tiny_env()
    algo = make_algo(env)
    algo.set_logger(configure(str(tmp_path), ["csv"]))
    before = {k: v.clone() for k, v in algo.generator.state_dict().items()}
    cb = RecordingCallback()
    out = algo.learn(total_timesteps=2 * B * T + 1, callback=cb)  # ceil to 3 generator steps
    assert out is algo and algo.num_timesteps == 3 * B * T
    rollout = ["rollout_start"] + ["step"] * T + ["rollout_end"]
    assert cb.events == ["training_start"] + rollout * 3 + ["training_end"]
    assert cb.model is algo and cb.training_env is env and cb.logger is algo.logger
    # the locals of one rollout: B envs stepping T times in lockstep
    first = cb.steps[:T]
    assert [s["num_timesteps"] for s in first] == [B * (t + 1) for t in range(T)]
    seqs = np.stack([s["actions"] for s in first], axis=1)  # (B, T)
    assert seqs.shape == (B, T) and ((0 <= seqs) & (seqs < V)).all()
    for t, s in enumerate(first):
        assert s["rewards"].dtype == np.float32 and s["rewards"].shape == (B,)
        assert ((0 <= s["rewards"]) & (s["rewards"] <= 1)).all()  # Q_t is a mean of D scores
        assert s["dones"].tolist() == [t == T - 1] * B
        if t < T - 1:
            np.testing.assert_array_equal(s["new_obs"][:, : t + 1], seqs[:, : t + 1])
            assert (s["new_obs"][:, t + 1 :] == V).all()
    for i, info in enumerate(first[-1]["infos"]):
        np.testing.assert_array_equal(info["terminal_observation"], seqs[i])
    # Q_T is exactly D of the finished sequence
    d_final = algo.discriminator.prob_real(torch.as_tensor(seqs)).numpy()
    np.testing.assert_allclose(first[-1]["rewards"], d_final, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(v, algo.generator.state_dict()[k]) for k, v in before.items())
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {"rollout/g_reward", "train/g_loss", "time/total_timesteps"} <= set(rows[0])
    assert float(rows[-1]["time/total_timesteps"]) == 3 * B * T


def test_callback_returning_false_stops_before_the_update():
    env = tiny_env()
    algo = make_algo(env)
    before = {k: v.clone() for k, v in algo.generator.state_dict().items()}
    cb = RecordingCallback(stop_at_call=3)
    algo.learn(10 * B * T, callback=cb)
    assert cb.events == ["training_start", "rollout_start", "step", "step", "step", "training_end"]
    assert algo.agent.steps == 0
    for k, v in before.items():
        assert torch.equal(v, algo.generator.state_dict()[k])


def test_learn_matches_the_agents_own_generator_step():
    """One learn() rollout is exactly ReinforceAgent.generator_step with the same random stream."""
    env = tiny_env()
    algo = make_algo(env, seed=5)
    g2 = copy.deepcopy(algo.generator)
    agent = ReinforceAgent(g2, algo.config)
    rollout_reward = agent.make_rollout_reward(algo.discriminator)
    agent.generator_step(rollout_reward, torch.Generator().manual_seed(5))
    algo.learn(B * T)
    for k, v in g2.state_dict().items():
        torch.testing.assert_close(algo.generator.state_dict()[k], v, rtol=0, atol=0)


def test_predict_matches_the_generator():
    env = tiny_env()
    algo = make_algo(env)
    g = algo.generator
    tokens = g.sample(5, generator=torch.Generator().manual_seed(3))
    lengths = [0, 1, 4, 7, 3]
    obs = np.full((5, T), V)
    for i, n in enumerate(lengths):
        obs[i, :n] = tokens[i, :n].numpy()
    h, _ = g.prefix_states(tokens)
    want = g.out(h[torch.arange(5), torch.tensor(lengths)]).argmax(-1).numpy()
    actions, state = algo.predict(obs, deterministic=True)
    np.testing.assert_array_equal(actions, want)
    assert state is None
    single, _ = algo.predict(obs[2], deterministic=True)
    assert np.shape(single) == () and int(single) == want[2]
    torch.manual_seed(0)
    sampled, _ = algo.predict(np.repeat(obs[:1], 2000, 0))
    freq = np.bincount(sampled, minlength=V) / 2000  # stochastic predict follows G's distribution
    probs = torch.softmax(g.out(h[0, 0]), -1).detach().numpy()
    assert np.abs(freq - probs).max() < 0.05


def test_save_load_roundtrip_resumes_exactly(tmp_path):
    env = tiny_env()
    algo = make_algo(env)
    algo.learn(2 * B * T)
    algo.save(tmp_path / "reinforce")
    assert (tmp_path / "reinforce.zip").is_file()
    loaded = ReinforceAlgorithm.load(tmp_path / "reinforce", discriminator=copy.deepcopy(algo.discriminator))
    assert loaded.num_timesteps == algo.num_timesteps and loaded.config == algo.config
    obs = np.full((6, T), V)
    obs[:, :3] = np.arange(18).reshape(6, 3) % V
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], algo.predict(obs, deterministic=True)[0])
    # continuing after load equals continuing without it (generator, Adam moments and random stream restored)
    algo.learn(B * T, reset_num_timesteps=False)
    loaded.learn(B * T, reset_num_timesteps=False)
    assert loaded.num_timesteps == algo.num_timesteps == 3 * B * T
    for k, v in algo.generator.state_dict().items():
        torch.testing.assert_close(loaded.generator.state_dict()[k], v, rtol=0, atol=0)


def test_save_load_keeps_the_delayed_rollout_policy(tmp_path):
    """rollout_policy="delayed": the rollouts' slowly moving copy of G is saved and restored, so a loaded model
    continues exactly (it used to restart from a copy of the freshly built G)."""
    import io

    env = tiny_env()
    algo = make_algo(env, rollout_policy="delayed")
    algo.learn(3 * B * T)
    buf = io.BytesIO()  # SB3 also saves to open files
    algo.save(buf)
    buf.seek(0)
    loaded = ReinforceAlgorithm.load(buf, discriminator=copy.deepcopy(algo.discriminator), device="cpu",
                                     custom_objects={})
    for k, v in algo.rollout_reward.rollout_generator.state_dict().items():
        torch.testing.assert_close(loaded.rollout_reward.rollout_generator.state_dict()[k], v, rtol=0, atol=0)
    algo.learn(B * T, reset_num_timesteps=False)
    loaded.learn(B * T, reset_num_timesteps=False)
    for k, v in algo.generator.state_dict().items():
        torch.testing.assert_close(loaded.generator.state_dict()[k], v, rtol=0, atol=0)


def test_sb3_callbacks_and_helpers_that_ask_the_algorithm(tmp_path):
    """EvalCallback and CheckpointCallback call get_vec_normalize_env; a progress bar reads the locals'
    total_timesteps; set_random_seed reseeds; predict takes dict observations."""
    from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback

    env = tiny_env()
    algo = make_algo(env)
    assert algo.get_vec_normalize_env() is None
    seen = {}

    class Total(BaseCallback):
        def _on_training_start(self) -> None:
            seen["total"] = self.locals["total_timesteps"]

        def _on_step(self) -> bool:
            return True

    callbacks = [EvalCallback(tiny_env(), n_eval_episodes=2, eval_freq=T, verbose=0),
                 CheckpointCallback(save_freq=T, save_path=str(tmp_path / "ck"), save_vecnormalize=True), Total()]
    algo.learn(B * T, callback=callbacks)
    assert seen["total"] == B * T and list((tmp_path / "ck").glob("*.zip"))
    algo.learn(B * T, callback=Total(), reset_num_timesteps=False)
    assert seen["total"] == 2 * B * T  # SB3 hands callbacks the total including earlier timesteps
    algo.set_random_seed(7)
    a = algo.sample_sequences(4, seed=0)
    first = algo.predict(np.full((3, T), V))[0]
    algo.set_random_seed(7)
    assert torch.equal(a, algo.sample_sequences(4, seed=0))
    np.testing.assert_array_equal(first, algo.predict(np.full((3, T), V))[0])
    obs = {"input_ids": np.full((3, T), V), "attention_mask": np.zeros((3, T), np.int64)}
    np.testing.assert_array_equal(algo.predict(obs, deterministic=True)[0],
                                  algo.predict(obs["input_ids"], deterministic=True)[0])


def test_reinforce_with_the_trainers_discriminator_step_and_setup_roundtrip(tmp_path):
    """The SB3 callback drives the trainer's public discriminator step for REINFORCE too; the whole setup saves."""
    env = tiny_env()
    base = env.unwrapped
    algo = make_algo(env)
    data = make_oracle_data(base.oracle, DataConfig(num_train=256, num_test=128, seed=0))
    trainer = AdversarialTrainer(
        algo.agent, base.discriminator, base.oracle, data, seed=0, tensorboard=False,
        schedule=ScheduleConfig(mle_epochs=1, d_pretrain_rounds=1, d_pretrain_epochs=1, adv_rounds=0,
                                baseline_epochs=0, num_negatives=128, eval_samples=128, d_eval_samples=64),
        mle=MLEConfig(epochs=1),
    )
    trainer.run()
    d_before = copy.deepcopy(base.discriminator.state_dict())
    evals: list[float] = []
    cb = DiscriminatorCallback(trainer=trainer, epochs=1, every_rollouts=2,
                               metrics_fn=lambda: (evals.append(1.0), trainer.evaluate())[1])
    algo.learn(4 * B * T, callback=cb)
    assert cb.rounds == 2 and len(evals) == 2
    assert {"d_loss", "d_acc", "nll_oracle", "nll_test", "d_fake_score"} <= set(cb.history[-1])
    assert any(not torch.equal(v, base.discriminator.state_dict()[k]) for k, v in d_before.items())
    save_setup(tmp_path / "setup", algo, env)
    loaded = load_setup(tmp_path / "setup")
    assert isinstance(loaded.model, ReinforceAlgorithm)
    assert loaded.model.generator is loaded.env.unwrapped.generator  # env rollouts follow the loaded policy
    for k, v in base.discriminator.state_dict().items():
        torch.testing.assert_close(loaded.discriminator.state_dict()[k], v, rtol=0, atol=0)
    for k, v in algo.generator.state_dict().items():
        torch.testing.assert_close(loaded.model.generator.state_dict()[k], v, rtol=0, atol=0)
    obs = np.full((4, T), V)
    np.testing.assert_array_equal(loaded.model.predict(obs, deterministic=True)[0],
                                  algo.predict(obs, deterministic=True)[0])


def test_load_needs_a_discriminator(tmp_path):
    env = tiny_env()
    make_algo(env).save(tmp_path / "r.zip")
    with pytest.raises(ValueError, match="discriminator"):
        ReinforceAlgorithm.load(tmp_path / "r.zip")
    assert isinstance(ReinforceAlgorithm.load(tmp_path / "r.zip", env=env), ReinforceAlgorithm)
