"""AWS clients for the project, with checks that fail early and in one line.

Clients honour ``AWS_ENDPOINT_URL`` (a local stand-in such as moto) and the
project's region. Every ``ClientError`` a command does not expect turns into an
:class:`~..errors.AwsError` whose message names the call and the reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ..config import ProjectConfig
from ..errors import AwsError

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as error:
        raise AwsError(
            "the AWS commands need the [aws] extra: pip install -e '.[aws]'"
        ) from error
    return boto3


def check_region(region: str) -> str:
    """Return ``region`` if SageMaker is offered there, else raise ``AwsError``."""
    known = _boto3().session.Session().get_available_regions("sagemaker")
    if region not in known:
        raise AwsError(
            f"region '{region}' is not a region where SageMaker is available; "
            f"use one of {', '.join(sorted(known))} (MLOPS_AWS_REGION overrides it)"
        )
    return region


def client(service: str, region: str) -> Any:
    """A boto3 client for ``service`` in ``region`` (``AWS_ENDPOINT_URL`` aware)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    return _boto3().client(service, region_name=region, endpoint_url=endpoint)


class Clients:
    """The clients one command needs, created on first use and reused."""

    def __init__(self, config: ProjectConfig) -> None:
        """Check the region once; clients come later, when a command needs them."""
        self.config = config
        self.region = check_region(config.region)
        self._made: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        """``clients.sagemaker``, ``clients.s3``: the client of that service."""
        if service.startswith("_"):
            raise AttributeError(service)
        name = service.replace("_", "-")
        if name not in self._made:
            self._made[name] = client(name, self.region)
        return self._made[name]


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Exception) -> str:
    """The AWS error message of a ``ClientError``, or the exception's text."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message") or error).strip()


@contextmanager
def aws_call(what: str) -> Iterator[None]:
    """Turn botocore errors raised inside the block into one-line ``AwsError``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        raise AwsError(f"{what} failed: {error_message(error)}") from error
    except BotoCoreError as error:
        raise AwsError(f"{what} failed: {error}") from error


def paginate(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> list:
    """Every item under ``key`` of a list call that pages with ``NextToken``."""
    items: list = []
    while True:
        page = call(**kwargs)
        items.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return items
        kwargs["NextToken"] = token


def check_role(clients: Clients, role_arn: str) -> None:
    """Fail unless the execution role exists (checked in the caller's account only).

    A role in another account cannot be read from here; the job that uses it
    fails with AWS's own message instead.
    """
    from botocore.exceptions import ClientError

    with aws_call("reading the caller identity"):
        account = clients.sts.get_caller_identity()["Account"]
    role_account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    if role_account != account:
        logger.debug("role %s is in account %s; not checked", role_arn, role_account)
        return
    name = role_arn.rsplit("/", 1)[-1]
    try:
        clients.iam.get_role(RoleName=name)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            raise AwsError(
                f"the execution role '{role_arn}' does not exist in account "
                f"{account}; run 'terraform apply' in terraform/environments/dev or "
                "set MLOPS_SAGEMAKER_ROLE to an existing role"
            ) from error
        raise AwsError(
            f"cannot read the role '{name}': {error_message(error)}"
        ) from error


def check_bucket(clients: Clients, bucket: str) -> None:
    """Fail unless ``bucket`` exists, is readable and lives in the project's region."""
    from botocore.exceptions import ClientError

    try:
        location = clients.s3.get_bucket_location(Bucket=bucket)
    except ClientError as error:
        code = error_code(error)
        if code in ("NoSuchBucket", "404"):
            raise AwsError(
                f"bucket '{bucket}' does not exist; run 'terraform apply' or set "
                "the MLOPS_*_BUCKET variable to an existing bucket"
            ) from error
        raise AwsError(
            f"cannot read bucket '{bucket}': {error_message(error)}"
        ) from error
    region = location.get("LocationConstraint") or "us-east-1"
    if region == "EU":
        region = "eu-west-1"
    if region != clients.region:
        raise AwsError(
            f"bucket '{bucket}' is in {region}, but the project runs in "
            f"{clients.region}; SageMaker reads and writes only buckets of its region"
        )


def sagemaker_session(clients: Clients) -> Any:
    """A SageMaker SDK pipeline session on the project's region and artifact bucket.

    The session only records requests: building a definition starts no job.
    """
    try:
        from sagemaker.core.workflow.pipeline_context import PipelineSession
    except ImportError as error:
        raise AwsError(
            "the pipeline needs the SageMaker SDK: pip install -e '.[aws]'"
        ) from error
    boto_session = _boto3().session.Session(region_name=clients.region)
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=clients.sagemaker,
        default_bucket=clients.config.artifact_bucket,
    )
