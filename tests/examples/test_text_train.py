"""examples/text_train.py end to end on the committed fixtures (tiny preset: seconds)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from example_loader import load_example

from seqgan_env.text import generate
from seqgan_env.text.checkpoint import load_text_checkpoint

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "text"


def _example():
    return load_example("text_train")


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


def test_bad_threads_is_one_error_line(tmp_path, capsys):
    assert _example().cli(["--preset", "tiny", "--threads", "0", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--threads=0 must be a whole number >= 1" in err[0] and not (tmp_path / "o").exists()


def test_missing_task_source_is_one_error_line(tmp_path, capsys):
    assert _example().cli(["--corpus", "poems", "--preset", "tiny", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "npm pack chinese-poetry" in err[0]


def _lines_file(path: Path, n: int = 120) -> Path:
    import random

    rng = random.Random(0)
    words = "the a cat dog sat ran on under mat rug big small red".split()
    path.write_text("\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 7))) for _ in range(n)) + "\n")
    return path


def test_no_adversarial_rounds_scores_the_mle_generator(tmp_path):
    """--adv-rounds 0 runs straight through to the end: the MLE row is scored (it used to fail with 'lost
    mle_eval.json'), and SeqGAN's generator is the MLE generator."""
    corpus = _lines_file(tmp_path / "lines.txt")
    res = _example().main(["--corpus", str(corpus), "--preset", "tiny", "--adv-rounds", "0", "--out",
                           str(tmp_path / "o")])
    assert res["mle"]["nll_test"] == res["seqgan"]["nll_test"] and res["mle"]["bleu4"] == res["seqgan"]["bleu4"]


def test_resume_of_a_text_run_is_exact(tmp_path, capsys):
    tt = _example()
    corpus = _lines_file(tmp_path / "lines.txt")
    base = ["--corpus", str(corpus), "--preset", "tiny", "--seed", "3"]
    full = tt.main([*base, "--out", str(tmp_path / "full")])
    assert tt.main([*base, "--out", str(tmp_path / "part"), "--stop-after-rounds", "1"]) is None
    assert not (tmp_path / "part" / "summary.json").exists() and (tmp_path / "part" / "mle.pt").is_file()
    resumed = tt.main(["--resume", str(tmp_path / "part")])
    for stage in ("mle", "seqgan", "mle_baseline", "real_heldout", "unigram"):
        assert resumed[stage] == full[stage], stage  # every score and sample equals the uninterrupted run's
    samples = (tmp_path / "part" / "trainer" / "samples.jsonl").read_text().splitlines()
    assert samples == (tmp_path / "full" / "trainer" / "samples.jsonl").read_text().splitlines()
    assert load_text_checkpoint(tmp_path / "part" / "seqgan.pt").meta["stage"] == "seqgan"
    capsys.readouterr()
    assert tt.cli(["--resume", str(tmp_path / "part"), "--seed", "4"]) == 2
    assert "--seed 4 (the run used 3)" in capsys.readouterr().err


def test_bad_inputs_are_one_line(tmp_path, capsys):
    tt = _example()
    cases = {
        "empty": (tmp_path / "empty.txt", b"\n  \n", "no non-blank lines"),
        "latin1": (tmp_path / "latin1.txt", "caf\xe9 au lait\n".encode("latin-1") * 5, "not UTF-8 text"),
    }
    for name, (path, data, needle) in cases.items():
        path.write_bytes(data)
        assert tt.cli(["--corpus", str(path), "--preset", "tiny", "--out", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0] and path.name in err[0], (name, err)


def test_generate_refuses_damaged_and_foreign_checkpoints(tmp_path, capsys):
    truncated = tmp_path / "seqgan.pt"
    truncated.write_bytes(b"SEQGANCK\x01" + b"\x00" * 10)
    assert generate.main(["--checkpoint", str(truncated)]) == 2
    assert "truncated" in capsys.readouterr().err
    from seqgan_env.files import save_checked

    save_checked(tmp_path / "checkpoint.pt", {"fingerprint": "{}", "phase": "done", "version": 2})
    assert generate.main(["--checkpoint", str(tmp_path / "checkpoint.pt")]) == 2
    err = capsys.readouterr().err
    assert "training checkpoint" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_torchrun_two_ranks_match_one_process(tmp_path):
    import os
    import subprocess

    corpus = _lines_file(tmp_path / "lines.txt")
    base = ["--corpus", str(corpus), "--preset", "tiny", "--seed", "2"]
    one = _example().main([*base, "--out", str(tmp_path / "one"), "--threads", "1"])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TRITON_INTERPRET", None)
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                          str(REPO / "examples" / "text_train.py"), *base, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    two = json.loads((tmp_path / "two" / "summary.json").read_text(encoding="utf-8"))
    for stage in ("mle", "seqgan"):
        assert abs(one[stage]["nll_test"] - two[stage]["nll_test"]) < 1e-3, stage
        assert one[stage]["samples"] == two[stage]["samples"], stage


def test_text_run_reports_baseline_real_text_and_unigram_rows(tmp_path, capsys):
    """Five rows scored the same way; references and real rows disjoint and counted; samples dumped; the trainer's
    self-NLL column named so; lines cut at T warned about."""
    import csv
    import warnings

    import pytest

    tt = _example()
    corpus = _lines_file(tmp_path / "lines.txt", n=200)
    with pytest.warns(UserWarning, match=r"lines \(.*%\) are longer than 5 tokens and are cut"):
        s = tt.main(["--corpus", str(corpus), "--preset", "tiny", "--seed", "0", "--seq-len", "5", "--test-size",
                     "0.2", "--out", str(tmp_path / "run")])
    rows = ("mle", "seqgan", "mle_baseline", "real_heldout", "unigram")
    for name in rows:
        r = s[name]
        assert 0.0 <= r["bleu4"] <= r["bleu2"] <= 1.0 and r["self_bleu_size"] == s["sizes"]["self_bleu_size"], name
        assert len((tmp_path / "run" / f"samples_{name}.txt").read_text().splitlines()) == (
            s["sizes"]["real_heldout_rows"] if name == "real_heldout" else 20)
    # 40 held-out rows: 20 real (bleu_samples of the tiny preset), the other 20 are the references
    assert s["sizes"]["real_heldout_rows"] == 20 and s["sizes"]["bleu_references"] == 20
    assert s["real_heldout"]["nll_test"] is None and s["mle_baseline"]["nll_test"] > 0
    assert s["budget"]["baseline_epochs"] == 2  # one MLE epoch per adversarial round (tiny: 2 rounds)
    assert s["unigram"]["bleu2"] < s["real_heldout"]["bleu2"]
    assert load_text_checkpoint(tmp_path / "run" / "mle_baseline.pt").meta["stage"] == "mle_baseline"
    with open(tmp_path / "run" / "trainer" / "metrics.csv") as fh:
        metrics = list(csv.DictReader(fh))
    assert all(r["nll_oracle"] == "" for r in metrics)
    assert all(float(r["nll_self"]) > 0 for r in metrics if r["phase"] in ("mle", "adversarial", "mle_baseline"))
    log = [json.loads(line) for line in (tmp_path / "run" / "trainer" / "samples.jsonl").read_text().splitlines()]
    assert {e["phase"] for e in log} == {"mle", "adversarial", "mle_baseline"} and all(len(e["samples"]) == 3
                                                                                     for e in log)
    # no warning when nothing is cut; --baseline-epochs 0 turns the baseline off
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        s0 = tt.main(["--corpus", str(corpus), "--preset", "tiny", "--baseline-epochs", "0", "--out",
                      str(tmp_path / "nob")])
    assert "mle_baseline" not in s0 and not (tmp_path / "nob" / "mle_baseline.pt").exists()
