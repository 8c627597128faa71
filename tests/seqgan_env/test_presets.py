"""The one preset table: what docs/presets.md shows is what the examples use."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqgan_env.presets import BUDGETS, EXAMPLE_PRESETS, PRESETS, TASK_SIZES, example_presets, preset_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "presets.md"


def test_docs_show_the_table_of_the_code():
    assert preset_table() in DOC.read_text(), "regenerate docs/presets.md from seqgan_env.presets.preset_table()"


def test_every_example_preset_is_a_task_row_then_a_budget_row():
    for example, presets in EXAMPLE_PRESETS.items():
        merged = example_presets(example)
        for name, (task, budget) in presets.items():
            assert merged[name] == TASK_SIZES[task] | BUDGETS[budget]
            assert not set(TASK_SIZES[task]) & set(BUDGETS[budget]), (example, name)  # sizes apart from budgets


def test_filter_divisor_and_its_deprecated_name():
    tiny = PRESETS["tiny"]
    assert tiny.filter_divisor == 10
    assert sum(tiny.discriminator_config().num_filters) < sum(PRESETS["oracle"].discriminator_config().num_filters)
    with pytest.warns(DeprecationWarning, match="filter_divisor"):
        assert tiny.filter_scale == 10
