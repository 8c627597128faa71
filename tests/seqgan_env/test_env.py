"""SeqGAN-v0: checkers, single vs vector lockstep, autoreset modes, reward modes, errors, rendering."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import seqgan_env  # noqa: F401  (registers the ids)
from seqgan_env import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from seqgan_env.env import SeqGANEnv, SeqGANVectorEnv
from seqgan_env.rewards import RolloutReward

TINY = {"preset": "tiny", "num_rollouts": 2}
SEQGAN_IDS = sorted(i for i in gym.registry if i.startswith("SeqGAN"))


def test_ids_registered_with_string_entry_points():
    assert "SeqGAN-v0" in SEQGAN_IDS
    for env_id in SEQGAN_IDS:
        spec = gym.spec(env_id)
        assert spec.entry_point == "seqgan_env.env:SeqGANEnv"
        assert spec.vector_entry_point == "seqgan_env.env:SeqGANVectorEnv"
        assert spec.max_episode_steps is None  # no TimeLimit: episodes end at T by themselves
        spec.to_json()  # raises for callable entry points


@pytest.mark.parametrize("env_id", SEQGAN_IDS)
def test_checkers_pass_on_every_registered_id(env_id):
    env = gym.make(env_id, render_mode="ansi", num_rollouts=2)
    check_env(env.unwrapped, skip_render_check=False)
    sb3_check_env(env.unwrapped)


@pytest.mark.parametrize("mode", ["mc", "terminal", "shaped"])
def test_checkers_pass_in_every_reward_mode(mode):
    env = gym.make("SeqGAN-tiny-v0", reward_mode=mode, render_mode="ansi")
    check_env(env.unwrapped, skip_render_check=False)
    sb3_check_env(env.unwrapped)


def test_no_kwargs_default_is_the_paper_oracle_task(monkeypatch):
    monkeypatch.delenv("SEQGAN_ORACLE_PARAMS", raising=False)
    env = gym.make("SeqGAN-v0")
    u = env.unwrapped
    assert (u.vocab_size, u.seq_len, u.rollout_reward.num_rollouts, u.reward_mode) == (5000, 20, 16, "shaped")
    assert u.rollout_reward.rollout_policy == "current" and u.oracle is not None
    assert u.observation_space == gym.spaces.Box(0, 5000, (20,), np.int64)
    assert u.action_space == gym.spaces.Discrete(5000)
    assert u.discriminator.config.total_filters == 1720
    obs, info = env.reset(seed=0)
    assert (obs == 5000).all() and info["position"] == 0
    obs, r, term, trunc, info = env.step(7)
    assert obs[0] == 7 and (obs[1:] == 5000).all() and info["position"] == 1 == (obs != 5000).sum()
    assert type(r) is float and -1.0 <= r <= 1.0 and term is False and "q_value" in info
    # the same task twice: models seeded, oracle fixed
    v = gym.make("SeqGAN-v0").unwrapped
    assert torch.equal(v.generator.out.weight, u.generator.out.weight)
    assert torch.equal(v.oracle.out.weight, u.oracle.out.weight)
    assert not torch.equal(u.generator.out.weight, u.oracle.out.weight * 0.1)


def run_episode(env, actions, seed=None):
    obs, info = env.reset(seed=seed)
    out = [(obs, 0.0, False, info)]
    for a in actions:
        obs, r, term, trunc, info = env.step(int(a))
        out.append((obs, r, term, info))
    return out


@pytest.mark.parametrize("mode", ["mc", "shaped"])
def test_reset_seed_makes_rewards_reproducible(mode):
    env = SeqGANEnv(reward_mode=mode, **TINY)
    actions = np.random.default_rng(0).integers(0, env.vocab_size, env.seq_len)
    a = [x[1] for x in run_episode(env, actions, seed=5)]
    b = [x[1] for x in run_episode(env, actions, seed=5)]
    c = [x[1] for x in run_episode(env, actions, seed=6)]
    assert a == b
    assert a != c


def test_reward_modes_relations():
    g = Generator(GeneratorConfig(vocab_size=32, seq_len=8, emb_dim=16, hidden_dim=16), seed=1)
    d = Discriminator(DiscriminatorConfig.for_length(8, 32, emb_dim=16), seed=2)
    actions = np.random.default_rng(1).integers(0, 32, 8)
    envs = {
        m: SeqGANEnv(generator=g, discriminator=d, num_rollouts=4, reward_mode=m) for m in ("mc", "terminal", "shaped")
    }
    eps = {m: run_episode(e, actions, seed=3) for m, e in envs.items()}
    final_obs = eps["mc"][-1][0]
    d_y = float(d.prob_real(torch.from_numpy(final_obs)[None])[0])
    # terminal: zero before T, D(Y) at T
    term_rewards = [x[1] for x in eps["terminal"][1:]]
    assert term_rewards[:-1] == [0.0] * 7 and abs(term_rewards[-1] - d_y) < 1e-6
    assert [x[2] for x in eps["terminal"][1:]] == [False] * 7 + [True]
    # mc: Q_t each step, D(Y) at T, and the same Q_t as the shaped env's q_value (same seeds)
    mc_rewards = [x[1] for x in eps["mc"][1:]]
    assert abs(mc_rewards[-1] - d_y) < 1e-6 and len(set(mc_rewards)) > 1
    assert mc_rewards == [x[3]["q_value"] for x in eps["shaped"][1:]]
    # shaped: r_t = Q_t - Q_{t-1}; the return telescopes to D(Y) - Q_0
    q0 = eps["shaped"][0][3]["q_value"]
    shaped = [x[1] for x in eps["shaped"][1:]]
    assert abs(sum(shaped) - (d_y - q0)) < 1e-9 + 1e-6
    assert all(abs(s - (q - p)) < 1e-12 for s, q, p in zip(shaped, mc_rewards, [q0] + mc_rewards[:-1]))
    assert 0.0 < q0 < 1.0


def test_models_are_shared_by_reference():
    env = SeqGANEnv(reward_mode="terminal", **TINY)
    actions = [1] * env.seq_len
    before = run_episode(env, actions, seed=0)[-1][1]
    with torch.no_grad():
        env.discriminator.out.bias.copy_(torch.tensor([-20.0, 20.0]))  # D says "real" to everything
    after = run_episode(env, actions, seed=0)[-1][1]
    assert after > 0.999 and abs(after - before) > 1e-3


def lockstep(mode, autoreset, num_envs=3, seed=7, steps=17):
    vec = SeqGANVectorEnv(num_envs=num_envs, reward_mode=mode, autoreset_mode=autoreset, **TINY)
    singles = [SeqGANEnv(generator=vec.generator, discriminator=vec.discriminator, reward_mode=mode, **TINY)
               for _ in range(num_envs)]
    assert all(s.rollout_reward.num_rollouts == vec.rollout_reward.num_rollouts for s in singles)
    vobs, vinfo = vec.reset(seed=seed)
    sobs = [s.reset(seed=seed + i) for i, s in enumerate(singles)]
    np.testing.assert_array_equal(vobs, np.stack([o for o, _ in sobs]))
    if mode == "shaped":
        np.testing.assert_allclose(vinfo["q_value"], [i["q_value"] for _, i in sobs], rtol=0, atol=1e-6)
    rng = np.random.default_rng(0)
    done = [False] * num_envs
    n_done = 0
    for _ in range(steps):
        actions = rng.integers(0, vec.vocab_size, num_envs)
        vobs, vrew, vterm, vtrunc, vinfo = vec.step(actions)
        assert not vtrunc.any()
        for i, s in enumerate(singles):
            if autoreset == AutoresetMode.NEXT_STEP and done[i]:
                obs, info = s.reset()
                rew, term = 0.0, False
            else:
                obs, rew, term, _, info = s.step(int(actions[i]))
                if autoreset == AutoresetMode.SAME_STEP and term:
                    np.testing.assert_array_equal(vinfo["final_obs"][i], obs)
                    assert vinfo["_final_obs"][i] and vinfo["final_info"]["position"][i] == s.seq_len
                    obs, info = s.reset()
                    n_done += 1
            done[i] = term
            np.testing.assert_array_equal(vobs[i], obs)
            assert abs(vrew[i] - rew) < 1e-6, (i, vrew[i], rew)
            assert bool(vterm[i]) == term
            assert vinfo["position"][i] == info["position"]
            assert bool(vinfo.get("_q_value", np.zeros(num_envs, bool))[i]) == ("q_value" in info)
    return n_done


@pytest.mark.parametrize("mode", ["mc", "terminal", "shaped"])
def test_vector_env_matches_single_envs_next_step(mode):
    lockstep(mode, AutoresetMode.NEXT_STEP)


@pytest.mark.parametrize("mode", ["mc", "shaped"])
def test_vector_env_matches_single_envs_same_step(mode):
    assert lockstep(mode, AutoresetMode.SAME_STEP) == 2 * 3


def test_next_step_autoreset_ignores_action_and_returns_zero():
    vec = SeqGANVectorEnv(num_envs=2, **TINY)
    vec.reset(seed=0)
    for _ in range(vec.seq_len):
        obs, rew, term, trunc, info = vec.step(np.array([1, 2]))
    assert term.all() and (obs != vec.pad_id).all()
    obs, rew, term, trunc, info = vec.step(np.array([3, 4]))
    assert (obs == vec.pad_id).all() and (rew == 0).all() and not term.any() and (info["position"] == 0).all()
    assert "final_obs" not in info
    obs, *_ = vec.step(np.array([5, 6]))
    assert obs[:, 0].tolist() == [5, 6]


def test_same_step_autoreset_reports_final_obs():
    vec = gym.make_vec("SeqGAN-tiny-v0", num_envs=2, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP, num_rollouts=2, reward_mode="mc")
    assert isinstance(vec.unwrapped, SeqGANVectorEnv)
    assert vec.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    vec.reset(seed=0)
    for _ in range(vec.unwrapped.seq_len):
        obs, rew, term, trunc, info = vec.step(np.array([1, 2]))
    assert term.all() and (obs == vec.unwrapped.pad_id).all()
    assert info["final_obs"][0].tolist() == [1] * 8 and info["final_obs"][1].tolist() == [2] * 8
    assert info["_final_info"].all() and (info["position"] == 0).all()
    obs, rew, term, trunc, info = vec.step(np.array([3, 4]))
    assert obs[:, 0].tolist() == [3, 4] and (rew > 0).all()


def test_make_vec_native_one_reward_call_per_step():
    vec = gym.make_vec("SeqGAN-tiny-v0", num_envs=5, num_rollouts=2)
    u = vec.unwrapped
    assert isinstance(u, SeqGANVectorEnv) and u.max_episode_steps is None
    assert u.observation_space.shape == (5, 8) and u.single_observation_space == gym.spaces.Box(0, 32, (8,), np.int64)
    calls = []
    orig = u.rollout_reward.prefix_values

    def counting(prefixes, lengths, **kw):
        calls.append(prefixes.shape[0])
        return orig(prefixes, lengths, **kw)

    u.rollout_reward.prefix_values = counting
    vec.reset(seed=1)
    for _ in range(3):
        vec.step(vec.action_space.sample())
    assert calls == [5, 5, 5, 5]  # the reset's Q_0 (mode "shaped"), then one call per step


def test_reset_mask_resets_only_masked_envs():
    vec = SeqGANVectorEnv(num_envs=3, **TINY)
    vec.reset(seed=0)
    vec.step(np.array([1, 2, 3]))
    obs, info = vec.reset(options={"reset_mask": np.array([False, True, False])})
    assert obs[:, 0].tolist() == [1, vec.pad_id, 3] and info["position"].tolist() == [1, 0, 1]


# ---------------------------------------------------------------------------------------------- bad input
def snapshot(env):
    return env._tokens.copy(), env._position, env.np_random.bit_generator.state


@pytest.mark.parametrize(
    "action, match",
    [(32, "outside"), (-1, "outside"), (1.5, "float"), (float("nan"), "NaN"), (np.float32("nan"), "NaN"),
     (np.array([1]), "shape"), (np.array(1.0), "dtype"), ("a", "not a token id"), (True, "bool"),
     (np.array([np.nan]), "NaN")],
)
def test_bad_actions_raise_and_leave_state(action, match):
    env = SeqGANEnv(**TINY)
    env.reset(seed=0)
    env.step(3)
    before = snapshot(env)
    with pytest.raises(ValueError, match=match):
        env.step(action)
    after = snapshot(env)
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]
    env.step(np.int64(4))  # still usable


def test_step_before_reset_and_after_end():
    env = SeqGANEnv(reward_mode="terminal", **TINY)
    with pytest.raises(ValueError, match="before reset"):
        env.step(0)
    run_episode(env, [0] * env.seq_len, seed=0)
    before = snapshot(env)
    with pytest.raises(ValueError, match="already ended.*reset"):
        env.step(0)
    assert before[1:] == snapshot(env)[1:]
    vec = SeqGANVectorEnv(num_envs=2, **TINY)
    with pytest.raises(ValueError, match="before reset"):
        vec.step(np.array([0, 0]))


def test_partial_first_reset_then_step_names_the_envs_never_reset():
    """A reset_mask on the first reset leaves the other envs unstarted: stepping them used to pay r_1 = Q_1 - 0 from
    an unseeded stream; now it is an error, and their first reset later uses the constructor's seed + i."""
    def fresh():
        vec = SeqGANVectorEnv(num_envs=3, seed=5, reward_mode="shaped", **TINY)
        vec.reset(options={"reset_mask": np.array([True, False, True])})
        return vec

    vec = fresh()
    with pytest.raises(ValueError, match=r"before reset\(\) of envs \[1\]"):
        vec.step(np.array([1, 1, 1]))
    runs = []
    for _ in range(2):
        vec = fresh()
        _, info = vec.reset(options={"reset_mask": np.array([False, True, False])})
        runs.append((info["q_value"].copy(), vec.step(np.array([1, 1, 1]))[1]))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])  # env 1's stream is seeded (5 + 1), not from the OS
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    full = SeqGANVectorEnv(num_envs=3, seed=5, reward_mode="shaped", **TINY)
    _, info = full.reset()
    np.testing.assert_allclose(runs[0][0][1], info["q_value"][1], rtol=0, atol=1e-6)  # as a plain first reset
    np.testing.assert_allclose(runs[0][1], full.step(np.array([1, 1, 1]))[1], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "actions, match",
    [(np.array([0, 32]), "outside"), (np.array([0.0, 1.0]), "dtype"), (np.array([0, np.nan]), "NaN"),
     (np.array([0, 1, 2]), "shape"), (np.array([[0, 1]]), "shape")],
)
def test_vector_bad_actions(actions, match):
    vec = SeqGANVectorEnv(num_envs=2, **TINY)
    vec.reset(seed=0)
    state = vec.np_randoms[0].bit_generator.state
    with pytest.raises(ValueError, match=match):
        vec.step(actions)
    assert vec.np_randoms[0].bit_generator.state == state and (vec._positions == 0).all()


def test_construction_errors():
    g = Generator(GeneratorConfig(vocab_size=32, seq_len=8))
    d = Discriminator(DiscriminatorConfig.for_length(8, 40))
    with pytest.raises(ValueError, match="vocab_size 32 != discriminator vocab_size 40"):
        SeqGANEnv(generator=g, discriminator=d)
    with pytest.raises(ValueError, match="vocab_size=50 but the generator has vocab_size 32"):
        SeqGANEnv(generator=g, vocab_size=50)
    with pytest.raises(ValueError, match="reward_mode"):
        SeqGANEnv(reward_mode="dense", **TINY)
    with pytest.raises(ValueError, match="preset"):
        SeqGANEnv(preset="huge")
    with pytest.raises(ValueError, match="vocab has 3 entries"):
        SeqGANEnv(vocab=["a", "b", "c"], **TINY)
    with pytest.raises(ValueError, match="max_episode_steps=8 < seq_len=12"):
        SeqGANVectorEnv(num_envs=2, seq_len=12, max_episode_steps=8, **TINY)
    other = RolloutReward(g, Discriminator(DiscriminatorConfig.for_length(8, 32)))
    with pytest.raises(ValueError, match="pass only rollout_reward"):
        SeqGANEnv(rollout_reward=other, generator=Generator(GeneratorConfig(vocab_size=32, seq_len=8)))


def test_reward_fn_and_options_are_used():
    g = Generator(GeneratorConfig(vocab_size=32, seq_len=8))
    rf = RolloutReward(g, Discriminator(DiscriminatorConfig.for_length(8, 32)), 3, rollout_policy="delayed")
    env = SeqGANEnv(rollout_reward=rf)
    assert env.rollout_reward is rf and env.generator is g and env.oracle is None and env.seq_len == 8
    assert SeqGANEnv(rollout_policy="delayed", **TINY).rollout_reward.rollout_policy == "delayed"
    assert SeqGANEnv(preset="tiny", seq_len=5).observation_space.shape == (5,)


def test_render_ansi_tokens_and_text():
    env = SeqGANEnv(render_mode="ansi", **TINY)
    env.reset(seed=0)
    env.step(3)
    env.step(12)
    assert env.render() == "[2/8] 3 12 _ _ _ _ _ _"
    words = [f"w{i}" for i in range(32)]
    env = SeqGANEnv(render_mode="ansi", vocab=words, **TINY)
    env.reset(seed=0)
    env.step(3)
    env.step(12)
    assert env.render() == "[2/8] w3 w12 _ _ _ _ _ _"
    assert env.decode(np.array([3, 12, 32, 32, 32, 32, 32, 32])) == "w3 w12"
    vec = SeqGANVectorEnv(num_envs=2, render_mode="ansi", vocab=words, **TINY)
    vec.reset(seed=0)
    vec.step(np.array([5, 6]))
    assert vec.render() == ("[1/8] w5 _ _ _ _ _ _ _", "[1/8] w6 _ _ _ _ _ _ _")


def test_package_imports_without_gymnasium():
    code = (
        "import sys; sys.modules['gymnasium'] = None\n"
        "import seqgan_env, seqgan_env.rewards\n"
        "assert 'seqgan_env.env' not in sys.modules and 'seqgan_env.registration' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reference_oracle_from_path_and_env_var(oracle_path, reference_oracle, monkeypatch):
    def small_d():  # a cheap discriminator for the paper-size task (the oracle is what is tested here)
        cfg = DiscriminatorConfig(vocab_size=5000, seq_len=20, emb_dim=4, filter_sizes=(1,), num_filters=(2,))
        return Discriminator(cfg)

    env = SeqGANEnv(oracle_params=oracle_path, discriminator=small_d(), num_rollouts=2)
    assert torch.equal(env.oracle.out.weight, reference_oracle.out.weight) and env.vocab_size == 5000
    monkeypatch.setenv("SEQGAN_ORACLE_PARAMS", str(oracle_path))
    assert torch.equal(SeqGANEnv(discriminator=small_d()).oracle.out.weight, reference_oracle.out.weight)
    tiny = SeqGANEnv(**TINY)  # the tiny task never reads the paper-size file from the environment
    assert tiny.oracle.vocab_size == 32
    monkeypatch.delenv("SEQGAN_ORACLE_PARAMS")
    assert not torch.equal(SeqGANEnv(discriminator=small_d()).oracle.out.weight, reference_oracle.out.weight)


# ---------------------------------------------------------------------------------------------- the fast path
class _LaunchSpy:
    """Counts launches of the Triton rollout kernel (``kernel[grid](...)``) and forwards them."""

    def __init__(self, kernel) -> None:
        self.kernel, self.launches = kernel, 0

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            self.launches += 1
            return self.kernel[grid](*args, **kwargs)

        return launch

    def __getattr__(self, name):
        return getattr(self.kernel, name)


def _record_scored(env) -> list[torch.Tensor]:
    """Every token batch the env's reward scores (the rollouts and the finished sequences), in call order."""
    rf = env.unwrapped.rollout_reward
    seen: list[torch.Tensor] = []
    score = rf.score

    def spy(tokens: torch.Tensor) -> torch.Tensor:
        seen.append(tokens.clone())
        return score(tokens)

    rf.score = spy
    return seen


@pytest.mark.skipif(torch.cuda.is_available(), reason="runs the kernel in Triton's interpreter on CPU tensors")
def test_env_and_vector_env_rewards_run_the_kernel(monkeypatch):
    """With reward_backend="triton", gym.make and gym.make_vec reach the fused kernel (run here in Triton's
    interpreter) on every rewarded step, and their rollouts equal the PyTorch reference token for token."""
    pytest.importorskip("triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    from seqgan_env.kernels._loader import load_kernel_module

    mod = load_kernel_module("rollout_triton")
    spy = _LaunchSpy(mod.mc_rollout_kernel)
    monkeypatch.setattr(mod, "mc_rollout_kernel", spy)
    kw = dict(num_rollouts=2, seed=0, seq_len=5, reward_mode="mc")
    actions = [3, 1, 4, 1, 5]

    envs = {b: gym.make("SeqGAN-tiny-v0", reward_backend=b, **kw) for b in ("triton", "torch")}
    assert envs["triton"].unwrapped.rollout_reward.backend == "triton"
    assert envs["torch"].unwrapped.rollout_reward.backend == "torch"
    seen = {b: _record_scored(e) for b, e in envs.items()}
    rewards = {b: [] for b in envs}
    for b, env in envs.items():
        before = spy.launches
        env.reset(seed=3)
        for a in actions:
            rewards[b].append(env.step(a)[1])
        launched = spy.launches - before
        assert launched == (len(actions) - 1 if b == "triton" else 0)  # one launch per rollout step, none at T
    assert len(seen["triton"]) == len(seen["torch"]) == len(actions)
    for a, b in zip(seen["triton"], seen["torch"]):
        assert torch.equal(a, b)
    np.testing.assert_allclose(rewards["triton"], rewards["torch"], rtol=0, atol=1e-6)

    vecs = {b: gym.make_vec("SeqGAN-tiny-v0", num_envs=3, reward_backend=b, **kw) for b in ("triton", "torch")}
    vseen = {b: _record_scored(e) for b, e in vecs.items()}
    vrew = {}
    for b, venv in vecs.items():
        before = spy.launches
        venv.reset(seed=5)
        vrew[b] = [venv.step(np.array([a, a + 1, a + 2]))[1] for a in actions]
        assert spy.launches - before == (len(actions) - 1 if b == "triton" else 0)
    for a, b in zip(vseen["triton"], vseen["torch"]):
        assert torch.equal(a, b)
    np.testing.assert_allclose(np.stack(vrew["triton"]), np.stack(vrew["torch"]), rtol=0, atol=1e-6)


def test_triton_backend_where_it_cannot_run_is_an_error(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: the Triton backend can run here")
    with pytest.raises(ValueError, match="CUDA device"):
        gym.make("SeqGAN-tiny-v0", reward_backend="triton")
    with pytest.raises(ValueError, match="CUDA device"):
        gym.make_vec("SeqGAN-tiny-v0", num_envs=2, reward_backend="triton")
    assert gym.make("SeqGAN-tiny-v0").unwrapped.rollout_reward.backend == "torch"


# ---------------------------------------------------------------------------------------------- what RL users expect
def test_longer_episodes_are_never_cut():
    """seq_len above the id's T: gym.make and the sync, async and native make_vec all run the whole episode and pay
    D's reward at its end, with truncated False everywhere (the ids register no TimeLimit)."""
    kw = dict(seq_len=12, num_rollouts=2, reward_mode="terminal", seed=0)
    env = gym.make("SeqGAN-tiny-v0", **kw)
    env.reset(seed=0)
    for t in range(12):
        obs, r, term, trunc, info = env.step(1)
        assert trunc is False and term == (t == 11)
    assert r > 0
    for mode in ("sync", "async", "vector_entry_point"):
        vec = gym.make_vec("SeqGAN-tiny-v0", num_envs=2, vectorization_mode=mode, **kw)
        vec.reset(seed=0)
        for t in range(12):
            obs, r, term, trunc, info = vec.step(np.array([1, 2]))
            assert not trunc.any() and bool(term.all()) == (t == 11), (mode, t)
        assert (r > 0).all(), mode
        vec.close()


def test_nan_in_the_models_raises_at_the_step():
    from seqgan_env.kernels import NonFiniteError

    env = SeqGANEnv(**TINY)
    env.reset(seed=0)
    with torch.no_grad():
        env.discriminator.out.bias[1] = float("nan")
    with pytest.raises(NonFiniteError, match="discriminator returned non-finite"):
        env.step(1)
    env = SeqGANEnv(**TINY)
    env.reset(seed=0)
    with torch.no_grad():
        env.generator.lstm.weight_hh_l0[0, 0] = float("inf")
    with pytest.raises(NonFiniteError, match="w_hh"):
        env.step(1)
    vec = SeqGANVectorEnv(num_envs=2, reward_mode="mc", **TINY)
    vec.reset(seed=0)
    with torch.no_grad():
        vec.generator.out.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="w_out"):
        vec.step(np.array([1, 2]))


def test_action_masks_on_both_classes():
    env = SeqGANEnv(**TINY)
    assert env.action_masks().shape == (32,) and env.action_masks().dtype == bool and env.action_masks().all()
    wrapped = gym.make("SeqGAN-tiny-v0", num_rollouts=2)
    assert wrapped.get_wrapper_attr("action_masks")().all()
    vec = SeqGANVectorEnv(num_envs=3, **TINY)
    assert vec.action_masks().shape == (3, 32) and vec.action_masks().all()


@pytest.mark.parametrize("mode", ["shaped", "terminal"])
def test_dict_observation_mode(mode):
    env = gym.make("SeqGAN-tiny-v0", observation_mode="dict", reward_mode=mode, num_rollouts=2)
    check_env(env.unwrapped)
    sb3_check_env(env.unwrapped)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"input_ids", "attention_mask"} and obs["attention_mask"].sum() == 0
    obs, *_ = env.step(5)
    assert obs["input_ids"][0] == 5 and obs["attention_mask"].tolist() == [1] + [0] * 7
    vec = SeqGANVectorEnv(num_envs=2, observation_mode="dict", autoreset_mode=AutoresetMode.SAME_STEP, **TINY)
    obs, _ = vec.reset(seed=0)
    assert obs["input_ids"].shape == (2, 8) and vec.observation_space["attention_mask"].shape == (2, 8)
    for _ in range(8):
        obs, _, term, _, info = vec.step(np.array([1, 2]))
    assert term.all() and info["final_obs"][1]["input_ids"].tolist() == [2] * 8
    assert (obs["attention_mask"] == 0).all()
    with pytest.raises(ValueError, match="observation_mode"):
        SeqGANEnv(observation_mode="tokens", **TINY)


def test_decoded_text_in_info():
    words = [f"w{i}" for i in range(32)]
    env = SeqGANEnv(vocab=words, **TINY)
    _, info = env.reset(seed=0)
    assert info["text"] == ""
    _, _, _, _, info = env.step(3)
    _, _, _, _, info = env.step(7)
    assert info["text"] == "w3 w7"
    assert "text" not in SeqGANEnv(**TINY).reset(seed=0)[1]
    vec = SeqGANVectorEnv(num_envs=2, vocab=words, **TINY)
    vec.reset(seed=0)
    _, _, _, _, infos = vec.step(np.array([1, 2]))
    assert infos["text"].tolist() == ["w1", "w2"] and infos["_text"].all()


def test_rgb_array_rendering():
    env = gym.make("SeqGAN-tiny-v0", render_mode="rgb_array", num_rollouts=2)
    check_env(env.unwrapped, skip_render_check=False)
    env.reset(seed=0)
    env.step(3)
    img = env.render()
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert (img < 128).any() and (img > 128).any()  # dark text on a light background
    vec = SeqGANVectorEnv(num_envs=2, render_mode="rgb_array", **TINY)
    vec.reset(seed=0)
    frames = vec.render()
    assert len(frames) == 2 and all(f.dtype == np.uint8 for f in frames)


def test_score_fn_replaces_the_discriminator():
    def threes(tokens: torch.Tensor) -> torch.Tensor:  # the fraction of 3s: a reward model of our own
        return (tokens == 3).float().mean(dim=1)

    env = SeqGANEnv(score_fn=threes, reward_mode="terminal", **TINY)
    run = run_episode(env, [3, 3, 3, 3, 1, 1, 3, 3], seed=0)
    assert run[-1][1] == pytest.approx(6 / 8)
    with pytest.raises(ValueError, match="score_fn"):
        SeqGANEnv(rollout_reward=env.rollout_reward, score_fn=threes)


def test_rollout_reward_settings_are_not_silently_ignored():
    g, d = Generator(GeneratorConfig(vocab_size=32, seq_len=8), seed=0), Discriminator(
        DiscriminatorConfig.for_length(8, vocab_size=32), seed=0)
    rr = RolloutReward(g, d, 4, backend="torch")
    for kw, name in (({"num_rollouts": 2}, "num_rollouts"), ({"rollout_policy": "delayed"}, "rollout_policy"),
                     ({"reward_backend": "triton"}, "reward_backend")):
        with pytest.raises(ValueError, match=f"{name}=.* but the rollout_reward passed has {name}"):
            SeqGANEnv(rollout_reward=rr, **kw)
    env = SeqGANEnv(rollout_reward=rr, num_rollouts=4, reward_backend="torch")  # the same settings: fine
    assert env.unwrapped.rollout_reward is rr


def test_decode_takes_dict_observations():
    env = SeqGANEnv(observation_mode="dict", **TINY)
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(3)
    obs, *_ = env.step(5)
    assert env.decode(obs) == env.decode(obs["input_ids"]) == "3 5"


def test_sync_models_reaches_async_workers():
    """Models passed to AsyncVectorEnv workers are copies: retraining the originals leaves the workers' rewards
    stale until sync_models pushes the weights."""
    from seqgan_env.env import sync_models

    g = Generator(GeneratorConfig(vocab_size=32, seq_len=8, emb_dim=16, hidden_dim=16), seed=0)
    d = Discriminator(DiscriminatorConfig.for_length(8, 32, emb_dim=16).with_filter_scale(0.1), seed=0)

    def make():
        return gym.make("SeqGAN-tiny-v0", generator=g, discriminator=d, reward_mode="terminal", num_rollouts=2)

    envs = gym.vector.AsyncVectorEnv([make, make])

    def final_rewards():
        envs.reset(seed=0)
        for _ in range(8):
            _, r, *_ = envs.step(np.array([1, 2]))
        return r

    try:
        before = final_rewards()
        with torch.no_grad():
            d.out.bias.copy_(torch.tensor([-20.0, 20.0]))  # the main process's D now says "real" to everything
        np.testing.assert_allclose(final_rewards(), before)  # the workers still score with their copies
        sync_models(envs, generator=g, discriminator=d)
        after = final_rewards()
        assert (after > 0.999).all() and (abs(after - before) > 1e-3).all()
    finally:
        envs.close()
