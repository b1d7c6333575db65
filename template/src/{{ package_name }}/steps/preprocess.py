"""Preprocess step: validate the data and split it into train, validation, test.

The split is stratified on the label and seeded, so the same data and
configuration always give the same rows in each part.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..data import file_sha256, read_csv, validate
from ..errors import DataError
from ..features import label
from ..schema import INPUT_COLUMNS
from . import timed

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
# Enough for a class to appear in train, validation and test at 70/10/20.
MIN_ROWS_PER_CLASS = 10


def run(
    input_path: Path | str,
    output_dir: Path,
    *,
    target: str = "binary",
    test_size: float = 0.2,
    validation_size: float = 0.1,
    seed: int = 42,
) -> dict[str, int]:
    """Validate ``input_path`` and write ``<split>/<split>.csv`` under ``output_dir``.

    Returns:
        The number of rows in each split.
    """
    with timed("preprocess") as facts:
        source = resolve_input(input_path)
        frame = validate(read_csv(source))
        check_classes(label(frame, target), target)
        n_test = round(len(frame) * test_size)
        n_validation = round(len(frame) * validation_size)
        train, rest = train_test_split(
            frame,
            test_size=n_test + n_validation,
            stratify=label(frame, target),
            random_state=seed,
        )
        validation, test = train_test_split(
            rest, test_size=n_test, stratify=label(rest, target), random_state=seed
        )
        counts = {}
        for name, part in zip(SPLITS, (train, validation, test), strict=True):
            folder = output_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            part.to_csv(folder / f"{name}.csv", index=False)
            counts[name] = len(part)
        _write_source(output_dir, source, counts)
        _write_monitoring_baseline(output_dir / BASELINE, train)
    logger.info(
        "preprocess: %d rows -> train %d, validation %d, test %d (seed %d) in %s "
        "[%.1fs]",
        len(frame),
        counts["train"],
        counts["validation"],
        counts["test"],
        seed,
        output_dir,
        facts["seconds"],
    )
    return counts


SOURCE_FILE = "source.json"
BASELINE = "baseline"


def _write_monitoring_baseline(folder: Path, train: pd.DataFrame) -> None:
    """The training rows as the endpoint receives them, for SageMaker Model Monitor.

    Headerless CSV of the request columns in request order, so the baseline's
    columns line up with captured ``text/csv`` requests (``_c0`` ... ``_c12``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    train[list(INPUT_COLUMNS)].to_csv(
        folder / "baseline.csv", index=False, header=False
    )


def _write_source(output_dir: Path, source: Path | str, counts: dict[str, int]) -> None:
    """Record which data the splits came from, for the lineage of the model."""
    local = not str(source).startswith("s3://")
    facts = {
        "path": str(Path(source).resolve()) if local else str(source),
        "sha256": file_sha256(Path(source)) if local else None,
        "rows_per_split": counts,
    }
    (output_dir / SOURCE_FILE).write_text(json.dumps(facts, indent=2) + "\n")


def check_classes(y: np.ndarray, target: str) -> None:
    """Refuse data a stratified split or ROC AUC cannot work with."""
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise DataError(
            f"the data holds only class {classes[0]} for target '{target}'; a model "
            "needs examples of every class"
        )
    scarce = [
        f"class {c}: {n} rows"
        for c, n in zip(classes, counts, strict=True)
        if n < MIN_ROWS_PER_CLASS
    ]
    if scarce:
        raise DataError(
            f"too few rows to split stratified ({', '.join(scarce)}); each class "
            f"needs at least {MIN_ROWS_PER_CLASS}"
        )


def resolve_input(path: Path | str) -> Path | str:
    """A CSV file, or the only CSV file in a directory (a SageMaker channel)."""
    if str(path).startswith("s3://"):
        return path
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if len(files) != 1:
            raise DataError(
                f"expected exactly one CSV file in {path}, found {len(files)}"
            )
        return files[0]
    return path


def main(argv: list[str] | None = None) -> None:
    """Entry point of the SageMaker processing job."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", default="/opt/ml/processing/input")
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing"))
    parser.add_argument("--target", default=os.environ.get("TARGET", "binary"))
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--validation-size", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    run(
        args.input,
        args.output,
        target=args.target,
        test_size=args.test_size,
        validation_size=args.validation_size,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
