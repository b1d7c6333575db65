"""The monitoring report: ``summary.json`` and a self-contained ``report.html``.

The HTML page shows the verdict, a table of every feature's scores, the
predictions, baseline-versus-current bar charts and, when ground truth was
given, the model quality. Plots are PNGs drawn with matplotlib (imported only
when a report is written) and embedded as base64, so the page is one file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"

_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
    ".drift{background:#fde0dc}img{margin:.3em}"
)


def write_report(
    summary: Mapping[str, Any], baseline: Mapping[str, Any], output_dir: Path
) -> tuple[Path, Path]:
    """Write ``summary.json`` and ``report.html`` into ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path = output_dir / SUMMARY_FILE
    json_path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    html_path = output_dir / REPORT_FILE
    html_path.write_text(render_html(summary, baseline), encoding="utf-8")
    logger.debug("report: %s, %s", json_path, html_path)
    return json_path, html_path


def render_html(summary: Mapping[str, Any], baseline: Mapping[str, Any]) -> str:
    """A self-contained HTML report: verdicts, scores, baseline-vs-current plots."""
    out = [_header(summary, baseline), _features_table(summary)]
    prediction = summary.get("prediction")
    if prediction:
        out.append(_prediction_html(prediction))
    out.append(_feature_plots(summary, baseline))
    quality = summary.get("quality")
    if quality:
        out.append(_quality_html(quality))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ drift ---


def _verdict(summary: Mapping[str, Any]) -> str:
    """``no drift`` or the drifted features, and whether model quality degraded."""
    verdict = (
        f"DRIFT in {', '.join(summary['drifted'])}"
        if summary["drifted"]
        else "no drift"
    )
    if summary.get("quality", {}).get("degraded"):
        verdict += "; model quality DEGRADED"
    return verdict


def _header(summary: Mapping[str, Any], baseline: Mapping[str, Any]) -> str:
    """Page head, title, the window read, the verdict and the thresholds."""
    e = html.escape
    return "\n".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'><title>Drift report"
            f"</title><style>{_STYLE}</style></head><body>",
            "<h1>Drift report</h1>",
            f"<p>{e(str(summary.get('source', '')))}: {summary['rows']} rows from "
            f"{summary.get('requests', '?')} requests, {e(str(summary.get('since')))} "
            f"to {e(str(summary.get('until')))}. Baseline: {baseline['rows']} "
            f"training rows.</p><p><b>{e(_verdict(summary))}</b></p>",
            f"<p>Thresholds: {e(json.dumps(summary['thresholds']))}</p>",
        ]
    )


def _features_table(summary: Mapping[str, Any]) -> str:
    """One row of scores and verdict per feature; drifted rows highlighted."""
    out = [
        "<h2>Features</h2><table><tr><th>feature</th><th>PSI</th><th>test</th>"
        "<th>p-value</th><th>missing baseline</th><th>missing now</th>"
        "<th>out of range</th><th>unknown</th><th>verdict</th></tr>"
    ]
    out += [_feature_row(name, r) for name, r in summary["features"].items()]
    out.append("</table>")
    return "\n".join(out)


def _feature_row(name: str, r: Mapping[str, Any]) -> str:
    e = html.escape
    missing = r["missing_rate"]
    unknown = ", ".join(f"{k}: {v}" for k, v in r["unknown"].items())
    return (
        f"<tr class='{'drift' if r['drift'] else ''}'><td>{e(name)}</td>"
        f"<td>{_cell(r['psi'])}</td><td>{r['test']}</td>"
        f"<td>{_cell(r['p_value'])}</td><td>{missing['baseline']:.1%}</td>"
        f"<td>{missing['current']:.1%}</td><td>{r['out_of_range']}</td>"
        f"<td>{_cell(unknown)}</td><td>{e('; '.join(r['reasons']) or 'ok')}</td></tr>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape(str(value))


def _prediction_html(prediction: Mapping[str, Any]) -> str:
    """Mean, PSI and test of the predicted probabilities, with their histogram."""
    e = html.escape
    text = (
        "<h2>Predictions</h2>"
        f"<p>Mean probability of disease {prediction['mean']['baseline']:.3f} "
        f"(baseline) vs {prediction['mean']['current']:.3f}; PSI "
        f"{prediction['psi']:.3f}, ks p-value {prediction['p_value']:.2g}: "
        f"{e('; '.join(prediction['reasons']) or 'ok')}</p>"
    )
    image = _bars(
        _bin_labels(prediction["edges"]),
        prediction["baseline_counts"],
        prediction["current_counts"],
        "probability of disease",
    )
    return "\n".join([text, _img("predictions", image)])


def _feature_plots(summary: Mapping[str, Any], baseline: Mapping[str, Any]) -> str:
    """A baseline-versus-current bar chart per feature."""
    out = ["<h2>Baseline vs current</h2><div>"]
    for name, result in summary["features"].items():
        image = _feature_plot(name, baseline["features"][name], result)
        out.append(_img(html.escape(name), image))
    out.append("</div>")
    return "\n".join(out)


def _feature_plot(name: str, spec: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    if result["kind"] == "numeric":
        labels = _bin_labels(spec["edges"])
        return _bars(labels, spec["counts"], result["current_counts"], name)
    return _bars(
        result["categories"], result["baseline_counts"], result["current_counts"], name
    )


def _bin_labels(edges: list[float]) -> list[str]:
    def show(value: float) -> str:
        return "" if not np.isfinite(value) else f"{value:g}"

    return [
        f"<={show(high)}"
        if not np.isfinite(low)
        else f">{show(low)}"
        if not np.isfinite(high)
        else f"{show(low)}-{show(high)}"
        for low, high in zip(edges[:-1], edges[1:], strict=True)
    ]


# ---------------------------------------------------------- model quality ---


def _quality_html(quality: Mapping[str, Any]) -> str:
    """Matched rows, verdict, metrics, confusion matrix and quality plots."""
    e = html.escape
    reasons = "; ".join(quality["reasons"]) or quality.get("note", "no degradation")
    out = [
        "<h2>Model quality</h2>",
        f"<p>{quality['matched_rows']} captured rows have ground truth "
        f"({quality['ground_truth_rows']} ground-truth rows given). "
        f"Registered: {e(json.dumps(quality['registered']))}. {e(reasons)}</p>",
    ]
    if "overall" not in quality:
        return "\n".join(out)
    out.append(_metrics_rows(quality["overall"]))
    out.append("</table><h3>Confusion matrix (rows: actual)</h3><table>")
    out.append(_confusion_rows(quality["confusion_matrix"]))
    out.append("</table><div>")
    out += [_img("quality", image) for image in _quality_plots(quality)]
    out.append("</div>")
    return "\n".join(out)


def _metrics_rows(overall: Mapping[str, Any]) -> str:
    """An open table: a header, then each metric with its 95% interval."""
    e = html.escape
    out = ["<table><tr><th>metric</th><th>value</th><th>95% interval</th></tr>"]
    for name, item in overall.items():
        low, high = item["ci95"]
        out.append(
            f"<tr><td>{e(name)}</td><td>{item['value']:.3f}</td>"
            f"<td>{low:.3f}-{high:.3f}</td></tr>"
        )
    return "\n".join(out)


def _confusion_rows(matrix: Mapping[str, Mapping[str, Any]]) -> str:
    """Rows of the confusion matrix (actual by row), for an open table."""
    out = ["<tr><th></th>" + "".join(f"<th>{p}</th>" for p in matrix) + "</tr>"]
    for actual, row in matrix.items():
        cells = "".join(f"<td>{v}</td>" for v in row.values())
        out.append(f"<tr><th>{actual}</th>{cells}</tr>")
    return "\n".join(out)


# ------------------------------------------------------------------ plots ---


def _img(alt: str, image: str) -> str:
    """An ``<img>`` of a base64 PNG; ``alt`` must already be escaped."""
    return f"<img alt='{alt}' src='data:image/png;base64,{image}'>"


def _pyplot() -> Any:
    """The pyplot module on the Agg backend, which needs no display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _bars(
    labels: list[str], base: list[float], current: list[float], title: str
) -> str:
    plt = _pyplot()
    base_share = np.asarray(base, float) / max(sum(base), 1)
    current_share = np.asarray(current, float) / max(sum(current), 1)
    x = np.arange(len(labels))
    figure, axis = plt.subplots(figsize=(4.2, 2.6))
    axis.bar(x - 0.2, base_share, 0.4, label="baseline", color="#8da0cb")
    axis.bar(x + 0.2, current_share, 0.4, label="current", color="#fc8d62")
    axis.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    axis.set(title=title, ylabel="share")
    axis.legend(fontsize=7)
    return _png(figure)


def _quality_plots(quality: Mapping[str, Any]) -> list[str]:
    return [_auc_plot(quality), _calibration_plot(quality["calibration"])]


def _auc_plot(quality: Mapping[str, Any]) -> str:
    """ROC AUC per period, with the registered ROC AUC as a dotted line."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.2, 2.8))
    points = [p for p in quality["over_time"] if p["auc"] is not None]
    axis.plot(range(len(points)), [p["auc"] for p in points], marker="o")
    axis.set_xticks(range(len(points)), [p["period"] for p in points])
    registered = quality["registered"].get("auc")
    if registered is not None:
        axis.axhline(registered, linestyle=":", color="grey", label="registered")
        axis.legend(fontsize=7)
    axis.set(title="ROC AUC over time", ylabel="ROC AUC")
    axis.tick_params(axis="x", rotation=45, labelsize=7)
    return _png(figure)


def _calibration_plot(table: list[Mapping[str, Any]]) -> str:
    """Observed against predicted rate of disease, with the diagonal."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(3.2, 2.8))
    axis.plot([t["predicted"] for t in table], [t["observed"] for t in table], "o-")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axis.set(title="Calibration", xlabel="predicted", ylabel="observed")
    return _png(figure)
