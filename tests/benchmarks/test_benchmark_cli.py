"""The benchmark scripts follow the command-line convention (they are not run here: benchmarks stay out of the
suite): a bad flag is one ``error: ...`` line and exit code 2."""

from __future__ import annotations

import pytest
from example_loader import BENCHMARKS, load_example

from seqgan_env.cli import run_cli

SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py"))


def test_there_are_benchmark_scripts():
    assert {"reward_cpu", "schedule_slice", "d_step_gpu"} <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_bad_flag_is_one_error_line(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = load_example(name, BENCHMARKS)
    assert run_cli(module.main, ["--json", "x.json", "--no-such-flag"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--no-such-flag" in err[0], err
