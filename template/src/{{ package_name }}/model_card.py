"""The model card written next to every registered model version.

It answers what a reviewer asks before approving a model: what it is for and
not for, what data it learned from, how good it is on the hold-out (with 95%
bootstrap intervals), how well its probabilities are calibrated, how it does
at a hospital it never saw, whether it passed the quality gate, and what is
known to be wrong with it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from . import evaluation
from .data import read_csv, validate
from .features import build_pipeline, feature_columns, label

logger = logging.getLogger(__name__)

CARD_FILE = "model_card.md"
CARD_JSON = "model_card.json"

# What the model is not for and what is known to be wrong with it: the local
# Markdown card and the card on AWS (aws/card.py) both say exactly this.
OUT_OF_SCOPE = (
    "Diagnosis or treatment decisions without a clinician.",
    "Populations unlike the four 1980s hospitals in the data (children, "
    "other countries, today's treatment practice) without new validation.",
    "Inputs outside the documented ranges, or with most features missing.",
)
LIMITATIONS = (
    "Small data (920 patients); intervals above are wide.",
    "The hospitals measured different things: Switzerland has no "
    "cholesterol, most hospitals lack `ca` and `thal`; a model can partly "
    "learn which hospital a row came from through its missing values.",
    "Collected in 1981-1988; disease prevalence differs strongly between "
    "hospitals, so probabilities need recalibration at a new site.",
    "Sex is imbalanced (about 79% male).",
)


def intended_use(target: str) -> str:
    """What a model of ``target`` is for, in one paragraph."""
    what = (
        "any heart disease (num > 0)"
        if target == "binary"
        else "heart-disease severity (num 0-4)"
    )
    return (
        f"Estimates the probability of {what} from routine clinical measurements "
        "(age, sex, chest pain type, resting blood pressure, cholesterol, fasting "
        "blood sugar, resting ECG, maximum heart rate, exercise angina, ST "
        "depression and slope, fluoroscopy vessels, thalassemia), to support "
        "triage and research by clinicians who review every prediction."
    )


def cross_hospital(
    frame: Any,
    target: str,
    hyperparameters: dict[str, Any],
    seed: int = 42,
    columns: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Train on all hospitals but one and test on the one left out, for each."""
    columns = columns or feature_columns()
    results = []
    for hospital in sorted(frame["dataset"].dropna().unique()):
        held_out = frame["dataset"] == hospital
        train, test = frame[~held_out], frame[held_out]
        y_test = label(test, target)
        if len(np.unique(y_test)) < 2 or len(np.unique(label(train, target))) < 2:
            continue
        pipeline = build_pipeline(target, hyperparameters, columns, seed=seed)
        pipeline.fit(train[columns], label(train, target))
        proba = pipeline.predict_proba(test[columns])
        if proba.shape[1] != 2 and len(np.unique(y_test)) < proba.shape[1]:
            auc = None  # a class absent at this hospital: macro AUC is undefined
        else:
            auc = evaluation.auc(y_test, proba)
        accuracy = float((proba.argmax(axis=1) == y_test).mean())
        results.append(
            {
                "hospital": str(hospital),
                "rows": int(len(test)),
                "auc": auc,
                "accuracy": accuracy,
            }
        )
    return results


def build(version: Any, lineage: dict[str, Any]) -> dict[str, Any]:
    """The card's facts, from the registered version and its training data."""
    package = version.package
    target = package["target"]
    report = json.loads((version.evaluation_dir / "evaluation.json").read_text())
    body = report[evaluation.metric_kind(target)]
    card: dict[str, Any] = {
        "version": version.number,
        "target": target,
        "quality_gate": package["quality_gate"],
        "hold_out": {
            "rows": report["rows"],
            **{
                name: {
                    "value": item["value"],
                    "ci95": item.get("confidence_interval_95"),
                }
                for name, item in body.items()
                if isinstance(item, dict) and "value" in item
            },
        },
        "lineage": lineage,
    }
    data_path = lineage.get("data", {}).get("path")
    if data_path and Path(data_path).is_file():
        frame = validate(read_csv(data_path))
        y = label(frame, target)
        card["training_data"] = {
            "rows": int(len(frame)),
            "rows_per_hospital": {
                str(k): int(v) for k, v in frame["dataset"].value_counts().items()
            },
            "class_balance": {
                str(k): int(v)
                for k, v in zip(*np.unique(y, return_counts=True), strict=True)
            },
            "missing_rate": {
                c: round(float(frame[c].isna().mean()), 3)
                for c in package.get("features") or feature_columns()
                if frame[c].isna().any()
            },
        }
        card["cross_hospital"] = cross_hospital(
            frame,
            target,
            package.get("hyperparameters", {}),
            seed=package.get("seed", 42),
            columns=package.get("features"),
        )
    return card


def render_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown."""
    gate = card["quality_gate"]
    lines = [
        f"# Model card: version {card['version']}",
        "",
        "## Intended use",
        "",
        intended_use(card["target"]),
        "",
        "## Out of scope",
        "",
        *(f"- {item}" for item in OUT_OF_SCOPE),
        "",
        "## Training data",
        "",
    ]
    data = card.get("training_data")
    splits = card["lineage"].get("data", {}).get("rows_per_split")
    if data:
        used = (
            f" (the model trained on {splits['train']}; {splits['test']} were held "
            "out for the metrics below)"
            if splits
            else ""
        )
        lines += [
            f"UCI heart-disease data, {data['rows']} patients{used}. Rows per hospital: "
            + ", ".join(f"{k} {v}" for k, v in data["rows_per_hospital"].items())
            + ". Class balance: "
            + ", ".join(f"class {k}: {v}" for k, v in data["class_balance"].items())
            + ".",
            "",
            "Missing values (share of rows): "
            + ", ".join(f"{k} {v:.0%}" for k, v in data["missing_rate"].items())
            + ". Zero cholesterol and zero blood pressure count as missing.",
            "",
        ]
    else:
        lines += ["The training data was not available when the card was written.", ""]
    hold_out = card["hold_out"]
    lines += [
        f"## Hold-out metrics ({hold_out['rows']} rows, 95% bootstrap intervals)",
        "",
        "| metric | value | 95% interval |",
        "|---|---|---|",
    ]
    for name, item in hold_out.items():
        if isinstance(item, dict):
            ci = item.get("ci95") or [float("nan"), float("nan")]
            lines.append(f"| {name} | {item['value']:.3f} | {ci[0]:.3f}-{ci[1]:.3f} |")
    brier = hold_out.get("brier_score")
    lines += [
        "",
        "## Calibration",
        "",
        (
            f"Brier score {brier['value']:.3f} (lower is better; always predicting "
            "the base rate scores about 0.25). "
            if brier
            else ""
        )
        + "The reliability plot is `evaluation/calibration.png`.",
        "",
        "## Cross-hospital results (train on three hospitals, test on the fourth)",
        "",
        "| held-out hospital | rows | ROC AUC | accuracy |",
        "|---|---|---|---|",
    ]
    for row in card.get("cross_hospital", []):
        auc = "n/a" if row["auc"] is None else f"{row['auc']:.3f}"
        lines.append(
            f"| {row['hospital']} | {row['rows']} | {auc} | {row['accuracy']:.3f} |"
        )
    lines += [
        "",
        "## Quality gate",
        "",
        f"Hold-out ROC AUC {gate['value']:.3f} against a gate of "
        f"{gate['threshold']:.3f}: {'passed' if gate['passed'] else 'failed'}.",
        "",
        "## Monitoring",
        "",
        "`model/baseline.json` holds the training rows' per-feature distributions "
        "and out-of-fold predicted probabilities; `monitor --stage <stage>` "
        "compares an endpoint's captured traffic with it.",
        "",
        "## Known limitations",
        "",
        *(f"- {item}" for item in LIMITATIONS),
        "",
    ]
    return "\n".join(lines)


def write_model_card(version: Any, lineage: dict[str, Any]) -> Path:
    """Write ``model_card.md`` and ``model_card.json`` into the version folder."""
    card = build(version, lineage)
    (version.path / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n")
    path = version.path / CARD_FILE
    path.write_text(render_markdown(card), encoding="utf-8")
    logger.info("model card: %s", path)
    return path
