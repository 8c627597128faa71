"""SeqGAN with Stable-Baselines3 (PPO, A2C, RecurrentPPO, MaskablePPO) or the paper's REINFORCE, CleanRL style.

    python examples/sb3_train.py --algo ppo --preset quick --oracle-params /path/seqgan_oracle_params.npz --out runs/ppo
    python examples/sb3_train.py --algo reinforce --preset quick --oracle-params ... --out runs/reinforce

Every algorithm goes through the same code: SB3's ``model.learn(timesteps, callback=DiscriminatorCallback(...))``
(``--algo reinforce`` is :class:`~seqgan_env.agents.sb3_reinforce.ReinforceAlgorithm`, the paper's agent behind the
SB3 API), so ``--timesteps`` (generated tokens) is the same budget for all of them.

What it does:

1. The task: the oracle (``--oracle-params``, else ``$SEQGAN_ORACLE_PARAMS``, else a seeded random oracle; the
   ``tiny`` preset always uses the random V=32, T=8 oracle of the env's "tiny" preset), real training/test data,
   G (the generator) and D (the paper's CNN, its filter counts scaled by ``--d-filter-scale``).
2. Pretraining with :class:`~seqgan_env.agents.trainer.AdversarialTrainer` (MLE epochs, then D pretraining rounds).
3. The env: ``SeqGANVectorEnv`` (SAME_STEP autoreset) under :class:`~seqgan_env.agents.sb3.SB3VecEnvAdapter`,
   reading G and D, reward mode ``--reward-mode`` (``shaped`` by default: r_t = Q_t - Q_{t-1}).
4. The algorithm. PPO, A2C and MaskablePPO get a policy in the generator's layout (LSTM features extractor,
   ``action_net`` = G's output layer) warm-started from the MLE-pretrained G, so every algorithm starts from the
   same policy; the callback copies the policy back into G at every rollout, so the env's Monte Carlo rollouts and
   the trainer's negatives follow the current policy. RecurrentPPO keeps its own architecture (a
   :class:`~seqgan_env.agents.sb3.TokenSequenceExtractor` then its LSTM, randomly initialised): its negatives are
   sampled from the policy itself, and the env's rollouts use the fixed MLE-pretrained G.
5. Every ``--d-every`` rollouts :class:`~seqgan_env.agents.sb3.DiscriminatorCallback` retrains D (the trainer's
   ``discriminator_step``, ``--d-epochs`` epochs on ``--num-negatives`` fresh negatives + as many real sequences),
   and every ``--eval-every`` of those rounds evaluates NLL-oracle / NLL-test / D on ``--eval-samples`` samples.

Writes to ``--out DIR``: ``metrics.csv`` (the columns of ``oracle_train.py``: phase, step, epoch, nll_oracle,
nll_test, d_loss, d_acc, g_reward, seconds; pretraining rows then one "adversarial" row per evaluation),
``summary.json`` (nll_oracle, nll_test, d_score_before, d_score_after, ...; ``d_score_*`` is the mean score, under a
frozen copy of the pretrained D, of the policy's samples before and after adversarial training), ``sb3/`` (SB3's
progress.csv and TensorBoard logs with the ``gan/*`` metrics) and ``setup/`` (:func:`~seqgan_env.agents.sb3.
save_setup`: the model, D, G and the env config; reload with ``load_setup``).
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import math
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.logger import configure

from seqgan_env import streams
from seqgan_env.agents import AdversarialTrainer, ReinforceAgent, ReinforceConfig, ScheduleConfig
from seqgan_env.agents.sb3 import (
    DiscriminatorCallback,
    TokenSequenceExtractor,
    generator_policy_kwargs,
    generator_to_policy,
    make_discriminator_step,
    make_sb3_env,
    sample_policy_sequences,
    save_setup,
)
from seqgan_env.agents.sb3_reinforce import ReinforceAlgorithm
from seqgan_env.agents.trainer import METRIC_COLUMNS
from seqgan_env.cli import ArgumentParser, UsageError, run_cli
from seqgan_env.config import DataConfig, MLEConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.discriminator import Discriminator
from seqgan_env.evaluation import sequence_nll
from seqgan_env.files import RunLock, check_output_dir, write_json
from seqgan_env.generator import Generator
from seqgan_env.oracle import default_oracle_path, make_oracle
from seqgan_env.presets import ORACLE_SEED
from seqgan_env.presets import PRESETS as ENV_PRESETS

ALGOS = ("ppo", "a2c", "recurrent-ppo", "maskable-ppo", "reinforce")


@dataclass
class Args:
    # ---- run
    algo: str = "ppo"
    """ppo | a2c | recurrent-ppo | maskable-ppo (the last two need sb3-contrib) | reinforce (the paper's agent)"""
    preset: str = "quick"
    """tiny (seconds, V=32, T=8) | quick (the oracle task V=5000, T=20, a few minutes on 2 CPU cores)"""
    oracle_params: str | None = None
    """the reference oracle .npz (quick preset); else $SEQGAN_ORACLE_PARAMS; else a seeded random oracle"""
    out: str = "runs/sb3"
    """output directory"""
    seed: int = 0
    """seeds G, D, the data, the trainer's streams, the env and the algorithm"""
    timesteps: int = 40_960
    """generated tokens (env steps) of adversarial training, the same budget for every --algo"""
    device: str = "cpu"
    threads: int = 1
    """torch.set_num_threads (1 avoids thrashing on a shared small CPU)"""
    save: bool = True
    """write DIR/setup (model, D, G, env config)"""
    # ---- task sizes and pretraining
    num_train: int = 10_000
    num_test: int = 2_000
    d_filter_scale: float = 0.1
    """multiplies the paper's filter counts (1.0 = 1,720 filters at T=20)"""
    mle_epochs: int = 5
    d_pretrain_rounds: int = 5
    d_pretrain_epochs: int = 1
    # ---- env and reward
    reward_mode: str = "shaped"
    """shaped (r_t = Q_t - Q_{t-1}) | terminal (D(Y) at the end) | mc (the paper's Q_t every step)"""
    num_envs: int = 16
    num_rollouts: int = 4
    """Monte Carlo rollouts N per prefix (paper: 16)"""
    reward_backend: str = "auto"
    # ---- adversarial schedule
    d_every: int = 1
    """retrain D every this many rollouts (one rollout = num_envs * n_steps tokens, or B * T for reinforce)"""
    d_epochs: int = 1
    num_negatives: int = 1_024
    eval_every: int = 8
    """evaluate every this many D rounds (and at the end)"""
    eval_samples: int = 2_000
    d_eval_samples: int = 1_000
    # ---- SB3 algorithms
    n_steps: int = 80
    """steps per env per rollout (PPO/A2C); num_envs * n_steps = 1,280 = B * T of the paper's PG batch"""
    batch_size: int = 320
    n_epochs: int = 4
    learning_rate: float = 5e-4
    gamma: float = 1.0
    """no discount, as the paper"""
    gae_lambda: float = 0.95
    ent_coef: float = 0.0
    max_grad_norm: float = 5.0
    # ---- REINFORCE
    pg_batch_size: int = 64
    pg_lr: float = 0.01


#: Preset overrides of the ``Args`` defaults (the defaults are the "quick" preset).
PRESETS: dict[str, dict[str, Any]] = {
    # quick: the paper's task (V=5000, T=20, generator emb/hidden 32, reference oracle when given), shrunk to a few
    # minutes of CPU: 10,000/2,000 train/test sequences, 5 MLE epochs, 5 D pretraining rounds of 1 epoch on
    # 1,024 + 1,024, D with 10% of the paper's filters, N = 4 rollouts, 32 rounds of 1,280 tokens (64 sequences,
    # the paper's PG batch) each followed by 1 D epoch on 1,024 fresh negatives + 1,024 real sequences.
    "quick": {},
    # tiny: the env's "tiny" task (random oracle, V=32, T=8), seconds long.
    "tiny": dict(
        num_train=512, num_test=256, d_filter_scale=1.0, mle_epochs=2, d_pretrain_rounds=2, num_envs=8, n_steps=16,
        batch_size=64, num_rollouts=2, timesteps=4_096, num_negatives=256, eval_every=4, eval_samples=256,
        d_eval_samples=128, pg_batch_size=16, learning_rate=1e-3,
    ),
}


def parse_args(argv: list[str] | None = None) -> Args:
    """Args = defaults <- preset <- the flags given (one ``--kebab-case`` flag per field)."""
    p = ArgumentParser(description=__doc__.split("\n")[0])
    for f in fields(Args):
        t = str(f.type)
        conv: Any = (lambda s: s.lower() in ("1", "true", "yes")) if "bool" in t else (
            int if "int" in t else float if "float" in t else str)
        if "None" in t:
            conv = (lambda c: lambda s: None if s.lower() == "none" else c(s))(conv)
        choices = {"algo": ALGOS, "preset": sorted(PRESETS), "reward_mode": ("shaped", "terminal", "mc")}.get(f.name)
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=conv, choices=choices,
                       default=argparse.SUPPRESS, help=f"default {f.default!r}")
    given = vars(p.parse_args(argv))
    given.pop("debug", None)
    preset = given.get("preset", Args.preset)
    args = Args(**({f.name: f.default for f in fields(Args)} | PRESETS[preset] | given))
    if args.preset == "tiny" and args.oracle_params is not None:
        raise UsageError(
            f"--preset tiny builds its own V=32 random oracle and cannot use --oracle-params {args.oracle_params}; "
            "use --preset quick with the reference oracle."
        )
    return args


def require_contrib(algo: str) -> Any:
    """``sb3_contrib``, or exit with how to install it."""
    try:
        import sb3_contrib
    except ImportError:
        raise UsageError(f"--algo {algo} needs sb3-contrib; install it with "
                         "`pip install 'seqgan-env[contrib]'` (or `pip install sb3-contrib`).") from None
    return sb3_contrib


def make_model(args: Args, env: Any, generator: Generator, discriminator: Discriminator) -> Any:
    """The algorithm, its policy warm-started from ``generator`` where the architecture allows it."""
    common = dict(seed=args.seed, device=args.device, verbose=0, tensorboard_log=None)
    if args.algo == "reinforce":
        cfg = ReinforceConfig(batch_size=args.pg_batch_size, lr=args.pg_lr, num_rollouts=args.num_rollouts,
                              backend=args.reward_backend)
        return ReinforceAlgorithm(generator, discriminator, cfg, env=env, seed=args.seed)
    ppo_kw = dict(n_steps=args.n_steps, batch_size=args.batch_size, n_epochs=args.n_epochs, gamma=args.gamma,
                  gae_lambda=args.gae_lambda, ent_coef=args.ent_coef, max_grad_norm=args.max_grad_norm,
                  learning_rate=args.learning_rate)
    if args.algo in ("recurrent-ppo", "maskable-ppo"):
        sb3_contrib = require_contrib(args.algo)
    if args.algo == "recurrent-ppo":
        kw = {"features_extractor_class": TokenSequenceExtractor,
              "features_extractor_kwargs": {"emb_dim": 32, "hidden_dim": 32, "rnn": "gru"},
              "lstm_hidden_size": 32, "net_arch": {"pi": [], "vf": [64]}}
        return sb3_contrib.RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=kw, **ppo_kw, **common)
    if args.algo == "a2c":
        from stable_baselines3 import A2C

        model = A2C("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(generator), n_steps=args.n_steps,
                    gamma=args.gamma, gae_lambda=args.gae_lambda, ent_coef=args.ent_coef,
                    max_grad_norm=args.max_grad_norm, learning_rate=args.learning_rate, **common)
    elif args.algo == "maskable-ppo":
        model = sb3_contrib.MaskablePPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(generator),
                                        **ppo_kw, **common)
    else:
        from stable_baselines3 import PPO

        model = PPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(generator), **ppo_kw, **common)
    generator_to_policy(generator, model.policy)
    return model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.algo in ("recurrent-ppo", "maskable-ppo"):
        require_contrib(args.algo)  # fail before any work
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = check_output_dir(args.out)
    with RunLock(out):
        return _run(args, out)


def _run(args: Args, out: Path) -> int:
    t_start = time.perf_counter()

    # ---- 1. the task: oracle, data, G, D
    env_preset = "tiny" if args.preset == "tiny" else "oracle"
    task = ENV_PRESETS[env_preset]
    oracle_path = None if args.preset == "tiny" else (args.oracle_params or default_oracle_path())
    oracle = make_oracle(oracle_path, config=task.generator_config(), seed=ORACLE_SEED, use_env=False)
    source = f"reference oracle file {oracle_path}" if oracle_path else f"seeded random oracle ({env_preset} preset)"
    print(f"algo {args.algo}, preset {args.preset}: {source}; output {out}", flush=True)
    data = make_oracle_data(oracle, DataConfig(num_train=args.num_train, num_test=args.num_test, seed=args.seed))
    generator = Generator(task.generator_config(), seed=streams.key(args.seed, "generator_init")).to(args.device)
    dcfg = task.discriminator_config().with_filter_scale(args.d_filter_scale)
    discriminator = Discriminator(dcfg, seed=streams.key(args.seed, "discriminator_init")).to(args.device)

    # ---- 2. pretraining (MLE, then D) with the adversarial trainer; it also evaluates and retrains D later
    trainer = AdversarialTrainer(
        ReinforceAgent(generator), discriminator, oracle, data, seed=args.seed, out_dir=None, progress=False,
        schedule=ScheduleConfig(
            mle_epochs=args.mle_epochs, d_pretrain_rounds=args.d_pretrain_rounds,
            d_pretrain_epochs=args.d_pretrain_epochs, adv_rounds=0, baseline_epochs=0, d_epochs=args.d_epochs,
            num_negatives=args.num_negatives, eval_every=max(1, args.mle_epochs), eval_samples=args.eval_samples,
            d_eval_samples=args.d_eval_samples,
        ),
        mle=MLEConfig(epochs=args.mle_epochs),
    )
    trainer.run()
    pretrain_seconds = time.perf_counter() - t_start
    mle_rows = [r for r in trainer.rows if r["phase"] == "mle"]
    print(f"pretrained in {pretrain_seconds:.0f} s: NLL-oracle {mle_rows[-1]['nll_oracle']:.4f}", flush=True)
    frozen_d = copy.deepcopy(discriminator)  # the fixed yardstick of d_score_before / d_score_after

    # ---- 3. the env and 4. the algorithm
    env = make_sb3_env(
        num_envs=args.num_envs, preset=env_preset, generator=generator, discriminator=discriminator,
        reward_mode=args.reward_mode, num_rollouts=args.num_rollouts, reward_backend=args.reward_backend,
        seed=args.seed, oracle_params=str(oracle_path) if oracle_path else None, device=args.device,
    )
    model = make_model(args, env, generator, discriminator)
    model.set_logger(configure(str(out / "sb3"), ["csv", "tensorboard"]))
    in_generator_layout = args.algo != "recurrent-ppo"  # G is (synced to) the policy

    def policy_samples(num: int) -> torch.Tensor:
        if in_generator_layout:
            return generator.sample_batches(num, 1024, seed=streams.key(args.seed, "policy_samples"))
        return sample_policy_sequences(model, num, task.seq_len, task.vocab_size,
                                       seed=streams.key(args.seed, "policy_samples"))

    def evaluate() -> dict[str, float]:
        if in_generator_layout:
            return trainer.evaluate()
        # the policy is not a Generator: no NLL-test; D is scored as AdversarialTrainer.evaluate does
        samples = policy_samples(args.eval_samples)
        k = min(args.d_eval_samples, samples.shape[0], data.test.shape[0])
        with torch.no_grad():
            discriminator.eval()
            logits = discriminator(torch.cat([samples[:k], data.test[:k]]))
            discriminator.train()
        labels = torch.cat([torch.zeros(k, dtype=torch.long), torch.ones(k, dtype=torch.long)])
        return {"nll_oracle": sequence_nll(oracle, samples), "nll_test": math.nan,
                "d_loss": float(torch.nn.functional.cross_entropy(logits, labels)),
                "d_acc": float((logits.argmax(-1) == labels).float().mean()),
                "g_reward": float(torch.softmax(logits[:k], -1)[:, 1].mean())}

    d_score_before = float(frozen_d.prob_real(policy_samples(args.eval_samples)).mean())
    start_eval = evaluate()

    # ---- 5. adversarial training: the same learn() call for every algorithm
    rows: list[dict[str, Any]] = [dict(r) for r in trainer.rows]
    t_adv = time.perf_counter()

    def add_row(step: int, metrics: dict[str, float]) -> None:
        row = {c: metrics.get(c, math.nan) for c in METRIC_COLUMNS}
        row.update(phase="adversarial", step=step, epoch=args.mle_epochs + step,
                   seconds=round(pretrain_seconds + time.perf_counter() - t_adv, 3))
        rows.append(row)
        with open(out / "metrics.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(METRIC_COLUMNS)
            w.writerows([["" if isinstance(r[c], float) and math.isnan(r[c]) else r[c] for c in METRIC_COLUMNS]
                         for r in rows])

    add_row(0, start_eval)
    last: dict[str, float] = {}

    def on_round(rnd: int, metrics: dict[str, float]) -> None:
        last.update(metrics)
        if "nll_oracle" in metrics:
            add_row(rnd, metrics)
            print(f"round {rnd}: NLL-oracle {metrics['nll_oracle']:.4f}  d_acc {metrics['d_acc']:.3f}  "
                  f"g_reward {metrics['g_reward']:.3f}  ({time.perf_counter() - t_adv:.0f} s)", flush=True)

    rounds = [0]

    def maybe_evaluate() -> dict[str, float]:
        rounds[0] += 1
        return evaluate() if rounds[0] % args.eval_every == 0 else {}

    if in_generator_layout:
        callback = DiscriminatorCallback(trainer=trainer, epochs=args.d_epochs, every_rollouts=args.d_every,
                                         metrics_fn=maybe_evaluate, on_round=on_round, seed=args.seed)
    else:
        step = make_discriminator_step(discriminator, data.train, optimizer=trainer.d_optimizer,
                                       epochs=args.d_epochs, seed=args.seed)
        callback = DiscriminatorCallback(step, discriminator=discriminator, every_rollouts=args.d_every,
                                         num_negatives=args.num_negatives, metrics_fn=maybe_evaluate,
                                         on_round=on_round, seed=args.seed)
    model.learn(total_timesteps=args.timesteps, callback=callback)
    final = evaluate()  # after the last policy update (which comes after the last rollout's callback)
    if rows[-1]["phase"] == "adversarial" and rows[-1]["step"] == callback.rounds:
        rows.pop()  # that round was evaluated before the last update: replace it
    add_row(callback.rounds, {**last, **final})
    d_score_after = float(frozen_d.prob_real(policy_samples(args.eval_samples)).mean())

    # ---- results
    summary = {
        "algo": args.algo,
        "preset": args.preset,
        "oracle": source,
        "nll_oracle": final["nll_oracle"],
        "nll_test": final["nll_test"],
        "nll_oracle_start": start_eval["nll_oracle"],
        "nll_test_start": start_eval["nll_test"],
        "d_score_before": d_score_before,
        "d_score_after": d_score_after,
        "d_score_live_after": final["g_reward"],
        "budget": {"timesteps": int(model.num_timesteps), "sequences": int(model.num_timesteps) // task.seq_len,
                   "d_rounds": callback.rounds, "rollouts": callback.rollouts},
        "seconds": {"pretrain": round(pretrain_seconds, 1), "adversarial": round(time.perf_counter() - t_adv, 1)},
        "eval_samples": args.eval_samples,
        "args": dataclasses.asdict(args),
    }
    write_json(out / "summary.json", summary)
    if args.save:
        save_setup(out / "setup", model, env, extra={"summary": {k: summary[k] for k in ("algo", "nll_oracle")}})
    print(f"done: NLL-oracle {summary['nll_oracle_start']:.4f} -> {summary['nll_oracle']:.4f}; mean D score (frozen "
          f"pretrained D) {d_score_before:.3f} -> {d_score_after:.3f}; {model.num_timesteps} timesteps, "
          f"{summary['seconds']}", flush=True)
    env.close()
    return 0


def cli(argv: list[str] | None = None) -> int:
    """The command line: :func:`main` with one-line errors (exit code 2) for user mistakes."""
    return run_cli(main, argv)


if __name__ == "__main__":
    sys.exit(cli())
