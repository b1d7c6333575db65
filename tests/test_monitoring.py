"""Drift monitoring of the rendered project, measured on the real data.

Same-distribution windows must rarely raise drift; shifted windows must. The
measurement runs the rendered project's own code in a subprocess and prints
its numbers (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_notebook import heart_data

# Runs inside the rendered project (cwd), with its package on PYTHONPATH.
MEASURE = r"""
import json, sys
from pathlib import Path

import numpy as np
import pandas as pd

from heart_disease_risk import monitor
from heart_disease_risk.data import read_csv, validate
from heart_disease_risk.features import feature_columns
from heart_disease_risk.inference import Predictor
from heart_disease_risk.steps import preprocess, train

source, work = sys.argv[1], Path(sys.argv[2])
full = validate(read_csv(source))
columns = feature_columns()
preprocess.run(source, work / "preprocess")
train.run(work / "preprocess" / "train", work / "model")
baseline = monitor.load_baseline(work / "model")
predictor = Predictor.load(work / "model")
parts = [work / "preprocess" / s / f"{s}.csv" for s in ("validation", "test")]
held_out = pd.concat([validate(read_csv(p)) for p in parts], ignore_index=True)

def check(frame, base=baseline, predict=True):
    values = frame[columns].to_dict(orient="list")
    disease = 1 - predictor.predict(values).probabilities[:, 0] if predict else None
    return monitor.compare(base, values, disease)

rng = np.random.default_rng(0)
out = {"false_alarms": {}}
# Features only, over fresh random splits of all 920 rows (644 baseline rows).
for n in (50, 100, 200):
    alarms = []
    for _ in range(200):
        order = rng.permutation(len(full))
        base = {"features": monitor.feature_baseline(full.iloc[order[:644]], columns)}
        alarms.append(check(full.iloc[order[644 : 644 + n]], base, False)["drift"])
    out["false_alarms"][f"features, n={n}, fresh splits"] = float(np.mean(alarms))
# Features and predictions of the trained model, windows from its hold-out rows.
alarms = [
    check(held_out.sample(100, random_state=int(rng.integers(2**31))))["drift"]
    for _ in range(200)
]
out["false_alarms"]["features+prediction, n=100, hold-out"] = float(np.mean(alarms))

flipped = {
    "typical angina": "asymptomatic", "asymptomatic": "typical angina",
    "atypical angina": "non-anginal", "non-anginal": "atypical angina",
}
scenarios = {
    "same distribution (hold-out)": held_out,
    "age + 15 years": held_out.assign(age=held_out["age"] + 15),
    "chest pain flipped": held_out.assign(cp=held_out["cp"].map(flipped)),
    "cholesterol missing": held_out.assign(chol=np.nan),
    "Switzerland only": full[full["dataset"] == "Switzerland"],
}
out["scenarios"] = {}
for name, frame in scenarios.items():
    summary = check(frame)
    features = summary["features"]
    out["scenarios"][name] = {
        "rows": summary["rows"],
        "drifted": summary["drifted"],
        "psi": {k: r["psi"] for k, r in features.items()},
        "p_value": {k: r["p_value"] for k, r in features.items()},
        "missing": {k: r["missing_rate"]["current"] for k, r in features.items()},
        "prediction_psi": summary["prediction"]["psi"],
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def measured(default_project, tmp_path_factory) -> dict:
    data = heart_data()
    work = tmp_path_factory.mktemp("drift")
    env = {**os.environ, "PYTHONPATH": str(default_project / "src")}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(data), str(work)],
        cwd=default_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    numbers = json.loads(result.stdout.splitlines()[-1])
    _print(numbers)
    return numbers


def _print(numbers: dict) -> None:
    print("\nfalse-alarm rate (same distribution, 200 windows each):")
    for name, rate in numbers["false_alarms"].items():
        print(f"  {name}: {rate:.1%}")
    for name, scenario in numbers["scenarios"].items():
        top = sorted(scenario["psi"].items(), key=lambda kv: -(kv[1] or 0))[:3]
        shown = ", ".join(f"{k} {v:.2f}" for k, v in top if v is not None)
        print(
            f"{name} ({scenario['rows']} rows): drifted {scenario['drifted'] or '-'}; "
            f"top PSI {shown}; prediction PSI {scenario['prediction_psi']:.2f}"
        )


@pytest.mark.slow
def test_same_distribution_rarely_raises_drift_on_the_real_data(measured):
    for name, rate in measured["false_alarms"].items():
        assert rate <= 0.05, name
    assert measured["scenarios"]["same distribution (hold-out)"]["drifted"] == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "feature"),
    [
        ("age + 15 years", "age"),
        ("chest pain flipped", "cp"),
        ("cholesterol missing", "chol"),
        ("Switzerland only", "chol"),
    ],
)
def test_shifted_real_data_raises_drift(measured, scenario, feature):
    result = measured["scenarios"][scenario]

    assert feature in result["drifted"]
