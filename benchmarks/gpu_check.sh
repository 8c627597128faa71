#!/usr/bin/env bash
# GPU check for the fused rollout kernel (issue 4): correctness on CUDA, then the profiler at the paper config.
#
#   bash benchmarks/gpu_check.sh              # results in $OUT (the device tool's folder) or benchmarks/results/gpu
#
# 1. pytest tests/kernels with SEQGAN_KERNEL_DEVICES=cuda: the kernel tests run compiled on CUDA (no interpreter),
#    plus the GPU-only tests (paper-config token agreement, disc_score at batch 19,456, chi-square at 200k draws).
# 2. examples/profile_rollout.py at the paper config (V=5000, H=32, B=64, N=16, T=20), JSON + table.
# Works on the bare GPU image (torch + triton + pytest, no Gymnasium or SB3, package not installed): it runs from the
# checkout with PYTHONPATH set to it.
# Budget: about 3-5 minutes on an H100/H200 (first Triton compiles included), 9 minutes at most (timeouts 240 s +
# 300 s), so it fits one 10-minute device call. Exit status: 0 when both pass.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RES=${OUT:-$ROOT/benchmarks/results/gpu}
mkdir -p "$RES"

if ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: CUDA is not available on this machine; nothing to check." | tee "$RES/gpu_check_summary.txt"
  exit 2
fi

# The bare GPU image has torch, triton and numpy but not this package: run from the checkout. seqgan_env adds the
# checkout's root to its __path__ when kernels/ is not inside it, so seqgan_env.kernels imports without install.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
python -c "import seqgan_env.kernels" || { echo "gpu_check: cannot import seqgan_env.kernels"; exit 3; }

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
  python -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())"
} | tee "$RES/gpu_check_device.txt"

unset TRITON_INTERPRET
status=0
if python -c "import pytest" 2>/dev/null; then
  SEQGAN_KERNEL_DEVICES=cuda timeout 240 python -m pytest -q -p no:cacheprovider tests/kernels -rs --durations=10 \
    2>&1 | tee "$RES/gpu_check_pytest.txt"
  test_rc=${PIPESTATUS[0]}
else
  echo "gpu_check: pytest is not installed on this image; skipped the correctness tests" | tee "$RES/gpu_check_pytest.txt"
  test_rc=4
fi
[ "$test_rc" -eq 0 ] || status=1

timeout 300 python examples/profile_rollout.py --json "$RES/profile_rollout_gpu.json" 2>&1 | tee "$RES/profile_rollout_gpu.txt"
prof_rc=${PIPESTATUS[0]}
[ "$prof_rc" -eq 0 ] || status=1

echo "gpu_check: tests rc=$test_rc, profiler rc=$prof_rc; results in $RES" | tee "$RES/gpu_check_summary.txt"
exit $status
