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
nll_test, nll_self, d_loss, d_acc, d_fake_score, ..., seconds; pretraining rows then one "adversarial" row per
evaluation),
``summary.json`` (nll_oracle, nll_test, d_score_before, d_score_after, ...; ``d_score_*`` is the mean score, under a
frozen copy of the pretrained D, of the policy's samples before and after adversarial training), ``sb3/`` (SB3's
progress.csv and TensorBoard logs with the ``gan/*`` metrics) and ``setup/`` (:func:`~seqgan_env.agents.sb3.
save_setup`: the model, D, G and the env config; reload with ``load_setup``).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
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
from seqgan_env.checks import check_int, check_number
from seqgan_env.cli import ConfigCLI, Section, UsageError, check_rollout_backend, check_run_options, run_cli
from seqgan_env.config import DataConfig, DiscriminatorOptions, MLEConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.discriminator import Discriminator
from seqgan_env.evaluation import sequence_nll
from seqgan_env.files import RunLock, check_output_dir, write_json
from seqgan_env.generator import Generator
from seqgan_env.oracle import default_oracle_path, make_oracle, oracle_file_label
from seqgan_env.presets import ORACLE_SEED, example_presets
from seqgan_env.presets import PRESETS as ENV_PRESETS

ALGOS = ("ppo", "a2c", "recurrent-ppo", "maskable-ppo", "reinforce")


@dataclass
class RunArgs:
    """Which algorithm, which preset, where the run goes."""

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
    device: str = "cpu"
    """torch device"""
    threads: int = 1
    """torch.set_num_threads (1 avoids thrashing on a shared small CPU)"""
    save: bool = True
    """write DIR/setup (model, D, G, env config)"""

    def __post_init__(self) -> None:
        check_run_options(threads=self.threads, device=self.device)


@dataclass
class EnvArgs:
    """The vectorised environment and its reward."""

    reward_mode: str = "shaped"
    """shaped (r_t = Q_t - Q_{t-1}) | terminal (D(Y) at the end) | mc (the paper's Q_t every step)"""
    num_envs: int = 16
    """parallel sequences (the vector env's width)"""
    num_rollouts: int = 4
    """Monte Carlo rollouts N per prefix (paper: 16)"""
    reward_backend: str = "auto"
    """rollout backend: auto (Triton on CUDA, else torch) | triton | torch"""

    def __post_init__(self) -> None:
        check_int("--num-envs", self.num_envs, minimum=1)
        check_int("--num-rollouts", self.num_rollouts, minimum=1, hint="the paper uses 16")


@dataclass
class AdversarialArgs:
    """The adversarial phase's budget, the same for every algorithm."""

    timesteps: int = 40_960
    """generated tokens (env steps) of adversarial training, the same budget for every --algo"""
    d_every: int = 1
    """retrain D every this many rollouts (one rollout = num_envs * n_steps tokens, or B * T for reinforce)"""
    eval_every: int = 8
    """evaluate every this many D rounds (and at the end)"""

    def __post_init__(self) -> None:
        for name in ("timesteps", "d_every", "eval_every"):
            check_int(f"--{name.replace('_', '-')}", getattr(self, name), minimum=1)


@dataclass
class SB3Args:
    """The SB3 algorithms' hyperparameters (PPO, A2C, RecurrentPPO, MaskablePPO)."""

    n_steps: int = 80
    """steps per env per rollout (PPO/A2C); num_envs * n_steps = 1,280 = B * T of the paper's PG batch"""
    batch_size: int = 320
    """PPO minibatch size"""
    n_epochs: int = 4
    """PPO epochs per rollout"""
    learning_rate: float = 5e-4
    """Adam learning rate"""
    gamma: float = 1.0
    """no discount, as the paper"""
    gae_lambda: float = 0.95
    """GAE lambda"""
    ent_coef: float = 0.0
    """entropy bonus"""
    max_grad_norm: float = 5.0
    """gradient-norm clip (the paper's 5.0)"""

    def __post_init__(self) -> None:
        for name in ("n_steps", "batch_size", "n_epochs"):
            check_int(f"--{name.replace('_', '-')}", getattr(self, name), minimum=1)
        check_number("--learning-rate", self.learning_rate, low=0, low_open=True)
        check_number("--gamma", self.gamma, low=0, high=1)
        check_number("--gae-lambda", self.gae_lambda, low=0, high=1)
        check_number("--ent-coef", self.ent_coef)
        check_number("--max-grad-norm", self.max_grad_norm, low=0, low_open=True)


@dataclass
class Args:
    """The arguments: one typed config per concern (the library's dataclasses where there is one)."""

    run: RunArgs
    data: DataConfig  # num_train, num_test
    discriminator: DiscriminatorOptions  # d_filter_scale
    pretraining: ScheduleConfig  # MLE and D pretraining, D retraining (the trainer's schedule)
    env: EnvArgs
    adversarial: AdversarialArgs
    sb3: SB3Args
    reinforce: ReinforceConfig  # pg_batch_size, pg_lr (--algo reinforce)


SECTIONS = [
    Section("run", RunArgs, title="run"),
    Section("data", DataConfig, include=("num_train", "num_test"), title="oracle data (DataConfig)"),
    Section("discriminator", DiscriminatorOptions, prefix="d_", include=("filter_scale",),
            title="discriminator (DiscriminatorOptions)"),
    Section("pretraining", ScheduleConfig, include=("mle_epochs", "d_pretrain_rounds", "d_pretrain_epochs",
                                                     "d_epochs", "num_negatives", "eval_samples", "d_eval_samples"),
            title="pretraining and D retraining (ScheduleConfig)"),
    Section("env", EnvArgs, title="env and reward"),
    Section("adversarial", AdversarialArgs, title="adversarial budget"),
    Section("sb3", SB3Args, title="SB3 algorithms"),
    Section("reinforce", ReinforceConfig, include=("batch_size", "lr"), rename={"batch_size": "pg_batch_size",
                                                                               "lr": "pg_lr"},
            title="REINFORCE (ReinforceConfig; --algo reinforce)"),
]

#: ``--preset NAME`` -> flag values: one row of the task-size and budget tables of :mod:`seqgan_env.presets`.
PRESETS: dict[str, dict[str, Any]] = example_presets("sb3_train")

CLI = ConfigCLI(Args, SECTIONS, PRESETS, default_preset="quick", description=__doc__.split("\n")[0],
                choices={"algo": ALGOS, "preset": sorted(PRESETS), "reward_mode": ("shaped", "terminal", "mc"),
                         "reward_backend": ("auto", "triton", "torch")})


def parse_args(argv: list[str] | None = None) -> Args:
    """Args = defaults <- preset <- the flags given (one ``--kebab-case`` flag per field)."""
    args = CLI.build(CLI.parse(argv)[0])
    if args.run.preset == "tiny" and args.run.oracle_params is not None:
        raise UsageError(
            f"--preset tiny builds its own V=32 random oracle and cannot use --oracle-params "
            f"{args.run.oracle_params}; use --preset quick with the reference oracle."
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
    run, hp = args.run, args.sb3
    common = dict(seed=run.seed, device=run.device, verbose=0, tensorboard_log=None)
    if run.algo == "reinforce":
        cfg = dataclasses.replace(args.reinforce, num_rollouts=args.env.num_rollouts, backend=args.env.reward_backend)
        return ReinforceAlgorithm(generator, discriminator, cfg, env=env, seed=run.seed)
    ppo_kw = dict(n_steps=hp.n_steps, batch_size=hp.batch_size, n_epochs=hp.n_epochs, gamma=hp.gamma,
                  gae_lambda=hp.gae_lambda, ent_coef=hp.ent_coef, max_grad_norm=hp.max_grad_norm,
                  learning_rate=hp.learning_rate)
    if run.algo in ("recurrent-ppo", "maskable-ppo"):
        sb3_contrib = require_contrib(run.algo)
    if run.algo == "recurrent-ppo":
        kw = {"features_extractor_class": TokenSequenceExtractor,
              "features_extractor_kwargs": {"emb_dim": 32, "hidden_dim": 32, "rnn": "gru"},
              "lstm_hidden_size": 32, "net_arch": {"pi": [], "vf": [64]}}
        return sb3_contrib.RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=kw, **ppo_kw, **common)
    if run.algo == "a2c":
        from stable_baselines3 import A2C

        model = A2C("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(generator), n_steps=hp.n_steps,
                    gamma=hp.gamma, gae_lambda=hp.gae_lambda, ent_coef=hp.ent_coef,
                    max_grad_norm=hp.max_grad_norm, learning_rate=hp.learning_rate, **common)
    elif run.algo == "maskable-ppo":
        model = sb3_contrib.MaskablePPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(generator),
                                        **ppo_kw, **common)
    else:
        from stable_baselines3 import PPO

        model = PPO("MlpPolicy", env, policy_kwargs=generator_policy_kwargs(generator), **ppo_kw, **common)
    generator_to_policy(generator, model.policy)
    return model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.run.algo in ("recurrent-ppo", "maskable-ppo"):
        require_contrib(args.run.algo)  # fail before any work
    if args.env.reward_backend == "triton":
        gcfg = ENV_PRESETS["tiny" if args.run.preset == "tiny" else "oracle"].generator_config()
        check_rollout_backend("--reward-backend", "triton", args.run.device, emb_dim=gcfg.emb_dim,
                              hidden_dim=gcfg.hidden_dim, seq_len=gcfg.seq_len)
    torch.set_num_threads(args.run.threads)
    torch.manual_seed(args.run.seed)
    out = check_output_dir(args.run.out)
    with RunLock(out):
        return _run(args, out)


def _run(args: Args, out: Path) -> int:
    t_start = time.perf_counter()
    run, pre, env_args, adv = args.run, args.pretraining, args.env, args.adversarial

    # ---- 1. the task: oracle, data, G, D
    env_preset = "tiny" if run.preset == "tiny" else "oracle"
    task = ENV_PRESETS[env_preset]
    oracle_path = None if run.preset == "tiny" else (run.oracle_params or default_oracle_path())
    oracle = make_oracle(oracle_path, config=task.generator_config(), seed=ORACLE_SEED, use_env=False)
    source = oracle_file_label(oracle_path) if oracle_path else f"seeded random oracle ({env_preset} preset)"
    print(f"algo {run.algo}, preset {run.preset}: {source}; output {out}", flush=True)
    data = make_oracle_data(oracle, dataclasses.replace(args.data, seed=run.seed))
    generator = Generator(task.generator_config(), seed=streams.key(run.seed, "generator_init")).to(run.device)
    dcfg = task.discriminator_config().with_filter_scale(args.discriminator.filter_scale)
    discriminator = Discriminator(dcfg, seed=streams.key(run.seed, "discriminator_init")).to(run.device)

    # ---- 2. pretraining (MLE, then D) with the adversarial trainer; it also evaluates and retrains D later
    trainer = AdversarialTrainer(
        ReinforceAgent(generator), discriminator, oracle, data, seed=run.seed, out_dir=None, progress=False,
        schedule=ScheduleConfig(
            mle_epochs=pre.mle_epochs, d_pretrain_rounds=pre.d_pretrain_rounds,
            d_pretrain_epochs=pre.d_pretrain_epochs, adv_rounds=0, baseline_epochs=0, d_epochs=pre.d_epochs,
            num_negatives=pre.num_negatives, eval_every=max(1, pre.mle_epochs), eval_samples=pre.eval_samples,
            d_eval_samples=pre.d_eval_samples,
        ),
        mle=MLEConfig(epochs=pre.mle_epochs),
    )
    trainer.run()
    pretrain_seconds = time.perf_counter() - t_start
    mle_rows = [r for r in trainer.rows if r["phase"] == "mle"]
    print(f"pretrained in {pretrain_seconds:.0f} s: NLL-oracle {mle_rows[-1]['nll_oracle']:.4f}", flush=True)
    frozen_d = copy.deepcopy(discriminator)  # the fixed yardstick of d_score_before / d_score_after

    # ---- 3. the env and 4. the algorithm
    env = make_sb3_env(
        num_envs=env_args.num_envs, preset=env_preset, generator=generator, discriminator=discriminator,
        reward_mode=env_args.reward_mode, num_rollouts=env_args.num_rollouts, reward_backend=env_args.reward_backend,
        seed=run.seed, oracle_params=str(oracle_path) if oracle_path else None, device=run.device,
    )
    model = make_model(args, env, generator, discriminator)
    model.set_logger(configure(str(out / "sb3"), ["csv", "tensorboard"]))
    in_generator_layout = run.algo != "recurrent-ppo"  # G is (synced to) the policy

    def policy_samples(num: int) -> torch.Tensor:
        if in_generator_layout:
            return generator.sample_batches(num, 1024, seed=streams.key(run.seed, "policy_samples"))
        return sample_policy_sequences(model, num, task.seq_len, task.vocab_size,
                                       seed=streams.key(run.seed, "policy_samples"))

    def evaluate() -> dict[str, float]:
        if in_generator_layout:
            return trainer.evaluate()
        # the policy is not a Generator: no NLL-test; D is scored as AdversarialTrainer.evaluate does
        samples = policy_samples(pre.eval_samples)
        k = min(pre.d_eval_samples, samples.shape[0], data.test.shape[0])
        with torch.no_grad():
            discriminator.eval()
            logits = discriminator(torch.cat([samples[:k], data.test[:k]]))
            discriminator.train()
        labels = torch.cat([torch.zeros(k, dtype=torch.long), torch.ones(k, dtype=torch.long)])
        return {"nll_oracle": sequence_nll(oracle, samples), "nll_test": math.nan,
                "d_loss": float(torch.nn.functional.cross_entropy(logits, labels)),
                "d_acc": float((logits.argmax(-1) == labels).float().mean()),
                "d_fake_score": float(torch.softmax(logits[:k], -1)[:, 1].mean())}

    d_score_before = float(frozen_d.prob_real(policy_samples(pre.eval_samples)).mean())
    start_eval = evaluate()

    # ---- 5. adversarial training: the same learn() call for every algorithm
    rows: list[dict[str, Any]] = [dict(r) for r in trainer.rows]
    t_adv = time.perf_counter()

    def add_row(step: int, metrics: dict[str, float]) -> None:
        row = {c: metrics.get(c, math.nan) for c in METRIC_COLUMNS}
        row.update(phase="adversarial", step=step, epoch=pre.mle_epochs + step,
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
                  f"d_fake_score {metrics['d_fake_score']:.3f}  ({time.perf_counter() - t_adv:.0f} s)", flush=True)

    rounds = [0]

    def maybe_evaluate() -> dict[str, float]:
        rounds[0] += 1
        return evaluate() if rounds[0] % adv.eval_every == 0 else {}

    if in_generator_layout:
        callback = DiscriminatorCallback(trainer=trainer, epochs=pre.d_epochs, every_rollouts=adv.d_every,
                                         metrics_fn=maybe_evaluate, on_round=on_round, seed=run.seed)
    else:
        step = make_discriminator_step(discriminator, data.train, optimizer=trainer.d_optimizer,
                                       epochs=pre.d_epochs, seed=run.seed)
        callback = DiscriminatorCallback(step, discriminator=discriminator, every_rollouts=adv.d_every,
                                         num_negatives=pre.num_negatives, metrics_fn=maybe_evaluate,
                                         on_round=on_round, seed=run.seed)
    model.learn(total_timesteps=adv.timesteps, callback=callback)
    final = evaluate()  # after the last policy update (which comes after the last rollout's callback)
    if rows[-1]["phase"] == "adversarial" and rows[-1]["step"] == callback.rounds:
        rows.pop()  # that round was evaluated before the last update: replace it
    add_row(callback.rounds, {**last, **final})
    d_score_after = float(frozen_d.prob_real(policy_samples(pre.eval_samples)).mean())

    # ---- results
    summary = {
        "algo": run.algo,
        "preset": run.preset,
        "oracle": source,
        "nll_oracle": final["nll_oracle"],
        "nll_test": final["nll_test"],
        "nll_oracle_start": start_eval["nll_oracle"],
        "nll_test_start": start_eval["nll_test"],
        "d_score_before": d_score_before,
        "d_score_after": d_score_after,
        "d_score_live_after": final["d_fake_score"],
        "budget": {"timesteps": int(model.num_timesteps), "sequences": int(model.num_timesteps) // task.seq_len,
                   "d_rounds": callback.rounds, "rollouts": callback.rollouts},
        "seconds": {"pretrain": round(pretrain_seconds, 1), "adversarial": round(time.perf_counter() - t_adv, 1)},
        "eval_samples": pre.eval_samples,
        "args": CLI.flatten(args),
    }
    write_json(out / "summary.json", summary)
    if run.save:
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
