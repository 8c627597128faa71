"""Time a short slice of the paper's oracle schedule and extrapolate the whole (the GPU issue).

Runs ``examples/oracle_train.py --preset paper`` with few units of each phase (MLE epochs, D-pretraining rounds,
adversarial rounds; no MLE-only baseline), reads the run's ``summary.json`` and scales each phase's wall time to
the paper's counts (120 MLE epochs, 50 D-pretraining rounds, 200 adversarial rounds). Each phase's time includes
its evaluations and its first unit's warm-up (Triton compiles, cuDNN/cuBLAS handles), so the extrapolation is on
the high side for short slices.

    python benchmarks/schedule_slice.py --device cuda --json slice.json
    python benchmarks/schedule_slice.py --device cpu --mle-epochs 1 --d-pretrain-rounds 1 --adv-rounds 1 \\
        -- --num-train 256 --num-test 256        # a smoke test; extra flags after -- go to oracle_train.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqgan_env.cli import ArgumentParser, run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "oracle_train.py"
PAPER_UNITS = {"mle": 120, "d_pretrain": 50, "adversarial": 200}


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--mle-epochs", type=int, default=2)
    ap.add_argument("--d-pretrain-rounds", type=int, default=1)
    ap.add_argument("--adv-rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("extra", nargs="*", help="more oracle_train.py flags (after --)")
    a = ap.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="schedule_slice_"))
    units = {"mle": a.mle_epochs, "d_pretrain": a.d_pretrain_rounds, "adversarial": a.adv_rounds}
    cmd = [sys.executable, str(EXAMPLE), "--preset", "paper", "--device", a.device, "--progress", "false",
           "--mle-epochs", str(a.mle_epochs), "--d-pretrain-rounds", str(a.d_pretrain_rounds),
           "--adv-rounds", str(a.adv_rounds), "--baseline-epochs", "0", "--eval-every", str(max(units.values())),
           "--out", str(out), *a.extra]
    print("+ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text())
    phases = {}
    total = 0.0
    for phase, n in units.items():
        secs = float(summary["timings_s"][phase])
        per_unit = secs / n
        phases[phase] = {"units": n, "seconds": secs, "seconds_per_unit": per_unit, "paper_units": PAPER_UNITS[phase],
                         "paper_seconds": per_unit * PAPER_UNITS[phase]}
        total += per_unit * PAPER_UNITS[phase]
    result = {"command": cmd, "wall_s": wall, "phases": phases, "paper_schedule_s": total,
              "paper_schedule_min": total / 60, "summary": summary}
    for phase, p in phases.items():
        print(f"{phase:>12}: {p['units']} units in {p['seconds']:.1f} s ({p['seconds_per_unit']:.2f} s each) -> "
              f"{p['paper_units']} units: {p['paper_seconds'] / 60:.1f} min")
    print(f"paper schedule, extrapolated: {total / 60:.1f} min (slice wall {wall:.0f} s)")
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
