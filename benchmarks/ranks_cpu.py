"""Wall time per phase of one training run: 1 rank x 2 threads against 2 ranks x 1 thread (torchrun, gloo).

Runs ``examples/oracle_train.py`` twice with the same arguments, once as one process with two torch threads and once
under ``torchrun --nproc-per-node 2`` with one thread per rank, and reads the per-phase wall times (``timings_s``)
and the final figures from each ``summary.json``. On a 2-core CPU both use both cores; the point is what the
communication costs, and that the figures agree.

    python benchmarks/ranks_cpu.py --json benchmarks/results/ranks_cpu.json -- --preset quick --mle-epochs 4 ...
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqgan_env.cli import ArgumentParser, run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "oracle_train.py"


def run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("train_args", nargs=argparse.REMAINDER, help="arguments of oracle_train.py (after --)")
    a = ap.parse_args(argv)
    extra = [x for x in a.train_args if x != "--"]
    results: dict = {"benchmark": "ranks_cpu", "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
                     "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "platform": platform.platform(), "cpu_count": os.cpu_count(), "train_args": extra, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base_env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
        plans = {
            "1 rank x 2 threads": ([sys.executable, str(EXAMPLE), "--threads", "2"], {"OMP_NUM_THREADS": "2"}),
            "2 ranks x 1 thread": ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                    "--nproc-per-node=2", str(EXAMPLE), "--threads", "1"], {"OMP_NUM_THREADS": "1"}),
        }
        for name, (cmd, env) in plans.items():
            out = Path(tmp) / name.replace(" ", "_")
            wall = run([*cmd, *extra, "--out", str(out), "--progress", "false"], {**base_env, **env})
            s = json.loads((out / "summary.json").read_text())
            results["runs"][name] = {
                "process_wall_s": round(wall, 1), "timings_s": s["timings_s"], "world_size": s["world_size"],
                **{k: s[k] for k in ("mle_nll_oracle", "seqgan_nll_oracle", "mle_nll_test", "seqgan_nll_test")},
            }
            print(name, json.dumps(results["runs"][name]), flush=True)
    Path(a.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
