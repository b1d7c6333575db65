"""The main job on the real UCI data: render, train, gate, register, approve,
deploy, serve, and answer predictions, the way a user runs it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import HEART_DATA, render_template

ROW = "63,Male,typical angina,145,233,TRUE,lv hypertrophy,150,FALSE,2.3,downsloping,0,fixed defect"


@pytest.fixture(scope="module")
def heart_data() -> Path:
    path = Path(os.environ.get("HEART_DATA", HEART_DATA))
    if not path.is_file():
        if os.environ.get("REQUIRE_HEART_DATA"):
            pytest.fail(f"the heart data is required but {path} does not exist")
        pytest.skip(f"{path} does not exist; set HEART_DATA to the UCI CSV")
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return render_template(tmp_path_factory.mktemp("real") / "heart-disease-risk")


def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        [sys.executable, "-m", "heart_disease_risk", *args], cwd=project, env=env,
        capture_output=True, text=True, timeout=600,
    )


@pytest.fixture(scope="module")
def trained(project, heart_data) -> dict:
    result = cli(project, "pipeline", "run", "--data", str(heart_data))
    assert result.returncode == 0, result.stderr
    assert "registered version 1 (PendingManualApproval)" in result.stdout
    return json.loads((project / "registry/versions/1/package.json").read_text())


def test_hold_out_auc_is_honest(trained):
    auc, accuracy = trained["metrics"]["auc"], trained["metrics"]["accuracy"]
    assert 0.85 <= auc < 0.95, f"ROC AUC {auc:.3f}: below the gate, or a leak above 0.95"
    assert 0.75 <= accuracy < 0.95
    assert trained["approval_status"] == "PendingManualApproval"
    assert trained["lineage"]["data"]["rows_per_split"] == {
        "train": 644, "validation": 92, "test": 184}


def test_the_model_beats_a_constant_predictor(project, trained):
    report = json.loads((project / "registry/versions/1/evaluation/evaluation.json").read_text())
    matrix = report["binary_classification_metrics"]["confusion_matrix"]
    majority = max(sum(matrix["0"].values()), sum(matrix["1"].values())) / report["rows"]
    assert trained["metrics"]["accuracy"] > majority + 0.15


def test_model_card_describes_the_real_data(project, trained):
    card = (project / "registry/versions/1/model_card.md").read_text()
    assert "920 patients" in card
    assert "Cleveland 304" in card and "Switzerland 123" in card
    assert re.search(r"\| auc \| 0\.\d{3} \| 0\.\d{3}-0\.\d{3} \|", card)
    assert "train on three hospitals, test on the fourth" in card


def test_approved_model_is_served_on_the_local_endpoint(project, trained):
    assert cli(project, "models", "approve", "1", "--description", "test").returncode == 0
    deployed = cli(project, "deploy", "1", "--stage", "staging")
    assert deployed.returncode == 0, deployed.stderr

    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "heart_disease_risk", "serve", "--stage", "staging",
         "--port", "0"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/ping", timeout=10) as response:
            assert response.status == 200

        csv_request = urllib.request.Request(
            f"{base}/invocations", data=ROW.encode(), headers={"Content-Type": "text/csv"})
        with urllib.request.urlopen(csv_request, timeout=10) as response:
            [csv_answer] = json.load(response)["predictions"]

        record = dict(zip(
            ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalch", "exang",
             "oldpeak", "slope", "ca", "thal"], ROW.split(","), strict=True))
        json_request = urllib.request.Request(
            f"{base}/invocations", data=json.dumps(record).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(json_request, timeout=10) as response:
            [json_answer] = json.load(response)["predictions"]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)

    for answer in (csv_answer, json_answer):
        assert 0.0 <= answer["probability"] <= 1.0
        assert answer["label"] == int(answer["probability"] >= 0.5)
    assert csv_answer == json_answer  # one record, two encodings, one prediction
    captured = list((project / "captures/staging").rglob("*.jsonl"))
    assert sum(len(f.read_text().splitlines()) for f in captured) == 2


def test_batch_prediction_covers_every_row(project, trained, heart_data, tmp_path):
    output = tmp_path / "predictions.csv"
    result = cli(project, "predict", "--model-dir", "registry/versions/1/model",
                 "--input", str(heart_data), "--output", str(output))
    assert result.returncode == 0, result.stderr
    lines = output.read_text().splitlines()
    assert lines[0] == "id,label,probability"
    assert len(lines) == 921


PARITY_SCRIPT = """
import json, sys
import joblib, numpy as np
from pathlib import Path
from heart_disease_risk.data import read_csv, validate
from heart_disease_risk.features import feature_columns
from heart_disease_risk.inference import Predictor, parse_csv

model = Path("registry/versions/1/model")
pipeline, fast = joblib.load(model / "pipeline.joblib"), Predictor.load(model)
raw_csv = Path(sys.argv[1]).read_bytes()
frame = validate(read_csv(sys.argv[1]))
expected = pipeline.predict_proba(frame[feature_columns()])
got = fast.predict(parse_csv(raw_csv)).probabilities  # the raw file, as a client sends it

odd = frame.head(40).copy()
odd.loc[0:9, "cp"] = "never seen"
odd.loc[10:19, ["chol", "trestbps", "thalch", "oldpeak", "ca"]] = np.nan
odd.loc[20:29, ["sex", "thal", "slope", "fbs", "exang", "restecg"]] = np.nan
odd.loc[30:39, "thal"] = "unknown defect"
odd_expected = pipeline.predict_proba(odd[feature_columns()])
odd_got = fast.predict({c: odd[c].tolist() for c in feature_columns()}).probabilities
print(json.dumps({
    "rows": len(frame),
    "max_abs_diff": float(np.abs(expected - got).max()),
    "odd_max_abs_diff": float(np.abs(odd_expected - odd_got).max()),
    "booster": type(fast.booster).__name__,
}))
"""


def test_fast_path_matches_the_sklearn_pipeline_on_every_real_row(project, trained,
                                                                  heart_data):
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    result = subprocess.run(
        [sys.executable, "-c", PARITY_SCRIPT, str(heart_data)], cwd=project, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    parity = json.loads(result.stdout)
    assert parity == {"rows": 920, "max_abs_diff": 0.0, "odd_max_abs_diff": 0.0,
                      "booster": "NativeBooster"}
