"""The paper's REINFORCE agent behind Stable-Baselines3's algorithm API.

:class:`ReinforceAlgorithm` wraps :class:`~seqgan_env.agents.reinforce.ReinforceAgent` so that code written for an SB3
algorithm (``PPO(...).learn(total_timesteps, callback=...)``, ``predict``, ``save``/``load``, ``set_logger``,
``get_env``, ``num_timesteps``) drives the paper's agent unchanged, including SB3 callbacks such as
:class:`~seqgan_env.agents.sb3.DiscriminatorCallback`.

One *rollout* is one generator step of the paper: B sequences sampled from G, their Q_t by N Monte Carlo rollouts of
the current D (one batched :meth:`~seqgan_env.rewards.RolloutReward.q_values` call), one Adam step on
-sum_t log G(y_t | Y_{<t}) Q_t. It counts as B*T timesteps (one per generated token, as if B envs stepped T times in
lockstep). The callback hooks fire in SB3's order::

    on_training_start(locals, globals)
    repeat: on_rollout_start(); T x (update_locals(locals); on_step()); on_rollout_end(); [gradient step]
    on_training_end()

``on_step`` sees SB3's usual locals: ``new_obs`` (B, T) int64 observations after the step (pad V after the prefix),
``actions`` (B,), ``rewards`` (B,) float32 (Q_t of the step), ``dones`` (B,) bool (True at t = T) and ``infos`` (a
list of B dicts, with ``terminal_observation`` at t = T). Returning False from ``on_step`` stops training before
the gradient step of that rollout. The gradient step happens *after* ``on_rollout_end``, like SB3's on-policy
algorithms (which call ``train()`` after it): a callback that retrains D there changes the reward of the *next*
batch only, since this batch's Q_t was computed during the rollout.

The env (``env=``) is optional and used only by callbacks (``training_env``) and for its spaces: REINFORCE draws
its own sequences from G, which is the fast batched path of the paper.
"""

from __future__ import annotations

import dataclasses
import io
import sys
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback, ProgressBarCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import configure_logger
from torch import Tensor

from seqgan_env._compat import alias_property, renamed_kwarg
from seqgan_env.config import GeneratorConfig
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator, row_seeds_for
from seqgan_env.kernels import sample_next
from seqgan_env.rewards import RolloutReward

from .reinforce import ReinforceAgent, ReinforceConfig

__all__ = ["ReinforceAlgorithm"]


class ReinforceAlgorithm:
    """SB3-style algorithm around :class:`ReinforceAgent` (the paper's policy gradient).

    Args:
        generator: G_theta, trained in place (typically MLE-pretrained).
        discriminator: D_phi, read live by the rollout reward (a callback may retrain it).
        config: REINFORCE options (paper defaults: B = 64, N = 16, Adam 0.01, clip 5, sum loss, no baseline).
        env: optional SB3 VecEnv (e.g. :class:`~seqgan_env.agents.sb3.SB3VecEnvAdapter`) for callbacks.
        rollout_reward: optional reward; default ``agent.make_rollout_reward(discriminator)``.
        seed: seeds the torch generator all sampling draws from (checkpointed).
        tensorboard_log: folder for TensorBoard logs (as SB3's argument).
        verbose: 0 silent, 1 logs to stdout (as SB3).
    """

    def __init__(
        self,
        generator: Generator,
        discriminator: Discriminator,
        config: ReinforceConfig | None = None,
        *,
        env: Any = None,
        rollout_reward: RolloutReward | None = None,
        seed: int = 0,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        reward_fn: RolloutReward | None = None,
    ) -> None:
        self.agent = ReinforceAgent(generator, config)
        self.discriminator = discriminator
        rollout_reward = renamed_kwarg("ReinforceAlgorithm", "reward_fn", reward_fn, "rollout_reward", rollout_reward)
        self.rollout_reward = rollout_reward if rollout_reward is not None else \
            self.agent.make_rollout_reward(discriminator)
        self.env = env
        self.seed = seed
        self.rng = torch.Generator(device=generator.device).manual_seed(seed)
        self.tensorboard_log = tensorboard_log
        self.verbose = verbose
        self.num_timesteps = 0
        self._total_timesteps = 0
        self._logger: Logger | None = None
        self._custom_logger = False
        v, t = generator.vocab_size, generator.seq_len
        self.observation_space = spaces.Box(0, v, (t,), np.int64)
        self.action_space = spaces.Discrete(v)
        self.policy = generator  # what SB3 code calls the trainable network

    # ------------------------------------------------------------------ SB3 plumbing
    @property
    def generator(self) -> Generator:
        return self.agent.generator

    @property
    def config(self) -> ReinforceConfig:
        return self.agent.config

    @property
    def logger(self) -> Logger:
        if self._logger is None:
            self._logger = configure_logger(self.verbose, self.tensorboard_log, "REINFORCE")
        return self._logger

    def set_logger(self, logger: Logger) -> None:
        """Use ``logger`` (e.g. from ``stable_baselines3.common.logger.configure``) instead of the default."""
        self._logger = logger
        self._custom_logger = True

    def get_env(self) -> Any:
        return self.env

    def get_vec_normalize_env(self) -> Any:
        """The ``VecNormalize`` wrapper of the env, if any (SB3's ``EvalCallback``/``CheckpointCallback`` ask)."""
        from stable_baselines3.common.vec_env import unwrap_vec_normalize

        return unwrap_vec_normalize(self.env) if self.env is not None else None

    def set_random_seed(self, seed: int | None = None) -> None:
        """Reseed as SB3 does: Python, NumPy and torch, this algorithm's sampling generator and the env."""
        if seed is None:
            return
        from stable_baselines3.common.utils import set_random_seed

        set_random_seed(seed)
        self.seed = int(seed)
        self.rng.manual_seed(int(seed))
        if self.env is not None:
            self.env.seed(int(seed))

    def set_env(self, env: Any) -> None:
        self.env = env

    def _init_callback(self, callback: Any, progress_bar: bool = False) -> BaseCallback:
        if isinstance(callback, list):
            callback = CallbackList(callback)
        elif callback is None:
            callback = CallbackList([])
        elif not isinstance(callback, BaseCallback):
            callback = ConvertCallback(callback)
        if progress_bar:
            callback = CallbackList([callback, ProgressBarCallback()])
        callback.init_callback(self)  # type: ignore[arg-type]
        return callback

    # ------------------------------------------------------------------ sampling and prediction
    def sample_sequences(self, num: int, *, seed: int = 0) -> Tensor:
        """``num`` sequences (num, T) from G with row seeds derived from ``seed`` (the training RNG is untouched)."""
        return self.generator.sample_batches(num, 1024, seed=seed).cpu()

    reward_fn = alias_property("ReinforceAlgorithm", "reward_fn", "rollout_reward")

    @torch.no_grad()
    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """The next token for each observation, as SB3's ``predict``.

        ``observation`` (T,) or (B, T) token ids with the pad V after the prefix -> actions () or (B,) int64 (argmax
        of G with ``deterministic``, else a draw of the project's sampler keyed by seeds from the global torch RNG);
        ``state`` is returned unchanged (G recomputes its state from the prefix).
        """
        g = self.generator
        if isinstance(observation, Mapping):  # observation_mode="dict"
            observation = observation["input_ids"]
        obs = np.asarray(observation)
        single = obs.ndim == 1
        tokens = torch.as_tensor(np.atleast_2d(obs).round().astype(np.int64), device=g.device)
        if tokens.shape[1] != g.seq_len:
            raise ValueError(f"observation has length {tokens.shape[1]} but the generator's seq_len is {g.seq_len}.")
        lengths = (tokens != g.vocab_size).sum(dim=1).clamp(max=g.seq_len - 1)
        h, _ = g.prefix_states(torch.where(tokens == g.vocab_size, 0, tokens))  # (B, T + 1, H)
        logits = g.out(h[torch.arange(tokens.shape[0], device=g.device), lengths])  # (B, V)
        if deterministic:
            actions = logits.argmax(-1)
        else:
            seeds = row_seeds_for(tokens.shape[0], device=g.device)
            actions = sample_next(logits, seeds, position=0)
        out = actions.cpu().numpy().astype(np.int64)
        return (out[0] if single else out), state

    # ------------------------------------------------------------------ training
    def _rollout_locals(self, tokens: Tensor, q: Tensor, t: int) -> dict[str, Any]:
        """SB3's ``collect_rollouts`` locals for the lockstep step that generates position ``t`` (0-based)."""
        b, seq_len = tokens.shape
        v = self.generator.vocab_size
        obs = np.full((b, seq_len), v, dtype=np.int64)
        obs[:, : t + 1] = tokens[:, : t + 1].cpu().numpy()
        done = t == seq_len - 1
        infos: list[dict[str, Any]] = [{"position": t + 1} for _ in range(b)]
        if done:
            for i in range(b):
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = False
            obs = np.full((b, seq_len), v, dtype=np.int64)  # the auto-reset observation, as SB3 VecEnvs return
        return {
            "new_obs": obs,
            "actions": tokens[:, t].cpu().numpy(),
            "rewards": q[:, t].cpu().numpy().astype(np.float32),
            "dones": np.full(b, done),
            "infos": infos,
            "n_steps": t,
        }

    def learn(
        self,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 1,
        tb_log_name: str = "REINFORCE",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> ReinforceAlgorithm:
        """Train for at least ``total_timesteps`` generated tokens (ceil to whole generator steps of B*T tokens).

        ``callback``: an SB3 callback, a list of them, or a function ``(locals, globals) -> bool``. Logs
        ``rollout/g_reward``, ``train/g_loss`` ... every ``log_interval`` generator steps. Returns ``self``.
        """
        if reset_num_timesteps:
            self.num_timesteps = 0
        self._total_timesteps = total_timesteps + (0 if reset_num_timesteps else self.num_timesteps)
        if not self._custom_logger:
            self._logger = configure_logger(self.verbose, self.tensorboard_log, tb_log_name, reset_num_timesteps)
        callback = self._init_callback(callback, progress_bar)
        total_timesteps = self._total_timesteps  # what SB3 hands callbacks (ProgressBarCallback sizes its bar by it)
        callback.on_training_start(locals(), globals())
        b, seq_len = self.config.batch_size, self.generator.seq_len
        iteration, start = 0, time.time()
        stop = False
        while self.num_timesteps < self._total_timesteps and not stop:
            callback.on_rollout_start()
            tokens, q = self.agent.sample_scored(self.rollout_reward, self.rng)  # (B, T) each
            for t in range(seq_len):
                self.num_timesteps += b
                callback.update_locals(self._rollout_locals(tokens, q, t))
                if not callback.on_step():
                    stop = True
                    break
            if stop:
                break
            callback.on_rollout_end()
            metrics = self.agent.update(tokens, q)
            self.rollout_reward.update_rollout_policy()
            iteration += 1
            if log_interval and iteration % log_interval == 0:
                self.logger.record("time/iterations", iteration, exclude="tensorboard")
                self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
                self.logger.record("time/time_elapsed", int(time.time() - start), exclude="tensorboard")
                self.logger.record("rollout/g_reward", metrics["g_reward"])
                self.logger.record("rollout/g_reward_final", metrics["g_reward_final"])
                self.logger.record("train/g_loss", metrics["g_loss"])
                self.logger.record("train/g_grad_norm", metrics["g_grad_norm"])
                self.logger.dump(step=self.num_timesteps)
        callback.on_training_end()
        return self

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | Path | IO[bytes]) -> None:
        """Write a zip (``.zip`` appended when ``path`` has no suffix; or into an open binary file, as SB3) holding
        the agent's state (generator, Adam, steps, config), the delayed rollout policy if any, the generator config,
        the training RNG state and ``num_timesteps``. The discriminator is not included (it belongs to the setup:
        see :func:`~seqgan_env.agents.sb3.save_setup`)."""
        if isinstance(path, (str, Path)):
            path = Path(path)
            if not path.suffix:
                path = path.with_suffix(".zip")
            path.parent.mkdir(parents=True, exist_ok=True)
        rollout_g = self.rollout_reward.rollout_generator
        state = {
            "agent": self.agent.state_dict(),
            # the delayed rollout policy (rollout_policy="delayed"), else None: G itself
            "rollout_generator": None if rollout_g is self.generator else rollout_g.state_dict(),
            "generator_config": dataclasses.asdict(self.generator.config),
            "rng": self.rng.get_state(),
            "num_timesteps": self.num_timesteps,
            "seed": self.seed,
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("reinforce.pt", buf.getvalue())
            zf.writestr("_python_version", sys.version.split()[0])

    @classmethod
    def load(
        cls,
        path: str | Path | IO[bytes],
        env: Any = None,
        *,
        discriminator: Discriminator | None = None,
        **kwargs: Any,
    ) -> ReinforceAlgorithm:
        """Rebuild a saved algorithm. ``discriminator`` defaults to ``env.unwrapped.discriminator`` when an env is
        given; the generator is rebuilt from the file (if an env is given, its ``generator`` is loaded with the saved
        weights and used, so the env's rollouts follow the loaded policy), and so is the delayed rollout policy.
        SB3's ``load`` keywords are accepted: ``device`` (where the tensors are loaded; the generator stays where it
        is), ``custom_objects``, ``print_system_info`` and ``force_reset`` (no effect here); others go to
        ``__init__``."""
        device = kwargs.pop("device", "cpu")
        for sb3_only in ("custom_objects", "print_system_info", "force_reset"):
            kwargs.pop(sb3_only, None)
        if isinstance(path, (str, Path)):
            path = Path(path)
            if not path.exists() and not path.suffix:
                path = path.with_suffix(".zip")
        with zipfile.ZipFile(path) as zf:
            state = torch.load(io.BytesIO(zf.read("reinforce.pt")), weights_only=True,
                               map_location=device if device != "auto" else "cpu")
        gcfg = GeneratorConfig(**state["generator_config"])
        base = getattr(env, "unwrapped", None)
        generator = getattr(base, "generator", None)
        if generator is None or generator.config != gcfg:
            generator = Generator(gcfg)
        if discriminator is None:
            discriminator = getattr(base, "discriminator", None)
        if discriminator is None:
            raise ValueError("pass discriminator= (or an env with one) to load a ReinforceAlgorithm.")
        cfg = ReinforceConfig(**state["agent"]["config"])
        model = cls(generator, discriminator, cfg, env=env, seed=int(state["seed"]), **kwargs)
        model.agent.load_state_dict(state["agent"])
        delayed = model.rollout_reward.rollout_generator
        if delayed is not model.generator:  # the delayed copy was made from G before its weights were loaded
            saved = state.get("rollout_generator")
            delayed.load_state_dict(saved if saved is not None else model.generator.state_dict())
        model.rng.set_state(state["rng"].cpu())
        model.num_timesteps = int(state["num_timesteps"])
        return model
