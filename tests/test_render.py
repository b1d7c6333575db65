"""Rendering: every answer combination gives a clean, working project."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

COMBINATIONS = {
    "defaults": {},
    "severity-instance": {
        "target": "severity",
        "endpoint_kind": "instance",
        "endpoint_instance_type": "ml.c6i.xlarge",
        "monitoring_enabled": False,
    },
    "odd-names": {
        "project_name": "Ünïcode & \"Quotes\" Cardio-Risk 2",
        "project_slug": "x9",
        "package_name": "cardio_risk_v2",
        "description": 'Says "hi" \\ and {{ braces }} stay literal',
        "team_name": "t",
        "aws_region": "ap-southeast-5",
        "resource_prefix": "x9",
        "tags": {"cost-center": "12345", "Owner Name": "Dr. A/B"},
        "multi_account": True,
        "staging_account_id": "210987654321",
        "production_account_id": "109876543210",
        "sagemaker_role": "arn:aws:iam::123456789012:role/ml/ExistingRole",
        "service_catalog_enabled": True,
    },
}
# A Jinja expression or statement that escaped rendering (Python's {"a": {...}}
# and f-string "%}" are not matches; GitHub's ${{ }} is removed before matching).


class _AnyTagLoader(yaml.SafeLoader):
    """Safe YAML loading that accepts CloudFormation's !Ref, !Sub and friends."""


_AnyTagLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node)
    if isinstance(node, yaml.ScalarNode) else None
)

JINJA_LEFTOVER = re.compile(
    r"{{-?\s*[A-Za-z_][\w.|() ']*-?}}"
    r"|{%-?\s*(if|elif|else|endif|for|endfor|raw|endraw|set|macro|from|import)\b"
)


@pytest.fixture(scope="module", params=list(COMBINATIONS))
def project(request, render) -> tuple[str, Path]:
    return request.param, render(**COMBINATIONS[request.param])


def _files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]


def test_no_unrendered_jinja_remains(project):
    name, root = project
    leftovers = []
    for path in _files(root):
        if path.suffix == ".jinja":
            leftovers.append(f"{path}: .jinja suffix")
            continue
        text = path.read_text(errors="ignore")
        # GitHub expressions ${{ }} are meant to stay in workflows.
        text = re.sub(r"\$\{\{.*?\}\}", "", text)
        if name == "odd-names":
            text = text.replace("{{ braces }}", "")
        if JINJA_LEFTOVER.search(text):
            leftovers.append(str(path.relative_to(root)))
    assert leftovers == []


def test_every_data_file_parses(project):
    _, root = project
    parsed = 0
    for path in _files(root):
        if path.suffix in (".yml", ".yaml"):
            yaml.load(path.read_text(), Loader=_AnyTagLoader)  # noqa: S506
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix == ".json" or path.suffix == ".ipynb":
            json.loads(path.read_text())
        else:
            continue
        parsed += 1
    assert parsed >= 5


def test_answers_file_records_answers_but_no_secrets(project):
    name, root = project
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text())
    assert answers["_src_path"]
    for key, value in COMBINATIONS[name].items():
        assert answers[key] == value, key
    text = (root / ".copier-answers.yml").read_text().lower()
    for word in ("secret", "password", "aws_access_key", "token"):
        assert word not in text


def test_project_settings_follow_the_answers(project):
    name, root = project
    settings = yaml.safe_load((root / "config" / "project.yaml").read_text())
    model = yaml.safe_load((root / "config" / "model.yaml").read_text())
    answers = COMBINATIONS[name]
    assert model["target"] == answers.get("target", "binary")
    assert settings["aws"]["region"] == answers.get("aws_region", "eu-west-1")
    assert settings["endpoint"]["kind"] == answers.get("endpoint_kind", "serverless")
    if name == "odd-names":
        assert settings["aws"]["staging_account_id"] == "210987654321"
        assert settings["aws"]["tags"]["Owner Name"] == "Dr. A/B"
        assert settings["project"]["name"] == COMBINATIONS[name]["project_name"]


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    env.pop("MLOPS_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=root, env=env, capture_output=True,
        text=True, timeout=900,
    )


def test_rendered_project_passes_ruff(project):
    _, root = project
    check = _run(root, "ruff", "check", "--no-cache", ".")
    assert check.returncode == 0, check.stdout + check.stderr
    formatted = _run(root, "ruff", "format", "--check", "--no-cache", ".")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


@pytest.mark.slow
def test_rendered_project_tests_pass(project):
    _, root = project
    result = _run(root, "pytest", "-q", "-p", "no:cacheprovider", "-m", "not aws")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout)
