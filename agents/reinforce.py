"""REINFORCE, the SeqGAN paper's policy gradient (Yu et al., AAAI 2017, eq. 8).

For a batch of B sequences Y^b ~ G_theta and rollout action values Q^b_t (:class:`~seqgan_env.rewards.RolloutReward`
in "mc" mode: the mean of N rollout scores D(.) for t < T, D(Y) at t = T), the loss is

    L(theta) = - sum_{b, t} log G_theta(y^b_t | Y^b_{1:t-1}) * (Q^b_t - baseline_t)

with Adam (lr 0.01) and a global gradient-norm clip of 5, one step per call. The defaults are the reference
code's (``generator.py``: ``g_loss = -tf.reduce_sum(tf.reduce_sum(one_hot * log(g_predictions), 1) *
reshape(rewards, [-1]))``): a **sum over batch and time**, no baseline, no discount, and the rollout policy is
the current generator (the reference's rollout graph reads the live weights). Departures are named options:

* ``loss_reduction="mean"``: divide the sum by B*T (changes only the gradient's scale before clipping and Adam).
* ``baseline="mean"``: subtract, at each position t, the batch mean of Q_t (b_t = mean_b Q^b_t).
* ``rollout_policy="delayed"``: roll out with a delayed copy beta <- 0.8 beta + 0.2 theta, updated after each
  generator step, via :meth:`RolloutReward.update_rollout_policy` (what the reference code's ``ROLLOUT`` class was
  written to do; the paper sets G_beta to the generator, Algorithm 1's beta <- theta, which is ``"current"``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import torch
from torch import Tensor

from seqgan_env._compat import alias_method
from seqgan_env.checks import check_int
from seqgan_env.config import warn_if_large_lr
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator, check_tokens, row_seeds_for, token_log_probs
from seqgan_env.parallel import Parallel
from seqgan_env.rewards import RolloutReward
from seqgan_env.updates import NonFiniteLossError, make_generator_optimizer

__all__ = ["ReinforceConfig", "ReinforceAgent"]


@dataclass(frozen=True)
class ReinforceConfig:
    """The policy-gradient options; every default is the paper's / reference code's value.

    Attributes:
        lr: Adam learning rate of the policy-gradient optimizer (a fresh Adam, as the reference's ``g_updates``).
        grad_clip: global gradient-norm clip.
        batch_size: sequences per generator step (B).
        num_rollouts: Monte Carlo rollouts per prefix (N).
        baseline: ``"none"`` (paper) or ``"mean"`` (per-position batch mean of Q).
        rollout_policy: ``"current"`` (the paper and, in effect, the reference code) or ``"delayed"``.
        update_rate: the delayed copy's rate (paper: 0.8).
        loss_reduction: ``"sum"`` over batch and time (reference code) or ``"mean"`` over batch and time.
        backend: the rollout backend passed to :class:`RolloutReward` (``"auto"``: Triton on CUDA, else torch).
        reward_source: ``"discriminator"`` (paper) or ``"constant"``, an ablation that scores every rollout and
            sequence with ``constant_reward`` instead of D (same sampling, same random stream). A constant reward
            still sharpens G and lowers NLL-oracle (reference repository, SeqGAN issue #21); comparing the two
            shows what the discriminator itself contributes.
        constant_reward: the score used by ``reward_source="constant"``.
    """

    lr: float = 0.01
    grad_clip: float = 5.0
    batch_size: int = 64
    num_rollouts: int = 16
    baseline: Literal["none", "mean"] = "none"
    rollout_policy: Literal["current", "delayed"] = "current"
    update_rate: float = 0.8
    loss_reduction: Literal["sum", "mean"] = "sum"
    backend: str = "auto"
    reward_source: Literal["discriminator", "constant"] = "discriminator"
    constant_reward: float = 0.5

    def __post_init__(self) -> None:
        for name in ("lr", "grad_clip"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name}={value!r} must be a finite number > 0.")
        warn_if_large_lr("ReinforceConfig.lr", self.lr, 0.01)
        for name in ("batch_size", "num_rollouts"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=1))
        if self.baseline not in ("none", "mean"):
            raise ValueError(f"baseline={self.baseline!r}; use 'none' (paper) or 'mean'.")
        if self.rollout_policy not in ("current", "delayed"):
            raise ValueError(f"rollout_policy={self.rollout_policy!r}; use 'current' (reference) or 'delayed'.")
        if self.loss_reduction not in ("sum", "mean"):
            raise ValueError(f"loss_reduction={self.loss_reduction!r}; use 'sum' (reference) or 'mean'.")
        if self.reward_source not in ("discriminator", "constant"):
            raise ValueError(
                f"reward_source={self.reward_source!r}; use 'discriminator' (paper) or 'constant' (ablation)."
            )
        if not 0.0 <= self.update_rate <= 1.0:
            raise ValueError(f"update_rate={self.update_rate} must be in [0, 1].")


class ReinforceAgent:
    """The paper's policy-gradient generator agent (implements :class:`~seqgan_env.agents.protocol.GeneratorAgent`).

    Args:
        generator: G_theta, updated in place.
        config: options (paper defaults).
    """

    def __init__(self, generator: Generator, config: ReinforceConfig | None = None) -> None:
        self.generator = generator
        self.config = config = config or ReinforceConfig()
        self.optimizer = make_generator_optimizer(generator, config.lr)
        self.steps = 0
        self.model: torch.nn.Module = generator  # what the loss goes through (the trainer's DDP wrapper)
        self.parallel = Parallel()

    def bind(self, model: torch.nn.Module, parallel: Parallel) -> None:
        """Compute losses through ``model`` (the trainer's wrapper of ``generator``: DDP under ``torchrun``) and
        split each batch over ``parallel``'s ranks (each rank samples and scores its block of the B rows)."""
        self.model, self.parallel = model, parallel

    # ------------------------------------------------------------------ protocol
    make_reward_fn = alias_method("ReinforceAgent", "make_reward_fn", "make_rollout_reward")

    def make_rollout_reward(self, discriminator: Discriminator) -> RolloutReward:
        """A :class:`RolloutReward` over this agent's generator with its N, rollout policy and backend."""
        c = self.config
        score_fn = None
        if c.reward_source == "constant":
            def score_fn(tokens: Tensor) -> Tensor:  # the ablation: D replaced by a constant
                return torch.full((tokens.shape[0],), c.constant_reward, device=tokens.device)

        return RolloutReward(
            self.generator, discriminator, c.num_rollouts, rollout_policy=c.rollout_policy,
            update_rate=c.update_rate, backend=c.backend, score_fn=score_fn,
        )

    @torch.no_grad()
    def sample_scored(self, rollout_reward: RolloutReward, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        """Draw one seed per sequence of the global batch from ``rng``, then sample this rank's block of sequences
        from G with its seeds and score their Q_t by rollouts keyed by the same seeds (prefix length and rollout
        index keep the streams apart). Returns ``tokens`` (b, T) long and ``q`` (b, T) float for the block (the
        whole batch, b = B, in one process). Row b depends only on its seed, whatever the number of ranks."""
        g = self.generator
        seeds = row_seeds_for(self.config.batch_size, generator=rng, device=g.device)
        lo, hi = self.parallel.shard(self.config.batch_size)
        tokens = g.sample(hi - lo, row_seeds=seeds[lo:hi])  # (b, T)
        return tokens, rollout_reward.q_values(tokens, row_seeds=seeds[lo:hi])  # (b, T)

    def generator_step(self, rollout_reward: RolloutReward, rng: torch.Generator) -> dict[str, float]:
        """Sample B sequences from G (seeds from ``rng``), score Q_t by rollouts, take one policy-gradient step.

        The step is a deterministic function of ``rng``'s state. After the step the delayed rollout policy (if any)
        is moved towards G.
        """
        tokens, q = self.sample_scored(rollout_reward, rng)
        metrics = self.update(tokens, q, global_batch=self.config.batch_size)
        rollout_reward.update_rollout_policy()
        return metrics

    @torch.no_grad()
    def collect_from_vector_env(
        self, envs: Any, rng: torch.Generator, *, seed: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """Play one episode in each env of a ``SeqGANVectorEnv`` (reward mode "mc") with G as the policy.

        Resets ``envs`` (with ``seed``), samples one sequence per env from G (row seeds from ``rng``; G's policy
        depends only on its own prefix, so sampling the whole sequence first is the same as sampling step by step)
        and steps all envs with it, one token at a time. Returns ``tokens`` (num_envs, T) long and ``rewards``
        (num_envs, T) float, where ``rewards[:, t-1]`` is the env's reward for y_t (Q_t in mode "mc"), ready for
        :meth:`update`.
        """
        import numpy as np

        mode = getattr(envs, "reward_mode", None)
        if mode != "mc":
            raise ValueError(
                f"collect_from_vector_env needs a SeqGANVectorEnv in reward_mode='mc' (the paper's Q_t), got "
                f"reward_mode={mode!r}; build the env with reward_mode='mc'."
            )
        g = self.generator
        b, t_len = int(envs.num_envs), g.seq_len
        envs.reset(seed=seed)
        tokens = g.sample(b, row_seeds=row_seeds_for(b, generator=rng, device=g.device)).cpu()
        rewards = torch.empty(b, t_len, dtype=torch.float32)
        for t in range(t_len):
            _, r, _, _, _ = envs.step(tokens[:, t].numpy().astype(np.int64))
            rewards[:, t] = torch.as_tensor(np.asarray(r, dtype=np.float32))
        return tokens, rewards

    # ------------------------------------------------------------------ the gradient step
    def loss(self, tokens: Tensor, rewards: Tensor, *, global_batch: int | None = None) -> Tensor:
        """The policy-gradient loss of this rank's rows, through ``self.model``'s forward. ``tokens`` (b, T) long,
        ``rewards`` (b, T) float (Q_t) -> scalar with grad.

        With one process it is the paper's loss of the batch. Over ranks (``global_batch`` = B, the rows of every
        rank together) it is scaled so that DDP's gradient average is the gradient of the whole batch's loss; the
        ``"mean"`` baseline subtracts the per-position mean of Q over all B rows.
        """
        check_tokens(tokens, self.generator.vocab_size, self.generator.seq_len)
        if rewards.shape != tokens.shape:
            raise ValueError(
                f"rewards has shape {tuple(rewards.shape)} but tokens {tuple(tokens.shape)}; pass one Q_t per token."
            )
        p = self.parallel
        b_total = tokens.shape[0] if global_batch is None else int(global_batch)
        rewards = rewards.to(device=self.generator.device, dtype=torch.float32).detach()
        if self.config.baseline == "mean":
            rewards = rewards - p.all_reduce_sum(rewards.sum(dim=0, keepdim=True)) / b_total
        empty = tokens.shape[0] == 0
        x = tokens.to(self.generator.device)
        if empty:  # a rank without rows still takes part in DDP's all-reduce, with weight 0
            x = torch.zeros(1, tokens.shape[1], dtype=torch.long, device=self.generator.device)
            rewards = torch.zeros(1, tokens.shape[1], device=self.generator.device)
        logp = token_log_probs(self.model(x), x)  # (b, T), through the wrapper
        loss = -(logp * rewards).sum()
        if self.config.loss_reduction == "mean":
            loss = loss / (b_total * tokens.shape[1])
        return loss * p.world_size

    def update(self, tokens: Tensor, rewards: Tensor, *, global_batch: int | None = None) -> dict[str, float]:
        """One Adam step on :meth:`loss` for an already-scored batch (this rank's block of ``global_batch`` rows).

        This is the entry point for experience collected elsewhere, e.g. from ``SeqGANVectorEnv`` in reward mode
        "mc": stack the B episodes' actions into ``tokens`` (B, T) and their per-step rewards into ``rewards``
        (B, T). Returns ``g_loss``, ``g_reward`` (mean Q), ``g_reward_final`` (mean Q_T = D(Y)) and
        ``g_grad_norm`` (before clipping), all over the whole batch.
        """
        self.generator.train()
        p = self.parallel
        loss = self.loss(tokens, rewards, global_batch=global_batch)
        r = rewards.detach().double()
        sums = [float(loss.detach()) / p.world_size, float(r.sum()), float(r[:, -1].sum()) if r.numel() else 0.0,
                float(r.shape[0])]
        if p.enabled:
            sums = p.sum_floats(*sums)
        global_loss, q_sum, q_final_sum, rows = sums
        if not math.isfinite(global_loss):  # every rank sees the same value: they stop together
            raise NonFiniteLossError(
                f"policy-gradient loss is {global_loss} at generator step {self.steps}; stopping. "
                "Lower the learning rate or check the rewards."
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = self.generator.trainable_parameters()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        if not torch.isfinite(grad_norm):
            raise NonFiniteLossError(f"policy-gradient gradient norm is {float(grad_norm)}; stopping.")
        self.optimizer.step()
        self.steps += 1
        t_len = tokens.shape[1]
        return {
            "g_loss": global_loss,
            "g_reward": q_sum / max(rows * t_len, 1.0),
            "g_reward_final": q_final_sum / max(rows, 1.0),
            "g_grad_norm": float(grad_norm),
        }

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Generator weights, Adam state, the step counter and the config (as a dict)."""
        return {
            "generator": self.generator.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "steps": self.steps,
            "config": asdict(self.config),
        }

    def set_learning_rate(self, lr: float) -> None:
        """Use learning rate ``lr`` from now on (the config records it; Adam's moments are kept)."""
        self.config = replace(self.config, lr=float(lr))
        for group in self.optimizer.param_groups:
            group["lr"] = float(lr)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`. A config that differs from this agent's in anything but the learning rate
        raises ``ValueError`` naming the differing fields; the saved learning rate is adopted (a resumed run may
        have lowered it)."""
        saved = state.get("config")
        mine = asdict(self.config)
        if not isinstance(saved, dict):
            raise ValueError("the saved REINFORCE state has no config; it was not written by ReinforceAgent.")
        diff = {k: (saved.get(k), mine.get(k)) for k in set(saved) | set(mine)
                if k != "lr" and saved.get(k) != mine.get(k)}
        if diff:
            detail = ", ".join(f"{k}={a!r} saved vs {b!r} here" for k, (a, b) in sorted(diff.items()))
            raise ValueError(f"the saved REINFORCE config differs from this agent's ({detail}); build the agent with "
                             "the saved config.")
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.config = replace(self.config, lr=float(saved.get("lr", self.config.lr)))
        self.steps = int(state["steps"])
