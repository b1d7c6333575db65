"""A synthetic sample in the heart-disease layout, for tests and offline demos.

The rows are invented: features are drawn conditionally on a latent disease
flag so a model can learn something, with missing values where the real data
has them. Never use it to judge a model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import COLUMNS


def generate(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """``rows`` synthetic patients in the 16-column layout."""
    rng = np.random.default_rng(seed)
    disease = rng.random(rows) < 0.55

    def pick(
        options: list[str], p_sick: list[float], p_well: list[float]
    ) -> np.ndarray:
        sick = rng.choice(options, rows, p=p_sick)
        well = rng.choice(options, rows, p=p_well)
        return np.where(disease, sick, well)

    def missing(values: np.ndarray, rate: float) -> np.ndarray:
        values = values.astype(object)
        values[rng.random(rows) < rate] = None
        return values

    trestbps = rng.normal(134, 19, rows).round().clip(90, 200)
    trestbps[rng.random(rows) < 0.03] = 0  # the real data codes "not measured" as 0
    chol = rng.normal(235, 55, rows).round().clip(110, 560)
    chol[rng.random(rows) < 0.08] = 0
    frame = pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "age": np.where(disease, rng.normal(56, 8, rows), rng.normal(51, 9, rows))
            .round()
            .clip(29, 77)
            .astype(int),
            "sex": pick(["Male", "Female"], [0.88, 0.12], [0.68, 0.32]),
            "dataset": rng.choice(
                ["Cleveland", "Hungary", "Switzerland", "VA Long Beach"],
                rows,
                p=[0.33, 0.32, 0.13, 0.22],
            ),
            "cp": pick(
                ["typical angina", "atypical angina", "non-anginal", "asymptomatic"],
                [0.04, 0.06, 0.15, 0.75],
                [0.06, 0.34, 0.35, 0.25],
            ),
            "trestbps": trestbps,
            "chol": chol,
            "fbs": missing(pick(["TRUE", "FALSE"], [0.2, 0.8], [0.12, 0.88]), 0.1),
            "restecg": pick(
                ["normal", "st-t abnormality", "lv hypertrophy"],
                [0.55, 0.25, 0.2],
                [0.65, 0.15, 0.2],
            ),
            "thalch": np.where(
                disease, rng.normal(128, 22, rows), rng.normal(149, 21, rows)
            )
            .round()
            .clip(60, 202),
            "exang": missing(pick(["TRUE", "FALSE"], [0.55, 0.45], [0.15, 0.85]), 0.06),
            "oldpeak": np.where(
                disease, rng.exponential(1.3, rows), rng.exponential(0.45, rows)
            )
            .round(1)
            .clip(0, 6.2),
            "slope": missing(
                pick(
                    ["upsloping", "flat", "downsloping"],
                    [0.2, 0.68, 0.12],
                    [0.6, 0.33, 0.07],
                ),
                0.3,
            ),
            "ca": missing(
                pick(
                    ["0", "1", "2", "3"],
                    [0.3, 0.3, 0.25, 0.15],
                    [0.8, 0.12, 0.05, 0.03],
                ),
                0.6,
            ),
            "thal": missing(
                pick(
                    ["normal", "fixed defect", "reversable defect"],
                    [0.25, 0.1, 0.65],
                    [0.8, 0.05, 0.15],
                ),
                0.5,
            ),
            "num": np.where(
                disease, rng.choice([1, 2, 3, 4], rows, p=[0.45, 0.2, 0.25, 0.1]), 0
            ),
        }
    )
    return frame[list(COLUMNS)]
