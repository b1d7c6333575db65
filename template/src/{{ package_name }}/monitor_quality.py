"""Model quality of captured predictions, once their ground truth has arrived.

Labels come later than predictions, in a CSV keyed by the capture's
``eventId`` (or ``inference_id``). :func:`model_quality` joins them to the
captured answers and reports ROC AUC with its 95% interval, calibration, the
confusion matrix and ROC AUC over time, against the registered version's
hold-out metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import evaluation
from .captures import Captures
from .errors import DataError

logger = logging.getLogger(__name__)


def read_ground_truth(path: str | Path, target: str) -> pd.DataFrame:
    """Labels that arrived later: ``eventId`` (or ``inference_id``), ``label``.

    An optional ``row`` column picks the record inside a multi-record request
    (0 by default). ``label`` is the class (0/1 for binary, 0-4 for severity);
    a ``num`` column instead is turned into the target's label.

    Raises:
        DataError: the file is unreadable, lacks a key or label column, or a
            label is not a class 0-4 (the message names the line).
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"cannot read ground truth {path}: {error}") from error
    key = next((c for c in ("eventId", "inference_id") if c in frame), None)
    given = next((c for c in ("label", "num") if c in frame), None)
    if key is None or given is None:
        raise DataError(
            f"ground truth {path} has columns {', '.join(frame.columns)}; expected "
            "eventId (or inference_id), label (or num) and optionally row"
        )
    labels = _labels(frame, given, path, target)
    rows = pd.to_numeric(frame["row"], errors="coerce") if "row" in frame else 0
    if "row" in frame and (rows.isna() | (rows % 1 != 0) | (rows < 0)).any():
        bad = frame["row"][rows.isna() | (rows % 1 != 0) | (rows < 0)]
        raise DataError(
            f"ground truth {path} line {int(bad.index[0]) + 2}: row '{bad.iloc[0]}' "
            "is not a record position (0, 1, ...)"
        )
    return pd.DataFrame(
        {"key": frame[key].str.strip(), "row": rows, "label": labels}
    ).astype({"row": int})


def _labels(
    frame: pd.DataFrame, given: str, path: str | Path, target: str
) -> pd.Series:
    """The ``given`` column as classes of ``target``; ``num`` becomes 0/1 for binary."""
    labels = pd.to_numeric(frame[given], errors="coerce")
    bad = labels.isna() | (labels % 1 != 0) | ~labels.between(0, 4)
    if bad.any():
        line = int(bad[bad].index[0]) + 2
        raise DataError(
            f"ground truth {path} line {line}: {given} "
            f"'{frame.loc[bad[bad].index[0], given]}' is not a class 0-4"
        )
    labels = labels.astype(int)
    if given == "num" and target == "binary":
        labels = (labels > 0).astype(int)
    return labels


def model_quality(
    captures: Captures,
    ground_truth: pd.DataFrame,
    target: str,
    registered: Mapping[str, Any] | None = None,
    period: str = "D",
) -> dict[str, Any]:
    """Model quality of the captured predictions that have ground truth.

    Args:
        captures: the window's captured requests and answers.
        ground_truth: from :func:`read_ground_truth`.
        target: ``binary`` or ``severity``.
        registered: the registered version's hold-out metrics (``auc``, ...).
        period: pandas frequency of the over-time table (``D`` days, ``W`` weeks).

    Returns:
        Overall metrics with 95% bootstrap intervals, calibration, confusion
        matrix, per-period ROC AUC, and ``degraded`` when the registered ROC
        AUC lies above the current interval.
    """
    joined = _join(captures.meta, ground_truth)
    logger.debug(
        "model quality: %d of %d ground-truth rows matched",
        len(joined),
        len(ground_truth),
    )
    result: dict[str, Any] = {
        "ground_truth_rows": int(len(ground_truth)),
        "matched_rows": int(len(joined)),
        "registered": dict(registered or {}),
        "degraded": False,
        "reasons": [],
    }
    y = joined["label"].to_numpy(dtype=int)
    proba = captures.probabilities[joined["position"].to_numpy(dtype=int)]
    if len(np.unique(y)) < 2:
        result["note"] = "fewer than two classes have ground truth; no ROC AUC yet"
        return result
    result.update(_overall(y, proba, target))
    result["over_time"] = _over_time(joined, captures.probabilities, period)
    result["reasons"] = _degradation(result["overall"]["auc"], registered)
    result["degraded"] = bool(result["reasons"])
    return result


def _join(meta: pd.DataFrame, ground_truth: pd.DataFrame) -> pd.DataFrame:
    """Captured rows with their label, matched by event id or inference id.

    ``position`` is the row's index in the captures.
    """
    meta = meta.reset_index(names="position")
    by_event = meta.merge(
        ground_truth, left_on=["event_id", "row"], right_on=["key", "row"]
    )
    by_inference = meta.dropna(subset=["inference_id"]).merge(
        ground_truth, left_on=["inference_id", "row"], right_on=["key", "row"]
    )
    return pd.concat([by_event, by_inference]).drop_duplicates("position")


def _overall(y: np.ndarray, proba: np.ndarray, target: str) -> dict[str, Any]:
    """Metrics with 95% intervals, the confusion matrix and calibration."""
    report = evaluation.compute(y, proba, target)
    body = report[evaluation.metric_kind(target)]
    return {
        "overall": {
            name: {"value": item["value"], "ci95": item["confidence_interval_95"]}
            for name, item in body.items()
            if isinstance(item, dict) and "value" in item
        },
        "confusion_matrix": body["confusion_matrix"],
        "calibration": _calibration(y, 1.0 - proba[:, 0]),
    }


def _calibration(y: np.ndarray, disease: np.ndarray, bins: int = 5) -> list[dict]:
    edges = np.unique(np.quantile(disease, np.linspace(0, 1, bins + 1)))
    index = np.clip(np.searchsorted(edges[1:-1], disease, side="right"), 0, None)
    table = []
    for b in range(len(edges) - 1):
        inside = index == b
        if inside.any():
            table.append(
                {
                    "predicted": float(disease[inside].mean()),
                    "observed": float((y[inside] > 0).mean()),
                    "rows": int(inside.sum()),
                }
            )
    return table


def _over_time(
    joined: pd.DataFrame, probabilities: np.ndarray, period: str
) -> list[dict[str, Any]]:
    """Rows, ROC AUC (when every class is present) and accuracy per period."""
    periods = pd.to_datetime(joined["time"], utc=True).dt.tz_localize(None)
    table = []
    for start, rows in joined.groupby(periods.dt.to_period(period).to_numpy()):
        y = rows["label"].to_numpy(dtype=int)
        proba = probabilities[rows["position"].to_numpy(dtype=int)]
        classes = len(np.unique(y))
        both = classes == proba.shape[1] or (proba.shape[1] == 2 and classes == 2)
        table.append(
            {
                "period": str(start),
                "rows": int(len(rows)),
                "auc": evaluation.auc(y, proba) if both else None,
                "accuracy": float((proba.argmax(axis=1) == y).mean()),
            }
        )
    return table


def _degradation(
    auc: Mapping[str, Any], registered: Mapping[str, Any] | None
) -> list[str]:
    """Why the model got worse: the registered ROC AUC is above the interval."""
    registered_auc = (registered or {}).get("auc")
    upper = auc["ci95"][1]
    if registered_auc is None or not upper < registered_auc:
        return []
    return [
        f"ROC AUC {auc['value']:.3f} (95% interval up to "
        f"{upper:.3f}) is below the registered {registered_auc:.3f}"
    ]
