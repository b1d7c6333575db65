"""Drift monitoring: the training baseline, captured traffic, and their comparison.

:func:`write_baseline` runs at training time and saves, next to the model,
what "normal" looks like: per numeric feature its quantile bin edges and
counts, its value distribution, summary statistics and missing-value count;
per categorical feature its category counts; and the distribution of predicted
probabilities of disease. The baseline holds per-feature counts only, never a
training row.

:func:`read_captures` reads data-capture JSON Lines for a time window, from
the local endpoint's folder or a SageMaker data-capture prefix on S3 (same
shape, ``.../YYYY/MM/DD/HH/*.jsonl``). :func:`compare` scores each feature
against the baseline:

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

:func:`model_quality` joins ground truth that arrives later (a CSV keyed by
the capture's ``eventId``) to the captured predictions: ROC AUC over time,
calibration and the confusion matrix, against the registered hold-out metrics.

Statistics come from scipy, already a dependency. Evidently would add 33
packages (among them a web framework, plotly, statsmodels and a telemetry
client) to the image that also serves the model, for the same few tests.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import evaluation
from .data import BOOLEANS, CATEGORIES, NUMERIC, RANGES, ZERO_IS_MISSING
from .errors import ConfigError, DataError, InvalidRequestError, ProjectError
from .inference import Columns, _category, _numbers, parse_csv, parse_json

logger = logging.getLogger(__name__)

BASELINE_FILE = "baseline.json"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
BINS = 10
SKETCH_SIZE = 1000  # distinct values kept per feature for the KS test
EPSILON = 1e-4  # share given to an empty bin, so PSI stays finite
UNKNOWN = "(unknown)"
_HOUR_IN_PATH = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")


class DriftDetected(ProjectError):
    """Captured traffic crossed a monitoring threshold."""

    exit_code = 4


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
    """

    psi_threshold: float = 0.2
    p_value_threshold: float = 0.01
    missing_rate_increase: float = 0.1
    invalid_rate: float = 0.01

    def __post_init__(self) -> None:
        """Reject values that make every or no comparison an alarm."""
        for name, low, high in (
            ("psi_threshold", 0.0, 10.0),
            ("p_value_threshold", 0.0, 0.5),
            ("missing_rate_increase", 0.0, 1.0),
            ("invalid_rate", 0.0, 1.0),
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


# ---------------------------------------------------------------- baseline ---


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


def feature_baseline(frame: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Statistics of each feature column of validated rows."""
    features: dict[str, Any] = {}
    for column in columns:
        values = frame[column]
        common = {
            "rows": int(len(values)),
            "missing": int(values.isna().sum()),
            "missing_rate": float(values.isna().mean()),
        }
        if column in NUMERIC:
            numbers = values.to_numpy(dtype=float)
            edges = numeric_edges(numbers)
            features[column] = {
                "kind": "numeric",
                **common,
                "mean": float(np.nanmean(numbers)),
                "std": float(np.nanstd(numbers)),
                "min": float(np.nanmin(numbers)),
                "max": float(np.nanmax(numbers)),
                "range": list(RANGES.get(column, (-np.inf, np.inf))),
                "edges": edges,
                "counts": histogram(numbers, edges),
                "distribution": sketch(numbers),
            }
        else:
            counts = values.dropna().astype(str).value_counts()
            features[column] = {
                "kind": "categorical",
                **common,
                "categories": list(CATEGORIES.get(column, counts.index)),
                "frequencies": {str(k): int(v) for k, v in counts.items()},
            }
    return features


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
    """Read ``baseline.json`` (or the one inside a model folder)."""
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


# ---------------------------------------------------------------- captures ---


@dataclass
class Captures:
    """Captured requests of a time window, one row per predicted record.

    Attributes:
        columns: the request values, column by column, as the endpoint got them.
        meta: ``event_id``, ``inference_id``, ``row`` (index in its request)
            and ``time`` of each row.
        probabilities: the class probabilities the endpoint answered.
        files: how many capture files were read.
        requests: how many captured requests fell in the window.
    """

    columns: Columns
    meta: pd.DataFrame
    probabilities: np.ndarray
    files: int
    requests: int

    @property
    def disease(self) -> np.ndarray:
        """Predicted probability of disease (any class above 0)."""
        return 1.0 - self.probabilities[:, 0]


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """A UTC time from ISO 8601 (``2026-05-01``, ``...T08:00Z``) or an age (``24h``).

    Raises:
        ValueError: naming the accepted forms.
    """
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return now - timedelta(**{unit: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"'{text}' is neither an ISO time (2026-05-01, 2026-05-01T08:00Z) "
            "nor an age such as 30m, 24h or 7d"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _hour_of(path: str) -> datetime | None:
    match = _HOUR_IN_PATH.search(path.replace("\\", "/"))
    if not match:
        return None
    return datetime(*(int(g) for g in match.groups()), tzinfo=UTC)


def _in_window(start: datetime, end: datetime, since: Any, until: Any) -> bool:
    return (since is None or end > since) and (until is None or start < until)


def _local_files(root: Path) -> Iterator[tuple[str, bytes]]:
    if root.is_file():
        yield str(root), root.read_bytes()
        return
    if not root.is_dir():
        raise DataError(
            f"capture folder {root} does not exist; serve the stage with capture on "
            "or point --captures at a folder or s3:// prefix of capture files"
        )
    for path in sorted(root.rglob("*.jsonl")):
        yield str(path), path.read_bytes()


def _s3_files(uri: str, since: Any, until: Any) -> Iterator[tuple[str, bytes]]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise DataError(f"'{uri}' is not an S3 prefix (s3://<bucket>/<prefix>)")
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as error:
        raise DataError(
            f"reading {uri} needs boto3: pip install -e '.[aws]'"
        ) from error
    client = boto3.client("s3")
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        )
        keys = sorted(
            item["Key"]
            for page in pages
            for item in page.get("Contents", [])
            if item["Key"].endswith(".jsonl")
        )
        for key in keys:
            hour = _hour_of(key)
            if hour and not _in_window(hour, hour + timedelta(hours=1), since, until):
                continue
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            yield f"s3://{bucket}/{key}", body
    except (BotoCoreError, ClientError) as error:
        raise DataError(f"cannot read captures under {uri}: {error}") from error


def _decode(part: Any, where: str) -> tuple[bytes, str]:
    if not isinstance(part, dict) or "data" not in part:
        raise DataError(f"{where}: no 'data' in the captured input or output")
    data, kind = str(part["data"]), str(part.get("observedContentType", ""))
    if str(part.get("encoding", "")).upper() == "BASE64":
        try:
            return base64.b64decode(data, validate=True), kind
        except binascii.Error as error:
            raise DataError(f"{where}: data is not valid base64: {error}") from None
    return data.encode("utf-8"), kind


def _parse_input(body: bytes, kind: str) -> Columns:
    return parse_csv(body) if kind.lower().startswith("text/csv") else parse_json(body)


def _parse_output(body: bytes, kind: str, rows: int) -> np.ndarray:
    """Class probabilities from an endpoint answer (JSON or CSV, binary or not)."""
    if kind.lower().startswith("text/csv"):
        lines = [line for line in body.decode("utf-8").splitlines() if line.strip()]
        values = [[float(v) for v in line.split(",")] for line in lines]
        proba = [[1 - v[1], v[1]] if len(v) == 2 else v[2:] for v in values]
    else:
        answer = json.loads(body)["predictions"]
        proba = [
            p["probabilities"]
            if "probabilities" in p
            else [1 - p["probability"], p["probability"]]
            for p in answer
        ]
    if len(proba) != rows:
        raise ValueError(f"{len(proba)} predictions for {rows} records")
    return np.asarray(proba, dtype=float)


def _parse_record(line: bytes, where: str) -> tuple[dict[str, Any], Columns, Any]:
    try:
        record = json.loads(line)
        capture, event = record["captureData"], record["eventMetadata"]
        moment = parse_time(str(event["inferenceTime"]))
        request, request_kind = _decode(capture.get("endpointInput"), where)
        answer, answer_kind = _decode(capture.get("endpointOutput"), where)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{where} is not a JSON record: {error}") from None
    except (KeyError, TypeError) as error:
        raise DataError(
            f"{where} is not a data-capture record (missing {error}); expected "
            "captureData.endpointInput/endpointOutput and eventMetadata"
        ) from None
    except ValueError as error:
        raise DataError(f"{where}: bad inferenceTime: {error}") from None
    try:
        columns = _parse_input(request, request_kind)
    except InvalidRequestError as error:
        raise DataError(
            f"{where}: the captured request is unreadable: {error}"
        ) from None
    rows = len(next(iter(columns.values())))
    try:
        proba = _parse_output(answer, answer_kind, rows)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise DataError(
            f"{where}: the captured answer is unreadable ({error!r}); expected "
            '{"predictions": [...]} or label,probability lines'
        ) from None
    meta = {
        "event_id": str(event.get("eventId", "")),
        "inference_id": event.get("inferenceId"),
        "time": moment,
    }
    return meta, columns, proba


def read_captures(
    source: str | Path,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Captures:
    """Captured requests with ``since <= inferenceTime < until``.

    Args:
        source: a capture file, a folder searched recursively for ``*.jsonl``,
            or an ``s3://`` prefix of SageMaker data-capture files.
        since: start of the window (inclusive), or ``None`` for no start.
        until: end of the window (exclusive), or ``None`` for no end.

    Raises:
        DataError: a file is empty or holds a malformed record (the message
            names the file and line), or the window holds no request.
    """
    text = str(source)
    files = (
        _s3_files(text, since, until)
        if text.startswith("s3://")
        else _local_files(Path(text))
    )
    metas, parts, probas, n_files = [], [], [], 0
    for name, content in files:
        hour = _hour_of(name)
        if hour and not _in_window(hour, hour + timedelta(hours=1), since, until):
            continue
        n_files += 1
        if not content.strip():
            raise DataError(
                f"capture file {name} is empty; a capture file holds one JSON "
                "record per line (delete the file if a writer was interrupted)"
            )
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            meta, columns, proba = _parse_record(line, f"{name} line {number}")
            moment = meta["time"]
            if (since and moment < since) or (until and moment >= until):
                continue
            metas.append(meta)
            parts.append(columns)
            probas.append(proba)
    if not parts:
        window = f"between {since or 'the start'} and {until or 'now'}"
        raise DataError(
            f"no captured requests in {source} {window} ({n_files} file(s) read)"
        )
    return _combine(metas, parts, probas, n_files)


def _combine(
    metas: list[dict[str, Any]],
    parts: list[Columns],
    probas: list[np.ndarray],
    files: int,
) -> Captures:
    width = {p.shape[1] for p in probas}
    if len(width) > 1:
        raise DataError(
            f"captured answers mix {sorted(width)} classes; monitor one model "
            "kind (binary or severity) per window"
        )
    names = sorted({name for part in parts for name in part})
    columns: Columns = {name: [] for name in names}
    rows = []
    for meta, part in zip(metas, parts, strict=True):
        n = len(next(iter(part.values())))
        for name in names:
            columns[name].extend(part.get(name, [None] * n))
        rows += [{**meta, "row": i} for i in range(n)]
    meta_frame = pd.DataFrame(rows, columns=["event_id", "inference_id", "time", "row"])
    logger.info("captures: %d requests, %d rows", len(parts), len(rows))
    return Captures(columns, meta_frame, np.vstack(probas), files, len(parts))


# ----------------------------------------------------------------- compare ---


def canonical(
    columns: Columns | pd.DataFrame, features: Mapping[str, Any]
) -> pd.DataFrame:
    """Feature values as the endpoint reads them: numbers, canonical categories.

    An absent column is all missing; 0 blood pressure or cholesterol is missing.
    """
    if isinstance(columns, pd.DataFrame):
        columns = columns.to_dict(orient="list")
    rows = len(next(iter(columns.values()))) if columns else 0
    frame = {}
    for name, spec in features.items():
        values = columns.get(name)
        if spec["kind"] == "numeric":
            try:
                numbers = _numbers(name, values, rows)
            except InvalidRequestError as error:
                raise DataError(str(error)) from None
            if name in ZERO_IS_MISSING:
                numbers[numbers == 0] = np.nan
            frame[name] = numbers
        else:
            values = values if values is not None else [None] * rows
            frame[name] = pd.Series(
                [_category(v, name in BOOLEANS) for v in values], dtype=object
            )
    return pd.DataFrame(frame)


def psi(expected: list[int] | np.ndarray, actual: list[int] | np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e = np.clip(e / e.sum(), EPSILON, None)
    a = np.clip(a / a.sum(), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _missing_change(spec: Mapping[str, Any], missing: int, rows: int) -> dict[str, Any]:
    base_missing, base_rows = spec["missing"], spec["rows"]
    table = [[missing, rows - missing], [base_missing, base_rows - base_missing]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return {
        "baseline": base_missing / base_rows,
        "current": missing / rows if rows else 0.0,
        "p_value": p_value,
    }


def _numeric(spec: Mapping[str, Any], values: np.ndarray) -> dict[str, Any]:
    observed = values[~np.isnan(values)]
    low, high = spec["range"]
    result: dict[str, Any] = {
        "kind": "numeric",
        "test": "ks",
        "out_of_range": int(((observed < low) | (observed > high)).sum()),
        "unknown": {},
        "current_counts": histogram(observed, spec["edges"]),
        "psi": None,
        "statistic": None,
        "p_value": None,
        "mean": {"baseline": spec["mean"], "current": None},
    }
    if observed.size:
        test = stats.ks_2samp(expand(spec["distribution"]), observed)
        result.update(
            psi=psi(spec["counts"], result["current_counts"]),
            statistic=float(test.statistic),
            p_value=float(test.pvalue),
            mean={"baseline": spec["mean"], "current": float(observed.mean())},
        )
    return result


def _categorical(spec: Mapping[str, Any], values: pd.Series) -> dict[str, Any]:
    known = list(spec["categories"])
    counts = values.dropna().value_counts()
    unknown = {str(k): int(v) for k, v in counts.items() if k not in known}
    bins = [*known, UNKNOWN]
    base = [spec["frequencies"].get(c, 0) for c in known] + [0]
    current = [int(counts.get(c, 0)) for c in known] + [sum(unknown.values())]
    result: dict[str, Any] = {
        "kind": "categorical",
        "test": "chi2",
        "out_of_range": 0,
        "unknown": unknown,
        "categories": bins,
        "baseline_counts": base,
        "current_counts": current,
        "psi": None,
        "statistic": None,
        "p_value": None,
    }
    used = [i for i in range(len(bins)) if base[i] + current[i] > 0]
    if sum(current) and len(used) > 1:
        table = np.array([[base[i] for i in used], [current[i] for i in used]])
        test = stats.chi2_contingency(table, correction=False)
        result.update(
            psi=psi(base, current),
            statistic=float(test.statistic),
            p_value=float(test.pvalue),
        )
    elif sum(current):
        result.update(psi=psi(base, current), statistic=0.0, p_value=1.0)
    return result


def _verdict(
    result: dict[str, Any], rows: int, thresholds: Thresholds, level: float
) -> list[str]:
    reasons = []
    moved = result["psi"] is not None and result["psi"] >= thresholds.psi_threshold
    significant = result["p_value"] is not None and result["p_value"] < level
    if moved and significant:
        reasons.append(
            f"distribution moved: PSI {result['psi']:.3f}, "
            f"{result['test']} p-value {result['p_value']:.2g}"
        )
    missing = result["missing_rate"]
    rise = missing["current"] - missing["baseline"]
    if rise > thresholds.missing_rate_increase and missing["p_value"] < level:
        reasons.append(
            f"missing rate rose from {missing['baseline']:.0%} to {missing['current']:.0%}"
        )
    invalid = result["out_of_range"] + sum(result["unknown"].values())
    if rows and invalid / rows > thresholds.invalid_rate:
        what = "out of range" if result["out_of_range"] else "unknown categories"
        reasons.append(f"{invalid} value(s) {what} ({invalid / rows:.1%} of rows)")
    return reasons


def _prediction(
    spec: Mapping[str, Any], disease: np.ndarray, thresholds: Thresholds, level: float
) -> dict[str, Any]:
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
    """
    thresholds = thresholds or Thresholds()
    frame = canonical(current, baseline["features"])
    rows = len(frame)
    if rows == 0:
        raise DataError("there are no rows to compare with the baseline")
    tests = 2 * len(baseline["features"]) + (disease is not None)
    level = thresholds.p_value_threshold / tests
    features: dict[str, Any] = {}
    for name, spec in baseline["features"].items():
        values = frame[name]
        if spec["kind"] == "numeric":
            result = _numeric(spec, values.to_numpy(dtype=float))
        else:
            result = _categorical(spec, values)
        result["missing_rate"] = _missing_change(spec, int(values.isna().sum()), rows)
        result["reasons"] = _verdict(result, rows, thresholds, level)
        result["drift"] = bool(result["reasons"])
        features[name] = result
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
    summary["drifted"] = [n for n, r in features.items() if r["drift"]] + (
        ["prediction"]
        if summary["prediction"] and summary["prediction"]["drift"]
        else []
    )
    summary["drift"] = bool(summary["drifted"])
    return summary


# ----------------------------------------------------------- model quality ---


def read_ground_truth(path: str | Path, target: str) -> pd.DataFrame:
    """Labels that arrived later: ``eventId`` (or ``inference_id``), ``label``.

    An optional ``row`` column picks the record inside a multi-record request
    (0 by default). ``label`` is the class (0/1 for binary, 0-4 for severity);
    a ``num`` column instead is turned into the target's label.
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
    rows = pd.to_numeric(frame["row"], errors="coerce") if "row" in frame else 0
    return pd.DataFrame(
        {"key": frame[key].str.strip(), "row": rows, "label": labels}
    ).astype({"row": int})


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
    meta = captures.meta.reset_index(names="position")
    by_event = meta.merge(
        ground_truth, left_on=["event_id", "row"], right_on=["key", "row"]
    )
    by_inference = meta.dropna(subset=["inference_id"]).merge(
        ground_truth, left_on=["inference_id", "row"], right_on=["key", "row"]
    )
    joined = pd.concat([by_event, by_inference]).drop_duplicates("position")
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
    report = evaluation.compute(y, proba, target)
    body = report[evaluation.metric_kind(target)]
    result["overall"] = {
        name: {"value": item["value"], "ci95": item["confidence_interval_95"]}
        for name, item in body.items()
        if isinstance(item, dict) and "value" in item
    }
    result["confusion_matrix"] = body["confusion_matrix"]
    result["calibration"] = _calibration(y, 1.0 - proba[:, 0])
    periods = pd.to_datetime(joined["time"], utc=True).dt.tz_localize(None)
    result["over_time"] = []
    for start, rows in joined.groupby(periods.dt.to_period(period).to_numpy()):
        part_y = rows["label"].to_numpy(dtype=int)
        part_p = captures.probabilities[rows["position"].to_numpy(dtype=int)]
        both = len(np.unique(part_y)) == proba.shape[1] or (
            proba.shape[1] == 2 and len(np.unique(part_y)) == 2
        )
        result["over_time"].append(
            {
                "period": str(start),
                "rows": int(len(rows)),
                "auc": evaluation.auc(part_y, part_p) if both else None,
                "accuracy": float((part_p.argmax(axis=1) == part_y).mean()),
            }
        )
    registered_auc = (registered or {}).get("auc")
    upper = result["overall"]["auc"]["ci95"][1]
    if registered_auc is not None and upper < registered_auc:
        result["degraded"] = True
        result["reasons"].append(
            f"ROC AUC {result['overall']['auc']['value']:.3f} (95% interval up to "
            f"{upper:.3f}) is below the registered {registered_auc:.3f}"
        )
    return result


# ------------------------------------------------------------------ report ---


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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


def _feature_plot(name: str, spec: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    if result["kind"] == "numeric":
        labels = _bin_labels(spec["edges"])
        return _bars(labels, spec["counts"], result["current_counts"], name)
    return _bars(
        result["categories"], result["baseline_counts"], result["current_counts"], name
    )


def _quality_plots(quality: Mapping[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = []
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
    plots.append(_png(figure))
    figure, axis = plt.subplots(figsize=(3.2, 2.8))
    table = quality["calibration"]
    axis.plot([t["predicted"] for t in table], [t["observed"] for t in table], "o-")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axis.set(title="Calibration", xlabel="predicted", ylabel="observed")
    plots.append(_png(figure))
    return plots


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape(str(value))


def render_html(summary: Mapping[str, Any], baseline: Mapping[str, Any]) -> str:
    """A self-contained HTML report: verdicts, scores, baseline-vs-current plots."""
    e = html.escape
    verdict = (
        f"DRIFT in {', '.join(summary['drifted'])}"
        if summary["drifted"]
        else "no drift"
    )
    if summary.get("quality", {}).get("degraded"):
        verdict += "; model quality DEGRADED"
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Drift report"
        "</title><style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        ".drift{background:#fde0dc}img{margin:.3em}</style></head><body>",
        "<h1>Drift report</h1>",
        f"<p>{e(str(summary.get('source', '')))}: {summary['rows']} rows from "
        f"{summary.get('requests', '?')} requests, {e(str(summary.get('since')))} to "
        f"{e(str(summary.get('until')))}. Baseline: {baseline['rows']} training rows."
        f"</p><p><b>{e(verdict)}</b></p>",
        f"<p>Thresholds: {e(json.dumps(summary['thresholds']))}</p>",
        "<h2>Features</h2><table><tr><th>feature</th><th>PSI</th><th>test</th>"
        "<th>p-value</th><th>missing baseline</th><th>missing now</th>"
        "<th>out of range</th><th>unknown</th><th>verdict</th></tr>",
    ]
    for name, r in summary["features"].items():
        missing = r["missing_rate"]
        out.append(
            f"<tr class='{'drift' if r['drift'] else ''}'><td>{e(name)}</td>"
            f"<td>{_cell(r['psi'])}</td><td>{r['test']}</td>"
            f"<td>{_cell(r['p_value'])}</td><td>{missing['baseline']:.1%}</td>"
            f"<td>{missing['current']:.1%}</td><td>{r['out_of_range']}</td>"
            f"<td>{_cell(', '.join(f'{k}: {v}' for k, v in r['unknown'].items()))}"
            f"</td><td>{e('; '.join(r['reasons']) or 'ok')}</td></tr>"
        )
    out.append("</table>")
    prediction = summary.get("prediction")
    if prediction:
        out.append(
            "<h2>Predictions</h2>"
            f"<p>Mean probability of disease {prediction['mean']['baseline']:.3f} "
            f"(baseline) vs {prediction['mean']['current']:.3f}; PSI "
            f"{prediction['psi']:.3f}, ks p-value {prediction['p_value']:.2g}: "
            f"{e('; '.join(prediction['reasons']) or 'ok')}</p>"
        )
        labels = _bin_labels(prediction["edges"])
        image = _bars(
            labels,
            prediction["baseline_counts"],
            prediction["current_counts"],
            "probability of disease",
        )
        out.append(f"<img alt='predictions' src='data:image/png;base64,{image}'>")
    out.append("<h2>Baseline vs current</h2><div>")
    for name, result in summary["features"].items():
        image = _feature_plot(name, baseline["features"][name], result)
        out.append(f"<img alt='{e(name)}' src='data:image/png;base64,{image}'>")
    out.append("</div>")
    quality = summary.get("quality")
    if quality:
        out.append(_quality_html(quality))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _quality_html(quality: Mapping[str, Any]) -> str:
    e = html.escape
    out = [
        "<h2>Model quality</h2>",
        f"<p>{quality['matched_rows']} captured rows have ground truth "
        f"({quality['ground_truth_rows']} ground-truth rows given). "
        f"Registered: {e(json.dumps(quality['registered']))}. "
        f"{e('; '.join(quality['reasons']) or quality.get('note', 'no degradation'))}"
        "</p>",
    ]
    if "overall" not in quality:
        return "\n".join(out)
    out.append("<table><tr><th>metric</th><th>value</th><th>95% interval</th></tr>")
    for name, item in quality["overall"].items():
        low, high = item["ci95"]
        out.append(
            f"<tr><td>{e(name)}</td><td>{item['value']:.3f}</td>"
            f"<td>{low:.3f}-{high:.3f}</td></tr>"
        )
    out.append("</table><h3>Confusion matrix (rows: actual)</h3><table>")
    matrix = quality["confusion_matrix"]
    out.append("<tr><th></th>" + "".join(f"<th>{p}</th>" for p in matrix) + "</tr>")
    for actual, row in matrix.items():
        cells = "".join(f"<td>{v}</td>" for v in row.values())
        out.append(f"<tr><th>{actual}</th>{cells}</tr>")
    out.append("</table><div>")
    for image in _quality_plots(quality):
        out.append(f"<img alt='quality' src='data:image/png;base64,{image}'>")
    out.append("</div>")
    return "\n".join(out)


def write_report(
    summary: Mapping[str, Any], baseline: Mapping[str, Any], output_dir: Path
) -> tuple[Path, Path]:
    """Write ``summary.json`` and ``report.html`` into ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path = output_dir / SUMMARY_FILE
    json_path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    html_path = output_dir / REPORT_FILE
    html_path.write_text(render_html(summary, baseline), encoding="utf-8")
    return json_path, html_path


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
        truth = read_ground_truth(ground_truth, baseline["target"])
        quality = model_quality(captures, truth, baseline["target"], registered)
        summary["quality"] = quality
        if quality["degraded"]:
            summary["drift"] = True
    json_path, html_path = write_report(summary, baseline, output_dir)
    logger.info(
        "monitor: %d rows, drift in %s -> %s",
        summary["rows"],
        ", ".join(summary["drifted"]) or "nothing",
        html_path,
    )
    return summary
