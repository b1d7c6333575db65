"""Features, labels and the scikit-learn training pipeline.

Everything fitted lives inside one :class:`~sklearn.pipeline.Pipeline`, so the
imputers and encoders only ever see training rows, and the label never feeds
them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from xgboost import XGBClassifier

from .data import CATEGORIES, LABEL, NUMERIC

FEATURE_CATEGORIES = tuple(c for c in CATEGORIES if c != "dataset")
MISSING_CATEGORY = "missing"
CLASSES = {"binary": (0, 1), "severity": (0, 1, 2, 3, 4)}


def feature_columns(drop_columns: tuple[str, ...] = ("id", "dataset")) -> list[str]:
    """Columns the model reads, in the order the pipeline expects them."""
    return [c for c in (*NUMERIC, *FEATURE_CATEGORIES) if c not in drop_columns]


def label(frame: pd.DataFrame, target: str) -> np.ndarray:
    """The label for ``target``: ``binary`` is num > 0, ``severity`` is num."""
    num = frame[LABEL].to_numpy(dtype=int)
    return (num > 0).astype(int) if target == "binary" else num


def build_pipeline(
    target: str,
    hyperparameters: Mapping[str, float | int],
    columns: list[str],
    seed: int = 42,
) -> Pipeline:
    """Imputation and one-hot encoding followed by XGBoost, unfitted."""
    numeric = [c for c in columns if c in NUMERIC]
    categorical = [c for c in columns if c in FEATURE_CATEGORIES]
    preprocess = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median", add_indicator=True), numeric),
            (
                "categorical",
                Pipeline(
                    [
                        (
                            "impute",
                            SimpleImputer(
                                strategy="constant", fill_value=MISSING_CATEGORY
                            ),
                        ),
                        (
                            "encode",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                        ),
                    ]
                ),
                categorical,
            ),
        ],
        verbose_feature_names_out=True,
    )
    objective = "binary:logistic" if target == "binary" else "multi:softprob"
    model = XGBClassifier(
        objective=objective,
        n_jobs=1,
        random_state=seed,
        tree_method="hist",
        **dict(hyperparameters),
    )
    return Pipeline([("preprocess", preprocess), ("model", model)])
