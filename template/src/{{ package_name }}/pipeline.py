"""The local pipeline: preprocess, train, evaluate, quality gate, register.

The same step functions run as SageMaker jobs in ``aws/pipeline.py``; here
they run one after the other in this process, with files under ``build/``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ModelConfig, Paths
from .data import fetch, file_sha256
from .registry import LocalRegistry, ModelVersion
from .steps import evaluate, preprocess, register, train

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a pipeline run produced."""

    version: ModelVersion
    metrics: dict[str, Any]
    seconds: float


def run(paths: Paths, config: ModelConfig, data: str | Path | None = None) -> RunResult:
    """Run every step on ``data`` (or the project's data file, fetched if absent).

    Raises:
        QualityGateError: the model missed the gate; nothing was registered.
    """
    started = time.perf_counter()
    if data is not None or not paths.raw_data.is_file():
        fetch(data, paths.raw_data, paths.cache)
    build = paths.build
    split = config.split
    counts = preprocess.run(
        paths.raw_data,
        build / "preprocess",
        target=config.target,
        test_size=split.test_size,
        validation_size=split.validation_size,
        seed=split.seed,
    )
    train.run(
        build / "preprocess" / "train",
        build / "model",
        target=config.target,
        hyperparameters=config.hyperparameters,
        drop_columns=config.drop_columns,
        seed=split.seed,
        validation_path=build / "preprocess" / "validation",
    )
    evaluate.run(
        build / "model",
        build / "preprocess" / "test",
        build / "evaluation",
        quality_gate_auc=config.quality_gate_auc,
    )
    lineage = {
        "data": {
            "path": str(paths.raw_data.resolve()),
            "sha256": file_sha256(paths.raw_data),
            "rows_per_split": counts,
        },
        "code": register.code_version(paths.root),
        "split": {
            "seed": split.seed,
            "test_size": split.test_size,
            "validation_size": split.validation_size,
        },
    }
    version = register.run(
        LocalRegistry(paths.registry),
        build / "model",
        build / "evaluation",
        quality_gate_auc=config.quality_gate_auc,
        lineage=lineage,
    )
    seconds = time.perf_counter() - started
    logger.info(
        "pipeline: version %d registered (%s) in %.1fs",
        version.number,
        version.status,
        seconds,
    )
    return RunResult(version, version.package["metrics"], seconds)
