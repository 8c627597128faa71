"""Quality against diversity over sampling temperature (and nucleus top-p), for finished runs, CleanRL style.

    python examples/evaluate.py --run runs/quick --temperatures 0.7 1.0 1.3 --json runs/quick/eval.json
    python examples/evaluate.py --run seqgan='runs/qc/seed*/seqgan' --run constant='runs/qc/seed*/constant' \\
        --top-p 0.8 0.9 0.95 --json runs/qc/eval.json

A lower sampling temperature makes any generator sharper: better quality, less diversity. A training method
that only sharpens G therefore "wins" on a quality metric alone, so every model is evaluated along its whole
temperature curve (Caccia et al., "Language GANs Falling Short", ICLR 2020), and a nucleus (top-p) sweep gives
the truncation curve of the same models. One model beats another only where its point lies below the other's
curve at the same diversity; ``curve_gap`` in the JSON says by how much (negative: better).

**Oracle runs** (``oracle_train.py``): quality = NLL-oracle (the oracle's NLL of G's samples, lower is better),
diversity = NLL-test (G's NLL of held-out oracle data under the same sampling distribution, lower is better;
with top-p, tokens outside the nucleus are scored with a 1e-3 mixture of the full distribution and counted in
``outside_nucleus``). Models: ``mle_pretrained``, ``mle_baseline`` (the same-budget MLE-only control, if the run
trained one) and ``seqgan`` from ``DIR/generators/``, plus the oracle itself at temperature 1.
**Text runs** (``text_train.py``): quality = BLEU-n against the run's fixed reference set, diversity = Self-BLEU-4
(lower is more diverse), with the run's real held-out rows and a unigram sampler as fixed points.

Every model and setting draws its samples from the same keyed stream (``--seed``): differences between models
are not evaluation noise. ``--run`` may be given many times, as ``DIR``, ``LABEL=DIR`` or ``LABEL=GLOB``; runs
that share a label are seeds of one configuration and are also reported as mean ± std. Generators that are
bit-identical (the pretrained G of runs forked from one pretraining) are scored once.

Writes ``--json`` (default ``evaluation.json`` in the first run): ``records`` (one per run, model and setting: at
least ``model``, ``temperature``, ``top_p``, ``nll_oracle``, ``nll_test``), ``aggregates`` (mean/std over the runs
of a label) and ``gaps``; and a PNG of the curves next to it (``--png``).
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqgan_env.cli import ArgumentParser, UsageError, check_run_options, run_cli
from seqgan_env.evaluation import curve_gap, quality_diversity, text_quality_diversity, text_scores, unigram_samples
from seqgan_env.files import write_json
from seqgan_env.generator import Generator
from seqgan_env.runs import OracleRun, TextRun, data_digest, load_run, to_device

PAPER_NLL_ORACLE = {"MLE (paper)": 9.038, "SeqGAN (paper)": 8.736}
"""The paper's Table 1 (NLL-oracle of the synthetic experiment; the paper gives no NLL-test)."""


@dataclass
class Args:
    run: list[str] = field(default_factory=list)
    """a run directory (DIR, LABEL=DIR or LABEL=GLOB); repeat for more runs"""
    temperatures: list[float] = field(default_factory=lambda: [0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3])
    """sampling temperatures of the temperature sweep"""
    top_p: list[float] = field(default_factory=list)
    """nucleus masses of the top-p sweep at temperature 1 (none by default)"""
    models: list[str] = field(default_factory=lambda: ["all"])
    """the models of each run to evaluate (names as in the JSON, "oracle" included; default: all)"""
    top_p_models: list[str] = field(default_factory=lambda: ["mle_pretrained", "mle_baseline", "mle"])
    """the models that get the top-p sweep (default: the MLE models, the truncation baseline; "all": every model)"""
    num_samples: int | None = None
    """samples per setting (default: 9,984 for oracle runs as the reference code, the run's bleu_samples for text)"""
    seed: int = 0
    """the evaluation stream: every model and setting draws the same random numbers"""
    oracle_params: str | None = None
    """the oracle file, if it moved since training (oracle runs)"""
    bleu_order: int = 4
    """the BLEU order plotted for text runs (2, 3 or 4; all three are in the JSON)"""
    json: str | None = None
    """output JSON (default: evaluation.json in the first run)"""
    png: str | None = None
    """output plot (default: the JSON path with .png)"""
    threads: int | None = None
    """torch.set_num_threads"""
    device: str = "cpu"
    """where the models run (cuda: the sampling runs on the fused Triton kernel)"""


def parse_args(argv: list[str]) -> Args:
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--merge", nargs="+", default=[],
                   help="combine the records of earlier --json outputs (same --seed) instead of evaluating runs")
    p.add_argument("--run", action="append", default=[],
                   help="a run directory: DIR, LABEL=DIR or LABEL=GLOB (runs sharing a label are seeds); repeatable")
    p.add_argument("--temperatures", type=float, nargs="+", default=Args().temperatures,
                   help="sampling temperatures of the temperature sweep (default 0.7 ... 1.3)")
    p.add_argument("--top-p", dest="top_p", type=float, nargs="+", default=[],
                   help="nucleus masses of the top-p sweep at temperature 1 (none by default)")
    p.add_argument("--models", nargs="+", default=["all"],
                   help="the models of each run to evaluate, e.g. seqgan oracle (default: all)")
    p.add_argument("--top-p-models", dest="top_p_models", nargs="+", default=Args().top_p_models,
                   help="models that get the top-p sweep (default: the MLE models, the truncation baseline; all)")
    p.add_argument("--num-samples", type=int, default=None,
                   help="samples per setting (default: 9,984 for oracle runs, the run's bleu_samples for text)")
    p.add_argument("--seed", type=int, default=0, help="the evaluation stream (the same for every model)")
    p.add_argument("--oracle-params", default=None, help="the oracle file, if it moved since training")
    p.add_argument("--bleu-order", type=int, choices=[2, 3, 4], default=4, help="the BLEU order plotted (text)")
    p.add_argument("--json", default=None, help="output JSON (default: evaluation.json in the first run)")
    p.add_argument("--png", default=None, help="output plot (default: the JSON path with .png)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--device", default="cpu", help="where the models run (cuda: sampling on the Triton kernel)")
    ns = vars(p.parse_args(argv))
    ns.pop("debug", None)
    merge = ns.pop("merge")
    args = Args(**ns)
    args.merge = merge  # type: ignore[attr-defined]
    if bool(args.run) == bool(merge):
        raise UsageError("pass --run DIR (evaluate runs) or --merge JSON... (combine earlier evaluations), not both.")
    for t in args.temperatures:
        if not (math.isfinite(t) and t > 0):
            raise UsageError(f"--temperatures {t}: every temperature must be > 0 (1.0 samples G as trained).")
    for q in args.top_p:
        if not (math.isfinite(q) and 0 < q <= 1):
            raise UsageError(f"--top-p {q}: every top-p must be in (0, 1] (1.0 turns truncation off).")
    check_run_options(threads=args.threads, device=args.device)
    if args.num_samples is not None and args.num_samples < 2:
        raise UsageError(f"--num-samples {args.num_samples}: pass at least 2.")
    return args


def expand_runs(specs: list[str]) -> list[tuple[str, Path]]:
    """``DIR`` / ``LABEL=DIR`` / ``LABEL=GLOB`` -> [(label, dir)]: a bare DIR is labelled by its name."""
    out: list[tuple[str, Path]] = []
    for spec in specs:
        label, _, pattern = spec.rpartition("=") if "=" in spec else ("", "", spec)
        paths = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        if not paths:
            raise UsageError(f"--run {spec}: no directory matches {pattern!r}.")
        for path in paths:
            if not Path(path).is_dir():
                raise UsageError(f"--run {spec}: {path} is not a directory; pass the --out of a finished run.")
            out.append((label or Path(path).name, Path(path)))
    return out


def digest(generator: Generator) -> str:
    h = hashlib.sha256()
    for k, v in generator.state_dict().items():
        h.update(k.encode() + v.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def data_key(run: OracleRun | TextRun) -> str:
    if isinstance(run, OracleRun):
        return "oracle:" + data_digest(run.data)
    h = hashlib.sha256(run.corpus.test.numpy().tobytes() + run.reference_ids.numpy().tobytes())
    return "text:" + h.hexdigest()


def evaluate_run(run: OracleRun | TextRun, label: str, args: Args, seen: dict[str, list[dict]]) -> list[dict]:
    """Every model of ``run`` along the sweeps: a list of records (identical generators are scored once)."""
    records: list[dict[str, Any]] = []
    models: dict[str, Generator] = dict(run.models)
    if isinstance(run, OracleRun):
        models["oracle"] = run.oracle
    if "all" not in args.models:
        models = {k: v for k, v in models.items() if k in args.models}
    for name, g in models.items():
        t0 = time.perf_counter()
        temps = [1.0] if name == "oracle" else args.temperatures
        swept = "all" in args.top_p_models or name in args.top_p_models
        tops = args.top_p if swept and name != "oracle" else []
        key = digest(g) + "|" + data_key(run)  # the same generator on the same held-out data
        same_as = None
        if key in seen:
            recs, same_as = [dict(r) for r in seen[key]], f"{seen[key][0]['label']}/{seen[key][0]['model']}"
        elif isinstance(run, OracleRun):
            recs = quality_diversity(g, run.oracle, run.data.test, temperatures=temps, top_ps=tops,
                                     num_samples=args.num_samples or 9_984, seed=args.seed)
        else:
            recs = text_quality_diversity(
                g, run.corpus.decode, _references(run), run.corpus.test, temperatures=temps, top_ps=tops,
                num_samples=args.num_samples or int(run.args.get("bleu_samples", 1000)),
                self_bleu_size=_self_bleu_size(run, args), seed=args.seed)
        for r in recs:
            r.update({"label": label, "run": str(run.path), "model": name, "seed": run.args.get("seed"),
                      "generator_key": key})
            if same_as:
                r["same_as"] = same_as
        seen.setdefault(key, recs)
        records += recs
        note = f" (identical to {same_as})" if same_as else f" ({time.perf_counter() - t0:.0f} s)"
        print(f"  {label}/{name}{note}", flush=True)
    if isinstance(run, TextRun):
        for name, ids in (("real_heldout", run.real_ids),
                          ("unigram", unigram_samples(run.corpus.train, args.num_samples or int(
                              run.args.get("bleu_samples", 1000)), seed=int(run.args.get("seed", 0))))):
            r = {"sweep": "fixed", "temperature": None, "top_p": None, "label": label, "run": str(run.path),
                 "model": name, "seed": run.args.get("seed")}
            r.update(text_scores(run.corpus.decode(ids), _references(run), self_bleu_size=_self_bleu_size(run, args)))
            records.append(r)
    return records


_REFS: dict[str, Any] = {}


def _references(run: TextRun) -> Any:
    from seqgan_env.text.bleu import BleuReference

    key = str(run.path)
    if key not in _REFS:
        _REFS[key] = BleuReference(run.corpus.decode(run.reference_ids), 4)
    return _REFS[key]


def _self_bleu_size(run: TextRun, args: Args) -> int:
    n = args.num_samples or int(run.args.get("bleu_samples", 1000))
    return min(int(run.args.get("self_bleu_size", 500)), n, run.real_ids.shape[0])


def axes(kind: str, bleu_order: int) -> tuple[str, str]:
    """(x metric, y metric) of the plot and the gaps."""
    return ("nll_test", "nll_oracle") if kind == "oracle" else ("self_bleu4", f"bleu{bleu_order}")


def aggregate(records: list[dict], kind: str, bleu_order: int) -> list[dict]:
    """Mean and std over the runs of each (label, model, sweep, temperature, top_p)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["label"], r["model"], r["sweep"], r["temperature"], r["top_p"]), []).append(r)
    metrics = ["nll_oracle", "nll_test", "outside_nucleus"] if kind == "oracle" else \
        ["bleu2", "bleu3", "bleu4", "self_bleu4", "nll_test"]
    out = []
    for (label, model, sweep, temp, top_p), rs in groups.items():
        agg: dict[str, Any] = {"label": label, "model": model, "sweep": sweep, "temperature": temp, "top_p": top_p,
                               "n": len(rs)}
        if all(r.get("same_as") for r in rs):  # every run's generator was already scored under another name
            agg["same_as"] = sorted({r["same_as"] for r in rs})
        for m in metrics:
            vals = [float(r[m]) for r in rs if r.get(m) is not None and math.isfinite(float(r[m]))]
            agg[f"{m}_mean"] = statistics.fmean(vals) if vals else math.nan
            agg[f"{m}_std"] = statistics.stdev(vals) if len(vals) > 1 else (0.0 if vals else math.nan)
        out.append(agg)
    return out


def gaps(records: list[dict], kind: str, bleu_order: int) -> list[dict]:
    """For every point of every model, its :func:`curve_gap` to the temperature curve of each MLE model of the
    same run (for text, BLEU is higher-better, so the gap is negated: negative always means better)."""
    x, y = axes(kind, bleu_order)
    refs = ("mle_pretrained", "mle_baseline") if kind == "oracle" else ("mle", "mle_baseline")
    sign = 1.0 if kind == "oracle" else -1.0
    out = []
    for run in sorted({r["run"] for r in records}):
        rs = [r for r in records if r["run"] == run]
        for ref in refs:
            curve = [(r[x], r[y]) for r in rs if r["model"] == ref and r["sweep"] == "temperature"]
            if len(curve) < 2:
                continue
            for r in rs:
                if r["model"] in (ref, "oracle"):
                    continue
                g = curve_gap(float(r[x]), float(r[y]), curve)
                out.append({"run": run, "label": r["label"], "model": r["model"], "sweep": r["sweep"],
                            "temperature": r["temperature"], "top_p": r["top_p"], "versus": ref,
                            "curve_gap": None if g is None else sign * g})
    return out


DISPLAY = {"mle_pretrained": "MLE (pretrained)", "mle_baseline": "MLE-only, same budget", "mle": "MLE (pretrained)",
           "real_heldout": "real held-out text", "unigram": "unigram sampler"}


def plot(aggs: list[dict], kind: str, bleu_order: int, path: Path, paper: bool) -> None:
    """One curve per (label, model): the temperature sweep solid, the top-p sweep dashed, mean ± std error bars over
    the runs of a label. A run's final generator is named by its label (``seqgan``, ``constant`` ...), the others
    by what they are. The oracle's own point is given in the legend, not drawn (it would squeeze the curves)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = axes(kind, bleu_order)
    fig, ax = plt.subplots(figsize=(7.6, 5.4))
    curves: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for a in aggs:
        if not a.get("same_as"):  # a bit-identical generator is drawn once, under its first name
            curves.setdefault((a["label"], a["model"]), {}).setdefault(a["sweep"], []).append(a)
    labels_of: dict[str, set[str]] = {}
    for label, model in curves:
        labels_of.setdefault(model, set()).add(label)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    annotated = False
    for i, ((label, model), sweeps) in enumerate(curves.items()):
        if model == "oracle":
            a = sweeps["temperature"][0]
            ax.plot([], [], " ", label=f"the oracle itself: NLL-oracle {a['nll_oracle_mean']:.2f}, NLL-test "
                                       f"{a['nll_test_mean']:.2f} (off the plot)")
            continue
        name = label if model == "seqgan" else DISPLAY.get(model, model)
        if model != "seqgan" and len(labels_of[model]) > 1:
            name += f" [{label}]"
        colour = colours[i % len(colours)]
        for sweep, pts in sweeps.items():
            pts = sorted(pts, key=lambda a: (a["temperature"] or 0, a["top_p"] or 0))
            xs = [p[f"{x}_mean"] for p in pts]
            ys = [p[f"{y}_mean"] for p in pts]
            xe = [p[f"{x}_std"] for p in pts]
            ye = [p[f"{y}_std"] for p in pts]
            style = {"temperature": "-o", "top_p": "--^", "fixed": "*"}[sweep]
            lab = name if sweep in ("temperature", "fixed") else f"{name} (top-p)"
            ax.errorbar(xs, ys, xerr=xe if any(xe) else None, yerr=ye if any(ye) else None, fmt=style, ms=5 if
                        sweep != "fixed" else 12, color=colour, capsize=2, lw=1.2, label=lab)
            if sweep == "top_p" or (sweep == "temperature" and not annotated):
                for p, xv, yv in zip(pts, xs, ys):
                    tag = f"T={p['temperature']:g}" if sweep == "temperature" else f"p={p['top_p']:g}"
                    ax.annotate(tag, (xv, yv), textcoords="offset points", xytext=(4, 3), fontsize=7, color=colour)
                annotated = annotated or sweep == "temperature"
    if kind == "oracle":
        if paper:
            for i, (name, v) in enumerate(PAPER_NLL_ORACLE.items()):
                ax.axhline(v, color="grey", ls=":" if i else "-.", lw=1, label=f"{name}: NLL-oracle {v}")
        ax.set_xlabel("NLL-test (nats/token; diversity: lower is better)")
        ax.set_ylabel("NLL-oracle (nats/token; quality: lower is better)")
    else:
        ax.set_xlabel("Self-BLEU-4 (lower is more diverse)")
        ax.set_ylabel(f"BLEU-{bleu_order} against the held-out references (higher is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def merge(files: list[str], args: Args) -> tuple[str, list[dict], list[dict], bool]:
    """(kind, records, runs, paper) of earlier evaluations, which must share the kind and the evaluation seed; ``args``
    gets their seed and the temperatures and top-p values their records hold (what the merged file is labelled by,
    not this command's defaults)."""
    results = []
    for f in files:
        try:
            results.append(json.loads(Path(f).read_text()))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--merge {f}: {exc}") from None
    kinds, seeds = {r.get("kind") for r in results}, {r.get("seed") for r in results}
    if len(kinds) != 1 or len(seeds) != 1:
        raise UsageError(f"--merge: the files differ in kind {sorted(map(str, kinds))} or evaluation seed "
                         f"{sorted(map(str, seeds))}; merge evaluations made the same way.")
    records = [rec for r in results for rec in r["records"]]
    args.seed = seeds.pop()
    args.temperatures = sorted({r["temperature"] for r in records if r["sweep"] == "temperature"})
    args.top_p = sorted({r["top_p"] for r in records if r["sweep"] == "top_p"})
    first: dict[tuple, dict] = {}  # a generator scored under two names (in two evaluations) is drawn once
    for rec in records:
        k = (rec.get("generator_key"), rec["sweep"], rec["temperature"], rec["top_p"])
        if rec.get("generator_key") is None:
            continue
        if k in first and (first[k]["label"], first[k]["model"]) != (rec["label"], rec["model"]):
            rec.setdefault("same_as", f"{first[k]['label']}/{first[k]['model']}")
        first.setdefault(k, rec)
    return kinds.pop(), records, [run for r in results for run in r["runs"]], all(r.get("paper") for r in results)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.merge:  # type: ignore[attr-defined]
        if not args.json:
            raise UsageError("--merge needs --json OUT (where the combined evaluation goes).")
        kind, records, run_list, paper = merge(args.merge, args)  # type: ignore[attr-defined]
        return report(args, kind, records, run_list, paper, Path(args.json), 0.0)
    runs = expand_runs(args.run)
    out_json = Path(args.json) if args.json else runs[0][1] / "evaluation.json"
    out_png = Path(args.png) if args.png else out_json.with_suffix(".png")
    loaded = []
    for label, path in runs:
        try:
            run = load_run(path, oracle_params=args.oracle_params)
            to_device(run, args.device)
            loaded.append((label, run))
        except ValueError as exc:
            raise UsageError(f"--run {path}: {exc}") from None
    kinds = {run.kind for _, run in loaded}
    if len(kinds) > 1:
        raise UsageError("--run mixes oracle and text runs; evaluate them separately.")
    kind = kinds.pop()
    if kind == "oracle" and len({run.oracle_source for _, run in loaded}) > 1:
        print("note: the runs use different oracles; their curves are not on one scale.", flush=True)
    records: list[dict[str, Any]] = []
    seen: dict[str, list[dict]] = {}
    t0 = time.perf_counter()
    for label, run in loaded:
        print(f"{label}: {run.path}", flush=True)
        records += evaluate_run(run, label, args, seen)
    paper = kind == "oracle" and all(
        "reference oracle" in run.oracle_source and run.oracle.vocab_size == 5000 for _, run in loaded)
    run_list = [{"label": lab, "path": str(run.path)} for lab, run in loaded]
    return report(args, kind, records, run_list, paper, out_json, time.perf_counter() - t0, out_png)


def report(args: Args, kind: str, records: list[dict], run_list: list[dict], paper: bool, out_json: Path,
           seconds: float, out_png: Path | None = None) -> int:
    """Aggregate, compute the gaps, write the JSON and the plot, print the table."""
    out_png = out_png or (Path(args.png) if args.png else out_json.with_suffix(".png"))
    aggs = aggregate(records, kind, args.bleu_order)
    gap_rows = gaps(records, kind, args.bleu_order)
    result = {"kind": kind, "seed": args.seed, "temperatures": args.temperatures, "top_p": args.top_p,
              "paper": paper, "runs": run_list, "records": records, "aggregates": aggs, "gaps": gap_rows,
              "seconds": round(seconds, 1)}
    out_json.parent.mkdir(parents=True, exist_ok=True)
    write_json(out_json, result, indent=1)
    plot(aggs, kind, args.bleu_order, out_png, paper)
    x, y = axes(kind, args.bleu_order)
    print(f"\n{'label':<16}{'model':<16}{'setting':<10}{y:>12}{x:>12}  (mean ± std over n runs)")
    for a in aggs:
        setting = f"T={a['temperature']:g}" if a["sweep"] == "temperature" else \
            f"p={a['top_p']:g}" if a["sweep"] == "top_p" else ""
        print(f"{a['label']:<16}{a['model']:<16}{setting:<10}{a[y + '_mean']:>8.3f}±{a[y + '_std']:.3f}"
              f"{a[x + '_mean']:>8.3f}±{a[x + '_std']:.3f}  n={a['n']}")
    below = [g for g in gap_rows if g["curve_gap"] is not None and g["curve_gap"] < 0]
    print(f"\n{len(below)} of {len(gap_rows)} model points lie below (better than) an MLE temperature curve of their "
          f"run; wrote {out_json} and {out_png}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_cli(main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
