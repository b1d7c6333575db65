"""The heart-disease data: schema, loading and validation.

The canonical layout has 16 columns (``COLUMNS``) with named categories,
``true``/``false`` booleans and empty cells for missing values. Data comes from
a local CSV, an ``s3://`` URI, or the public UCI archive (converted to the same
layout). :func:`validate` turns any of them into a frame the steps can trust:
numbers as floats, categories as canonical strings, missing values as NaN.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, DataValidationError
from .schema import (
    BOOLEAN_WORDS,
    BOOLEANS,
    CATEGORIES,
    COLUMNS,
    INPUT_COLUMNS,
    LABEL,
    MISSING_WORDS,
    NUMERIC,
    RANGES,
    ZERO_IS_MISSING,
)

__all__ = [
    "BOOLEANS",
    "CATEGORIES",
    "COLUMNS",
    "LABEL",
    "NUMERIC",
    "RANGES",
    "ZERO_IS_MISSING",
    "fetch",
    "read_csv",
    "validate",
]

logger = logging.getLogger(__name__)

UCI_ARCHIVE_URL = "https://archive.ics.uci.edu/static/public/45/heart+disease.zip"
# TODO(the archive's SHA-256 is measured online): pin it here as the default of
# MLOPS_UCI_SHA256 so the first download is verified too, not only later ones.
_UCI_FILES = {
    "processed.cleveland.data": "Cleveland",
    "processed.hungarian.data": "Hungary",
    "processed.switzerland.data": "Switzerland",
    "processed.va.data": "VA Long Beach",
}
_UCI_COLUMNS = (*INPUT_COLUMNS, LABEL)  # the processed.*.data column order
_UCI_CODES = {
    "sex": {1: "Male", 0: "Female"},
    "cp": {
        1: "typical angina",
        2: "atypical angina",
        3: "non-anginal",
        4: "asymptomatic",
    },
    "fbs": {1: "true", 0: "false"},
    "restecg": {0: "normal", 1: "st-t abnormality", 2: "lv hypertrophy"},
    "exang": {1: "true", 0: "false"},
    "slope": {1: "upsloping", 2: "flat", 3: "downsloping"},
    "thal": {3: "normal", 6: "fixed defect", 7: "reversable defect"},
}
_MAX_LISTED = 10


def read_csv(source: str | Path) -> pd.DataFrame:
    """Read a CSV from a local path or an ``s3://bucket/key`` URI, all as text."""
    text = str(source)
    if text.startswith("s3://"):
        return _parse_csv(io.BytesIO(_read_s3(text)), text)
    path = Path(text)
    if path.is_dir():
        raise DataError(f"{path} is a directory; give the CSV file inside it")
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    return _parse_csv(path, str(path))


def _parse_csv(source: Path | io.BytesIO, name: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{name} is empty; expected a header row and data rows"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{name} is not a readable CSV file: {error}") from error
    if len(frame.columns) == 1 and ";" in frame.columns[0]:
        raise DataError(f"{name} looks semicolon-separated; expected commas")
    return frame


def _read_s3(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise DataError(f"'{uri}' is not an S3 object URI (s3://<bucket>/<key>)")
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as error:
        raise DataError(
            f"reading {uri} needs boto3: pip install -e '.[aws]'"
        ) from error
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        return body.read()
    except (BotoCoreError, ClientError) as error:
        raise DataError(f"cannot read {uri}: {error}") from error


def fetch(source: str | Path | None, destination: Path, cache_dir: Path) -> Path:
    """Bring the data to ``destination``: from a path, an S3 URI, or ``uci``.

    ``None`` means the ``HEART_DATA`` environment variable, or else the UCI
    archive. The result is validated before it replaces ``destination``.
    """
    source = source or os.environ.get("HEART_DATA") or "uci"
    started = time.perf_counter()
    if str(source) == "uci":
        frame = from_uci_archive(download_uci_archive(cache_dir))
    else:
        frame = read_csv(source)
    validate(frame)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".partial")
    frame.to_csv(partial, index=False)
    partial.replace(destination)
    logger.info(
        "fetched %d rows from %s to %s in %.1fs",
        len(frame),
        source,
        destination,
        time.perf_counter() - started,
    )
    return destination


def download_uci_archive(cache_dir: Path, url: str = UCI_ARCHIVE_URL) -> Path:
    """Download the UCI archive once into ``cache_dir`` and verify its checksum.

    The expected SHA-256 comes from ``MLOPS_UCI_SHA256`` when set; otherwise the
    first download records it (trust on first use) and every later use of the
    cached archive is checked against that record.
    """
    archive = cache_dir / "heart+disease.zip"
    record = archive.with_name(archive.name + ".sha256")
    expected = os.environ.get("MLOPS_UCI_SHA256") or (
        record.read_text().strip() if record.is_file() else None
    )
    if not archive.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = archive.with_suffix(".partial")
        logger.info("downloading %s", url)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
                with partial.open("wb") as out:
                    shutil.copyfileobj(response, out)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise DataError(
                f"cannot download {url} ({error}); give a local file with "
                "--source PATH or HEART_DATA=PATH"
            ) from error
        partial.replace(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if expected and digest != expected:
        raise DataError(
            f"{archive} has SHA-256 {digest}, expected {expected}; delete it and "
            "download again, or check MLOPS_UCI_SHA256"
        )
    if not record.is_file():
        record.write_text(digest + "\n")
    logger.debug("archive %s sha256 %s", archive, digest)
    return archive


def from_uci_archive(archive: Path) -> pd.DataFrame:
    """Convert the UCI archive's ``processed.*.data`` files to the 16 columns."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = {Path(name).name: name for name in bundle.namelist()}
            missing = [name for name in _UCI_FILES if name not in names]
            if missing:
                raise DataError(f"{archive} lacks {', '.join(missing)}")
            frames = []
            for name, hospital in _UCI_FILES.items():
                raw = bundle.read(names[name]).decode("latin-1")
                frame = pd.read_csv(
                    io.StringIO(raw),
                    header=None,
                    names=_UCI_COLUMNS,
                    na_values="?",
                    dtype=float,
                )
                frame.insert(2, "dataset", hospital)
                frames.append(frame)
    except zipfile.BadZipFile as error:
        raise DataError(f"{archive} is not a zip archive: {error}") from error
    data = pd.concat(frames, ignore_index=True)
    for column, codes in _UCI_CODES.items():
        data[column] = data[column].map(codes)
    data.insert(0, "id", np.arange(1, len(data) + 1))
    return data[list(COLUMNS)]


def validate(frame: pd.DataFrame, *, require_label: bool = True) -> pd.DataFrame:
    """Check the schema and return a clean copy with canonical types.

    Raises:
        DataValidationError: listing every problem with the offending rows.
    """
    required = [c for c in COLUMNS if require_label or c != LABEL]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(
            [f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"]
        )
    if frame.empty:
        raise DataValidationError(["the data has no rows"])

    problems: list[str] = []
    clean = pd.DataFrame(index=frame.index)
    for column in required:
        values = frame[column]
        if column in CATEGORIES:
            clean[column] = _clean_category(column, values, problems)
        else:
            clean[column] = _clean_number(column, values, problems)
    for column in ZERO_IS_MISSING:
        clean.loc[clean[column] == 0, column] = np.nan
    for column in required:
        if column not in (LABEL, "id") and clean[column].isna().all():
            problems.append(f"{column} is missing on every row")
    for column, (low, high) in RANGES.items():
        if column in clean:
            bad = clean[column].notna() & ~clean[column].between(low, high)
            _report(problems, frame, bad, f"{column} outside {low}-{high}", column)
    if require_label:
        _report(problems, frame, clean[LABEL].isna(), "num is missing", LABEL)
        fractional = clean[LABEL].notna() & (clean[LABEL] % 1 != 0)
        _report(problems, frame, fractional, "num is not a whole number", LABEL)
    duplicated = clean["id"].notna() & clean["id"].duplicated(keep=False)
    _report(problems, frame, duplicated, "duplicate id", "id")
    if problems:
        raise DataValidationError(problems)
    if require_label:
        clean[LABEL] = clean[LABEL].astype(int)
    return clean.reset_index(drop=True)


def _text(values: pd.Series) -> pd.Series:
    """Cells as stripped strings (object dtype), ``None`` where missing."""

    def one(value: object) -> str | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        text = str(value).strip()
        return None if text in MISSING_WORDS else text

    return values.astype(object).map(one).astype(object)


def _clean_number(column: str, values: pd.Series, problems: list[str]) -> pd.Series:
    text = _text(values)
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    bad = numbers.isna() & text.notna()
    _report(problems, values.to_frame(), bad, f"{column} is not a number", column)
    return numbers


def _clean_category(column: str, values: pd.Series, problems: list[str]) -> pd.Series:
    text = _text(values)
    if column in BOOLEANS:
        canonical = text.map(
            lambda v: BOOLEAN_WORDS.get(v.lower()) if isinstance(v, str) else None
        )
        text = canonical.where(canonical.notna(), text)  # unknown words reported below
    allowed = CATEGORIES[column]
    bad = text.notna() & ~text.isin(allowed)
    _report(
        problems,
        values.to_frame(),
        bad,
        f"{column} not one of {', '.join(allowed)}",
        column,
    )
    return text.where(text.notna(), np.nan).astype(object)


def _report(
    problems: list[str], frame: pd.DataFrame, bad: pd.Series, what: str, column: str
) -> None:
    if not bad.any():
        return
    rows = [int(i) + 2 for i in bad[bad].index[:_MAX_LISTED]]  # CSV line numbers
    values = [str(frame.loc[i, column]) for i in bad[bad].index[:_MAX_LISTED]]
    listed = ", ".join(f"line {r} ({v!r})" for r, v in zip(rows, values, strict=True))
    more = (
        f" and {int(bad.sum()) - _MAX_LISTED} more" if bad.sum() > _MAX_LISTED else ""
    )
    problems.append(f"{what} at {listed}{more}")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, for lineage."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
