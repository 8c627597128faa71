"""Time one MLE epoch (10,000 oracle samples, batch 64, paper sizes) and NLL-oracle evaluation on this machine.

Usage: python benchmarks/mle_epoch.py [--oracle-params PATH] [--epochs 3] [--json out.json]
"""

from __future__ import annotations

import json
import platform
import statistics
import time

import torch

from seqgan_env.cli import ArgumentParser, run_cli
from seqgan_env.config import DataConfig, MLEConfig
from seqgan_env.data import make_oracle_data
from seqgan_env.evaluation import nll_oracle
from seqgan_env.generator import Generator
from seqgan_env.oracle import make_oracle
from seqgan_env.updates import make_generator_optimizer, mle_epoch


def main(argv: list[str] | None = None) -> None:
    ap = ArgumentParser(description=__doc__)
    ap.add_argument("--oracle-params", default=None)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    oracle = make_oracle(args.oracle_params)
    data = make_oracle_data(oracle, DataConfig())
    g = Generator(seed=0)
    opt = make_generator_optimizer(g)
    epoch_s = []
    for _ in range(args.epochs):
        t = time.perf_counter()
        mle_epoch(g, opt, data.train, MLEConfig(), rng=torch.Generator().manual_seed(0))
        epoch_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    value = nll_oracle(g, oracle, num_samples=9_984, seed=0)
    eval_s = time.perf_counter() - t
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "mle_epoch_seconds": epoch_s,
        "mle_epoch_median_s": statistics.median(epoch_s),
        "nll_oracle_eval_s": eval_s,
        "nll_oracle_after": value,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
