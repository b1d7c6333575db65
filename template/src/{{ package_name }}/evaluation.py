"""Model-quality metrics, plots and the evaluation report.

Metrics follow the JSON shape of SageMaker Model Monitor's model-quality
report (``binary_classification_metrics`` / ``multiclass_classification_metrics``
with ``value`` and ``standard_deviation``), so the same file feeds the local
quality gate, the SageMaker pipeline's condition step and the Model Registry.
Standard deviations come from a seeded bootstrap of the hold-out rows.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import metrics

BOOTSTRAP_ROUNDS = 200


def metric_kind(target: str) -> str:
    """The top-level key of the metrics JSON for ``target``."""
    return (
        "binary_classification_metrics"
        if target == "binary"
        else "multiclass_classification_metrics"
    )


def auc(y: np.ndarray, proba: np.ndarray) -> float:
    """ROC AUC; macro one-vs-rest when there are more than two classes."""
    if proba.shape[1] == 2:
        return float(metrics.roc_auc_score(y, proba[:, 1]))
    return float(
        metrics.roc_auc_score(
            y, proba, multi_class="ovr", average="macro", labels=range(proba.shape[1])
        )
    )


def _scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    predicted = proba.argmax(axis=1)
    binary = proba.shape[1] == 2
    average = "binary" if binary else "weighted"
    scores = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "auc": auc(y, proba),
        "precision": metrics.precision_score(
            y, predicted, average=average, zero_division=0
        ),
        "recall": metrics.recall_score(y, predicted, average=average, zero_division=0),
        "f1": metrics.f1_score(y, predicted, average=average, zero_division=0),
    }
    if binary:
        scores["brier_score"] = metrics.brier_score_loss(y, proba[:, 1])
    return {k: float(v) for k, v in scores.items()}


def _bootstrap(
    y: np.ndarray, proba: np.ndarray, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """Standard deviation and 95% percentile interval of each score."""
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    classes = np.arange(proba.shape[1])
    for _ in range(BOOTSTRAP_ROUNDS):
        rows = rng.integers(0, len(y), len(y))
        if not np.isin(classes, y[rows]).all():
            continue  # AUC needs every class in the resample
        for key, value in _scores(y[rows], proba[rows]).items():
            samples.setdefault(key, []).append(value)
    return {
        key: (
            float(np.std(values)),
            float(np.percentile(values, 2.5)),
            float(np.percentile(values, 97.5)),
        )
        for key, values in samples.items()
    }


def compute(y: np.ndarray, proba: np.ndarray, target: str) -> dict[str, Any]:
    """Hold-out metrics in the SageMaker model-quality shape."""
    y = np.asarray(y)
    scores = _scores(y, proba)
    spread = _bootstrap(y, proba)
    labels = list(range(proba.shape[1]))
    matrix = metrics.confusion_matrix(y, proba.argmax(axis=1), labels=labels)
    names = {
        "precision": "precision" if target == "binary" else "weighted_precision",
        "recall": "recall" if target == "binary" else "weighted_recall",
        "f1": "f1" if target == "binary" else "weighted_f1",
    }
    body: dict[str, Any] = {}
    for key, value in scores.items():
        # No usable resample (a class missing from every one): unknown spread.
        std, low, high = spread.get(key, (float("nan"), float("nan"), float("nan")))
        body[names.get(key, key)] = {
            "value": value,
            "standard_deviation": std,
            "confidence_interval_95": [low, high],
        }
    body["confusion_matrix"] = {
        str(actual): {str(p): int(matrix[actual, p]) for p in labels}
        for actual in labels
    }
    if target == "binary":
        fpr, tpr, _ = metrics.roc_curve(y, proba[:, 1])
        precision, recall, _ = metrics.precision_recall_curve(y, proba[:, 1])
        body["receiver_operating_characteristic_curve"] = {
            "false_positive_rates": [round(float(v), 6) for v in fpr],
            "true_positive_rates": [round(float(v), 6) for v in tpr],
        }
        body["precision_recall_curve"] = {
            "precisions": [round(float(v), 6) for v in precision],
            "recalls": [round(float(v), 6) for v in recall],
        }
    return {metric_kind(target): body, "rows": int(len(y))}


def headline(report: dict[str, Any], target: str) -> dict[str, float]:
    """The numbers people quote: ROC AUC, accuracy, F1."""
    body = report[metric_kind(target)]
    f1 = body.get("f1", body.get("weighted_f1"))
    return {
        "auc": body["auc"]["value"],
        "accuracy": body["accuracy"]["value"],
        "f1": f1["value"],
    }


def plot(y: np.ndarray, proba: np.ndarray, output_dir: Path) -> list[Path]:
    """ROC, precision-recall, calibration and confusion-matrix PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    output_dir.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y)
    classes = range(proba.shape[1]) if proba.shape[1] > 2 else [1]
    disease = 1.0 - proba[:, 0]
    paths = []

    figure, axis = plt.subplots(figsize=(4.5, 4))
    for c in classes:
        fpr, tpr, _ = metrics.roc_curve(y == c, proba[:, c])
        axis.plot(fpr, tpr, label=f"class {c}")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    axis.legend(loc="lower right", fontsize="small")
    paths.append(_save(figure, output_dir / "roc.png"))

    figure, axis = plt.subplots(figsize=(4.5, 4))
    for c in classes:
        precision, recall, _ = metrics.precision_recall_curve(y == c, proba[:, c])
        axis.plot(recall, precision, label=f"class {c}")
    axis.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    axis.legend(loc="lower left", fontsize="small")
    paths.append(_save(figure, output_dir / "precision_recall.png"))

    figure, axis = plt.subplots(figsize=(4.5, 4))
    observed, predicted = calibration_curve(
        y > 0, disease, n_bins=8, strategy="quantile"
    )
    axis.plot(predicted, observed, marker="o")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axis.set(
        xlabel="predicted probability of disease",
        ylabel="observed rate",
        title="Calibration",
    )
    paths.append(_save(figure, output_dir / "calibration.png"))

    figure, axis = plt.subplots(figsize=(4.5, 4))
    metrics.ConfusionMatrixDisplay.from_predictions(
        y,
        proba.argmax(axis=1),
        labels=list(range(proba.shape[1])),
        ax=axis,
        colorbar=False,
    )
    axis.set_title("Confusion matrix")
    paths.append(_save(figure, output_dir / "confusion_matrix.png"))
    return paths


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path


def write_report(
    report: dict[str, Any],
    target: str,
    gate: float | None,
    plots: list[Path],
    output_dir: Path,
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` next to the plots."""
    numbers = headline(report, target)
    body = report[metric_kind(target)]
    verdict = ""
    if gate is not None:
        passed = numbers["auc"] >= gate
        verdict = f"Quality gate: ROC AUC >= {gate:.3f}: **{'passed' if passed else 'FAILED'}**"
    rows = [
        f"| {name} | {item['value']:.3f} | {item['standard_deviation']:.3f} |"
        for name, item in body.items()
        if isinstance(item, dict) and "value" in item
    ]
    matrix = body["confusion_matrix"]
    labels = list(matrix)
    confusion = [
        "| actual \\ predicted | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    confusion += [
        f"| {a} | " + " | ".join(str(matrix[a][p]) for p in labels) + " |"
        for a in labels
    ]
    lines = [
        f"# Evaluation report ({target})",
        "",
        f"Hold-out rows: {report['rows']}. ROC AUC {numbers['auc']:.3f}, "
        f"accuracy {numbers['accuracy']:.3f}, F1 {numbers['f1']:.3f}.",
        "",
        verdict,
        "",
        "| metric | value | bootstrap std |",
        "|---|---|---|",
        *rows,
        "",
        "## Confusion matrix",
        "",
        *confusion,
        "",
        "## Plots",
        "",
        *(f"![{p.stem}]({p.name})" for p in plots),
        "",
        "Intended use, training data and limitations: the [model card]"
        "(../model_card.md) of the registered version.",
        "",
    ]
    markdown = "\n".join(lines)
    md_path = output_dir / "report.md"
    md_path.write_text(markdown, encoding="utf-8")
    html_path = output_dir / "report.html"
    html_path.write_text(_to_html(markdown), encoding="utf-8")
    return md_path, html_path


def _to_html(markdown: str) -> str:
    """A small, dependency-free rendering of the report's Markdown subset."""
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>Evaluation report</title><style>body{font-family:sans-serif;"
        "max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .6em}</style></head><body>",
    ]
    table: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            if not set(line) <= set("|- "):
                cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
                table.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if table:
            out.append("<table>" + "".join(table) + "</table>")
            table = []
        if line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](")
            out.append(f"<img alt='{html.escape(alt)}' src='{html.escape(src[:-1])}'>")
        elif line:
            text = html.escape(line)
            while text.count("**") >= 2:
                text = text.replace("**", "<b>", 1).replace("**", "</b>", 1)
            out.append(f"<p>{text}</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
