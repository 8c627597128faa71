"""Shared fixtures. The reference oracle is read from ``$SEQGAN_ORACLE_PARAMS`` or ``../shared/oracle``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch


def _import_triton_in_interpreter_mode() -> None:
    """Triton fixes compiled-vs-interpreted at its first import (see ``kernels/_loader.py``), and torch imports it
    behind the scenes (the first optimizer step loads torch._dynamo). On a machine without CUDA the kernel tests run
    under the interpreter, so import triton now, with TRITON_INTERPRET=1, before anything else can."""
    if torch.cuda.is_available() or "triton" in sys.modules:
        return
    previous = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        import triton.language  # noqa: F401
    except ImportError:
        pass
    finally:
        if previous is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = previous


_import_triton_in_interpreter_mode()

REPO = Path(__file__).resolve().parents[1]
SHARED_ORACLE = REPO.parent / "shared" / "oracle" / "seqgan_oracle_params.npz"


def reference_oracle_path() -> Path | None:
    env = os.environ.get("SEQGAN_ORACLE_PARAMS", "").strip()
    if env and Path(env).is_file():
        return Path(env)
    return SHARED_ORACLE if SHARED_ORACLE.is_file() else None


@pytest.fixture(scope="session")
def oracle_path() -> Path:
    """Path of the reference oracle file; skips the test when it is not on this machine."""
    path = reference_oracle_path()
    if path is None:
        pytest.skip(
            f"reference oracle file not found (looked at $SEQGAN_ORACLE_PARAMS and {SHARED_ORACLE}); "
            "set SEQGAN_ORACLE_PARAMS to seqgan_oracle_params.npz to run this test"
        )
    return path


@pytest.fixture(scope="session")
def reference_oracle(oracle_path: Path):
    from seqgan_env.oracle import load_oracle

    return load_oracle(oracle_path, sha256="reference")


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    torch.manual_seed(1234)


@pytest.fixture(autouse=True)
def _one_thread(request: pytest.FixtureRequest):
    """One intra-op thread: the tests' tensors are small, and on a 2-core machine shared with other jobs torch's
    thread pool thrashes (the tiny training preset took 33 s with two threads and 2.5 s with one). Tests that
    work on paper-size tensors opt out with ``@pytest.mark.multithread``."""
    if request.node.get_closest_marker("multithread"):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
