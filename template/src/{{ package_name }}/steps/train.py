"""Train step: fit the scikit-learn pipeline on the training rows only.

Writes to the model directory: ``pipeline.joblib`` (the fitted pipeline),
``inference.json`` + ``model.ubj`` (the compact artefact the endpoint serves),
``baseline.json`` (statistics for drift monitoring) and ``model.json`` (what
was trained, on what, with which library versions).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

import joblib
import sklearn
import xgboost
from sklearn.metrics import roc_auc_score

from ..data import (
    BOOLEANS,
    CATEGORIES,
    RANGES,
    ZERO_IS_MISSING,
    read_csv,
    validate,
)
from ..features import build_pipeline, feature_columns, label
from ..inference import export
from ..monitor import write_baseline
from . import timed
from .preprocess import resolve_input

logger = logging.getLogger(__name__)

PIPELINE_FILE = "pipeline.joblib"
MODEL_CARD_FILE = "model.json"


def run(
    train_path: Path | str,
    model_dir: Path,
    *,
    target: str = "binary",
    hyperparameters: dict[str, Any] | None = None,
    drop_columns: tuple[str, ...] = ("id", "dataset"),
    seed: int = 42,
    validation_path: Path | str | None = None,
) -> dict[str, Any]:
    """Fit the pipeline on ``train_path`` and save it to ``model_dir``.

    Returns:
        Facts about the fit: rows, features and validation ROC AUC if given.
    """
    hyperparameters = dict(hyperparameters or {})
    with timed("train") as facts:
        train = validate(read_csv(resolve_input(train_path)))
        columns = feature_columns(drop_columns)
        pipeline = build_pipeline(target, hyperparameters, columns, seed=seed)
        pipeline.fit(train[columns], label(train, target))

        model_dir.mkdir(parents=True, exist_ok=True)
        joblib.dump(pipeline, model_dir / PIPELINE_FILE)
        export(
            pipeline,
            model_dir,
            target,
            ZERO_IS_MISSING,
            BOOLEANS,
            ranges=RANGES,
            allowed=CATEGORIES,
        )
        write_baseline(train, pipeline, columns, target, model_dir)
        summary: dict[str, Any] = {
            "target": target,
            "features": columns,
            "hyperparameters": hyperparameters,
            "seed": seed,
            "train_rows": len(train),
            "libraries": {
                "scikit-learn": sklearn.__version__,
                "xgboost": xgboost.__version__,
            },
        }
        if validation_path is not None:
            validation = validate(read_csv(resolve_input(validation_path)))
            proba = pipeline.predict_proba(validation[columns])
            summary["validation_rows"] = len(validation)
            summary["validation_auc"] = _auc(label(validation, target), proba)
        (model_dir / MODEL_CARD_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    logger.info(
        "train: %d rows, %d features, validation ROC AUC %s -> %s [%.1fs]",
        len(train),
        len(columns),
        _format(summary.get("validation_auc")),
        model_dir,
        facts["seconds"],
    )
    return summary


def _auc(y: Any, proba: Any) -> float:
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro"))


def _format(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def parse_hyperparameters(raw: dict[str, Any]) -> dict[str, Any]:
    """SageMaker passes hyperparameters as strings; turn numbers back into numbers."""
    parsed: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            try:
                number = float(value)
                value = (
                    int(number) if number.is_integer() and "." not in value else number
                )
            except ValueError:
                pass
        parsed[key] = value
    return parsed


def main(argv: list[str] | None = None) -> None:
    """Entry point of the SageMaker training job (the container's ``train``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    env = os.environ.get
    parser.add_argument(
        "--train", default=env("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    parser.add_argument("--validation", default=env("SM_CHANNEL_VALIDATION"))
    parser.add_argument(
        "--model-dir", type=Path, default=Path(env("SM_MODEL_DIR", "/opt/ml/model"))
    )
    parser.add_argument(
        "--hyperparameters",
        type=Path,
        default=Path("/opt/ml/input/config/hyperparameters.json"),
    )
    args = parser.parse_args(argv)
    raw = (
        json.loads(args.hyperparameters.read_text())
        if args.hyperparameters.is_file()
        else {}
    )
    hyperparameters = parse_hyperparameters(raw)
    target = str(hyperparameters.pop("target", env("TARGET", "binary")))
    seed = int(hyperparameters.pop("seed", 42))
    drop_columns = tuple(
        str(hyperparameters.pop("drop_columns", "id,dataset")).split(",")
    )
    validation = args.validation
    if validation is None and Path("/opt/ml/input/data/validation").is_dir():
        validation = "/opt/ml/input/data/validation"
    run(
        args.train,
        args.model_dir,
        target=target,
        hyperparameters=hyperparameters,
        drop_columns=drop_columns,
        seed=seed,
        validation_path=validation,
    )


if __name__ == "__main__":
    main()
