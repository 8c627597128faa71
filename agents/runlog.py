"""The run log: metric rows, ``metrics.csv``, TensorBoard scalars and the learning-curve plot.

Only the writing rank writes (rank 0 under ``torchrun``; every rank keeps the rows, which are identical). The CSV
is rewritten whole, atomically, after every row, so it always matches the rows a checkpoint holds.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

from seqgan_env.files import atomic_write

__all__ = ["METRIC_COLUMNS", "RunLog", "plot_learning_curve"]

METRIC_COLUMNS: tuple[str, ...] = (
    "phase", "step", "epoch", "nll_oracle", "nll_test", "nll_self", "d_loss", "d_acc", "d_fake_score", "d_train_acc",
    "d_heldout_acc", "seconds",
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


class RunLog:
    """Rows of :data:`METRIC_COLUMNS`, written to ``out_dir/metrics.csv`` and TensorBoard (``out_dir/tb``).

    Args:
        out_dir: the run directory, or ``None`` to keep the rows in memory only.
        tensorboard: also write TensorBoard scalars.
        writes: whether this process writes (``False`` on ranks other than 0).
    """

    def __init__(self, out_dir: Path | None, *, tensorboard: bool = True, writes: bool = True) -> None:
        self.out_dir = out_dir
        self.tensorboard = tensorboard
        self.writes = writes and out_dir is not None
        self.rows: list[dict[str, Any]] = []
        self._writer: Any = None

    def _tb(self) -> Any:
        if self._writer is None and self.tensorboard and self.writes:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tb"))  # type: ignore[operator]
        return self._writer

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        """TensorBoard scalars ``prefix/name`` at ``step`` (NaN values are skipped)."""
        w = self._tb()
        if w is None:
            return
        for k, v in values.items():
            if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                w.add_scalar(f"{prefix}/{k}", v, step)

    def add(self, row: dict[str, Any], seconds: float) -> dict[str, Any]:
        """Append a row (missing columns are NaN, ``seconds`` the run's elapsed time) and write the CSV."""
        full = {c: row.get(c, math.nan) for c in METRIC_COLUMNS}
        full["seconds"] = round(seconds, 3)
        self.rows.append(full)
        self.write_csv()
        curve = {"mle": "mle", "mle_baseline": "mle", "adversarial": "seqgan"}.get(full["phase"])
        if curve is not None:
            self.scalars(f"nll_oracle_{curve}", {"nll_oracle": full["nll_oracle"]}, int(full["epoch"]))
            self.scalars(f"nll_test_{curve}", {"nll_test": full["nll_test"]}, int(full["epoch"]))
            self.scalars(f"nll_self_{curve}", {"nll_self": full["nll_self"]}, int(full["epoch"]))
        self.scalars(full["phase"], {k: full[k] for k in ("d_loss", "d_acc", "d_fake_score", "d_train_acc",
                                                            "d_heldout_acc")}, int(full["step"]))
        return full

    def write_csv(self) -> None:
        if not self.writes:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]

        def write(fh: Any) -> None:
            w = csv.writer(fh)
            w.writerow(METRIC_COLUMNS)
            for r in self.rows:
                w.writerow([_fmt(r[c]) for c in METRIC_COLUMNS])

        atomic_write(self.out_dir / "metrics.csv", write, mode="w")  # type: ignore[operator]

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def plot_learning_curve(rows: list[dict[str, Any]], path: str | os.PathLike[str], *, title: str = "") -> None:
    """NLL-oracle against epoch for MLE (pretraining + MLE-only baseline) and SeqGAN, with a dashed vertical line
    where adversarial training starts (the paper's Figure style). Without an oracle (text: the ``nll_oracle``
    column is empty) it plots NLL-test instead. Uses matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def ok(r: dict[str, Any], col: str) -> bool:
        v = r.get(col)
        return v is not None and v != "" and not math.isnan(float(v))

    col = "nll_oracle" if any(ok(r, "nll_oracle") for r in rows) else "nll_test"

    def pts(phases: tuple[str, ...]) -> tuple[list[float], list[float]]:
        sel = [r for r in rows if r["phase"] in phases and ok(r, col)]
        return [float(r["epoch"]) for r in sel], [float(r[col]) for r in sel]

    pre_x, pre_y = pts(("mle",))
    mle_x, mle_y = pts(("mle_baseline",))
    adv_x, adv_y = pts(("adversarial",))
    start = pre_x[-1] if pre_x else 0.0
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(pre_x + mle_x, pre_y + mle_y, "-o", ms=3, label="MLE")
    if adv_x:
        ax.plot(([start] if pre_x else []) + adv_x, (pre_y[-1:] if pre_x else []) + adv_y, "-s", ms=3,
                label="SeqGAN")
    ax.axvline(start, color="k", ls="--", lw=1, label="adversarial training starts")
    ax.set_xlabel("epoch (MLE epochs, then one per adversarial round)")
    ax.set_ylabel("NLL-oracle (nats/token)" if col == "nll_oracle" else "NLL-test (nats/token)")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
