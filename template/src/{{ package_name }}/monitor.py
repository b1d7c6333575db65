"""Drift monitoring: the training baseline and its comparison with live traffic.

:func:`write_baseline` runs at training time and saves, next to the model,
what "normal" looks like: per numeric feature its quantile bin edges and
counts, summary statistics and missing-value rate; per categorical feature its
category frequencies; and the distribution of predicted probabilities.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import NUMERIC, RANGES

BASELINE_FILE = "baseline.json"
BINS = 10


def numeric_edges(values: np.ndarray, bins: int = BINS) -> list[float]:
    """Quantile bin edges of the observed values, widened to cover any value."""
    observed = values[~np.isnan(values)]
    inner = np.unique(np.quantile(observed, np.linspace(0, 1, bins + 1)[1:-1]))
    return [-np.inf, *inner.tolist(), np.inf]


def histogram(values: np.ndarray, edges: list[float]) -> list[int]:
    """Counts of the non-missing values in each bin (right-closed bins)."""
    observed = values[~np.isnan(values)]
    index = np.searchsorted(np.asarray(edges[1:-1]), observed, side="left")
    return np.bincount(index, minlength=len(edges) - 1).astype(int).tolist()


def write_baseline(
    train: pd.DataFrame, pipeline: Any, columns: list[str], target: str, model_dir: Path
) -> Path:
    """Save the statistics of the training rows next to the model."""
    features: dict[str, Any] = {}
    for column in columns:
        values = train[column]
        if column in NUMERIC:
            numbers = values.to_numpy(dtype=float)
            edges = numeric_edges(numbers)
            low, high = RANGES.get(column, (-np.inf, np.inf))
            features[column] = {
                "kind": "numeric",
                "missing_rate": float(np.isnan(numbers).mean()),
                "mean": float(np.nanmean(numbers)),
                "std": float(np.nanstd(numbers)),
                "min": float(np.nanmin(numbers)),
                "max": float(np.nanmax(numbers)),
                "range": [low, high],
                "edges": edges,
                "counts": histogram(numbers, edges),
            }
        else:
            counts = values.fillna("missing").value_counts()
            features[column] = {
                "kind": "categorical",
                "missing_rate": float(values.isna().mean()),
                "frequencies": {str(k): int(v) for k, v in counts.items()},
            }
    proba = pipeline.predict_proba(train[columns])
    disease = 1.0 - proba[:, 0]
    edges = np.linspace(0, 1, BINS + 1).tolist()
    baseline = {
        "target": target,
        "rows": len(train),
        "features": features,
        "prediction": {
            "edges": edges,
            "counts": np.histogram(disease, bins=edges)[0].astype(int).tolist(),
            "mean": float(disease.mean()),
        },
    }
    path = model_dir / BASELINE_FILE
    path.write_text(json.dumps(baseline, indent=2, allow_nan=True) + "\n")
    return path
