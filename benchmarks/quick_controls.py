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

``--report FILE.json`` trains nothing: it collects the finished runs under ``--out`` into one JSON (per seed and
mean ± sample standard deviation over seeds, NLL-oracle and NLL-test at temperature 1, the discriminator's last
train/held-out accuracy, wall and CPU seconds) and prints the Markdown table the README quotes.
"""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from seqgan_env.cli import ArgumentParser, run_cli

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


def _last_d_accuracy(run: Path) -> tuple[float | None, float | None]:
    """(train, held-out) accuracy of D in the last logged row of ``metrics.csv`` that has them."""
    train = held = None
    with open(run / "metrics.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("d_train_acc") and row.get("d_heldout_acc"):
                train, held = float(row["d_train_acc"]), float(row["d_heldout_acc"])
    return train, held


def collect(out: Path, seeds: list[int]) -> dict:
    """Rows (one per seed and model) from the finished runs under ``out``; missing runs are listed, not guessed."""
    rows, missing = [], []
    for seed in seeds:
        base = out / f"seed{seed}"
        for name in VARIANTS:
            path = base / name / "summary.json"
            if not path.is_file():
                missing.append(str(path.parent))
                continue
            s = json.loads(path.read_text())
            d_train, d_held = _last_d_accuracy(path.parent)
            common = {"seed": seed, "seconds": s["timings_s"].get("total"), "cpu_seconds": s["cpu_s"].get("total")}
            if name == "seqgan":
                rows.append({"model": "pretrained", "nll_oracle": s["pretrain_nll_oracle"],
                             "nll_test": s["pretrain_nll_test"], "seed": seed})
                if s.get("mle_nll_oracle") is not None:
                    rows.append({"model": "mle_only", "nll_oracle": s["mle_nll_oracle"],
                                 "nll_test": s["mle_nll_test"], "seed": seed})
            rows.append({"model": name, "nll_oracle": s["seqgan_nll_oracle"], "nll_test": s["seqgan_nll_test"],
                         "d_train_acc": d_train, "d_heldout_acc": d_held, **common})
    order = ["pretrained", "mle_only", *VARIANTS]
    means = []
    for model in order:
        mine = [r for r in rows if r["model"] == model]
        if not mine:
            continue
        agg: dict = {"model": model, "n": len(mine), "seeds": [r["seed"] for r in mine]}
        for key in ("nll_oracle", "nll_test", "d_heldout_acc"):
            vals = [r[key] for r in mine if r.get(key) is not None]
            if vals:
                agg[f"{key}_mean"] = statistics.fmean(vals)
                agg[f"{key}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        means.append(agg)
    return {"out": str(out), "rows": rows, "means": means, "missing": missing,
            "std": "sample standard deviation over seeds (n - 1)"}


def _cell(agg: dict, key: str) -> str:
    if f"{key}_mean" not in agg:
        return ""
    return f"{agg[f'{key}_mean']:.3f} ± {agg[f'{key}_std']:.3f}"


def markdown(report: dict) -> str:
    """The README's table: mean ± std over seeds, and the seeds each row has."""
    lines = ["| model | seeds | NLL-oracle | NLL-test | D held-out acc. (end) |", "|---|---|---|---|---|"]
    for m in report["means"]:
        lines.append(f"| {m['model']} | {', '.join(map(str, m['seeds']))} | {_cell(m, 'nll_oracle')} | "
                     f"{_cell(m, 'nll_test')} | {_cell(m, 'd_heldout_acc')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("runs/quick_controls"))
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--oracle-params", default=None)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--report", type=Path, default=None, metavar="FILE.json",
                    help="train nothing: collect the finished runs under --out into FILE.json and print a table")
    a = ap.parse_args(argv)
    if a.report is not None:
        report = collect(a.out, a.seeds)
        a.report.parent.mkdir(parents=True, exist_ok=True)
        a.report.write_text(json.dumps(report, indent=2) + "\n")
        print(markdown(report))
        for path in report["missing"]:
            print(f"not finished: {path}", file=sys.stderr)
        return 0
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
    raise SystemExit(run_cli(main))
