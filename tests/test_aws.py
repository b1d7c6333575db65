"""The rendered project's SageMaker runtime and its image, tested offline.

The rendered project's own aws-marked tests run against moto in a
subprocess; the image's entry points run on the real heart-disease data with
SageMaker's paths; the Dockerfile is linted and its lock file checked against
the versions the tests use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tomllib
import urllib.request
from pathlib import Path

import pytest
from conftest import HEART_DATA, TEMPLATE_ROOT, Render, require_tool

PACKAGE = "heart_disease_risk"  # package_name of the default answers
RECORDS = [
    {
        "age": 63,
        "sex": "Male",
        "cp": "typical angina",
        "trestbps": 145,
        "chol": 233,
        "fbs": True,
        "restecg": "lv hypertrophy",
        "thalch": 150,
        "exang": False,
        "oldpeak": 2.3,
        "slope": "downsloping",
        "ca": 0,
        "thal": "fixed defect",
    },
    {
        "age": 41,
        "sex": "Female",
        "cp": "atypical angina",
        "trestbps": 130,
        "chol": 0,
        "fbs": False,
        "restecg": "normal",
        "thalch": 172,
        "exang": False,
        "oldpeak": 1.4,
    },
]


def _env(project: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    for key in ("MLOPS_HOME", "AWS_ENDPOINT_URL", "MLOPS_IMAGE_URI"):
        env.pop(key, None)
    return env


def _python(project: Path, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=_env(project),
        capture_output=True,
        text=True,
        timeout=900,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "answers",
    [
        {},
        {
            "endpoint_kind": "instance",
            "multi_account": True,
            "staging_account_id": "210987654321",
        },
    ],
    ids=["defaults", "instance-multi-account"],
)
def test_rendered_aws_tests_pass_against_moto(render: Render, answers):
    pytest.importorskip("sagemaker", reason="the template's test extra holds it")
    project = render(**answers)

    result = _python(
        project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "aws", "tests"
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout)
    assert "skipped" not in result.stdout.splitlines()[-1]


def test_aws_commands_need_no_sdk_until_they_run(default_project: Path):
    blocked = "import sys; sys.modules['boto3'] = sys.modules['sagemaker'] = None\n"
    main = f"from {PACKAGE}.cli import main\n"
    helped = _python(
        default_project, "-c", blocked + main + "main(['aws', 'pipeline', '--help'])"
    )
    assert helped.returncode == 0, helped.stderr
    assert "definition" in helped.stdout and "upsert" in helped.stdout

    refused = _python(
        default_project, "-c", blocked + main + "exit(main(['aws', 'models', 'list']))"
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: the AWS commands need the [aws] extra: pip install -e '.[aws]'"
    )


def test_rendered_dockerfile_passes_hadolint(default_project: Path):
    hadolint = require_tool("hadolint")
    dockerfile = default_project / "docker" / "Dockerfile"
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'ENTRYPOINT ["python", "-m", "{PACKAGE}.aws.container"]' in (
        dockerfile.read_text()
    )


def test_image_lock_matches_the_tested_versions(default_project: Path):
    lock = (default_project / "docker" / "requirements.lock").read_text()
    locked = dict(re.findall(r"(?m)^([A-Za-z0-9_.-]+)==([^ \\\n]+)", lock))
    pyproject = tomllib.loads((TEMPLATE_ROOT / "pyproject.toml").read_text())
    tested = dict(
        line.split("==")
        for line in pyproject["project"]["optional-dependencies"]["test"]
        if "==" in line
    )
    rendered = tomllib.loads((default_project / "pyproject.toml").read_text())
    runtime = [
        re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
        for requirement in rendered["project"]["dependencies"]
    ]
    assert {name: locked.get(name) for name in runtime} == {
        name: tested[name] for name in runtime
    }
    assert "boto3" not in locked and "sagemaker" not in locked
    # Every pinned package carries hashes, so pip --require-hashes accepts it.
    assert lock.count("==") == len(locked) and "--hash=sha256:" in lock


def _container(project: Path, *args: str) -> None:
    result = _python(project, "-m", f"{PACKAGE}.aws.container", *args)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def real_data() -> Path:
    if not HEART_DATA.is_file():
        message = f"the heart-disease data is not at {HEART_DATA}"
        if os.environ.get("REQUIRE_HEART_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return HEART_DATA


@pytest.mark.slow
def test_container_entry_points_on_the_real_data(
    default_project: Path, real_data: Path, tmp_path: Path
):
    root = tmp_path / "opt" / "ml"
    processing = root / "processing"
    (processing / "input").mkdir(parents=True)
    shutil.copy(real_data, processing / "input" / "heart.csv")
    _container(
        default_project,
        "preprocess",
        "--input",
        str(processing / "input"),
        "--output",
        str(processing),
    )
    assert sum(1 for _ in (processing / "test" / "test.csv").open()) == 184 + 1

    channels = root / "input" / "data"
    for channel in ("train", "validation"):
        shutil.copytree(processing / channel, channels / channel)
    hyperparameters = root / "input" / "config" / "hyperparameters.json"
    hyperparameters.parent.mkdir(parents=True)
    hyperparameters.write_text(
        json.dumps(
            {
                "max_depth": "3",
                "n_estimators": "100",
                "learning_rate": "0.05",
                "target": "binary",
                "seed": "42",
            }
        )
    )
    _container(
        default_project,
        "train",
        "--train",
        str(channels / "train"),
        "--validation",
        str(channels / "validation"),
        "--model-dir",
        str(root / "model"),
        "--hyperparameters",
        str(hyperparameters),
    )

    packed = processing / "model"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as bundle:
        for path in sorted((root / "model").iterdir()):
            bundle.add(path, arcname=path.name)
    _container(
        default_project,
        "evaluate",
        "--model",
        str(packed),
        "--test",
        str(processing / "test"),
        "--output",
        str(processing / "evaluation"),
    )
    report = json.loads((processing / "evaluation" / "evaluation.json").read_text())
    auc = report["binary_classification_metrics"]["auc"]["value"]
    # The honest hold-out AUC is about 0.89; above 0.95 would mean a leak.
    assert 0.80 < auc < 0.95

    env = {**_env(default_project), "SM_MODEL_DIR": str(packed)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            f"{PACKAGE}.aws.container",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        cwd=default_project,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        for line in server.stderr:
            if found := re.search(r"on http://127\.0\.0\.1:(\d+)", line):
                port = int(found.group(1))
                break
        assert port, "serve exited before listening"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(RECORDS).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            predictions = json.loads(response.read())["predictions"]
        assert len(predictions) == len(RECORDS)
        for prediction in predictions:
            assert prediction["label"] in (0, 1)
            assert 0.0 <= prediction["probability"] <= 1.0
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
