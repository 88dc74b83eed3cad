"""Write ``metrics.json``, ``report.md`` and a self-contained ``report.html`` for any evaluation.

A report is a list of blocks (headings, paragraphs, tables, images) built from ``metrics.json``
alone (read into its typed results model, :mod:`rlaif.eval.results`) by the section builder of
its ``kind``; the same blocks render to Markdown (images saved
beside it under ``plots/``) and to HTML (images embedded as base64). The HTML ends with every
value of ``metrics.json``, so nothing measured is left out of the page people read.
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rlaif.errors import RlaifError
from rlaif.eval.bootstrap import Estimate


@dataclass
class Heading:
    """A section heading (level 2 or 3)."""

    text: str
    level: int = 2


@dataclass
class Paragraph:
    """Plain text (Markdown-safe: no markup is interpreted in HTML)."""

    text: str


@dataclass
class BulletList:
    """A list of short lines."""

    items: list[str]


@dataclass
class Table:
    """A table of already formatted cells."""

    headers: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    """A PNG plot with a file name (under ``plots/``) and a caption."""

    name: str
    png: bytes
    caption: str = ""


Block = Heading | Paragraph | BulletList | Table | Image


@dataclass
class Report:
    """A titled list of blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block | None) -> None:
        """Append blocks, skipping ``None`` (a plot that had nothing to show)."""
        self.blocks.extend(b for b in blocks if b is not None)


def cell(value: Any, *, percent: bool = False, digits: int = 3) -> str:
    """Format an estimate, a number or ``None`` for a table cell."""
    if isinstance(value, Estimate):
        return value.format(digits=digits, percent=percent)
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if percent else f"{value:.{digits}g}"
    return str(value)


_BUILDERS = {
    "agreement": "rlaif.eval.agreement:agreement_report",
    "rm": "rlaif.eval.rm:reward_model_report",
    "policy": "rlaif.eval.policy:policy_report",
    "training": "rlaif.eval.training_report:training_report",
}
"""Report builder per ``metrics["kind"]`` (imported when used: each evaluation imports this
module)."""
_RESULT_MODELS = {
    "agreement": "rlaif.eval.agreement:AgreementMetrics",
    "rm": "rlaif.eval.rm:RewardModelMetrics",
    "policy": "rlaif.eval.policy:PolicyMetrics",
}
"""Typed results per ``kind`` (training reports read the trainer's log as it is)."""


def _imported(path: str) -> Any:
    """The object a ``module:name`` path names."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


Metrics = BaseModel | dict[str, Any]
"""A results model, or the dictionary read from ``metrics.json``."""


def metrics_dict(metrics: Metrics) -> dict[str, Any]:
    """The ``metrics.json`` dictionary of ``metrics`` (strict JSON values)."""
    if isinstance(metrics, BaseModel):
        metrics = metrics.model_dump(mode="json")
    return dict(clean_metrics(metrics))


def build_report(metrics: Metrics) -> Report:
    """The report for ``metrics`` (dispatching on its ``kind``)."""
    kind = getattr(metrics, "kind", None) if isinstance(metrics, BaseModel) else metrics.get("kind")
    if kind not in _BUILDERS:
        raise RlaifError(f"unknown report kind {kind!r}; expected one of {sorted(_BUILDERS)}")
    if isinstance(metrics, dict):
        metrics = clean_metrics(metrics)
        if kind in _RESULT_MODELS:
            model: type[BaseModel] = _imported(_RESULT_MODELS[kind])
            metrics = model.model_validate(metrics)
    builder: Callable[[Any], Report] = _imported(_BUILDERS[str(kind)])
    return builder(metrics)


def write_report(folder: str | Path, metrics: Metrics) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md``, ``report.html`` and ``plots/*.png`` into ``folder``
    and return their paths."""
    folder = Path(folder)
    (folder / "plots").mkdir(parents=True, exist_ok=True)
    report = build_report(metrics)
    metrics = metrics_dict(metrics)
    paths = {
        "metrics": folder / "metrics.json",
        "markdown": folder / "report.md",
        "html": folder / "report.html",
    }
    write_metrics(folder, metrics)
    for block in report.blocks:
        if isinstance(block, Image):
            (folder / "plots" / block.name).write_bytes(block.png)
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report, metrics), encoding="utf-8")
    return paths


def write_metrics(folder: str | Path, metrics: Metrics) -> Path:
    """Write ``metrics.json`` alone (strict JSON: NaN becomes ``null``)."""
    path = Path(folder) / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metrics_dict(metrics), indent=2, default=_json_default, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def clean_metrics(value: Any) -> Any:
    """A copy with numpy scalars as Python numbers and NaN/infinity as ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): clean_metrics(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_metrics(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in metrics.json")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """The report as Markdown; images link to ``plots/<name>``."""
    lines = [f"# {report.title}", ""]
    for block in report.blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, BulletList):
            lines += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "---|" * len(block.headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, Image):
            lines += [f"![{Path(block.name).stem}](plots/{block.name})", ""]
            if block.caption:
                lines += [f"*{block.caption}*", ""]
    return "\n".join(lines)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0;font-size:0.88em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr:nth-child(even) td{background:#fafafa}
figure{margin:1.5em 0}
figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:0.85em;color:#555}
details{margin-top:2em}
code{font-size:0.9em}
"""


def render_html(report: Report, metrics: dict[str, Any]) -> str:
    """The report as one HTML page with the plots embedded and every metric listed."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
    ]
    for block in report.blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{esc(block.text)}</p>")
        elif isinstance(block, BulletList):
            parts.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{esc(h)}</th>" for h in block.headers)
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in block.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.png).decode("ascii")
            parts.append(
                f'<figure><img alt="{esc(block.caption or block.name)}" '
                f'src="data:image/png;base64,{data}">'
                f"<figcaption>{esc(block.caption)}</figcaption></figure>"
            )
    rows = "".join(
        f"<tr><td><code>{esc(key)}</code></td><td>{esc(value)}</td></tr>"
        for key, value in flatten_metrics(metrics)
    )
    parts.append(
        "<details><summary>Every value in metrics.json</summary>"
        f"<table><thead><tr><th>key</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"
        "</details></body></html>"
    )
    return "\n".join(parts) + "\n"


def metric_text(value: Any) -> str:
    """How a leaf of ``metrics.json`` is shown in the full listing (its JSON text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def flatten_metrics(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(dotted.key, text)`` for every leaf of a nested metrics dictionary."""
    if isinstance(value, dict):
        if not value and prefix:
            yield prefix, "{}"
        for key, item in value.items():
            yield from flatten_metrics(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            # A list of numbers (a curve, histogram counts) is one row, written as JSON.
            yield prefix, metric_text(value)
            return
        for index, item in enumerate(value):
            yield from flatten_metrics(item, f"{prefix}.{index}")
    else:
        yield prefix, metric_text(value)
