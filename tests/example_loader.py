"""Import an example script (``examples/<name>.py``) or a benchmark script (``benchmarks/<name>.py``) as a module,
for the tests that call its ``main``/``cli``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BENCHMARKS = EXAMPLES.parent / "benchmarks"


def load_example(name: str, folder: Path = EXAMPLES) -> ModuleType:
    """``<folder>/<name>.py`` (default: examples/) as the module ``name`` (registered in ``sys.modules``: dataclasses
    look it up there)."""
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
