"""The compact inference artefact and the fast predictor that serves it.

At training time :func:`export` writes, next to the scikit-learn pipeline, what
prediction needs and nothing more: the median of every numeric feature, which
numeric features get a missing-value indicator, the columns where 0 means
missing, every categorical feature's categories in one-hot order, and the
booster in XGBoost's native format. :class:`Predictor` rebuilds the exact
feature matrix the pipeline would build, with numpy alone, and calls
``Booster.inplace_predict``: the same probabilities without pandas or
scikit-learn at request time.

Request formats (JSON and CSV) are parsed here too, so the endpoint, batch
prediction and the SageMaker container share one contract:

* JSON: one record ``{"age": 63, ...}``, a list of records,
  ``{"instances": [...]}`` (records or value lists), ``{"dataframe_records":
  [...]}``, or ``{"dataframe_split": {"columns": [...], "data": [[...]]}}``
  (also without the ``dataframe_split`` wrapper); ``inputs`` is accepted like
  ``instances``. JSON Lines (``application/jsonlines``): one record per line.
* CSV: rows of ``INPUT_COLUMNS`` in that order without a header, or any column
  order with a header row naming them.

Missing keys and empty values are missing values; an unknown category is
encoded like scikit-learn's ``handle_unknown="ignore"`` (all zeros). Columns
``id``, ``dataset`` and ``num`` are accepted and ignored.
"""

from __future__ import annotations

import csv
import gc
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidRequestError
from .native import Booster, load_booster
from .schema import BOOLEAN_WORDS, INPUT_COLUMNS, MISSING_WORDS

ARTEFACT = "inference.json"
BOOSTER = "model.ubj"
IGNORED_COLUMNS = frozenset({"id", "dataset", "num"})
# Up to this many records, converting cell by cell beats the set-and-lookup
# path that large batches take.
SMALL_BATCH = 32
Columns = dict[str, list[Any]]


def export(
    pipeline: Any,
    model_dir: Path,
    target: str,
    zero_is_missing: Iterable[str],
    booleans: Iterable[str],
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    allowed: Mapping[str, Iterable[str]] | None = None,
) -> Path:
    """Write ``inference.json`` and ``model.ubj`` for a fitted pipeline.

    ``ranges`` and ``allowed`` (the data schema's numeric ranges and category
    names) let the endpoint refuse values the training data would refuse.
    """
    preprocess = pipeline.named_steps["preprocess"]
    numeric_imputer = preprocess.named_transformers_["numeric"]
    categorical = preprocess.named_transformers_["categorical"]
    encoder = categorical.named_steps["encode"]
    numeric = list(preprocess.transformers_[0][2])
    indicator = numeric_imputer.indicator_
    spec = {
        "format": 1,
        "target": target,
        "classes": [int(c) for c in pipeline.named_steps["model"].classes_],
        "numeric": [
            {"name": name, "fill": float(fill)}
            for name, fill in zip(numeric, numeric_imputer.statistics_, strict=True)
        ],
        "indicators": [numeric[i] for i in indicator.features_] if indicator else [],
        "zero_is_missing": [c for c in zero_is_missing if c in numeric],
        "booleans": list(booleans),
        "categorical": [
            {"name": name, "categories": [str(v) for v in categories]}
            for name, categories in zip(
                preprocess.transformers_[1][2], encoder.categories_, strict=True
            )
        ],
        "missing_category": categorical.named_steps["impute"].fill_value,
        "ranges": {k: [float(v) for v in r] for k, r in (ranges or {}).items()},
        "allowed": {k: sorted(v) for k, v in (allowed or {}).items()},
        "n_features": int(len(preprocess.get_feature_names_out())),
    }
    model_dir.mkdir(parents=True, exist_ok=True)
    pipeline.named_steps["model"].get_booster().save_model(model_dir / BOOSTER)
    path = model_dir / ARTEFACT
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Prediction:
    """Labels and class probabilities of a batch of records."""

    labels: np.ndarray
    probabilities: np.ndarray  # (rows, classes)
    binary: bool

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row: the label and its probability."""
        if self.binary:
            return [
                {"label": int(lab), "probability": float(p[1])}
                for lab, p in zip(self.labels, self.probabilities, strict=True)
            ]
        return [
            {
                "label": int(lab),
                "probability": float(p[lab]),
                "probabilities": [float(v) for v in p],
            }
            for lab, p in zip(self.labels, self.probabilities, strict=True)
        ]

    def to_json(self) -> bytes:
        """``{"predictions": [...]}`` as UTF-8 JSON."""
        return json.dumps({"predictions": self.records()}).encode()

    def to_csv(self) -> bytes:
        """One line per row: ``label,probability`` (plus every class for severity)."""
        labels = self.labels.tolist()
        if self.binary:
            columns = [self.probabilities[:, 1].tolist()]
        else:
            rows = np.arange(len(labels))
            chosen = self.probabilities[rows, self.labels]
            columns = [chosen.tolist(), *self.probabilities.T.tolist()]
        cells = zip(map(str, labels), *(map(repr, c) for c in columns), strict=True)
        lines = map(",".join, cells)
        return ("\n".join(lines) + "\n").encode()


class Predictor:
    """Predicts from the compact artefact with numpy and XGBoost only."""

    def __init__(self, spec: Mapping[str, Any], booster: Booster) -> None:
        """Prepare lookup tables from an ``inference.json`` spec and its booster."""
        self.spec = spec
        self.booster = booster
        self.binary = spec["target"] == "binary"
        self.numeric = [item["name"] for item in spec["numeric"]]
        self.fills = np.array([item["fill"] for item in spec["numeric"]])
        self.indicators = [self.numeric.index(name) for name in spec["indicators"]]
        self.zero_is_missing = [self.numeric.index(n) for n in spec["zero_is_missing"]]
        self.booleans = frozenset(spec["booleans"])
        self.missing_category = spec["missing_category"]
        self.categorical: list[tuple[str, int, dict[str, int]]] = []
        offset = len(self.numeric) + len(self.indicators)
        for item in spec["categorical"]:
            lookup = {value: i for i, value in enumerate(item["categories"])}
            self.categorical.append((item["name"], offset, lookup))
            offset += len(lookup)
        self.n_features = offset
        if offset != spec["n_features"]:
            raise ValueError(
                f"artefact describes {offset} features, expected {spec['n_features']}"
            )
        self.ranges = {k: tuple(v) for k, v in spec.get("ranges", {}).items()}
        self.allowed = {k: frozenset(v) for k, v in spec.get("allowed", {}).items()}
        # Every request column is accepted, also those the model does not use
        # (dropped in config/model.yaml): a headerless row always carries all.
        self.known_columns = (
            frozenset(INPUT_COLUMNS)
            | frozenset(self.numeric)
            | {name for name, _, _ in self.categorical}
        )

    @classmethod
    def load(cls, model_dir: Path) -> Predictor:
        """Load ``inference.json`` and ``model.ubj`` from a model directory."""
        spec = json.loads((model_dir / ARTEFACT).read_text(encoding="utf-8"))
        return cls(spec, load_booster(model_dir / BOOSTER))

    def encode(self, columns: Columns, strict: bool = False) -> np.ndarray:
        """The feature matrix the scikit-learn pipeline would build.

        With ``strict``, numbers outside the schema's ranges and categories
        outside its names are refused instead of encoded (missing values are
        always accepted).
        """
        unknown = set(columns) - self.known_columns - IGNORED_COLUMNS
        if unknown:
            raise InvalidRequestError(
                f"unknown column(s) {', '.join(sorted(unknown))}; expected "
                f"{', '.join(INPUT_COLUMNS)}"
            )
        rows = len(next(iter(columns.values()))) if columns else 0
        if rows == 0:
            raise InvalidRequestError("the request holds no records")
        matrix = np.zeros((rows, self.n_features))
        n_numeric = len(self.numeric)
        for j, name in enumerate(self.numeric):
            values = _numbers(name, columns.get(name), rows)
            if j in self.zero_is_missing:
                values[values == 0] = np.nan
            if strict and name in self.ranges:
                self._check_range(name, values)
            missing = np.isnan(values)
            values[missing] = self.fills[j]
            matrix[:, j] = values
            if j in self.indicators:
                matrix[:, n_numeric + self.indicators.index(j)] = missing
        for name, offset, lookup in self.categorical:
            index = self._category_indices(
                name, lookup, columns.get(name), rows, strict
            )
            known = index >= 0
            matrix[np.flatnonzero(known), offset + index[known]] = 1.0
        return matrix

    def _check_range(self, name: str, values: np.ndarray) -> None:
        low, high = self.ranges[name]
        outside = ~np.isnan(values) & ((values < low) | (values > high))
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise InvalidRequestError(
                f"{name} {values[i]:g} in record {i + 1} is outside {low:g}-{high:g}"
            )

    def _category_indices(
        self,
        name: str,
        lookup: dict[str, int],
        values: Sequence[Any] | None,
        rows: int,
        strict: bool = False,
    ) -> np.ndarray:
        """One-hot position of every value (-1: unknown, encoded as all zeros).

        Each distinct raw value is normalised once, so a 100k-row batch costs
        a dictionary lookup per cell.
        """
        if values is None:
            return np.full(rows, lookup.get(self.missing_category, -1))
        if any(isinstance(value, list | dict) for value in values[:SMALL_BATCH]):
            raise InvalidRequestError(
                f"{name} holds a list or object; expected a category name"
            )
        is_boolean = name in self.booleans
        try:
            names = {raw: _category(raw, is_boolean) for raw in set(values)}
        except TypeError:  # an unhashable value further down a large batch
            raise InvalidRequestError(
                f"{name} holds a list or object; expected a category name"
            ) from None
        if strict and name in self.allowed:
            self._check_categories(name, names, values)
        positions = {
            raw: lookup.get(category or self.missing_category, -1)
            for raw, category in names.items()
        }
        if rows <= SMALL_BATCH:
            return np.array([positions[raw] for raw in values], dtype=np.int64)
        return np.fromiter(map(positions.__getitem__, values), np.int64, count=rows)

    def _check_categories(
        self, name: str, names: Mapping[Any, str | None], values: Sequence[Any]
    ) -> None:
        allowed = self.allowed[name]
        for raw, category in names.items():
            if category is not None and category not in allowed:
                raise InvalidRequestError(
                    f"{name} {raw!r} in record {list(values).index(raw) + 1} is "
                    f"not one of {', '.join(sorted(allowed))}"
                )

    def predict(self, columns: Columns, strict: bool = False) -> Prediction:
        """Probabilities and labels for the records in ``columns``."""
        raw = self.booster.inplace_predict(self.encode(columns, strict))
        if self.binary:
            probabilities = np.column_stack([1.0 - raw, raw])
            labels = (raw >= 0.5).astype(int)
        else:
            probabilities = np.asarray(raw).reshape(len(raw), -1)
            labels = probabilities.argmax(axis=1)
        return Prediction(labels, probabilities, self.binary)


def _numbers(name: str, values: Sequence[Any] | None, rows: int) -> np.ndarray:
    """Numbers as floats, NaN where missing; a clear error for anything else.

    Each distinct raw value is converted once (a column of 100k rows has a few
    hundred), then every cell is a dictionary lookup.
    """
    if values is None:
        return np.full(rows, np.nan)
    if rows <= SMALL_BATCH:
        return _numbers_one_by_one(name, values, rows)
    try:
        # bool hashes like 1 and 0, so booleans take the careful path.
        distinct = set(values) if bool not in set(map(type, values)) else None
    except TypeError:  # a list or object in a cell
        distinct = None
    if distinct is not None:
        try:
            numbers = {raw: _number(raw) for raw in distinct}
        except (TypeError, ValueError):
            pass  # the careful loop below names the offending record
        else:
            return np.fromiter(map(numbers.__getitem__, values), float, count=rows)
    return _numbers_one_by_one(name, values, rows)


def _number(raw: Any) -> float:
    if raw is None or (isinstance(raw, str) and raw.strip() in MISSING_WORDS):
        return math.nan
    number = float(raw)
    if math.isinf(number):
        raise ValueError("infinite")
    return number


def _numbers_one_by_one(name: str, values: Sequence[Any], rows: int) -> np.ndarray:
    """Convert cell by cell, raising at the first bad one with its record number."""
    out = np.empty(rows)
    for i, value in enumerate(values):
        if value is None or (isinstance(value, str) and value.strip() in MISSING_WORDS):
            out[i] = np.nan
        elif isinstance(value, bool):
            raise InvalidRequestError(
                f"{name} in record {i + 1} is a boolean, expected a number"
            )
        else:
            try:
                out[i] = float(value)
            except (TypeError, ValueError):
                raise InvalidRequestError(
                    f"{name} in record {i + 1} is {value!r}, expected a number"
                ) from None
            if math.isinf(out[i]):
                raise InvalidRequestError(f"{name} in record {i + 1} is infinite")
    return out


def _category(value: Any, is_boolean: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    if text in MISSING_WORDS:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(f"{value!r} is not valid UTF-8 text") from None
    if is_boolean:
        return BOOLEAN_WORDS.get(text.lower(), text)
    return text


def parse_json(body: bytes) -> Columns:
    """Records from any supported JSON shape, as columns."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidRequestError(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidRequestError("the JSON is nested too deeply") from None
    if isinstance(payload, dict):
        for key in ("instances", "dataframe_records", "inputs"):
            if key in payload:
                return _from_rows(payload[key], key)
        split = payload.get("dataframe_split", payload)
        if "columns" in split and "data" in split:
            return _from_split(split["columns"], split["data"])
        return _from_rows([payload], "record")
    if isinstance(payload, list):
        return _from_rows(payload, "list")
    raise InvalidRequestError(
        "JSON must be a record, a list of records, or an object with 'instances', "
        "'dataframe_records' or 'dataframe_split'"
    )


def parse_jsonlines(body: bytes) -> Columns:
    """One JSON record (or list of values) per line, as columns."""
    records = []
    for number, line in enumerate(body.splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise InvalidRequestError(
                    f"line {number} is not valid JSON: {error}"
                ) from None
            except RecursionError:
                raise InvalidRequestError(
                    f"line {number} is nested too deeply"
                ) from None
    return _from_rows(records, "jsonlines")


def _from_rows(rows: Any, where: str) -> Columns:
    if not isinstance(rows, list) or not rows:
        raise InvalidRequestError(f"'{where}' must be a non-empty list of records")
    if all(isinstance(row, dict) for row in rows):
        names = {key for row in rows for key in row}
        return {name: [row.get(name) for row in rows] for name in names}
    if all(isinstance(row, list) for row in rows):
        return _from_split(list(INPUT_COLUMNS), rows)
    raise InvalidRequestError(
        f"'{where}' must hold only records (objects keyed by column) or only lists "
        f"of {len(INPUT_COLUMNS)} values ({', '.join(INPUT_COLUMNS)})"
    )


def _from_split(names: Any, data: Any) -> Columns:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidRequestError("'columns' must be a list of column names")
    if not isinstance(data, list) or not data:
        raise InvalidRequestError("'data' must be a non-empty list of rows")
    if not all(isinstance(row, list) for row in data) or set(map(len, data)) != {
        len(names)
    }:
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != len(names):
                raise InvalidRequestError(
                    f"row {i + 1} has {len(row) if isinstance(row, list) else 'no'} "
                    f"values; expected {len(names)} ({', '.join(names)})"
                )
    return {name: list(map(itemgetter(j), data)) for j, name in enumerate(names)}


def parse_csv(body: bytes) -> Columns:
    """Rows of CSV, headerless in ``INPUT_COLUMNS`` order or with a header."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidRequestError(f"the CSV body is not UTF-8: {error}") from None
    lines = text.splitlines()
    if '"' in text:
        rows = [row for row in csv.reader(lines) if row]
    else:  # no quoting: str.split is the same parse, several times faster
        rows = [line.split(",") for line in lines if line]
    if not rows:
        raise InvalidRequestError("the CSV body holds no rows")
    header = [cell.strip() for cell in rows[0]]
    if "age" in header:
        names, rows = header, rows[1:]
        if not rows:
            raise InvalidRequestError("the CSV body has a header but no rows")
    else:
        names = list(INPUT_COLUMNS)
    return _from_split(names, rows)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a burst of allocations.

    A 100k-row batch creates millions of short strings and lists, none in a
    reference cycle; the collector would otherwise rescan them over and over
    (about a third of the batch time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def predict_batch(
    predictor: Predictor, body: bytes, strict: bool = True
) -> tuple[Prediction, list | None]:
    """Predict every row of a CSV body; also return its ``id`` column if present."""
    with _collector_paused():
        columns = parse_csv(body)
        return predictor.predict(columns, strict), columns.get("id")
