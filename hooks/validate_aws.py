"""Check that the AWS credentials at hand fit the answers of a rendered project.

Copier runs this script after ``copier copy --trust`` when the answer
``validate_aws_access`` is true. It checks, through the standard credential
chain (environment, ``AWS_PROFILE``, shared files, SSO, instance roles):

1. the caller identity;
2. that the caller's account is the answered ``aws_account_id``;
3. that the answered region is enabled for that account;
4. that each answered bucket is free, or already owned by this account in the
   answered region;
5. that the SageMaker execution role exists (an ARN answer) or can be created
   by Terraform (a name answer).

It talks to AWS through boto3 when it can be imported, otherwise through the
AWS CLI, otherwise it says that nothing was checked. ``AWS_ENDPOINT_URL`` is
honoured by both, so the checks also run against a local AWS stand-in.

Exit status: 0 unless ``--strict`` is given, because a failing Copier task
deletes the project it has just rendered. With ``--strict``: 0 when every check
passed (warnings allowed), 1 when a check failed, 3 when nothing could be
checked (no boto3 and no AWS CLI). ``--json PATH`` (or the environment variable
``OPEN_MLOPS_VALIDATION_REPORT``) also writes the verdict as JSON for scripts.

Only the standard library is imported at module level.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"
EXIT_PASSED, EXIT_FAILED, EXIT_NOT_CHECKED = 0, 1, 3
REPORT_ENV = "OPEN_MLOPS_VALIDATION_REPORT"
ENABLED_REGION_STATES = ("opt-in-not-required", "opted-in")
ROLE_ARN = re.compile(
    r"^arn:aws[\w-]*:iam::(?P<account>\d{12}):role/"
    r"(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})$"
)
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


class AwsError(Exception):
    """A failed AWS call, reduced to an error code and a message."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the AWS error code (or one of ours) next to the message."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """The answers to check."""

    account_id: str
    region: str
    buckets: dict[str, str]
    role: str


@dataclass(frozen=True)
class Check:
    """The verdict of one check and the sentence that explains it."""

    name: str
    verdict: str
    message: str


# ------------------------------------------------------------------ backends ---


class Boto3Backend:
    """AWS calls through boto3, with short timeouts and few retries."""

    name = "boto3"

    def __init__(self, region: str) -> None:
        """Open a session on the standard credential chain (honours AWS_PROFILE)."""
        import boto3
        import botocore.config
        import botocore.exceptions

        self._errors = botocore.exceptions
        self._config = botocore.config.Config(
            connect_timeout=5,
            read_timeout=20,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        try:
            self._session = boto3.session.Session(region_name=region)
        except self._errors.ProfileNotFound as error:
            raise AwsError("ProfileNotFound", str(error)) from error

    def _call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            client = self._session.client(service, config=self._config)
            return getattr(client, operation)(**kwargs)
        except self._errors.ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code") or "ClientError")
            raise AwsError(code, str(details.get("Message") or error)) from error
        except (
            self._errors.NoCredentialsError,
            self._errors.PartialCredentialsError,
        ) as error:
            raise AwsError("NoCredentials", str(error)) from error
        except (
            self._errors.EndpointConnectionError,
            self._errors.ConnectTimeoutError,
            self._errors.ReadTimeoutError,
        ) as error:
            raise AwsError("Unreachable", str(error)) from error
        except self._errors.BotoCoreError as error:
            raise AwsError(type(error).__name__, str(error)) from error

    def caller_identity(self) -> dict[str, Any]:
        """Return Account and Arn of the caller."""
        return self._call("sts", "get_caller_identity")

    def regions(self) -> list[dict[str, Any]]:
        """Return every region with its opt-in status."""
        return self._call("ec2", "describe_regions", AllRegions=True)["Regions"]

    def owned_buckets(self) -> set[str]:
        """Return the names of the caller's buckets."""
        return {b["Name"] for b in self._call("s3", "list_buckets")["Buckets"]}

    def bucket_exists(self, bucket: str) -> bool:
        """Return whether a bucket of that name exists in any account."""
        try:
            self._call("s3", "head_bucket", Bucket=bucket)
        except AwsError as error:
            if error.code in ("404", "NoSuchBucket", "NotFound"):
                return False
            if error.code in ("403", "301", "AccessDenied", "PermanentRedirect"):
                return True
            raise
        return True

    def bucket_region(self, bucket: str) -> str:
        """Return the LocationConstraint of a bucket the caller owns."""
        location = self._call("s3", "get_bucket_location", Bucket=bucket)
        return location.get("LocationConstraint") or ""

    def role(self, name: str) -> dict[str, Any] | None:
        """Return the role of that name, or None when there is none."""
        try:
            return self._call("iam", "get_role", RoleName=name)["Role"]
        except AwsError as error:
            if error.code == "NoSuchEntity":
                return None
            raise


class CliBackend(Boto3Backend):
    """The same calls through the AWS CLI, for a Python without boto3."""

    name = "aws-cli"
    _ERROR_CODE = re.compile(r"An error occurred \(([^)]+)\)")
    _OPERATIONS = {
        ("sts", "get_caller_identity"): ["sts", "get-caller-identity"],
        ("ec2", "describe_regions"): ["ec2", "describe-regions", "--all-regions"],
        ("s3", "list_buckets"): ["s3api", "list-buckets"],
        ("s3", "head_bucket"): ["s3api", "head-bucket"],
        ("s3", "get_bucket_location"): ["s3api", "get-bucket-location"],
        ("iam", "get_role"): ["iam", "get-role"],
    }

    def __init__(self, region: str, executable: str) -> None:
        """Remember the region and the CLI to run."""
        self._region = region
        self._executable = executable

    def _call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        command = [self._executable, *self._OPERATIONS[service, operation]]
        for key, value in kwargs.items():
            if key == "Bucket":
                command += ["--bucket", value]
            elif key == "RoleName":
                command += ["--role-name", value]
        command += ["--region", self._region, "--output", "json"]
        command += ["--cli-connect-timeout", "5", "--cli-read-timeout", "20"]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AwsError(
                "Unreachable", f"the AWS CLI did not answer: {error}"
            ) from error
        if completed.returncode != 0:
            raise self._error(completed.stderr.strip())
        return json.loads(completed.stdout) if completed.stdout.strip() else {}

    def _error(self, stderr: str) -> AwsError:
        last_line = stderr.splitlines()[-1] if stderr else "the AWS CLI failed"
        if "Unable to locate credentials" in stderr:
            return AwsError("NoCredentials", last_line)
        if "Could not connect to the endpoint URL" in stderr:
            return AwsError("Unreachable", last_line)
        if "could not be found" in stderr and "profile" in stderr:
            return AwsError("ProfileNotFound", last_line)
        match = self._ERROR_CODE.search(stderr)
        return AwsError(match.group(1) if match else "CliError", last_line)


def open_backend(region: str, choice: str) -> Boto3Backend | None:
    """Return the first usable backend of ``choice``, or None when none is."""
    if choice in ("auto", "boto3"):
        try:
            return Boto3Backend(region)
        except ImportError:
            if choice == "boto3":
                return None
    executable = shutil.which("aws")
    if choice in ("auto", "cli") and executable:
        return CliBackend(region, executable)
    return None


# -------------------------------------------------------------------- checks ---


def explain(error: AwsError, action: str) -> str:
    """Turn an AWS error into one sentence that says what to do."""
    if error.code == "NoCredentials":
        return (
            "no AWS credentials found (environment, AWS_PROFILE, shared files, "
            "SSO or instance role); log in, e.g. 'aws sso login --profile NAME' "
            "and 'export AWS_PROFILE=NAME', then re-run"
        )
    if error.code == "ProfileNotFound":
        return f"{error.message}; set AWS_PROFILE to a profile in ~/.aws/config"
    if error.code == "Unreachable":
        return f"could not reach AWS to {action} (offline or blocked): {error.message}"
    if error.code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return "the AWS credentials have expired; log in again and re-run"
    if error.code in ("AccessDenied", "UnauthorizedOperation", "403"):
        return f"not allowed to {action} ({error.code}); the check was not made"
    return f"could not {action}: {error}"


def check_identity(backend: Boto3Backend) -> tuple[Check, str | None]:
    """Return the identity check and the caller's account (None on failure)."""
    try:
        identity = backend.caller_identity()
    except AwsError as error:
        return Check("identity", FAIL, explain(error, "read the caller identity")), None
    return Check("identity", PASS, f"calling as {identity['Arn']}"), identity["Account"]


def check_account(target: Target, account: str) -> Check:
    """The credentials must belong to the answered account."""
    if account == target.account_id:
        return Check("account", PASS, f"{account} is the answered aws_account_id")
    return Check(
        "account",
        FAIL,
        f"the credentials are for account {account}, but aws_account_id is "
        f"{target.account_id}; use credentials of {target.account_id} "
        "(e.g. another AWS_PROFILE) or correct the answer",
    )


def check_region(backend: Boto3Backend, target: Target) -> Check:
    """The answered region must be enabled for the account."""
    try:
        regions = {r["RegionName"]: r.get("OptInStatus") for r in backend.regions()}
    except AwsError as error:
        return Check("region", WARN, explain(error, "list the enabled regions"))
    status = regions.get(target.region, "unknown")
    if target.region not in regions:
        return Check("region", FAIL, f"{target.region} is not a region of this account")
    if status in ENABLED_REGION_STATES:
        return Check("region", PASS, f"{target.region} is enabled")
    if status == "opting-in":
        return Check("region", WARN, f"{target.region} is being enabled; wait a little")
    return Check(
        "region",
        FAIL,
        f"{target.region} is not enabled ({status}) in account {target.account_id}; "
        "enable it under Account > AWS Regions or answer another region",
    )


def normalise_region(location: str) -> str:
    """Map S3's LocationConstraint to a region name."""
    return {"": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def check_bucket(
    backend: Boto3Backend, target: Target, label: str, owned: set[str] | None
) -> Check:
    """The bucket must be free, or ours in the answered region."""
    name = f"{label} bucket"
    bucket = target.buckets[label]
    try:
        if owned is not None and bucket in owned:
            region = normalise_region(backend.bucket_region(bucket))
            if region == target.region:
                return Check(name, PASS, f"{bucket} is already ours in {region}")
            return Check(
                name,
                FAIL,
                f"{bucket} is ours but in {region}, not {target.region}; "
                "answer another bucket name or move the project to that region",
            )
        if not backend.bucket_exists(bucket):
            return Check(name, PASS, f"{bucket} is free; Terraform will create it")
    except AwsError as error:
        return Check(name, WARN, explain(error, f"look up bucket {bucket}"))
    if owned is None:
        return Check(
            name,
            WARN,
            f"{bucket} exists, but this account may not list its buckets "
            "(s3:ListAllMyBuckets), so its owner is unknown",
        )
    return Check(
        name,
        FAIL,
        f"{bucket} exists in another AWS account (bucket names are global); "
        "answer another name",
    )


def check_role(backend: Boto3Backend, target: Target) -> Check:
    """An ARN must name an existing role; a name is created by Terraform."""
    match = ROLE_ARN.match(target.role)
    name = match.group("name") if match else target.role
    try:
        role = backend.role(name)
    except AwsError as error:
        verdict = WARN if match else PASS
        suffix = "" if match else f"{name} will be created by Terraform; "
        return Check("sagemaker role", verdict, suffix + explain(error, "read roles"))

    if match is None:
        if role is None:
            return Check("sagemaker role", PASS, f"{name} will be created by Terraform")
        return Check(
            "sagemaker role",
            WARN,
            f"a role named {name} already exists ({role['Arn']}); unless this "
            "project's Terraform created it, 'terraform apply' will fail: "
            "answer its ARN instead or choose another name",
        )
    if match.group("account") != target.account_id:
        return Check(
            "sagemaker role",
            FAIL,
            f"{target.role} is in account {match.group('account')}, not in "
            f"{target.account_id}; SageMaker needs a role of the same account",
        )
    if role is None or role["Arn"] != target.role:
        found = f" (a role of that name is {role['Arn']})" if role else ""
        return Check(
            "sagemaker role",
            FAIL,
            f"{target.role} does not exist{found}; create it, or answer a role "
            "name so that Terraform creates it",
        )
    if SAGEMAKER_PRINCIPAL not in json.dumps(role.get("AssumeRolePolicyDocument")):
        return Check(
            "sagemaker role",
            WARN,
            f"{target.role} exists, but its trust policy does not name "
            f"{SAGEMAKER_PRINCIPAL}, so SageMaker cannot assume it",
        )
    return Check("sagemaker role", PASS, f"{target.role} exists")


def run_checks(backend: Boto3Backend, target: Target) -> Iterator[Check]:
    """Yield every check in order; later checks are skipped without identity."""
    identity, account = check_identity(backend)
    yield identity
    later = ["account", "region", *(f"{b} bucket" for b in target.buckets)]
    later.append("sagemaker role")
    if account is None:
        yield from (Check(n, SKIP, "needs a caller identity") for n in later)
        return

    yield (account_check := check_account(target, account))
    if account_check.verdict == FAIL:
        reason = "the credentials are for another account"
        yield from (Check(n, SKIP, reason) for n in later[1:])
        return

    yield check_region(backend, target)
    try:
        owned: set[str] | None = backend.owned_buckets()
    except AwsError:
        owned = None
    for label in target.buckets:
        yield check_bucket(backend, target, label, owned)
    yield check_role(backend, target)


# ---------------------------------------------------------------------- main ---


def read_answers(path: Path) -> dict[str, str]:
    """Read the top-level scalar answers of a Copier answers file.

    PyYAML is used when importable; otherwise a line reader handles the flat
    ``key: value`` lines Copier writes.
    """
    text = path.read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:
        answers = {}
        for line in text.splitlines():
            match = re.match(r"^([A-Za-z_][\w-]*):\s*(.*?)\s*$", line)
            if match:
                answers[match.group(1)] = match.group(2).strip("'\"")
        return answers
    return {k: str(v) for k, v in (yaml.safe_load(text) or {}).items()}


def parse_target(argv: list[str] | None) -> tuple[argparse.Namespace, Target]:
    """Parse the command line into options and the answers to check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers-file", type=Path, help="read the answers from it")
    parser.add_argument("--account-id", help="answer aws_account_id")
    parser.add_argument("--region", help="answer aws_region")
    parser.add_argument("--data-bucket", help="answer data_bucket")
    parser.add_argument("--artifact-bucket", help="answer artifact_bucket")
    parser.add_argument("--log-bucket", help="answer log_bucket")
    parser.add_argument("--role", help="answer sagemaker_role (name or ARN)")
    parser.add_argument("--backend", choices=("auto", "boto3", "cli"), default="auto")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a failure")
    parser.add_argument(
        "--json",
        type=Path,
        default=os.environ.get(REPORT_ENV) or None,
        help=f"also write the report as JSON here (default: ${REPORT_ENV})",
    )
    args = parser.parse_args(argv)

    answers = read_answers(args.answers_file) if args.answers_file else {}
    fields = {
        "account_id": args.account_id or answers.get("aws_account_id"),
        "region": args.region or answers.get("aws_region"),
        "data": args.data_bucket or answers.get("data_bucket"),
        "artifacts": args.artifact_bucket or answers.get("artifact_bucket"),
        "logs": args.log_bucket or answers.get("log_bucket"),
        "role": args.role or answers.get("sagemaker_role"),
    }
    missing = [key for key, value in fields.items() if not value]
    if missing:
        parser.error(f"missing answers: {', '.join(missing)} (or give --answers-file)")
    buckets = {key: fields[key] for key in ("data", "artifacts", "logs")}
    target = Target(fields["account_id"], fields["region"], buckets, fields["role"])
    return args, target


def verdict_of(checks: list[Check]) -> str:
    """FAIL when any check failed, else PASS."""
    return FAIL if any(c.verdict == FAIL for c in checks) else PASS


def report(target: Target, backend_name: str, checks: list[Check]) -> str:
    """Format the checks as a short table with a verdict line."""
    lines = [
        f"AWS access check of account {target.account_id} in {target.region} "
        f"(through {backend_name}):"
    ]
    lines += [f"  {c.verdict:<4}  {c.name:<16} {c.message}" for c in checks]
    failed = sum(c.verdict == FAIL for c in checks)
    warned = sum(c.verdict == WARN for c in checks)
    if failed:
        lines.append(
            f"Verdict: FAIL ({failed} of {len(checks)} checks failed). The "
            "rendered project is kept; fix the above, then re-run this script "
            "with --answers-file .copier-answers.yml --strict."
        )
    else:
        note = f", {warned} warning(s)" if warned else ""
        lines.append(f"Verdict: PASS ({len(checks)} checks{note}).")
    return "\n".join(lines)


def write_json(path: Path, verdict: str, backend: str, checks: list[Check]) -> None:
    """Write the verdict for scripts (never inside a Copier-tracked file)."""
    payload = {"verdict": verdict, "backend": backend}
    payload["checks"] = [asdict(c) for c in checks]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run the checks, print the report and return the exit status."""
    args, target = parse_target(argv)
    try:
        backend = open_backend(target.region, args.backend)
    except AwsError as error:
        checks = [Check("identity", FAIL, explain(error, "open an AWS session"))]
        backend_name = args.backend
    else:
        if backend is None:
            message = (
                "AWS access check skipped: neither boto3 nor the AWS CLI is "
                "available to this Python. Install one (pip install boto3) and "
                "re-run with --answers-file .copier-answers.yml --strict."
            )
            out(message)
            if args.json:
                write_json(args.json, SKIP, "none", [])
            return EXIT_NOT_CHECKED if args.strict else EXIT_PASSED
        backend_name = backend.name
        checks = list(run_checks(backend, target))

    verdict = verdict_of(checks)
    out(report(target, backend_name, checks))
    if args.json:
        write_json(args.json, verdict, backend_name, checks)
    if args.strict and verdict == FAIL:
        return EXIT_FAILED
    return EXIT_PASSED


def run_as_task(argv: list[str] | None = None) -> int:
    """Like main, but never let an unexpected error fail a Copier task."""
    strict = "--strict" in (sys.argv[1:] if argv is None else argv)
    try:
        return main(argv)
    except Exception as error:  # a failing task deletes the project
        if strict:
            raise
        print(
            f"AWS access check stopped unexpectedly ({error!r}); the project is kept."
        )
        return EXIT_PASSED


if __name__ == "__main__":
    sys.exit(run_as_task())
