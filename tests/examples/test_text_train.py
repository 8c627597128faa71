"""examples/text_train.py end to end on the committed fixtures (tiny preset: seconds)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from seqgan_env.text import generate
from seqgan_env.text.checkpoint import load_text_checkpoint

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "text"


def _example():
    spec = importlib.util.spec_from_file_location("text_train", REPO / "examples" / "text_train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["text_train"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_music_task_tiny_writes_summary_checkpoints_and_decodes(tmp_path, capsys):
    out = tmp_path / "run"
    summary = _example().main(["--corpus", "music", "--source", str(FIXTURES / "music"), "--preset", "tiny",
                               "--test-size", "0.3", "--out", str(out), "--seed", "1"])
    on_disk = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["sizes"] == summary["sizes"] and summary["sizes"]["seq_len"] == 32
    for stage in ("mle", "seqgan"):
        scores = on_disk[stage]
        assert all(0.0 <= scores[f"bleu{n}"] <= 1.0 for n in (2, 3, 4))
        assert scores["bleu2"] >= scores["bleu4"]
        assert len(scores["samples"]) == 3 and 0.0 <= scores["pitch_mse_fraction_scored"] <= 1.0
        assert scores["pitch_mse"] is None if scores["pitch_mse_fraction_scored"] == 0.0 else scores["pitch_mse"] >= 0
    ckpt = load_text_checkpoint(out / "seqgan.pt")
    assert ckpt.generator.config.start_token == ckpt.vocab.start_id == 1 and ckpt.meta["stage"] == "seqgan"
    assert (out / "vocab.json").is_file() and (out / "mle.pt").is_file()
    capsys.readouterr()
    assert generate.main(["--checkpoint", str(out / "seqgan.pt"), "--num", "2", "--seed", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(all(t.isdigit() and 1 <= int(t) <= 88 for t in line.split()) for line in lines)


def test_missing_task_source_is_a_clear_exit(tmp_path):
    with pytest.raises(SystemExit, match="npm pack chinese-poetry"):
        _example().main(["--corpus", "poems", "--preset", "tiny", "--out", str(tmp_path)])
