"""Report plots as PNG bytes, drawn with matplotlib's object API (no pyplot state, no display).

Every function takes values of the typed results (:mod:`rlaif.eval.results`) read back from
``metrics.json``, so a report can be re-rendered from that file alone.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rlaif.eval.bootstrap import Estimate
from rlaif.eval.results import CalibrationBin, Confusion, Histogram

CHANCE_STYLE = {"color": "0.4", "linestyle": "--", "linewidth": 1}
JUDGE_COLOR, BASELINE_COLOR = "#1f77b4", "#aaaaaa"


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **grid: Any):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=grid or None)
    return fig, axes


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _interval(estimate: Estimate | None) -> tuple[float, float, float] | None:
    if estimate is None or estimate.value is None:
        return None
    value = float(estimate.value)
    low, high = estimate.low, estimate.high
    low = value if low is None else float(low)
    high = value if high is None else float(high)
    return value, value - low, high - value


def estimate_bars(
    rows: Sequence[tuple[str, Estimate | None, bool]],
    *,
    title: str,
    xlabel: str,
    reference: float | None = 0.5,
    reference_label: str = "chance",
    ax: Any = None,
) -> bytes | None:
    """Horizontal bars with 95% interval whiskers: ``(label, estimate, is_baseline)`` rows."""
    own_figure = ax is None
    if own_figure:
        fig, axes = _figure(7.5, 0.9 + 0.42 * max(len(rows), 1))
        ax = axes[0][0]
    shown = [(label, _interval(estimate), base) for label, estimate, base in rows]
    y = np.arange(len(shown))[::-1]
    for yi, (_, interval, base) in zip(y, shown, strict=True):
        if interval is None:  # nothing measured (e.g. every verdict a tie): say so, keep the row
            ax.text(0.01, yi, "n/a", va="center", fontsize=8, color="0.4")
            continue
        value, lo, hi = interval
        color = BASELINE_COLOR if base else JUDGE_COLOR
        ax.barh(yi, value, color=color, height=0.65)
        ax.errorbar(value, yi, xerr=[[lo], [hi]], color="black", capsize=3, linewidth=1)
        ax.text(value + hi + 0.01, yi, f"{value:.3f}", va="center", fontsize=8)
    ax.set_yticks(y, [label for label, _, _ in shown], fontsize=8)
    if reference is not None:
        ax.axvline(reference, **CHANCE_STYLE)
        xlabel = f"{xlabel} (dashed: {reference_label})"
    ax.set_xlim(0, 1.12)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_title(title, fontsize=10)
    return _png(fig) if own_figure else None


def grouped_estimate_bars(
    groups: Mapping[str, Sequence[tuple[str, Estimate | None, bool]]],
    *,
    title: str,
    xlabel: str,
    reference: float | None = 0.5,
) -> bytes:
    """One panel of :func:`estimate_bars` per group (e.g. per subset or per bias)."""
    names = list(groups)
    height = max(len(rows) for rows in groups.values()) if groups else 1
    fig, axes = _figure(6.5 * len(names), 1.2 + 0.42 * height, ncols=max(len(names), 1))
    for ax, name in zip(axes[0], names, strict=False):
        estimate_bars(groups[name], title=name, xlabel=xlabel, reference=reference, ax=ax)
    fig.suptitle(title, fontsize=11)
    return _png(fig)


def reliability_diagram(curves: Mapping[str, Sequence[CalibrationBin]]) -> bytes:
    """Fraction of human agreement against the judge's stated probability, one line per judge,
    with bin sizes as a histogram underneath."""
    fig, axes = _figure(6.0, 6.4, nrows=2, height_ratios=[3, 1])
    top, bottom = axes[0][0], axes[1][0]
    top.plot([0, 1], [0, 1], label="perfectly calibrated", **CHANCE_STYLE)
    for name, bins in curves.items():
        if not bins:
            continue
        x = [b.mean_predicted for b in bins]
        top.plot(x, [b.fraction_positive for b in bins], marker="o", label=name)
        bottom.bar(
            [(b.low + b.high) / 2 for b in bins],
            [b.count for b in bins],
            width=0.09,
            alpha=0.5,
            label=name,
        )
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_xlabel("judge probability for a reply")
    top.set_ylabel("fraction humans preferred it")
    top.set_title("Reliability diagram (symmetrised soft labels)", fontsize=10)
    top.legend(fontsize=7, loc="upper left")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("judge probability (bin)")
    bottom.set_ylabel("samples")
    return _png(fig)


def confusion_matrices(matrices: Mapping[str, Confusion]) -> bytes:
    """Heatmap of human label (rows) against judge verdict (columns) per judge."""
    names = list(matrices)
    fig, axes = _figure(4.2 * max(len(names), 1), 3.0, ncols=max(len(names), 1))
    for ax, name in zip(axes[0], names, strict=False):
        matrix = matrices[name]
        counts = np.array(list(matrix.rows.values()), dtype=float)
        ax.imshow(counts, cmap="Blues", vmin=0)
        for (i, j), value in np.ndenumerate(counts):
            color = "white" if value > counts.max() / 2 else "black"
            ax.text(j, i, f"{int(value)}", ha="center", va="center", color=color, fontsize=9)
        ax.set_xticks(range(len(matrix.columns)), matrix.columns, fontsize=8)
        ax.set_yticks(range(len(matrix.rows)), list(matrix.rows), fontsize=8)
        ax.set_xlabel("judge verdict", fontsize=8)
        ax.set_title(name, fontsize=9)
    return _png(fig)


def histograms(
    series: Mapping[str, Histogram],
    *,
    title: str,
    xlabel: str,
    reference: float | None = None,
) -> bytes:
    """Overlaid histograms from precomputed bins per series."""
    fig, axes = _figure(7.0, 3.6)
    ax = axes[0][0]
    for name, hist in series.items():
        edges = np.asarray(hist.edges, dtype=float)
        counts = np.asarray(hist.counts, dtype=float)
        if counts.size:
            ax.stairs(counts, edges, fill=True, alpha=0.45, label=name)
    if reference is not None:
        ax.axvline(reference, **CHANCE_STYLE)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def training_curves(curves: Mapping[str, Mapping[str, Sequence[float]]], *, title: str) -> bytes:
    """One small panel per logged quantity: ``{key: {"step": [...], "value": [...]}}``."""
    keys = list(curves)
    ncols = min(3, max(len(keys), 1))
    nrows = max(1, -(-len(keys) // ncols))
    fig, axes = _figure(4.0 * ncols, 2.8 * nrows, ncols=ncols, nrows=nrows)
    flat = axes.ravel()
    for ax, key in zip(flat, keys, strict=False):
        ax.plot(curves[key]["step"], curves[key]["value"], marker=".", linewidth=1)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in flat[len(keys) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    return _png(fig)


def histogram_counts(
    values: Sequence[float] | np.ndarray, edges: np.ndarray | int = 20
) -> dict[str, list]:
    """``{"edges", "counts"}`` of ``values`` (``numpy.histogram``), for ``metrics.json``."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return {"edges": [], "counts": []}
    counts, bin_edges = np.histogram(array, bins=edges)
    return {"edges": bin_edges.tolist(), "counts": counts.tolist()}
