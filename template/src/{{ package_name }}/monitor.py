"""Drift monitoring: the training baseline, captured traffic, and their comparison.

:func:`write_baseline` runs at training time and saves, next to the model,
what "normal" looks like: per numeric feature its quantile bin edges and
counts, its value distribution, summary statistics and missing-value count;
per categorical feature its category counts; and the distribution of predicted
probabilities of disease. The baseline holds per-feature counts only, never a
training row.

:func:`read_captures` (in :mod:`.captures`) reads data-capture JSON Lines for
a time window, from the local endpoint's folder or a SageMaker data-capture
prefix on S3 (same shape, ``.../YYYY/MM/DD/HH/*.jsonl``). :func:`compare`
scores each feature against the baseline:

* PSI (population stability index) over the baseline's bins, with a small
  epsilon for empty bins; it measures how much the distribution moved.
* A test of "same distribution" with its p-value: two-sample Kolmogorov-Smirnov
  for numbers, chi-square on the category counts for categories. It says
  whether the movement is more than sampling noise.
* The missing-value rate and a one-sided Fisher exact test of its increase.
* Values outside the physiological range and categories the model never saw.

A feature drifts when PSI and the test agree (a large *and* significant move),
when its missing rate rose by more than the threshold and significantly, or
when too many of its values are invalid. Requiring both PSI and the p-value
keeps false alarms rare on small windows (PSI alone is noisy) and on large ones
(a p-value alone flags trivial moves). The same rule applies to the predicted
probabilities (prediction drift). A window runs about 27 tests, so the p-value
threshold is split between them (Bonferroni): it bounds the chance that
unchanged traffic raises any alarm, not each test's.

:func:`model_quality` (in :mod:`.monitor_quality`) joins ground truth that
arrives later (a CSV keyed by the capture's ``eventId``) to the captured
predictions: ROC AUC over time, calibration and the confusion matrix, against
the registered hold-out metrics. :func:`run` does all of it for one window and
writes ``summary.json`` and ``report.html`` (:mod:`.monitor_report`).

Statistics come from scipy, already a dependency. Evidently would add 33
packages (among them a web framework, plotly, statsmodels and a telemetry
client) to the image that also serves the model, for the same few tests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .captures import Captures, canonical, parse_time, read_captures
from .data import CATEGORIES, NUMERIC, RANGES
from .errors import ConfigError, DataError, DriftDetected
from .inference import Columns
from .monitor_quality import model_quality, read_ground_truth
from .monitor_report import REPORT_FILE, SUMMARY_FILE, render_html, write_report

__all__ = [
    "BASELINE_FILE",
    "BINS",
    "EPSILON",
    "REPORT_FILE",
    "SKETCH_SIZE",
    "SUMMARY_FILE",
    "UNKNOWN",
    "Captures",
    "DriftDetected",
    "Thresholds",
    "canonical",
    "compare",
    "expand",
    "feature_baseline",
    "histogram",
    "load_baseline",
    "model_quality",
    "numeric_edges",
    "out_of_fold_disease",
    "parse_time",
    "prediction_baseline",
    "psi",
    "read_captures",
    "read_ground_truth",
    "render_html",
    "run",
    "sketch",
    "write_baseline",
    "write_report",
]

logger = logging.getLogger(__name__)

BASELINE_FILE = "baseline.json"
BINS = 10
SKETCH_SIZE = 1000  # distinct values kept per feature for the KS test
EPSILON = 1e-4  # share given to an empty bin, so PSI stays finite
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class Thresholds:
    """When a feature, the predictions or the model quality count as drifted.

    Attributes:
        psi_threshold: PSI at or above which a distribution moved a lot.
        p_value_threshold: the chance, for one window of unchanged traffic,
            that any test raises an alarm; each of the window's tests uses
            this divided by the number of tests (Bonferroni).
        missing_rate_increase: rise of a missing-value rate (0-1) that matters.
        invalid_rate: share of rows out of range or with an unknown category
            that is tolerated.
        min_rows: fewest rows a window needs before drift is judged; below
            it every statistic is noise and the comparison is refused.
    """

    psi_threshold: float = 0.2
    p_value_threshold: float = 0.01
    missing_rate_increase: float = 0.1
    invalid_rate: float = 0.01
    min_rows: float = 30

    def __post_init__(self) -> None:
        """Reject values that make every or no comparison an alarm."""
        for name, low, high in (
            ("psi_threshold", 0.0, 10.0),
            ("p_value_threshold", 0.0, 0.5),
            ("missing_rate_increase", 0.0, 1.0),
            ("invalid_rate", 0.0, 1.0),
            ("min_rows", 0.0, 1e9),
        ):
            value = getattr(self, name)
            if not low < value <= high and not (name == "invalid_rate" and value == 0):
                raise ConfigError(
                    f"monitoring {name} {value} is outside ({low}, {high}]"
                )

    @classmethod
    def from_config(cls, monitoring: Mapping[str, Any]) -> Thresholds:
        """Thresholds from the ``monitoring:`` block of ``config/model.yaml``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(monitoring) - known)
        if unknown:
            raise ConfigError(
                f"unknown monitoring setting(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(known))}"
            )
        try:
            return cls(**{k: float(v) for k, v in monitoring.items()})
        except (TypeError, ValueError) as error:
            raise ConfigError(f"monitoring settings: {error}") from error

    def override(self, **values: float | None) -> Thresholds:
        """A copy with the given values (``None`` keeps the current one)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def run(
    baseline_path: Path,
    source: str | Path,
    output_dir: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    thresholds: Thresholds | None = None,
    ground_truth: str | Path | None = None,
    registered: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read the window's captures, compare, add model quality, write the report."""
    baseline = load_baseline(baseline_path)
    captures = read_captures(source, since, until)
    summary = compare(baseline, captures.columns, captures.disease, thresholds)
    summary.update(
        source=str(source),
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        requests=captures.requests,
        files=captures.files,
    )
    if ground_truth is not None:
        _add_quality(summary, captures, baseline["target"], ground_truth, registered)
    _, html_path = write_report(summary, baseline, output_dir)
    logger.info(
        "monitor: %d rows, drift in %s -> %s",
        summary["rows"],
        ", ".join(summary["drifted"]) or "nothing",
        html_path,
    )
    return summary


def _add_quality(
    summary: dict[str, Any],
    captures: Captures,
    target: str,
    ground_truth: str | Path,
    registered: Mapping[str, Any] | None,
) -> None:
    """Add the model quality to the summary; degraded quality counts as drift."""
    truth = read_ground_truth(ground_truth, target)
    quality = model_quality(captures, truth, target, registered)
    summary["quality"] = quality
    if quality["degraded"]:
        summary["drift"] = True


# ---------------------------------------------------------------- baseline ---


def write_baseline(
    train: pd.DataFrame, pipeline: Any, columns: list[str], target: str, model_dir: Path
) -> Path:
    """Save the statistics of the training rows next to the model."""
    baseline = {
        "format": 2,
        "target": target,
        "rows": len(train),
        "features": feature_baseline(train, columns),
        "prediction": prediction_baseline(
            out_of_fold_disease(train, pipeline, columns, target)
        ),
    }
    path = model_dir / BASELINE_FILE
    path.write_text(json.dumps(baseline, indent=2, allow_nan=True) + "\n")
    logger.debug("baseline: %d rows -> %s", len(train), path)
    return path


def load_baseline(path: Path) -> dict[str, Any]:
    """Read ``baseline.json`` (or the one inside a model folder).

    Raises:
        DataError: there is none, or an older version wrote it.
    """
    if path.is_dir():
        path = path / BASELINE_FILE
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DataError(
            f"no drift baseline at {path}; train the model again to write one"
        ) from error
    if baseline.get("format", 1) < 2:
        raise DataError(
            f"{path} was written by an older version without value distributions; "
            "train the model again to refresh it"
        )
    return baseline


def feature_baseline(frame: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Statistics of each feature column of validated rows."""
    return {column: _feature_statistics(column, frame[column]) for column in columns}


def _feature_statistics(column: str, values: pd.Series) -> dict[str, Any]:
    """Row and missing-value counts, then the numeric or categorical statistics."""
    common = {
        "rows": int(len(values)),
        "missing": int(values.isna().sum()),
        "missing_rate": float(values.isna().mean()),
    }
    if column in NUMERIC:
        numbers = values.to_numpy(dtype=float)
        return {"kind": "numeric", **common, **_numeric_statistics(column, numbers)}
    return {"kind": "categorical", **common, **_category_statistics(column, values)}


def _numeric_statistics(column: str, numbers: np.ndarray) -> dict[str, Any]:
    edges = numeric_edges(numbers)
    return {
        "mean": float(np.nanmean(numbers)),
        "std": float(np.nanstd(numbers)),
        "min": float(np.nanmin(numbers)),
        "max": float(np.nanmax(numbers)),
        "range": list(RANGES.get(column, (-np.inf, np.inf))),
        "edges": edges,
        "counts": histogram(numbers, edges),
        "distribution": sketch(numbers),
    }


def _category_statistics(column: str, values: pd.Series) -> dict[str, Any]:
    counts = values.dropna().astype(str).value_counts()
    return {
        "categories": list(CATEGORIES.get(column, counts.index)),
        "frequencies": {str(k): int(v) for k, v in counts.items()},
    }


def prediction_baseline(disease: np.ndarray) -> dict[str, Any]:
    """Histogram and distribution of predicted probabilities of disease."""
    edges = np.linspace(0, 1, BINS + 1).tolist()
    return {
        "rows": int(len(disease)),
        "edges": edges,
        "counts": histogram(disease, edges),
        "mean": float(disease.mean()),
        "distribution": sketch(np.round(disease, 3)),
    }


def out_of_fold_disease(
    train: pd.DataFrame, pipeline: Any, columns: list[str], target: str
) -> np.ndarray:
    """Probability of disease for each training row from a model that did not see it.

    A model scores its own training rows more confidently than new ones, so
    in-sample probabilities would make every live window look drifted.
    Five-fold out-of-fold predictions of clones of ``pipeline`` stand in for
    what the endpoint will see.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from .features import label

    y = label(train, target)
    try:
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        proba = cross_val_predict(
            clone(pipeline), train[columns], y, cv=folds, method="predict_proba"
        )
    except ValueError as error:  # a class too rare for five folds
        logger.warning("baseline: in-sample predictions (%s)", error)
        proba = pipeline.predict_proba(train[columns])
    return 1.0 - proba[:, 0]


def numeric_edges(values: np.ndarray, bins: int = BINS) -> list[float]:
    """Quantile bin edges of the observed values, widened to cover any value."""
    observed = values[~np.isnan(values)]
    inner = np.unique(np.quantile(observed, np.linspace(0, 1, bins + 1)[1:-1]))
    return [-np.inf, *inner.tolist(), np.inf]


def histogram(values: np.ndarray, edges: list[float]) -> list[int]:
    """Counts of the non-missing values in each bin (right-closed bins)."""
    observed = values[~np.isnan(values)]
    index = np.searchsorted(np.asarray(edges[1:-1]), observed, side="left")
    return np.bincount(index, minlength=len(edges) - 1).astype(int).tolist()


def sketch(values: np.ndarray) -> dict[str, list[float]]:
    """Distinct values and their counts; quantiles when there are too many."""
    observed = values[~np.isnan(values)]
    distinct, counts = np.unique(observed, return_counts=True)
    if len(distinct) > SKETCH_SIZE:
        distinct = np.quantile(observed, np.linspace(0, 1, SKETCH_SIZE))
        counts = np.ones(SKETCH_SIZE, dtype=int)
    return {"values": distinct.tolist(), "counts": counts.astype(int).tolist()}


def expand(summary: Mapping[str, list[float]]) -> np.ndarray:
    """The sample a :func:`sketch` describes (sorted)."""
    return np.repeat(np.asarray(summary["values"]), np.asarray(summary["counts"]))


# ----------------------------------------------------------------- compare ---


def compare(
    baseline: Mapping[str, Any],
    current: Columns | pd.DataFrame,
    disease: np.ndarray | None = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """Score every feature (and the predictions, if given) against the baseline.

    Args:
        baseline: what :func:`write_baseline` saved.
        current: request values by column, or a frame in the data's layout.
        disease: predicted probability of disease of each current row.
        thresholds: when a score counts as drift.

    Returns:
        A JSON-ready summary: per feature its scores and ``reasons`` (empty
        when it did not drift), ``prediction``, ``drifted`` and ``drift``.

    Raises:
        DataError: there are no rows, or a numeric column holds text.
    """
    thresholds = thresholds or Thresholds()
    frame = canonical(current, baseline["features"])
    rows = len(frame)
    if rows == 0:
        raise DataError("there are no rows to compare with the baseline")
    if rows < thresholds.min_rows:
        raise DataError(
            f"only {rows} rows in the window; judging drift needs at least "
            f"{thresholds.min_rows:g} (monitoring.min_rows in config/model.yaml)"
        )
    tests = 2 * len(baseline["features"]) + (disease is not None)
    level = thresholds.p_value_threshold / tests
    features = {
        name: _score_feature(spec, frame[name], rows, thresholds, level)
        for name, spec in baseline["features"].items()
    }
    summary: dict[str, Any] = {
        "rows": rows,
        "thresholds": asdict(thresholds),
        "p_value_level": level,
        "features": features,
        "prediction": None,
    }
    if disease is not None:
        summary["prediction"] = _prediction(
            baseline["prediction"], np.asarray(disease, dtype=float), thresholds, level
        )
    summary["drifted"] = _drifted(features, summary["prediction"])
    summary["drift"] = bool(summary["drifted"])
    return summary


def _drifted(
    features: Mapping[str, Any], prediction: Mapping[str, Any] | None
) -> list[str]:
    """Names of the drifted features, then ``prediction`` if the predictions did."""
    drifted = [name for name, result in features.items() if result["drift"]]
    if prediction and prediction["drift"]:
        drifted.append("prediction")
    return drifted


def psi(expected: list[int] | np.ndarray, actual: list[int] | np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e = np.clip(e / e.sum(), EPSILON, None)
    a = np.clip(a / a.sum(), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _score_feature(
    spec: Mapping[str, Any],
    values: pd.Series,
    rows: int,
    thresholds: Thresholds,
    level: float,
) -> dict[str, Any]:
    """One feature's scores, missing-rate change, ``reasons`` and ``drift``."""
    if spec["kind"] == "numeric":
        result = _numeric(spec, values.to_numpy(dtype=float))
    else:
        result = _categorical(spec, values)
    result["missing_rate"] = _missing_change(spec, int(values.isna().sum()), rows)
    result["reasons"] = _verdict(result, rows, thresholds, level)
    result["drift"] = bool(result["reasons"])
    return result


def _numeric(spec: Mapping[str, Any], values: np.ndarray) -> dict[str, Any]:
    observed = values[~np.isnan(values)]
    low, high = spec["range"]
    current = histogram(observed, spec["edges"])
    return {
        "kind": "numeric",
        "test": "ks",
        "out_of_range": int(((observed < low) | (observed > high)).sum()),
        "unknown": {},
        "current_counts": current,
        **_numeric_scores(spec, observed, current),
    }


def _numeric_scores(
    spec: Mapping[str, Any], observed: np.ndarray, current: list[int]
) -> dict[str, Any]:
    """PSI, two-sample KS test and mean; ``None`` when every value is missing."""
    if not observed.size:
        return {
            "psi": None,
            "statistic": None,
            "p_value": None,
            "mean": {"baseline": spec["mean"], "current": None},
        }
    test = stats.ks_2samp(expand(spec["distribution"]), observed)
    return {
        "psi": psi(spec["counts"], current),
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
        "mean": {"baseline": spec["mean"], "current": float(observed.mean())},
    }


def _categorical(spec: Mapping[str, Any], values: pd.Series) -> dict[str, Any]:
    known = list(spec["categories"])
    counts = values.dropna().value_counts()
    unknown = {str(k): int(v) for k, v in counts.items() if k not in known}
    base = [spec["frequencies"].get(c, 0) for c in known] + [0]
    current = [int(counts.get(c, 0)) for c in known] + [sum(unknown.values())]
    return {
        "kind": "categorical",
        "test": "chi2",
        "out_of_range": 0,
        "unknown": unknown,
        "categories": [*known, UNKNOWN],
        "baseline_counts": base,
        "current_counts": current,
        **_category_scores(base, current),
    }


def _category_scores(base: list[int], current: list[int]) -> dict[str, Any]:
    """PSI and chi-square test over the categories seen in either sample."""
    used = [i for i in range(len(base)) if base[i] + current[i] > 0]
    if sum(current) and len(used) > 1:
        table = np.array([[base[i] for i in used], [current[i] for i in used]])
        test = stats.chi2_contingency(table, correction=False)
        return {
            "psi": psi(base, current),
            "statistic": float(test.statistic),
            "p_value": float(test.pvalue),
        }
    if sum(current):
        return {"psi": psi(base, current), "statistic": 0.0, "p_value": 1.0}
    return {"psi": None, "statistic": None, "p_value": None}


def _missing_change(spec: Mapping[str, Any], missing: int, rows: int) -> dict[str, Any]:
    base_missing, base_rows = spec["missing"], spec["rows"]
    table = [[missing, rows - missing], [base_missing, base_rows - base_missing]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return {
        "baseline": base_missing / base_rows,
        "current": missing / rows if rows else 0.0,
        "p_value": p_value,
    }


def _verdict(
    result: dict[str, Any], rows: int, thresholds: Thresholds, level: float
) -> list[str]:
    """Why the feature drifted; empty when it did not."""
    reasons = [
        _moved(result, thresholds, level),
        _missing_rose(result["missing_rate"], thresholds, level),
        _invalid(result, rows, thresholds),
    ]
    return [reason for reason in reasons if reason]


def _moved(result: Mapping[str, Any], thresholds: Thresholds, level: float) -> str:
    """A reason when PSI is large and the test significant, else ``""``."""
    moved = result["psi"] is not None and result["psi"] >= thresholds.psi_threshold
    significant = result["p_value"] is not None and result["p_value"] < level
    if not (moved and significant):
        return ""
    return (
        f"distribution moved: PSI {result['psi']:.3f}, "
        f"{result['test']} p-value {result['p_value']:.2g}"
    )


def _missing_rose(
    missing: Mapping[str, float], thresholds: Thresholds, level: float
) -> str:
    """A reason when the missing rate rose by more than allowed, significantly."""
    rise = missing["current"] - missing["baseline"]
    if not (rise > thresholds.missing_rate_increase and missing["p_value"] < level):
        return ""
    return (
        f"missing rate rose from {missing['baseline']:.0%} to {missing['current']:.0%}"
    )


def _invalid(result: Mapping[str, Any], rows: int, thresholds: Thresholds) -> str:
    """A reason when too many values are out of range or unknown categories."""
    invalid = result["out_of_range"] + sum(result["unknown"].values())
    if not (rows and invalid / rows > thresholds.invalid_rate):
        return ""
    what = "out of range" if result["out_of_range"] else "unknown categories"
    return f"{invalid} value(s) {what} ({invalid / rows:.1%} of rows)"


def _prediction(
    spec: Mapping[str, Any], disease: np.ndarray, thresholds: Thresholds, level: float
) -> dict[str, Any]:
    """Prediction drift: the same PSI-and-KS rule on the probabilities of disease."""
    current = histogram(disease, spec["edges"])
    test = stats.ks_2samp(expand(spec["distribution"]), disease)
    result = {
        "psi": psi(spec["counts"], current),
        "test": "ks",
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
        "mean": {"baseline": spec["mean"], "current": float(disease.mean())},
        "edges": spec["edges"],
        "baseline_counts": spec["counts"],
        "current_counts": current,
    }
    drift = result["psi"] >= thresholds.psi_threshold and result["p_value"] < level
    result["reasons"] = (
        [
            f"predictions moved: PSI {result['psi']:.3f}, "
            f"ks p-value {result['p_value']:.2g}"
        ]
        if drift
        else []
    )
    result["drift"] = drift
    return result
