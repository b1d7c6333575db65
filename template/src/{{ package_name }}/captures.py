"""Captured traffic: the data-capture records of a time window, as feature values.

The local endpoint and SageMaker data capture write the same shape: JSON Lines
files in hourly folders (``.../YYYY/MM/DD/HH/*.jsonl``), one record per request
with ``captureData.endpointInput``, ``captureData.endpointOutput`` and
``eventMetadata``. :func:`read_captures` reads the records of a window from a
local file or folder or an ``s3://`` prefix; :func:`canonical` turns request
values into the values the model reads, for comparing with the baseline.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import BOOLEANS, ZERO_IS_MISSING
from .errors import DataError, InvalidRequestError
from .inference import (
    Columns,
    _category,
    _numbers,
    parse_csv,
    parse_json,
    parse_jsonlines,
)

logger = logging.getLogger(__name__)

_HOUR_IN_PATH = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")

# One captured request: its metadata, its values by column, the answered
# class probabilities (one row per record of the request).
Record = tuple[dict[str, Any], Columns, np.ndarray]


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
    records: list[Record] = []
    files = 0
    for name, content in _capture_files(str(source), since, until):
        if not _hour_in_window(name, since, until):
            continue
        files += 1
        records.extend(_records_in_window(name, content, since, until))
    if not records:
        window = f"between {since or 'the start'} and {until or 'now'}"
        raise DataError(
            f"no captured requests in {source} {window} ({files} file(s) read)"
        )
    return _combine(records, files)


# ------------------------------------------------------------------ files ---


def _capture_files(
    source: str, since: datetime | None, until: datetime | None
) -> Iterator[tuple[str, bytes]]:
    """Name and content of each capture file under ``source``, in name order."""
    if source.startswith("s3://"):
        return _s3_files(source, since, until)
    return _local_files(Path(source))


def _hour_of(path: str) -> datetime | None:
    match = _HOUR_IN_PATH.search(path.replace("\\", "/"))
    if not match:
        return None
    return datetime(*(int(g) for g in match.groups()), tzinfo=UTC)


def _in_window(start: datetime, end: datetime, since: Any, until: Any) -> bool:
    return (since is None or end > since) and (until is None or start < until)


def _hour_in_window(name: str, since: Any, until: Any) -> bool:
    """Whether the file's hourly folder overlaps the window (yes if it has none)."""
    hour = _hour_of(name)
    return hour is None or _in_window(hour, hour + timedelta(hours=1), since, until)


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
    """Capture files under an S3 prefix, skipping hourly folders outside the window."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise DataError(f"'{uri}' is not an S3 prefix (s3://<bucket>/<prefix>)")
    client, errors = _s3_client(uri)
    try:
        for key in _jsonl_keys(client, bucket, prefix):
            if not _hour_in_window(key, since, until):
                continue
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            yield f"s3://{bucket}/{key}", body
    except errors as error:
        raise DataError(f"cannot read captures under {uri}: {error}") from error


def _s3_client(uri: str) -> tuple[Any, tuple[type[Exception], ...]]:
    """An S3 client and the errors its calls raise; boto3 is an optional extra."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as error:
        raise DataError(
            f"reading {uri} needs boto3: pip install -e '.[aws]'"
        ) from error
    return boto3.client("s3"), (BotoCoreError, ClientError)


def _jsonl_keys(client: Any, bucket: str, prefix: str) -> list[str]:
    """The sorted keys of every ``.jsonl`` object under the prefix."""
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix
    )
    return sorted(
        item["Key"]
        for page in pages
        for item in page.get("Contents", [])
        if item["Key"].endswith(".jsonl")
    )


# ---------------------------------------------------------------- records ---


def _records_in_window(
    name: str, content: bytes, since: Any, until: Any
) -> Iterator[Record]:
    """The file's records with ``since <= inferenceTime < until``."""
    if not content.strip():
        raise DataError(
            f"capture file {name} is empty; a capture file holds one JSON "
            "record per line (delete the file if a writer was interrupted)"
        )
    lines = content.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _parse_record(line, f"{name} line {number}")
        except DataError:
            if number < len(lines) or content.endswith(b"\n"):
                raise
            # A last line without its newline is still being written.
            logger.warning("%s line %d is unfinished; skipped", name, number)
            continue
        moment = record[0]["time"]
        if (since and moment < since) or (until and moment >= until):
            continue
        yield record


def _parse_record(line: bytes, where: str) -> Record:
    """Metadata, request values and answered probabilities of one capture line."""
    event, moment, request, answer = _unpack_record(line, where)
    columns = _request_columns(*request, where)
    rows = len(next(iter(columns.values())))
    proba = _answer_probabilities(*answer, rows, where)
    meta = {
        "event_id": str(event.get("eventId", "")),
        "inference_id": event.get("inferenceId"),
        "time": moment,
    }
    return meta, columns, proba


def _unpack_record(
    line: bytes, where: str
) -> tuple[dict[str, Any], datetime, tuple[bytes, str], tuple[bytes, str]]:
    """Event metadata, inference time, and the decoded request and answer."""
    try:
        record = json.loads(line)
        capture, event = record["captureData"], record["eventMetadata"]
        moment = parse_time(str(event["inferenceTime"]))
        request = _decode(capture.get("endpointInput"), where)
        answer = _decode(capture.get("endpointOutput"), where)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{where} is not a JSON record: {error}") from None
    except (KeyError, TypeError) as error:
        raise DataError(
            f"{where} is not a data-capture record (missing {error}); expected "
            "captureData.endpointInput/endpointOutput and eventMetadata"
        ) from None
    except ValueError as error:
        raise DataError(f"{where}: bad inferenceTime: {error}") from None
    return event, moment, request, answer


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


def _request_columns(body: bytes, kind: str, where: str) -> Columns:
    """The captured request's values by column, read as the endpoint read them."""
    try:
        if kind.lower().startswith("text/csv"):
            return parse_csv(body)
        if kind.lower().startswith("application/jsonlines"):
            return parse_jsonlines(body)
        return parse_json(body)
    except InvalidRequestError as error:
        raise DataError(
            f"{where}: the captured request is unreadable: {error}"
        ) from None


def _answer_probabilities(body: bytes, kind: str, rows: int, where: str) -> np.ndarray:
    """Class probabilities from a captured answer, one row per request record."""
    try:
        return _parse_output(body, kind, rows)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise DataError(
            f"{where}: the captured answer is unreadable ({error!r}); expected "
            '{"predictions": [...]} or label,probability lines'
        ) from None


def _parse_output(body: bytes, kind: str, rows: int) -> np.ndarray:
    """Class probabilities from an endpoint answer (JSON or CSV, binary or not)."""
    if kind.lower().startswith("text/csv"):
        proba = _csv_probabilities(body)
    else:
        proba = _json_probabilities(body)
    if len(proba) != rows:
        raise ValueError(f"{len(proba)} predictions for {rows} records")
    return np.asarray(proba, dtype=float)


def _csv_probabilities(body: bytes) -> list[list[float]]:
    """``label,probability`` lines, or ``label,probability,p0,...,p4`` for severity."""
    lines = [line for line in body.decode("utf-8").splitlines() if line.strip()]
    values = [[float(v) for v in line.split(",")] for line in lines]
    return [[1 - v[1], v[1]] if len(v) == 2 else v[2:] for v in values]


def _json_probabilities(body: bytes) -> list[list[float]]:
    """``{"predictions": [...]}`` with ``probabilities`` or a binary ``probability``."""
    return [
        p["probabilities"]
        if "probabilities" in p
        else [1 - p["probability"], p["probability"]]
        for p in json.loads(body)["predictions"]
    ]


def _combine(records: list[Record], files: int) -> Captures:
    """One row per record of every request, columns aligned across requests."""
    probas = [proba for _, _, proba in records]
    width = {p.shape[1] for p in probas}
    if len(width) > 1:
        raise DataError(
            f"captured answers mix {sorted(width)} classes; monitor one model "
            "kind (binary or severity) per window"
        )
    parts = [part for _, part, _ in records]
    names = sorted({name for part in parts for name in part})
    columns: Columns = {name: [] for name in names}
    rows = []
    for meta, part, _ in records:
        n = len(next(iter(part.values())))
        for name in names:
            columns[name].extend(part.get(name, [None] * n))
        rows += [{**meta, "row": i} for i in range(n)]
    meta_frame = pd.DataFrame(rows, columns=["event_id", "inference_id", "time", "row"])
    logger.info("captures: %d requests, %d rows", len(parts), len(rows))
    return Captures(columns, meta_frame, np.vstack(probas), files, len(parts))


# -------------------------------------------------------------- canonical ---


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
        if spec["kind"] == "numeric":
            frame[name] = _canonical_numbers(name, columns.get(name), rows)
        else:
            frame[name] = _canonical_categories(name, columns.get(name), rows)
    return pd.DataFrame(frame)


def _canonical_numbers(name: str, values: list | None, rows: int) -> np.ndarray:
    try:
        numbers = _numbers(name, values, rows)
    except InvalidRequestError as error:
        raise DataError(str(error)) from None
    if name in ZERO_IS_MISSING:
        numbers[numbers == 0] = np.nan
    return numbers


def _canonical_categories(name: str, values: list | None, rows: int) -> pd.Series:
    values = values if values is not None else [None] * rows
    return pd.Series([_category(v, name in BOOLEANS) for v in values], dtype=object)
