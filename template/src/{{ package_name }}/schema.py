"""The schema of the heart-disease data, shared by every part of the package.

Kept free of heavy imports so configuration and serving can use it without
loading pandas.
"""

COLUMNS = (
    "id",
    "age",
    "sex",
    "dataset",
    "cp",
    "trestbps",
    "chol",
    "fbs",
    "restecg",
    "thalch",
    "exang",
    "oldpeak",
    "slope",
    "ca",
    "thal",
    "num",
)
LABEL = "num"
NUMERIC = ("age", "trestbps", "chol", "thalch", "oldpeak", "ca")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "sex": ("Male", "Female"),
    "dataset": ("Cleveland", "Hungary", "Switzerland", "VA Long Beach"),
    "cp": ("typical angina", "atypical angina", "non-anginal", "asymptomatic"),
    "fbs": ("true", "false"),
    "restecg": ("normal", "st-t abnormality", "lv hypertrophy"),
    "exang": ("true", "false"),
    "slope": ("upsloping", "flat", "downsloping"),
    "thal": ("normal", "fixed defect", "reversable defect"),
}
BOOLEANS = ("fbs", "exang")
# Physiologically possible ranges (inclusive). Values outside are data errors.
RANGES: dict[str, tuple[float, float]] = {
    "age": (1, 120),
    "trestbps": (50, 250),
    "chol": (50, 700),
    "thalch": (40, 250),
    "oldpeak": (-5, 10),
    "ca": (0, 3),
    LABEL: (0, 4),
}
# The dataset records an unmeasured blood pressure or cholesterol as 0.
ZERO_IS_MISSING = ("trestbps", "chol")
# What a prediction request carries: every column but the row id, the hospital
# and the label, in the data's order (also the order of the UCI source files).
INPUT_COLUMNS = tuple(c for c in COLUMNS if c not in ("id", "dataset", LABEL))
# How a boolean cell may be written (compared lower-case), and its canonical form.
BOOLEAN_WORDS = {
    "true": "true",
    "1": "true",
    "1.0": "true",
    "yes": "true",
    "false": "false",
    "0": "false",
    "0.0": "false",
    "no": "false",
}
# Cell texts that mean "missing", besides an empty cell.
MISSING_WORDS = frozenset({"", "nan", "NaN", "None", "NA", "null"})
