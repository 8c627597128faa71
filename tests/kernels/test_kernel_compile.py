"""The rollout kernel compiles for sm_90 (H100/H200) without a GPU, as the JIT builds it, within its budget.

The interpreter runs kernels in numpy and checks neither tl.dot's shape rules nor registers; compiling with the
ptxas bundled in the triton wheel catches what it misses. ``seqgan_env.kernels._compile`` passes the arguments
through the JIT's own binder, so the binary carries the JIT's alignment/divisibility specialisations (a
hand-written signature builds another binary). It runs in a subprocess because Triton fixes compiled-vs-interpreted
at its first import, and this process interprets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from kernel_helpers import requires_triton

H100_SHARED_PER_BLOCK = 227 * 1024  # sm_90's opt-in maximum of shared memory per block


def _compile(*flags: str) -> dict:
    try:
        import triton
    except ImportError:
        pytest.skip("triton is not installed")
    major, minor = (int(x) for x in triton.__version__.split(".")[:2])
    if (major, minor) < (3, 9):
        pytest.skip(f"the compile check uses triton 3.9's JIT internals (installed: {triton.__version__})")
    cuobjdump = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    if not os.path.exists(cuobjdump):
        pytest.skip("the triton wheel has no bundled cuobjdump/ptxas here")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_DEFAULT_FP_FUSION"] = "1"
    res = subprocess.run(
        [sys.executable, "-m", "seqgan_env.kernels._compile", *flags], capture_output=True, text=True, env=env,
        timeout=300,
    )
    lines = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")]
    assert res.returncode == 0 and lines, f"compilation failed:\n{res.stderr[-3000:]}"
    return json.loads(lines[0][7:])


@requires_triton
def test_paper_config_binary_within_budget() -> None:
    """The JIT's binary at the paper config (V=5000, E=H=32, T=20, R=19,456) with the default launch options."""
    info = _compile()
    assert info["attrs"], "no JIT specialisations: this is not the binary the JIT runs"
    assert info["regs"] <= 255 and info["spills"] <= 64, f"register pressure: {info['usage']}"
    assert info["shared"] <= 100 * 1024, f"shared memory {info['shared']} B"


@requires_triton
def test_hidden_size_limit_matches_the_binary() -> None:
    """MAX_HIDDEN = 64 is what fits: E = H = 64 stays under sm_90's per-block shared memory, 128 does not."""
    from seqgan_env.kernels.rollout import MAX_HIDDEN

    fits = _compile("--emb", str(MAX_HIDDEN), "--hidden", str(MAX_HIDDEN))
    assert fits["shared"] <= H100_SHARED_PER_BLOCK, fits["shared"]
    too_big = _compile("--emb", str(2 * MAX_HIDDEN), "--hidden", str(2 * MAX_HIDDEN))
    assert too_big["shared"] > H100_SHARED_PER_BLOCK, too_big["shared"]
