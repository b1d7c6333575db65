"""The optional Service Catalog / SageMaker Projects part and its seed code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import Render, require_tool

ANSWERS = {"service_catalog_enabled": True}


@pytest.fixture(scope="module")
def catalog_project(render: Render) -> Path:
    return render(**ANSWERS)


def run_python(project: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the rendered package importable, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "MLOPS_HOME": str(project)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )


def test_service_catalog_part_is_absent_by_default(default_project: Path) -> None:
    assert not (default_project / "servicecatalog").exists()
    assert not list(default_project.glob("src/*/seed.py"))


def test_product_template_passes_cfn_lint(catalog_project: Path) -> None:
    cfn_lint = require_tool("cfn-lint")
    template = catalog_project / "servicecatalog" / "product.yaml"
    completed = subprocess.run(
        [cfn_lint, str(template)], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_product_is_visible_in_sagemaker_studio(catalog_project: Path) -> None:
    main = (catalog_project / "servicecatalog/terraform/main.tf").read_text()
    assert '"sagemaker:studio-visibility" = "true"' in main
    assert 'type         = "LAUNCH"' in main
    product = (catalog_project / "servicecatalog/product.yaml").read_text()
    assert "SageMakerProjectName:" in product and "SageMakerProjectId:" in product
    assert "Default: heart-disease-risk" in product


def test_seed_package_leaves_out_secrets_caches_state_and_data(
    catalog_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    subprocess.run(["cp", "-a", str(catalog_project), str(project)], check=True)
    unwanted = [
        ".git/config",
        ".venv/bin/python",
        ".env",
        "deploy.pem",
        "terraform/environments/dev/.terraform/plugin",
        "terraform/environments/dev/terraform.tfstate",
        "terraform/environments/dev/terraform.tfstate.backup",
        "src/cache/__pycache__/x.cpython-311.pyc",
        "data/raw/heart.csv",
        "build/leftover.txt",
        "registry/v1/model.json",
    ]
    for name in unwanted:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("must not ship")

    completed = run_python(
        project,
        """
        from pathlib import Path
        from heart_disease_risk.seed import package_seed
        print(package_seed(Path("."), Path("build/seed.zip")))
        """,
    )
    assert completed.returncode == 0, completed.stderr

    with zipfile.ZipFile(project / "build" / "seed.zip") as archive:
        names = set(archive.namelist())
    assert not names & set(unwanted)
    assert "config/project.yaml" in names
    assert "terraform/environments/dev/main.tf" in names
    assert "servicecatalog/product.yaml" in names
    assert not any(name.startswith(("data/raw", ".git/", "build/")) for name in names)


def test_seed_upload_puts_the_zip_into_s3(
    catalog_project: Path, tmp_path: Path
) -> None:
    pytest.importorskip("moto")
    zip_path = tmp_path / "seed.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("README.md", "seed")

    completed = run_python(
        catalog_project,
        f"""
        import boto3
        from moto import mock_aws
        from pathlib import Path
        from heart_disease_risk.seed import content_key, upload_seed

        with mock_aws():
            session = boto3.Session(region_name="eu-west-1")
            s3 = session.client("s3")
            s3.create_bucket(
                Bucket="seed-bucket",
                CreateBucketConfiguration={{"LocationConstraint": "eu-west-1"}},
            )
            key = content_key(Path({str(zip_path)!r}))
            print(upload_seed(Path({str(zip_path)!r}), "seed-bucket", key, session))
            print(s3.head_object(Bucket="seed-bucket", Key=key)["ContentLength"])
        """,
    )
    assert completed.returncode == 0, completed.stderr
    uri, size = completed.stdout.split()
    assert uri.startswith("s3://seed-bucket/seed/") and uri.endswith(".zip")
    assert int(size) == zip_path.stat().st_size


def test_seed_commands_are_on_the_cli(catalog_project: Path) -> None:
    completed = run_python(
        catalog_project,
        """
        import argparse
        from heart_disease_risk.seed import add_commands

        parser = argparse.ArgumentParser()
        add_commands(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["seed", "upload", "--bucket", "b"])
        print(args.seed_command, args.bucket, args.zip)
        """,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["upload", "b", "build/seed.zip"]
