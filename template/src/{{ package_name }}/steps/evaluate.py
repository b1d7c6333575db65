"""Evaluate step: score the trained pipeline on the hold-out rows.

Writes ``evaluation.json`` (SageMaker model-quality shape), the ROC,
precision-recall, calibration and confusion-matrix plots, and ``report.md`` /
``report.html``.
"""

from __future__ import annotations

import argparse
import json
import logging
import tarfile
from pathlib import Path
from typing import Any

import joblib

from .. import evaluation
from ..data import read_csv, validate
from ..features import label
from . import timed
from .preprocess import resolve_input
from .train import MODEL_CARD_FILE, PIPELINE_FILE

logger = logging.getLogger(__name__)

EVALUATION_FILE = "evaluation.json"


def run(
    model_dir: Path,
    test_path: Path | str,
    output_dir: Path,
    *,
    quality_gate_auc: float | None = None,
) -> dict[str, Any]:
    """Evaluate the model in ``model_dir`` on ``test_path``; write the report.

    Returns:
        The metrics dictionary written to ``evaluation.json``.
    """
    with timed("evaluate") as facts:
        model_dir = unpack_model(model_dir)
        summary = json.loads((model_dir / MODEL_CARD_FILE).read_text())
        target = summary["target"]
        pipeline = joblib.load(model_dir / PIPELINE_FILE)
        test = validate(read_csv(resolve_input(test_path)))
        y = label(test, target)
        proba = pipeline.predict_proba(test[summary["features"]])

        report = evaluation.compute(y, proba, target)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / EVALUATION_FILE).write_text(json.dumps(report, indent=2) + "\n")
        plots = evaluation.plot(y, proba, output_dir)
        evaluation.write_report(report, target, quality_gate_auc, plots, output_dir)
    numbers = evaluation.headline(report, target)
    logger.info(
        "evaluate: %d hold-out rows, ROC AUC %.3f, accuracy %.3f, F1 %.3f -> %s [%.1fs]",
        len(test),
        numbers["auc"],
        numbers["accuracy"],
        numbers["f1"],
        output_dir,
        facts["seconds"],
    )
    return report


def unpack_model(model_dir: Path) -> Path:
    """A model directory, unpacking SageMaker's ``model.tar.gz`` if that is given."""
    archive = model_dir / "model.tar.gz" if model_dir.is_dir() else model_dir
    if archive.name.endswith(".tar.gz") and archive.is_file():
        target = archive.parent / "unpacked"
        with tarfile.open(archive) as bundle:
            bundle.extractall(target, filter="data")
        return target
    return model_dir


def main(argv: list[str] | None = None) -> None:
    """Entry point of the SageMaker evaluation processing job."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test", default="/opt/ml/processing/test")
    parser.add_argument(
        "--output", type=Path, default=Path("/opt/ml/processing/evaluation")
    )
    parser.add_argument("--quality-gate-auc", type=float, default=None)
    args = parser.parse_args(argv)
    run(args.model, args.test, args.output, quality_gate_auc=args.quality_gate_auc)


if __name__ == "__main__":
    main()
