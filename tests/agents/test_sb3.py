"""The SB3 side: VecEnv adapter, features extractor, discriminator callback, whole-setup checkpoints, PPO learning."""

from __future__ import annotations

import copy
import csv

import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

from seqgan_env.agents.sb3 import (
    DiscriminatorCallback,
    SB3VecEnvAdapter,
    TokenSequenceExtractor,
    generator_policy_kwargs,
    generator_to_policy,
    load_setup,
    make_discriminator_step,
    make_sb3_env,
    policy_to_generator,
    sample_policy_sequences,
    save_setup,
)
from seqgan_env.config import DataConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator
from seqgan_env.presets import PRESETS
from seqgan_env.updates import make_discriminator_optimizer, train_discriminator

V, T = 32, 8  # the "tiny" preset
PRESETS_TINY = PRESETS["tiny"]


def tiny_env(num_envs: int = 4, **kwargs) -> SB3VecEnvAdapter:
    kw = {"preset": "tiny", "reward_mode": "shaped", "num_rollouts": 2, "seed": 0, **kwargs}
    return make_sb3_env(num_envs=num_envs, **kw)


# ---------------------------------------------------------------------- env conformance
def test_sb3_check_env_on_single_env():
    from stable_baselines3.common.env_checker import check_env

    from seqgan_env.env import SeqGANEnv

    for mode in ("shaped", "terminal", "mc"):
        env = SeqGANEnv(preset="tiny", reward_mode=mode, num_rollouts=2, seed=0)
        check_env(env, warn=True)
        env.close()


def test_adapter_requires_same_step():
    from seqgan_env.env import SeqGANVectorEnv

    venv = SeqGANVectorEnv(num_envs=2, preset="tiny", num_rollouts=2, seed=0, autoreset_mode=AutoresetMode.NEXT_STEP)
    with pytest.raises(ValueError, match="SAME_STEP"):
        SB3VecEnvAdapter(venv)


@pytest.mark.parametrize("mode", ["shaped", "terminal", "mc"])
def test_vecenv_adapter_conformance(mode):
    n = 3
    if mode == "mc":
        with pytest.warns(UserWarning, match="sum_t Q_t"):  # SB3 sums rewards: "mc" is the wrong objective there
            env = tiny_env(n, reward_mode=mode)
    else:
        env = tiny_env(n, reward_mode=mode)
    assert env.num_envs == n and env.observation_space.shape == (T,) and env.action_space.n == V
    env.seed(7)
    obs = env.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (n, T) and (obs == V).all()
    rng = np.random.default_rng(0)
    actions = rng.integers(0, V, size=(T, n))
    total = np.zeros(n)
    for t in range(T):
        env.step_async(actions[t])
        obs, rewards, dones, infos = env.step_wait()
        assert obs.shape == (n, T) and rewards.dtype == np.float32 and rewards.shape == (n,)
        assert dones.dtype == bool and dones.shape == (n,) and isinstance(infos, list) and len(infos) == n
        total += rewards
        if t < T - 1:
            assert not dones.any()
            np.testing.assert_array_equal(obs[:, : t + 1], actions[: t + 1].T)  # the prefix so far
            assert (obs[:, t + 1 :] == V).all()
            assert all("terminal_observation" not in i for i in infos)
        else:
            assert dones.all()
            assert (obs == V).all(), "a done env must already be reset (SB3 auto-resets in the same step)"
            for i, info in enumerate(infos):
                np.testing.assert_array_equal(info["terminal_observation"], actions[:, i])
                assert info["TimeLimit.truncated"] is False
    # returns are bounded like the reward mode says: D in [0, 1] ("shaped": D(Y) - Q_0 in [-1, 1]; "mc": sum of Q_t)
    assert np.isfinite(total).all()
    assert (np.abs(total) <= (T if mode == "mc" else 1.0) + 1e-5).all()
    # the attribute and method API
    assert env.get_attr("vocab_size") == [V] * n and env.get_attr("seq_len", indices=[0, 2]) == [T, T]
    assert env.env_is_wrapped(object) == [False] * n
    masks = env.env_method("action_masks")
    assert len(masks) == n and masks[0].shape == (V,) and masks[0].all()
    env.set_attr("some_flag", 3)
    assert env.get_attr("some_flag") == [3] * n
    env.close()


def test_adapter_seeding_reproduces_rewards():
    def run():
        env = tiny_env(2, reward_mode="shaped", seed=None)
        env.seed(11)
        env.reset()
        out = [env.step(np.array([t, 2 * t]))[1] for t in range(T)]
        env.close()
        return np.stack(out)

    a, b = run(), run()
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- the extractor and the generator layout
def test_policy_in_generator_layout_equals_generator():
    env = tiny_env(2)
    g = Generator(env.unwrapped.generator.config, seed=3)
    model = PPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(g), n_steps=8, batch_size=16, seed=0)
    tokens = g.sample(6, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([0, 1, 3, 5, 7, 7])
    obs = torch.full((6, T), float(V))
    for i, n in enumerate(lengths.tolist()):
        obs[i, :n] = tokens[i, :n].float()
    h, _ = g.prefix_states(tokens)
    ref = torch.log_softmax(g.out(h[torch.arange(6), lengths]), -1)
    got = model.policy.get_distribution(obs).distribution.logits
    assert (got - ref).abs().max() > 1e-2  # before the copy: a different network
    generator_to_policy(g, model.policy)
    got = model.policy.get_distribution(obs).distribution.logits
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    g2 = Generator(g.config, seed=99)
    policy_to_generator(model.policy, g2)
    torch.testing.assert_close(g2.log_probs(tokens), g.log_probs(tokens), atol=1e-5, rtol=1e-5)
    env.close()


def test_gru_extractor_trains_with_a2c():
    env = tiny_env(2, reward_mode="terminal")
    kwargs = {"features_extractor_class": TokenSequenceExtractor,
              "features_extractor_kwargs": {"emb_dim": 8, "hidden_dim": 8, "rnn": "gru"}}
    model = A2C("MlpPolicy", env, policy_kwargs=kwargs, n_steps=T, seed=0)
    before = [p.detach().clone() for p in model.policy.features_extractor.parameters()]
    model.learn(4 * T * 2)
    after = list(model.policy.features_extractor.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    ext = model.policy.features_extractor
    out = ext(torch.full((5, T), float(V)))
    assert out.shape == (5, 8)
    env.close()


# ---------------------------------------------------------------------- PPO learns with the callback running
def _pretrained_setup(num_envs: int = 8):
    """Tiny env with a random-init G and a D pretrained (3 rounds) on oracle data vs G's samples: D(G) ~ 0.33."""
    env = tiny_env(num_envs, reward_mode="shaped", num_rollouts=4, seed=0)
    base = env.unwrapped
    data = make_oracle_data(base.oracle, DataConfig(num_train=1024, num_test=256, seed=0))
    rng = torch.Generator().manual_seed(0)
    opt = make_discriminator_optimizer(base.discriminator)
    for _ in range(3):
        fake = base.generator.sample(1024, generator=rng)
        train_discriminator(base.discriminator, opt, data.train, fake, epochs=2, rng=rng)
    return env, data, opt


def test_ppo_learns_with_discriminator_callback(tmp_path):
    """PPO (warm-started from G, rollouts synced to the policy) raises the D score of its samples, both under a frozen
    snapshot of the pretrained D and under the live D the callback keeps retraining."""
    torch.manual_seed(0)
    env, data, opt = _pretrained_setup()
    base = env.unwrapped
    frozen_d = copy.deepcopy(base.discriminator)  # the fixed yardstick
    model = PPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(base.generator), n_steps=2 * T,
                batch_size=64, n_epochs=4, learning_rate=3e-3, ent_coef=0.0, seed=0)
    generator_to_policy(base.generator, model.policy)
    model.set_logger(configure(str(tmp_path), ["csv"]))

    def d_score(d) -> float:
        return float(d.prob_real(sample_policy_sequences(model, 512, T, V, seed=123)).mean())

    before, live_before = d_score(frozen_d), d_score(base.discriminator)
    d_before = {k: v.clone() for k, v in base.discriminator.state_dict().items()}
    cb = DiscriminatorCallback(
        make_discriminator_step(base.discriminator, data.train, optimizer=opt, epochs=1, seed=0),
        discriminator=base.discriminator, every_rollouts=2, num_negatives=128, sync_generator=base.generator,
    )
    model.learn(40 * 2 * T * 8, callback=cb)
    after, live_after = d_score(frozen_d), d_score(base.discriminator)
    assert cb.rollouts == 40 and cb.rounds == 20 and len(cb.history) == 20
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"gan/d_loss", "gan/d_acc", "gan/d_score_fake", "gan/rounds"} <= set(rows[0])
    assert float(rows[-1]["gan/rounds"]) == 20
    assert any(not torch.equal(v, base.discriminator.state_dict()[k]) for k, v in d_before.items())
    # the env's rollout generator is the policy (synced at the end of training)
    h = model.policy.get_distribution(torch.full((1, T), float(V))).distribution.logits
    g_logits = torch.log_softmax(base.generator.out(base.generator.initial_state(1)[0]), -1)
    torch.testing.assert_close(h, g_logits, atol=1e-5, rtol=1e-5)
    assert after > before + 0.2, (before, after)
    assert live_after > live_before + 0.05, (live_before, live_after)
    env.close()


# ---------------------------------------------------------------------- whole-setup save and load
def test_save_load_setup_roundtrip(tmp_path):
    env = tiny_env(2, reward_mode="shaped")
    base = env.unwrapped
    model = PPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(base.generator), n_steps=T, batch_size=16,
                seed=0)
    model.learn(2 * T * 2)
    with torch.no_grad():
        base.discriminator.out.bias.add_(0.5)  # make D differ from a freshly built one
        base.generator.out.bias.add_(0.25)
    save_setup(tmp_path / "run", model, env, extra={"note": "x"})
    loaded = load_setup(tmp_path / "run")
    assert type(loaded.model) is PPO and loaded.extra == {"note": "x"}
    obs = sample_policy_sequences(model, 64, T, V, seed=5).numpy()
    obs[:, 4:] = V
    a1, _ = model.predict(obs, deterministic=True)
    a2, _ = loaded.model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    for k, v in base.discriminator.state_dict().items():
        torch.testing.assert_close(loaded.discriminator.state_dict()[k], v, rtol=0, atol=0)
    assert loaded.env.unwrapped.discriminator is loaded.discriminator
    for k, v in base.generator.state_dict().items():
        torch.testing.assert_close(loaded.env.unwrapped.generator.state_dict()[k], v, rtol=0, atol=0)
    assert loaded.env.env_kwargs["reward_mode"] == "shaped" and loaded.env.num_envs == 2
    loaded.model.learn(T * 2)  # the loaded model trains on the rebuilt env
    env.close()
    loaded.env.close()


def test_load_setup_device_follows_the_saved_env_and_can_be_overridden(tmp_path):
    """A setup saved on a GPU (device "cuda" in env_config.json) loads on a CPU machine with device="cpu"; with the
    saved device unavailable the error names that fix."""
    import json

    env = tiny_env(2)
    model = PPO("MlpPolicy", env, n_steps=T, batch_size=16, n_epochs=1, seed=0)
    save_setup(tmp_path / "run", model, env)
    cfg_path = tmp_path / "run" / "env_config.json"
    cfg = json.loads(cfg_path.read_text()) | {"device": "cuda"}  # what a run with device="cuda" saves
    cfg_path.write_text(json.dumps(cfg))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available.*pass 'cpu'"):
            load_setup(tmp_path / "run")
    loaded = load_setup(tmp_path / "run", device="cpu")
    assert loaded.env.unwrapped.device == torch.device("cpu") and loaded.model.device == torch.device("cpu")
    assert loaded.discriminator.device == torch.device("cpu")
    env.close()
    loaded.env.close()


def test_buffer_negatives_are_the_rollouts_finished_sequences():
    """negatives="buffer": D is trained on exactly the sequences the policy finished in the rollout just collected."""
    env = tiny_env(2, reward_mode="terminal")
    base = env.unwrapped
    finished: list[np.ndarray] = []
    seen: list[torch.Tensor] = []

    class Collect(BaseCallback):
        def _on_step(self) -> bool:
            finished.extend(i["terminal_observation"] for i in self.locals["infos"] if "terminal_observation" in i)
            return True

    def step(fake: torch.Tensor) -> dict[str, float]:
        seen.append(fake.clone())
        return {"d_loss": 0.0, "d_acc": 1.0}

    model = PPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(base.generator), n_steps=2 * T,
                batch_size=16, seed=0)
    cb = DiscriminatorCallback(step, negatives="buffer", discriminator=base.discriminator)
    model.learn(2 * 2 * T * 2, callback=[Collect(), cb])
    assert len(seen) == 2 and all(f.shape == (4, T) for f in seen)
    got = sorted(map(tuple, torch.cat(seen).tolist()))
    assert got == sorted(tuple(int(x) for x in f) for f in finished)
    env.close()


# ---------------------------------------------------------------------- what SB3 users type first
def test_make_vec_env_trains_ppo_and_logs_episodes():
    """SB3's own make_vec_env (which asks for render_mode="rgb_array") builds the env and PPO trains on it."""
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("SeqGAN-tiny-v0", n_envs=2, env_kwargs={"num_rollouts": 2, "seed": 0})
    assert env.get_attr("reward_mode") == ["shaped", "shaped"]  # the default: the return is D(Y) - Q_0
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, n_epochs=1, seed=0)
    model.learn(32)
    assert len(model.ep_info_buffer) >= 2 and all(info["l"] == T for info in model.ep_info_buffer)


def test_adapter_reports_episode_statistics():
    env = tiny_env(2, reward_mode="terminal")
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=16, n_epochs=1, seed=0)
    logger = configure(None, ["csv"])
    seen: dict[str, float] = {}
    record = logger.record

    def spy(key, value, exclude=None):
        seen[key] = value
        record(key, value, exclude)

    logger.record = spy
    model.set_logger(logger)
    model.learn(32)
    assert len(model.ep_info_buffer) == 4  # 2 envs x 16 steps / T = 8
    assert all(info["l"] == T and 0.0 < info["r"] < 1.0 for info in model.ep_info_buffer)  # terminal: D(Y)
    assert "rollout/ep_rew_mean" in seen and "rollout/ep_len_mean" in seen


def test_adapter_checks_actions():
    env = tiny_env(2)
    env.reset()
    with pytest.raises(ValueError, match="dtype"):
        env.step(np.array([3.7, 1.0]))
    with pytest.raises(ValueError, match="outside"):
        env.step(np.array([3, V]))
    with pytest.raises(ValueError, match="2 envs"):
        env.step(np.array([1, 2, 3]))
    env.step(np.array([3, 1]))  # still usable


def test_vecnormalize_of_observations_is_refused_clearly():
    from stable_baselines3.common.vec_env import VecNormalize

    kwargs = {"features_extractor_class": TokenSequenceExtractor,
              "features_extractor_kwargs": {"emb_dim": 8, "hidden_dim": 8}}
    bad = VecNormalize(tiny_env(2))  # norm_obs=True by default: token ids become z-scores
    with pytest.raises(ValueError, match="norm_obs=False"):
        PPO("MlpPolicy", bad, policy_kwargs=kwargs, n_steps=8, batch_size=16, n_epochs=1).learn(16)
    good = VecNormalize(tiny_env(2), norm_obs=False, norm_reward=True)
    PPO("MlpPolicy", good, policy_kwargs=kwargs, n_steps=8, batch_size=16, n_epochs=1).learn(16)


def test_dict_observations_with_the_extractor():
    env = tiny_env(2, observation_mode="dict")
    kwargs = {"features_extractor_class": TokenSequenceExtractor,
              "features_extractor_kwargs": {"emb_dim": 8, "hidden_dim": 8}}
    model = PPO("MultiInputPolicy", env, policy_kwargs=kwargs, n_steps=8, batch_size=16, n_epochs=1)
    model.learn(16)
    obs = env.reset()
    actions, _ = model.predict(obs)
    assert actions.shape == (2,)


@pytest.mark.parametrize("negatives", ["buffer", "policy"])
def test_discriminator_callback_with_dict_observations(negatives):
    """observation_mode="dict": the callback reads the token ids under "input_ids" (buffer negatives are the
    sequences the policy finished, as in Box mode) and samples a MultiInputPolicy with dict observations."""
    env = tiny_env(2, reward_mode="terminal", observation_mode="dict")
    finished: list[np.ndarray] = []
    seen: list[torch.Tensor] = []

    class Collect(BaseCallback):
        def _on_step(self) -> bool:
            finished.extend(i["terminal_observation"]["input_ids"] for i in self.locals["infos"]
                            if "terminal_observation" in i)
            return True

    def step(fake: torch.Tensor) -> dict[str, float]:
        seen.append(fake.clone())
        return {"d_loss": 0.0, "d_acc": 1.0}

    kwargs = {"features_extractor_class": TokenSequenceExtractor,
              "features_extractor_kwargs": {"emb_dim": 8, "hidden_dim": 8}}
    model = PPO("MultiInputPolicy", env, policy_kwargs=kwargs, n_steps=2 * T, batch_size=16, n_epochs=1, seed=0)
    cb = DiscriminatorCallback(step, negatives=negatives, num_negatives=6, seed=3)
    model.learn(2 * 2 * T, callback=[Collect(), cb])
    assert len(seen) == 1 and seen[0].dtype == torch.long and ((seen[0] >= 0) & (seen[0] < V)).all()
    if negatives == "buffer":
        assert sorted(map(tuple, seen[0].tolist())) == sorted(tuple(int(x) for x in f) for f in finished)
    else:
        assert seen[0].shape == (6, T)
        torch.testing.assert_close(seen[0], sample_policy_sequences(model, 6, T, V, seed=3), rtol=0, atol=0)
    env.close()


def test_adapter_renders_frames_and_counts_as_monitored(tmp_path):
    """rgb_array frames through SB3's VecEnv.render and VecVideoRecorder's get_images; evaluate_policy reads the
    adapter's own episode statistics (it counts as Monitor-wrapped, so no warning)."""
    import warnings

    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    env = tiny_env(2, render_mode="rgb_array")
    env.reset()
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.dtype == np.uint8
    assert len(env.get_images()) == 2
    from gymnasium.wrappers import TimeLimit

    assert env.env_is_wrapped(Monitor) == [True, True] and env.env_is_wrapped(TimeLimit) == [False, False]
    model = PPO("MlpPolicy", env, n_steps=8, batch_size=16, n_epochs=1, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, _ = evaluate_policy(model, env, n_eval_episodes=2)
    assert np.isfinite(mean)


def test_maskable_ppo_through_make_vec_env():
    sb3_contrib = pytest.importorskip("sb3_contrib")
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("SeqGAN-tiny-v0", n_envs=2, env_kwargs={"num_rollouts": 2})
    assert all(m.all() for m in env.env_method("action_masks"))
    sb3_contrib.MaskablePPO("MlpPolicy", env, n_steps=8, batch_size=16, n_epochs=1).learn(16)


@pytest.mark.parametrize("push", [True, False])
def test_callback_pushes_models_to_subprocess_workers(push):
    """SubprocVecEnv workers hold pickled copies of G and D: the callback pushes the retrained D to them, so their
    rewards follow it; without the push (the negative control) they keep scoring with the stale copy."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import SubprocVecEnv

    g = Generator(PRESETS_TINY.generator_config(), seed=0)
    d = Discriminator(PRESETS_TINY.discriminator_config(), seed=0)

    def make():
        return gym.make("SeqGAN-tiny-v0", generator=g, discriminator=d, reward_mode="terminal", num_rollouts=2)

    def retrain(fake):  # stands in for a D update after which D calls everything real
        with torch.no_grad():
            d.out.bias.copy_(torch.tensor([-20.0, 20.0]))
        return {"d_loss": 0.0, "d_acc": 1.0}

    env = SubprocVecEnv([make, make], start_method="fork")
    try:
        model = PPO("MlpPolicy", env, n_steps=8, batch_size=16, n_epochs=1, seed=0)
        model.learn(8, callback=DiscriminatorCallback(retrain, discriminator=d, num_negatives=4, push_models=push))
        worker_bias = env.get_attr("discriminator")[0].out.bias.detach()
        env.reset()
        for _ in range(T):
            _, rewards, _, _ = env.step(np.array([1, 2]))
        if push:
            assert torch.equal(worker_bias, d.out.bias.detach()) and (rewards > 0.999).all()
        else:
            assert not torch.equal(worker_bias, d.out.bias.detach()) and (rewards < 0.999).all()
    finally:
        env.close()
