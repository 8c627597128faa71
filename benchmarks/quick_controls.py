"""SeqGAN and the controls that isolate the discriminator, over several seeds (the README's results).

For each seed: one pretraining (``oracle_train.py --stop-after-rounds 0``), then four runs forked from it
(``--fork-from``, the same result as from scratch):

* ``seqgan``: the paper's SeqGAN (baseline "none"), with the MLE-only baseline of the same budget;
* ``constant``: D's score replaced by a constant 0.5 (``--reward-source constant``), baseline "none";
* ``seqgan_mean``: SeqGAN with the per-position mean baseline (``--baseline mean``);
* ``constant_mean``: the constant reward with the mean baseline: every advantage is exactly 0, so G must not move
  (a check of the control itself).

Finished runs (their ``summary.json`` exists) are skipped, so the script can be re-run after an interruption
(an interrupted run is continued with ``--resume``). Then evaluate them with ``examples/evaluate.py``.

    python benchmarks/quick_controls.py --seeds 0 1 2 --out runs/quick_controls \\
        --oracle-params ../shared/oracle/seqgan_oracle_params.npz
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "oracle_train.py"
VARIANTS: dict[str, list[str]] = {
    "seqgan": [],
    "constant": ["--reward-source", "constant", "--baseline-epochs", "0"],
    "seqgan_mean": ["--baseline", "mean", "--baseline-epochs", "0"],
    "constant_mean": ["--reward-source", "constant", "--baseline", "mean", "--baseline-epochs", "0"],
}


def run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("runs/quick_controls"))
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--oracle-params", default=None)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    common = ["--preset", a.preset, "--progress", "false"]
    if a.oracle_params:
        common += ["--oracle-params", a.oracle_params]
    if a.threads:
        common += ["--threads", str(a.threads)]
    for seed in a.seeds:
        base = a.out / f"seed{seed}"
        pre = base / "pretrained"
        if not (pre / "checkpoint.pt").is_file():
            run([sys.executable, str(EXAMPLE), *common, "--seed", str(seed), "--out", str(pre),
                 "--stop-after-rounds", "0"])
        for name in a.variants:
            out = base / name
            if (out / "summary.json").is_file():
                continue
            if (out / "checkpoint.pt").is_file():
                run([sys.executable, str(EXAMPLE), "--resume", str(out), "--progress", "false"])
            else:
                run([sys.executable, str(EXAMPLE), *common, "--seed", str(seed), "--out", str(out), "--fork-from",
                     str(pre), *VARIANTS[name]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
