#!/usr/bin/env bash
# The one GPU script (the GPU issue): correctness on CUDA first, then the rollout/D profile at the paper config, then
# a timed slice of the paper's oracle schedule extrapolated to the whole. Everything lands in one JSON.
#
#   bash benchmarks/gpu_check.sh             # results in $OUT (the device tool's folder) or benchmarks/results/gpu
#
# 1. correctness: pytest tests/kernels with SEQGAN_KERNEL_DEVICES=cuda (the kernel compiled, not interpreted, and the
#    GPU-only tests: paper-config token agreement, disc_score at batch 19,456, chi-square at 200k draws); then
#    benchmarks/gpu_env_check.py (gym.make / gym.make_vec on CUDA launch the kernel; >= 99 % of rollout rows equal
#    the PyTorch reference token for token) when Gymnasium is importable (the GPU image has none: carry its wheel in
#    .whl/, see docs/kernels.md).
# 2. examples/profile_rollout.py at the paper config (V=5000, H=32, B=64, N=16, T=20): every implementation, the
#    kernel at several BLOCK_R x num_warps, D alone in fp32/tf32/bf16 against float64, the compiled kernel's
#    registers/spills/shared memory, and torch.profiler traces (tarred).
# 3. benchmarks/schedule_slice.py: 2 MLE epochs, 1 D-pretraining round, 2 adversarial rounds of the paper schedule.
# A failed correctness check stops the script before any timing (a wrong kernel's speed means nothing).
# Budget: timeouts 150 + 60 + 200 + 180 s, 10 minutes at most (one device call); about 5-6 minutes expected.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RES=${OUT:-$ROOT/benchmarks/results/gpu}
mkdir -p "$RES"
export PYTHONUNBUFFERED=1
# The bare GPU image has torch, triton and numpy but not this package: run from the checkout. seqgan_env adds the
# checkout's root to its __path__ when kernels/ is not inside it, so seqgan_env.kernels imports without install.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if ls .whl/*.whl >/dev/null 2>&1; then
  python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
if ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: CUDA is not available on this machine; nothing to check." | tee "$RES/gpu_check_summary.txt"
  exit 2
fi
python -c "import seqgan_env.kernels" || { echo "gpu_check: cannot import seqgan_env.kernels"; exit 3; }
unset TRITON_INTERPRET
START=$(date +%s)

echo "== 1. correctness"
SEQGAN_KERNEL_DEVICES=cuda timeout 150 python -m pytest -q -p no:cacheprovider tests/kernels -rs --durations=8 \
  2>&1 | tee "$RES/gpu_check_pytest.txt"
test_rc=${PIPESTATUS[0]}
env_rc=skipped
if python -c "import gymnasium" 2>/dev/null; then
  timeout 60 python benchmarks/gpu_env_check.py 2>&1 | tee "$RES/gpu_env_check.txt"
  env_rc=${PIPESTATUS[0]}
fi
if [ "$test_rc" -ne 0 ] || { [ "$env_rc" != skipped ] && [ "$env_rc" -ne 0 ]; }; then
  echo "gpu_check: correctness failed (tests rc=$test_rc, env check rc=$env_rc); no timings taken"
  exit 1
fi

echo "== 2. profile at the paper config ($(( $(date +%s) - START )) s so far)"
timeout 200 python examples/profile_rollout.py --block-r 16,32,64 --num-warps 4,8 --d-sweep \
  --json "$RES/profile_rollout_gpu.json" --trace /tmp/traces 2>&1 | tee "$RES/profile_rollout_gpu.txt"
prof_rc=${PIPESTATUS[0]}
[ -d /tmp/traces ] && tar czf "$RES/traces.tgz" -C /tmp traces

echo "== 3. a slice of the paper schedule ($(( $(date +%s) - START )) s so far)"
timeout 180 python benchmarks/schedule_slice.py --device cuda --json /tmp/schedule_slice.json --out /tmp/slice_run \
  2>&1 | tee "$RES/schedule_slice.txt"
slice_rc=${PIPESTATUS[0]}

python - "$RES" "$test_rc" "$env_rc" "$prof_rc" "$slice_rc" <<'PY'
import json, subprocess, sys
from pathlib import Path
import torch, triton
res = Path(sys.argv[1])
def load(p):
    try:
        return json.loads(Path(p).read_text())
    except (OSError, ValueError):
        return None
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                      "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
env = None
try:
    env = json.loads((res / "gpu_env_check.txt").read_text().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    pass
out = {"gpu": torch.cuda.get_device_name(), "nvidia_smi": smi, "torch": torch.__version__,
       "triton": triton.__version__, "cuda": torch.version.cuda,
       "rc": dict(zip(["kernel_tests", "env_check", "profile", "schedule_slice"], sys.argv[2:])),
       "env_check": env, "profile": load(res / "profile_rollout_gpu.json"), "schedule_slice": load("/tmp/schedule_slice.json")}
(res / "gpu_check.json").write_text(json.dumps(out, indent=2))
print("wrote", res / "gpu_check.json")
PY
echo "gpu_check: tests rc=$test_rc, env rc=$env_rc, profiler rc=$prof_rc, slice rc=$slice_rc; $(( $(date +%s) - START )) s"
[ "$prof_rc" -eq 0 ] && [ "$slice_rc" -eq 0 ]
