"""Shared fixtures: render the template the way a user would, once per answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import copier
import pytest

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
HEART_DATA = TEMPLATE_ROOT.parent / "shared" / "data" / "heart_disease_uci.csv"
TOOLS_BIN = TEMPLATE_ROOT / ".tools" / "bin"

Render = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep user settings, git identity and AWS out of every test."""
    settings = tmp_path_factory.mktemp("copier-settings") / "settings.yml"
    settings.write_text("{}\n")
    saved = dict(os.environ)
    os.environ.update(
        {
            "COPIER_SETTINGS_PATH": str(settings),
            "GIT_AUTHOR_NAME": "Template Tests",
            "GIT_AUTHOR_EMAIL": "tests@open-mlops.invalid",
            "GIT_COMMITTER_NAME": "Template Tests",
            "GIT_COMMITTER_EMAIL": "tests@open-mlops.invalid",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "CHECKPOINT_DISABLE": "1",
            "PATH": f"{TOOLS_BIN}{os.pathsep}{os.environ['PATH']}",
        }
    )
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


def render_template(destination: Path, **answers: object) -> Path:
    """Render the working tree of the template into ``destination``."""
    copier.run_copy(
        str(TEMPLATE_ROOT),
        destination,
        data=answers,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """Render once per distinct set of answers in a session; returns the project."""
    cache: dict[str, Path] = {}

    def _render(**answers: object) -> Path:
        key = json.dumps(answers, sort_keys=True)
        if key not in cache:
            destination = tmp_path_factory.mktemp("project") / "project"
            cache[key] = render_template(destination, **answers)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def default_project(render: Render) -> Path:
    """The project rendered with every default answer."""
    return render()


def require_tool(name: str) -> str:
    """Path of a linter; fail in CI when it is missing, skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed; run 'bash scripts/bootstrap.sh'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its standard output."""
    completed = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return completed.stdout
