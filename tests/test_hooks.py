"""The Copier task scripts under hooks/, against moto's server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from conftest import TEMPLATE_ROOT
from moto.server import ThreadedMotoServer

HOOKS = TEMPLATE_ROOT / "hooks"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111111111111"
REGION = "eu-west-1"
BUCKETS = {
    "--data-bucket": "heart-123456789012-eu-west-1-data",
    "--artifact-bucket": "heart-123456789012-eu-west-1-artifacts",
    "--log-bucket": "heart-123456789012-eu-west-1-logs",
}
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hook_{name}", HOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validate_aws = load_hook("validate_aws")
terraform_init = load_hook("terraform_init")


@pytest.fixture(autouse=True)
def _copier_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty mapping: Copier 9.19 rejects an empty settings file."""
    settings = tmp_path / "copier-settings.yml"
    settings.write_text("{}\n")
    monkeypatch.setenv("COPIER_SETTINGS_PATH", str(settings))


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh moto account 123456789012 behind AWS_ENDPOINT_URL."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    return moto_endpoint


def check(*extra: str, role: str = "heart-sagemaker-execution") -> tuple[int, str]:
    """Run validate_aws in-process with --strict; return status and report."""
    lines: list[str] = []
    argv = [f"--account-id={ACCOUNT}", f"--region={REGION}", f"--role={role}"]
    argv += [f"{flag}={bucket}" for flag, bucket in BUCKETS.items()]
    status = validate_aws.main([*argv, "--strict", *extra], out=lines.append)
    return status, "\n".join(lines)


def line_of(report: str, name: str) -> str:
    """The report line of one check."""
    matches = [line for line in report.splitlines() if f"  {name} " in line]
    assert len(matches) == 1, report
    return matches[0].strip()


def other_account_credentials() -> dict[str, str]:
    """Credentials of moto account 111111111111 (moto maps assumed roles)."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/any", RoleSessionName="tests"
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


# ------------------------------------------------------------- validate_aws ---


def test_validate_aws_passes_for_the_right_account(aws: str) -> None:
    status, report = check()

    assert status == 0
    assert line_of(report, "account").startswith(f"PASS  account          {ACCOUNT}")
    assert line_of(report, "region") == "PASS  region           eu-west-1 is enabled"
    assert line_of(report, "data bucket").endswith(
        "heart-123456789012-eu-west-1-data is free; Terraform will create it"
    )
    assert line_of(report, "sagemaker role") == (
        "PASS  sagemaker role   heart-sagemaker-execution will be created by Terraform"
    )
    assert report.splitlines()[-1] == "Verdict: PASS (7 checks)."


def test_validate_aws_passes_for_owned_buckets_and_an_existing_role(aws: str) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in BUCKETS.values():
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    role = boto3.client("iam").create_role(
        RoleName="team-role", AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST)
    )["Role"]["Arn"]

    status, report = check(role=role)

    assert status == 0, report
    assert line_of(report, "logs bucket") == (
        "PASS  logs bucket      heart-123456789012-eu-west-1-logs is already ours "
        "in eu-west-1"
    )
    assert line_of(report, "sagemaker role") == (
        f"PASS  sagemaker role   {role} exists"
    )


@pytest.mark.parametrize("how", ["answer", "credentials"])
def test_validate_aws_fails_for_another_account(
    aws: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "credentials":
        monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")
        caller, answered = "210987654321", ACCOUNT
        status, report = check()
    else:
        caller, answered = ACCOUNT, "999999999999"
        status, report = check(f"--account-id={answered}")

    assert status == 1
    assert line_of(report, "account") == (
        f"FAIL  account          the credentials are for account {caller}, but "
        f"aws_account_id is {answered}; use credentials of {answered} "
        "(e.g. another AWS_PROFILE) or correct the answer"
    )
    assert line_of(report, "data bucket").startswith("SKIP")
    assert report.splitlines()[-1].startswith("Verdict: FAIL (1 of 7 checks failed)")


def test_validate_aws_fails_for_a_bucket_of_another_account(aws: str) -> None:
    other = boto3.client("s3", region_name=REGION, **other_account_credentials())
    other.create_bucket(
        Bucket=BUCKETS["--artifact-bucket"],
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )

    status, report = check()

    assert status == 1
    assert line_of(report, "artifacts bucket") == (
        "FAIL  artifacts bucket heart-123456789012-eu-west-1-artifacts exists in "
        "another AWS account (bucket names are global); answer another name"
    )
    assert line_of(report, "data bucket").startswith("PASS")


def test_validate_aws_fails_for_our_bucket_in_another_region(aws: str) -> None:
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket=BUCKETS["--data-bucket"],
        CreateBucketConfiguration={"LocationConstraint": "us-west-2"},
    )

    status, report = check()

    assert status == 1
    assert line_of(report, "data bucket") == (
        "FAIL  data bucket      heart-123456789012-eu-west-1-data is ours but in "
        "us-west-2, not eu-west-1; answer another bucket name or move the project "
        "to that region"
    )


def test_validate_aws_fails_for_a_missing_role_arn(aws: str) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:role/service/missing-role"

    status, report = check(role=arn)

    assert status == 1
    assert line_of(report, "sagemaker role") == (
        f"FAIL  sagemaker role   {arn} does not exist; create it, or answer a role "
        "name so that Terraform creates it"
    )


def test_validate_aws_fails_for_a_role_arn_of_another_account(aws: str) -> None:
    status, report = check(role=f"arn:aws:iam::{OTHER_ACCOUNT}:role/x")

    assert status == 1
    assert "is in account 111111111111, not in 123456789012" in report


def test_validate_aws_warns_for_a_role_sagemaker_cannot_assume(aws: str) -> None:
    trust = json.loads(json.dumps(SAGEMAKER_TRUST).replace("sagemaker", "ec2"))
    arn = boto3.client("iam").create_role(
        RoleName="ec2-role", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]

    status, report = check(role=arn)

    assert status == 0
    assert line_of(report, "sagemaker role").startswith("WARN")
    assert "does not name sagemaker.amazonaws.com" in report
    assert report.splitlines()[-1] == "Verdict: PASS (7 checks, 1 warning(s))."


def test_validate_aws_warns_when_the_role_name_is_taken(aws: str) -> None:
    boto3.client("iam").create_role(
        RoleName="heart-sagemaker-execution",
        AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST),
    )

    status, report = check()

    assert status == 0
    assert line_of(report, "sagemaker role").startswith(
        "WARN  sagemaker role   a role named heart-sagemaker-execution already exists"
    )


def test_validate_aws_fails_for_a_region_not_enabled(aws: str) -> None:
    status, report = check("--region=ap-east-1")

    assert status == 1
    assert line_of(report, "region") == (
        "FAIL  region           ap-east-1 is not enabled (not-opted-in) in account "
        "123456789012; enable it under Account > AWS Regions or answer another region"
    )


def test_validate_aws_fails_plainly_without_credentials(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    for key in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        empty = tmp_path / key.lower()
        empty.write_text("")
        monkeypatch.setenv(key, str(empty))

    status, report = check()

    assert status == 1
    assert line_of(report, "identity").startswith(
        "FAIL  identity         no AWS credentials found"
    )
    assert [line.split()[0] for line in report.splitlines()[2:-1]] == ["SKIP"] * 6
    assert "Traceback" not in report


def test_validate_aws_honours_aws_profile(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = other_account_credentials()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    shared = tmp_path / "credentials"
    shared.write_text(
        "[other]\n" + "".join(f"{k} = {v}\n" for k, v in credentials.items())
    )
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "other")

    status, report = check(f"--account-id={OTHER_ACCOUNT}")
    assert status == 0, report
    assert f"calling as arn:aws:sts::{OTHER_ACCOUNT}:" in report

    monkeypatch.setenv("AWS_PROFILE", "missing")
    status, report = check()
    assert status == 1
    assert "The config profile (missing) could not be found" in report


def test_validate_aws_writes_a_json_verdict(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(validate_aws.REPORT_ENV, str(tmp_path / "verdict.json"))

    check("--account-id=999999999999")

    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert verdict["verdict"] == "FAIL"
    assert verdict["backend"] == "boto3"
    assert [c["verdict"] for c in verdict["checks"]][:2] == ["PASS", "FAIL"]


def test_validate_aws_reads_the_answers_file(aws: str, tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text(
        "# Changes here will be overwritten by Copier\n"
        f"aws_account_id: '{ACCOUNT}'\naws_region: {REGION}\n"
        + "".join(f"{f[2:].replace('-', '_')}: {b}\n" for f, b in BUCKETS.items())
        + "sagemaker_role: heart-sagemaker-execution\n"
    )
    lines: list[str] = []

    status = validate_aws.main(
        ["--answers-file", str(answers), "--strict"], out=lines.append
    )

    assert status == 0, lines
    assert lines[-1].endswith("Verdict: PASS (7 checks).")


def run_script(
    script: str, *args: str, cwd: Path | None = None, path: str, no_site: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a hook the way Copier does, with a chosen PATH and optionally -S."""
    env = {**os.environ, "PATH": path}
    command = [sys.executable, *(["-S"] if no_site else []), str(HOOKS / script)]
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


ANSWER_ARGS = [f"--account-id={ACCOUNT}", f"--region={REGION}", "--role=r"] + [
    f"{flag}={bucket}" for flag, bucket in BUCKETS.items()
]


def test_validate_aws_skips_clearly_without_boto3_and_cli(
    aws: str, tmp_path: Path
) -> None:
    loose = run_script(
        "validate_aws.py", *ANSWER_ARGS, path=str(tmp_path), no_site=True
    )
    strict = run_script(
        "validate_aws.py", *ANSWER_ARGS, "--strict", path=str(tmp_path), no_site=True
    )

    assert loose.returncode == 0
    assert loose.stdout.startswith(
        "AWS access check skipped: neither boto3 nor the AWS CLI is available"
    )
    assert strict.returncode == 3
    assert loose.stderr == strict.stderr == ""


@pytest.mark.slow
def test_validate_aws_falls_back_to_the_aws_cli(aws: str) -> None:
    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI is not installed")
    boto3.client("iam").create_role(
        RoleName="cli-role", AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST)
    )
    other = boto3.client("s3", region_name=REGION, **other_account_credentials())
    other.create_bucket(
        Bucket=BUCKETS["--log-bucket"],
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )
    args = [*ANSWER_ARGS[:2], f"--role=arn:aws:iam::{ACCOUNT}:role/cli-role"]
    args += ANSWER_ARGS[3:]

    result = run_script(
        "validate_aws.py", *args, "--strict", path=os.environ["PATH"], no_site=True
    )

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("(through aws-cli):")
    assert [line.split()[0] for line in lines[1:-1]] == [
        *["PASS"] * 5,
        "FAIL",
        "PASS",
    ]
    assert "logs bucket      heart-123456789012-eu-west-1-logs exists in another" in (
        result.stdout
    )


# ----------------------------------------------------------- terraform_init ---


def make_terraform_project(root: Path) -> dict[str, str]:
    """Two roots and one module, each with a main.tf; return their texts."""
    files = {
        "terraform/environments/dev/main.tf": 'resource "terraform_data" "dev" {}\n',
        "terraform/bootstrap/main.tf": 'resource "terraform_data" "state" {}\n',
        "terraform/modules/bucket/main.tf": 'variable "name" {\n  type = string\n}\n',
        "README.md": "# project\n",
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return files


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and ".terraform" not in p.parts
    }


def test_terraform_init_finds_roots_but_not_modules(tmp_path: Path) -> None:
    make_terraform_project(tmp_path)

    roots = terraform_init.find_roots(tmp_path)

    assert [r.relative_to(tmp_path).as_posix() for r in roots] == [
        "terraform/bootstrap",
        "terraform/environments/dev",
    ]


def test_terraform_init_skips_clearly_without_terraform(tmp_path: Path) -> None:
    make_terraform_project(tmp_path)
    empty_path = tmp_path / "bin"
    empty_path.mkdir()

    loose = run_script("terraform_init.py", cwd=tmp_path, path=str(empty_path))
    strict = run_script(
        "terraform_init.py", "--strict", cwd=tmp_path, path=str(empty_path)
    )

    assert loose.returncode == 0
    assert loose.stdout == (
        "terraform init skipped: terraform is not on PATH. Install it, then run "
        "'terraform -chdir=<root> init -backend=false' in: terraform/bootstrap, "
        "terraform/environments/dev\n"
    )
    assert strict.returncode == 3


def fake_terraform(bin_dir: Path, exit_code: int) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "terraform"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$@" >> "$(dirname "$0")/calls"\n'
        'echo "Error: Failed to query available provider packages" >&2\n'
        f"exit {exit_code}\n"
    )
    script.chmod(0o755)


def test_terraform_init_reports_a_failed_init_and_keeps_every_file(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    make_terraform_project(project)
    before = snapshot(project)
    fake_terraform(tmp_path / "bin", exit_code=1)
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"

    loose = run_script("terraform_init.py", cwd=project, path=path)
    strict = run_script("terraform_init.py", "--strict", cwd=project, path=path)

    assert loose.returncode == 0
    assert strict.returncode == 1
    lines = loose.stdout.splitlines()
    assert lines[0] == "  FAIL  terraform init in terraform/bootstrap"
    assert lines[1] == "      Error: Failed to query available provider packages"
    assert lines[-1].startswith(
        "terraform init failed in 2 of 2 roots (terraform/bootstrap, "
        "terraform/environments/dev); the registry may be unreachable"
    )
    assert "Every rendered file is kept" in lines[-1]
    assert snapshot(project) == before
    calls = (tmp_path / "bin" / "calls").read_text().splitlines()
    assert calls[0] == (
        f"-chdir={project}/terraform/bootstrap init -backend=false -input=false "
        "-no-color"
    )


def test_terraform_init_runs_offline_for_roots_without_providers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    project = tmp_path / "project"
    make_terraform_project(project)
    before = snapshot(project)
    (tmp_path / "terraformrc").write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "terraformrc"))
    monkeypatch.chdir(project)

    status = terraform_init.main(["--strict"])

    assert status == 0
    assert {k: v for k, v in snapshot(project).items() if k in before} == before


# --------------------------------------------------------- copier copy (e2e) ---


@pytest.mark.slow
def test_copy_keeps_the_project_when_every_task_fails(aws: str, tmp_path: Path) -> None:
    fake_terraform(tmp_path / "bin", exit_code=1)
    destination = tmp_path / "project"
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        validate_aws.REPORT_ENV: str(tmp_path / "verdict.json"),
    }
    copier = Path(sys.executable).with_name("copier")
    command = [str(copier), "copy", "--trust", "--defaults", "--vcs-ref=HEAD"]
    command += ["--data=validate_aws_access=true", "--data=run_terraform_init=true"]
    command += ["--data=aws_account_id=999999999999"]

    result = subprocess.run(
        [*command, str(TEMPLATE_ROOT), str(destination)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "FAIL  account          the credentials are for account 123456789012" in (
        output
    )
    assert "Verdict: FAIL (1 of 7 checks failed). The rendered project is kept" in (
        output
    )
    assert json.loads((tmp_path / "verdict.json").read_text())["verdict"] == "FAIL"
    assert (destination / ".copier-answers.yml").is_file()
    assert (destination / "config" / "project.yaml").is_file()
    if terraform_init.find_roots(destination):
        assert "the registry may be unreachable" in output
    else:
        assert "terraform init skipped: no Terraform root" in output
    answers = (destination / ".copier-answers.yml").read_text()
    assert "aws_account_id: '999999999999'" in answers
    assert "testing" not in answers
