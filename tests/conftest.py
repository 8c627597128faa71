"""Shared fixtures. The reference oracle is read from ``$SEQGAN_ORACLE_PARAMS`` or ``../shared/oracle``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

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
