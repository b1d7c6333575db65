"""Register step: the quality gate, then a new version in the local registry.

A model whose hold-out ROC AUC is below the gate is not registered: the step
raises :class:`~..errors.QualityGateError` and the registry is unchanged.
"""

from __future__ import annotations

import json
import logging
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import evaluation
from ..errors import QualityGateError
from ..model_card import write_model_card
from ..registry import LocalRegistry, ModelVersion
from . import timed
from .evaluate import EVALUATION_FILE
from .train import MODEL_CARD_FILE

logger = logging.getLogger(__name__)


def check_quality_gate(report: dict[str, Any], target: str, threshold: float) -> float:
    """Return the hold-out ROC AUC, or raise when it is below ``threshold``."""
    auc = evaluation.headline(report, target)["auc"]
    if not auc >= threshold:  # NaN (an undefined AUC) fails too
        raise QualityGateError(
            f"hold-out ROC AUC {auc:.3f} is below the quality gate {threshold:.3f}; "
            "the model was not registered"
        )
    logger.info("quality gate: ROC AUC %.3f >= %.3f, passed", auc, threshold)
    return auc


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()


def code_version(root: Path) -> dict[str, Any]:
    """The package version and, inside a git checkout, the commit and dirtiness."""
    package = __package__.split(".")[0]
    try:
        version = metadata.version(package.replace("_", "-"))
    except metadata.PackageNotFoundError:
        version = "unknown"
    facts: dict[str, Any] = {"package_version": version}
    try:
        commit = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
        facts.update(git_commit=commit, git_dirty=bool(dirty))
    except (OSError, subprocess.SubprocessError):
        facts["git_commit"] = None
    return facts


def run(
    registry: LocalRegistry,
    model_dir: Path,
    evaluation_dir: Path,
    *,
    quality_gate_auc: float,
    lineage: dict[str, Any],
) -> ModelVersion:
    """Check the gate, then register the model as PendingManualApproval."""
    with timed("register") as facts:
        report = json.loads((evaluation_dir / EVALUATION_FILE).read_text())
        summary = json.loads((model_dir / MODEL_CARD_FILE).read_text())
        target = summary["target"]
        auc = check_quality_gate(report, target, quality_gate_auc)
        metadata_ = {
            "target": target,
            "metrics": evaluation.headline(report, target),
            "quality_gate": {
                "metric": "auc",
                "threshold": quality_gate_auc,
                "value": auc,
                "passed": True,
            },
            "hyperparameters": summary["hyperparameters"],
            "features": summary["features"],
            "seed": summary["seed"],
            "lineage": lineage,
        }
        version = registry.register(
            model_dir,
            evaluation_dir,
            metadata_,
            describe=lambda new: write_model_card(new, lineage),
        )
    logger.info(
        "register: version %d, ROC AUC %.3f, status %s [%.1fs]",
        version.number,
        auc,
        version.status,
        facts["seconds"],
    )
    return version
