"""examples/evaluate.py on tiny runs: the records, the common random stream, seeds as labels, text runs, errors."""

from __future__ import annotations

import json
import math

import pytest
from example_loader import load_example as _load


@pytest.fixture(scope="module")
def ev():
    return _load("evaluate")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny oracle runs (seeds 0 and 1) and a constant-reward control forked from seed 0's pretraining."""
    ot = _load("oracle_train")
    root = tmp_path_factory.mktemp("runs")
    common = ["--preset", "tiny", "--progress", "false"]
    for seed in (0, 1):
        assert ot.cli([*common, "--seed", str(seed), "--out", str(root / f"s{seed}")]) == 0
    assert ot.cli([*common, "--seed", "0", "--out", str(root / "pre"), "--stop-after-rounds", "0"]) == 0
    assert ot.cli([*common, "--seed", "0", "--out", str(root / "const"), "--fork-from", str(root / "pre"),
                   "--reward-source", "constant", "--baseline", "mean", "--baseline-epochs", "0"]) == 0
    return root


def test_temperature_sweep_of_a_tiny_run(ev, runs, tmp_path):
    out = tmp_path / "eval.json"
    assert ev.cli(["--run", str(runs / "s0"), "--temperatures", "0.7", "1.0", "1.3", "--top-p", "0.9",
                   "--top-p-models", "all", "--num-samples", "256", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    recs = res["records"]
    by = {(r["model"], r["sweep"], r["temperature"], r["top_p"]): r for r in recs}
    for model in ("mle_pretrained", "mle_baseline", "seqgan"):
        for t in (0.7, 1.0, 1.3):
            r = by[(model, "temperature", t, 1.0)]
            assert r["nll_oracle"] > 0 and r["nll_test"] > 0 and r["outside_nucleus"] == 0.0
        assert by[(model, "top_p", 1.0, 0.9)]["outside_nucleus"] > 0
    assert ("oracle", "temperature", 1.0, 1.0) in by
    # by default only the MLE models get the top-p sweep (the truncation baseline)
    assert ev.cli(["--run", str(runs / "s0"), "--temperatures", "1.0", "--top-p", "0.9", "--num-samples", "64",
                   "--json", str(tmp_path / "d.json")]) == 0
    swept = {r["model"] for r in json.loads((tmp_path / "d.json").read_text())["records"] if r["sweep"] == "top_p"}
    assert swept == {"mle_pretrained", "mle_baseline"}
    # common random numbers: at T=1 with the run's own stream, the records equal the trainer's last evaluation
    summary = json.loads((runs / "s0" / "summary.json").read_text())
    assert ev.cli(["--run", str(runs / "s0"), "--temperatures", "1.0", "--num-samples", "256", "--seed", "0",
                   "--json", str(tmp_path / "t1.json")]) == 0
    t1 = {r["model"]: r for r in json.loads((tmp_path / "t1.json").read_text())["records"]}
    assert t1["seqgan"]["nll_oracle"] == pytest.approx(summary["seqgan_nll_oracle"], rel=1e-9)
    assert t1["seqgan"]["nll_test"] == pytest.approx(summary["seqgan_nll_test"], rel=1e-9)
    assert t1["mle_baseline"]["nll_oracle"] == pytest.approx(summary["mle_nll_oracle"], rel=1e-9)
    assert (tmp_path / "eval.png").stat().st_size > 10_000
    # every gap is measured against an MLE temperature curve of the same run
    assert res["gaps"] and all(g["versus"] in ("mle_pretrained", "mle_baseline") for g in res["gaps"])


def test_seeds_share_a_label_and_identical_generators_are_scored_once(ev, runs, tmp_path, capsys):
    out = tmp_path / "e.json"
    assert ev.cli(["--run", f"seqgan={runs}/s[01]", "--run", f"const={runs / 'const'}", "--temperatures", "1.0",
                   "--num-samples", "128", "--json", str(out)]) == 0
    log = capsys.readouterr().out
    # the constant reward with the mean baseline gives zero advantage: its final G is the pretrained G
    assert "const/seqgan (identical to seqgan/mle_pretrained)" in log
    res = json.loads(out.read_text())
    agg = {(a["label"], a["model"]): a for a in res["aggregates"] if a["sweep"] == "temperature"}
    s = agg[("seqgan", "seqgan")]
    vals = [r["nll_oracle"] for r in res["records"] if r["label"] == "seqgan" and r["model"] == "seqgan"]
    assert s["n"] == 2 and len(vals) == 2 and vals[0] != vals[1]
    assert s["nll_oracle_mean"] == pytest.approx(sum(vals) / 2)
    assert s["nll_oracle_std"] == pytest.approx(abs(vals[0] - vals[1]) / math.sqrt(2))


def test_text_run(ev, tmp_path):
    tt = _load("text_train")
    import random

    rng = random.Random(1)
    words = "the a cat dog sat ran on under mat rug big small red".split()
    corpus = tmp_path / "lines.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 7))) for _ in range(200)))
    run = tmp_path / "text"
    tt.main(["--corpus", str(corpus), "--preset", "tiny", "--out", str(run)])
    out = tmp_path / "t.json"
    assert ev.cli(["--run", str(run), "--temperatures", "0.8", "1.0", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["kind"] == "text"
    by = {(r["model"], r["temperature"]): r for r in res["records"]}
    assert {"mle", "mle_baseline", "seqgan", "real_heldout", "unigram"} <= {m for m, _ in by}
    summary = json.loads((run / "summary.json").read_text())
    for model in ("mle", "seqgan", "mle_baseline"):  # at T=1 the run's own scores: the same samples, references
        for k in ("bleu2", "bleu4", "self_bleu4"):
            assert by[(model, 1.0)][k] == pytest.approx(summary[model][k], rel=1e-12, nan_ok=True), (model, k)
    for k in ("bleu2", "self_bleu4"):
        assert by[("real_heldout", None)][k] == pytest.approx(summary["real_heldout"][k], rel=1e-12, nan_ok=True)


def test_errors_are_one_line(ev, runs, tmp_path, capsys):
    cases = [
        (["--run", str(tmp_path)], "no args.json"),
        (["--run", str(tmp_path / "nope")], "is not a directory"),
        (["--run", "x=" + str(tmp_path / "none*")], "no directory matches"),
        (["--run", str(runs / "s0"), "--temperatures", "0"], "--temperatures 0.0"),
        (["--run", str(runs / "s0"), "--top-p", "1.5"], "--top-p 1.5"),
        (["--run", str(runs / "s0"), "--threads", "-1"], "--threads=-1 must be a whole number >= 1"),
        (["--run", str(runs / "s0"), "--device", "foo"], "--device='foo' is not a torch device"),
    ]
    for argv, needle in cases:
        assert ev.cli(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], (argv, err)


def test_merge_of_evaluations_equals_one_evaluation(ev, runs, tmp_path):
    common = ["--temperatures", "0.8", "1.0", "--num-samples", "64", "--seed", "3"]
    assert ev.cli(["--run", f"seqgan={runs}/s[01]", *common, "--json", str(tmp_path / "all.json")]) == 0
    for s in (0, 1):
        assert ev.cli(["--run", f"seqgan={runs / f's{s}'}", *common, "--json", str(tmp_path / f"{s}.json")]) == 0
    assert ev.cli(["--merge", str(tmp_path / "0.json"), str(tmp_path / "1.json"), "--json",
                   str(tmp_path / "m.json")]) == 0
    a, m = (json.loads((tmp_path / f).read_text()) for f in ("all.json", "m.json"))
    assert a["aggregates"] == m["aggregates"] and a["gaps"] == m["gaps"]
    assert (m["seed"], m["temperatures"], m["top_p"]) == (3, [0.8, 1.0], []) == (a["seed"], a["temperatures"],
                                                                              a["top_p"])  # labels its records
    assert ev.cli(["--run", str(runs / "const"), "--models", "seqgan", *common, "--json",
                   str(tmp_path / "c.json")]) == 0
    assert {r["model"] for r in json.loads((tmp_path / "c.json").read_text())["records"]} == {"seqgan"}
    assert ev.cli(["--merge", str(tmp_path / "0.json"), str(tmp_path / "c.json"), "--json",
                   str(tmp_path / "m2.json")]) == 0
    merged = json.loads((tmp_path / "m2.json").read_text())["records"]
    # the constant-and-mean control's G is the pretrained G of seed 0: marked, and left off the plot
    assert all(r.get("same_as") == "seqgan/mle_pretrained" for r in merged if r["label"] == "const")
