"""The local pipeline: preprocess, train, evaluate, quality gate, register.

The same step functions run as SageMaker jobs in ``aws/pipeline.py``; here
they run one after the other in this process, with files under ``build/``.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, runs are not guarded
    fcntl = None

from .config import ModelConfig, Paths
from .data import fetch, file_sha256
from .errors import PipelineBusyError
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

    New data is fetched into ``build/`` first and replaces ``data/raw/heart.csv``
    only once the model has passed the quality gate, so a failed run leaves the
    project's data as it was. One run at a time may use ``build/``.

    Raises:
        QualityGateError: the model missed the gate; nothing was registered.
        PipelineBusyError: another run holds ``build/``.
    """
    started = time.perf_counter()
    build = paths.build
    with _exclusive(build):
        _clear(build)
        source = paths.raw_data
        if data is not None or not source.is_file():
            source = fetch(data, build / "input" / "heart.csv", paths.cache)
        split = config.split
        counts = preprocess_step(paths, config, source)
        train_step(paths, config)
        report = evaluate_step(paths, config)
        register.check_quality_gate(report, config.target, config.quality_gate_auc)
        if source != paths.raw_data:
            _replace(paths.raw_data, source)
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


def preprocess_step(
    paths: Paths, config: ModelConfig, source: str | Path
) -> dict[str, int]:
    """Validate and split ``source`` into ``build/preprocess``."""
    return preprocess.run(
        source,
        paths.build / "preprocess",
        target=config.target,
        test_size=config.split.test_size,
        validation_size=config.split.validation_size,
        seed=config.split.seed,
    )


def train_step(paths: Paths, config: ModelConfig) -> dict[str, Any]:
    """Fit the model on ``build/preprocess/train`` into ``build/model``."""
    return train.run(
        paths.build / "preprocess" / "train",
        paths.build / "model",
        target=config.target,
        hyperparameters=config.hyperparameters,
        drop_columns=config.drop_columns,
        seed=config.split.seed,
        validation_path=paths.build / "preprocess" / "validation",
    )


def evaluate_step(paths: Paths, config: ModelConfig) -> dict[str, Any]:
    """Score ``build/model`` on the test split into ``build/evaluation``."""
    return evaluate.run(
        paths.build / "model",
        paths.build / "preprocess" / "test",
        paths.build / "evaluation",
        quality_gate_auc=config.quality_gate_auc,
    )


@contextmanager
def _exclusive(build: Path) -> Iterator[None]:
    """Hold ``build/.lock`` for the run; refuse a second concurrent run."""
    build.mkdir(parents=True, exist_ok=True)
    with (build / ".lock").open("a+") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PipelineBusyError(
                    f"another pipeline run is using {build}; wait for it to finish"
                ) from None
        yield


def _clear(build: Path) -> None:
    """Remove the previous run's step outputs so no stale file is mixed in."""
    for name in ("input", "preprocess", "model", "evaluation"):
        shutil.rmtree(build / name, ignore_errors=True)


def _replace(destination: Path, source: Path) -> None:
    """Copy ``source`` over ``destination`` atomically."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".partial")
    shutil.copyfile(source, partial)
    partial.replace(destination)
    logger.info("data: %s now holds the data of this run", destination)
