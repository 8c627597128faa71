"""A minimal custom generator agent trained adversarially (see docs/plugging_in_agents.md). Runs in seconds:

    python examples/custom_agent.py [--out runs/custom_agent] [--adv-rounds 20]

The agent implements the :class:`~seqgan_env.agents.protocol.GeneratorAgent` protocol: REINFORCE on the *terminal*
reward D(Y) (no Monte Carlo rollouts) with a running-mean baseline. The trainer does the rest: MLE pretraining,
D pretraining, alternating G/D rounds, evaluation and metrics.csv.
"""

from __future__ import annotations

from typing import Any

import torch

from seqgan_env import Discriminator, random_oracle
from seqgan_env.agents import AdversarialTrainer, GeneratorAgent, ScheduleConfig
from seqgan_env.checks import check_int
from seqgan_env.cli import ArgumentParser, check_run_options, run_cli
from seqgan_env.config import DataConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.files import check_output_dir
from seqgan_env.generator import Generator
from seqgan_env.presets import PRESETS
from seqgan_env.rewards import RolloutReward
from seqgan_env.updates import NonFiniteLossError


class TerminalRewardAgent:
    """REINFORCE on D(Y) with a running-mean baseline: loss = -mean_b (D(Y_b) - baseline) * sum_t log G(y_t)."""

    def __init__(self, generator: Generator, lr: float = 0.01, batch_size: int = 64) -> None:
        self.generator, self.batch_size, self.baseline = generator, batch_size, 0.5
        self.optimizer = torch.optim.Adam(generator.trainable_parameters(), lr=lr)

    def make_rollout_reward(self, discriminator: Discriminator) -> RolloutReward:
        return RolloutReward(self.generator, discriminator, num_rollouts=1, backend="torch")  # only .score is used

    def generator_step(self, rollout_reward: RolloutReward, rng: torch.Generator) -> dict[str, float]:
        tokens = self.generator.sample(self.batch_size, generator=rng)  # (B, T), all randomness from rng
        reward = rollout_reward.score(tokens)  # (B,) D(Y), no dropout
        advantage = reward - self.baseline
        loss = -(advantage * self.generator.log_probs(tokens).sum(dim=1)).mean()
        if not torch.isfinite(loss):  # the protocol: stop on NaN/inf so the trainer keeps its last good checkpoint
            raise NonFiniteLossError(f"custom agent loss is {loss.item()}; lower the learning rate.")
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.generator.trainable_parameters(), 5.0)
        self.optimizer.step()
        self.baseline = 0.9 * self.baseline + 0.1 * float(reward.mean())
        return {"g_reward": float(reward.mean()), "g_loss": loss.item()}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict(),
                "baseline": self.baseline}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = float(state["baseline"])


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="runs/custom_agent", help="output directory (metrics.csv, checkpoints)")
    p.add_argument("--adv-rounds", type=int, default=20, help="adversarial rounds (G step + D retraining each)")
    p.add_argument("--seed", type=int, default=0, help="seeds the oracle (seed), G (seed+1) and D (seed+2)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = p.parse_args(argv)
    check_run_options(threads=args.threads)
    check_int("--adv-rounds", args.adv_rounds, minimum=0)
    check_int("--seed", args.seed, minimum=0)
    torch.set_num_threads(args.threads)
    out = check_output_dir(args.out)
    task = PRESETS["tiny"]  # V = 32, T = 8
    oracle = random_oracle(task.generator_config(), seed=args.seed)
    agent = TerminalRewardAgent(Generator(task.generator_config(), seed=args.seed + 1))
    assert isinstance(agent, GeneratorAgent)  # the protocol is runtime-checkable
    trainer = AdversarialTrainer(
        agent, Discriminator(task.discriminator_config(), seed=args.seed + 2), oracle,
        make_oracle_data(oracle, DataConfig(num_train=1024, num_test=512)),
        schedule=ScheduleConfig(mle_epochs=3, d_pretrain_rounds=3, d_pretrain_epochs=1, adv_rounds=args.adv_rounds,
                                d_steps=1, d_epochs=1, num_negatives=512, eval_samples=512, d_eval_samples=256,
                                eval_every=10),
        seed=args.seed, out_dir=out, tensorboard=False,
    )
    summary = trainer.run()
    print(f"NLL-oracle: after MLE pretraining {summary['pretrain_nll_oracle']:.3f}, MLE-only baseline "
          f"{summary['mle_nll_oracle']:.3f}, custom agent {summary['seqgan_nll_oracle']:.3f} ({out}/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
