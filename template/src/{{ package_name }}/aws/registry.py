"""The SageMaker Model Registry: list model packages, approve or reject them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ..errors import AwsError
from .session import Clients, aws_call, error_code, error_message, paginate

logger = logging.getLogger(__name__)

APPROVED, REJECTED, PENDING = "Approved", "Rejected", "PendingManualApproval"
PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9-]+/\d+$"
)


@dataclass(frozen=True)
class ModelPackage:
    """One version of the model package group."""

    arn: str
    version: int
    status: str
    created: str
    description: str = ""


def _package(summary: dict[str, Any]) -> ModelPackage:
    created = summary.get("CreationTime")
    return ModelPackage(
        arn=summary["ModelPackageArn"],
        version=int(
            summary.get("ModelPackageVersion")
            or summary["ModelPackageArn"].rsplit("/", 1)[-1]
        ),
        status=summary.get("ModelApprovalStatus", ""),
        created=created.strftime("%Y-%m-%d %H:%M") if created else "",
        description=summary.get("ModelPackageDescription", ""),
    )


def check_group(clients: Clients, group: str) -> None:
    """Fail unless the model package group exists."""
    from botocore.exceptions import ClientError

    try:
        clients.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        if error_code(error) in ("ValidationException", "ResourceNotFound"):
            raise AwsError(
                f"model package group '{group}' does not exist; run 'terraform "
                "apply' in terraform/environments/dev or set MLOPS_MODEL_PACKAGE_GROUP"
            ) from error
        raise AwsError(
            f"cannot read model package group '{group}': {error_message(error)}"
        ) from error


def list_packages(
    clients: Clients, group: str, status: str | None = None
) -> list[ModelPackage]:
    """Model packages of ``group``, newest first, optionally of one approval status."""
    check_group(clients, group)
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    if status:
        request["ModelApprovalStatus"] = status
    with aws_call(f"listing model packages of {group}"):
        summaries = paginate(
            clients.sagemaker.list_model_packages, "ModelPackageSummaryList", **request
        )
    packages = [_package(s) for s in summaries]
    return sorted(packages, key=lambda p: p.version, reverse=True)


def resolve(clients: Clients, group: str, reference: str | None) -> dict[str, Any]:
    """Describe a package given by ARN or version number, or the newest approved.

    Returns:
        The ``DescribeModelPackage`` response.
    """
    if reference is None or reference in ("latest-approved", ""):
        approved = list_packages(clients, group, APPROVED)
        if not approved:
            raise AwsError(
                f"no Approved model package in '{group}'; approve one with "
                "'aws models approve <version>'"
            )
        arn = approved[0].arn
    elif reference.isdigit():
        arn = _arn_of_version(clients, group, int(reference))
    elif PACKAGE_ARN.match(reference):
        arn = reference
        owner = arn.rsplit("/", 2)[-2]
        if owner != group:
            raise AwsError(
                f"{arn} belongs to model package group '{owner}', not this "
                f"project's '{group}'"
            )
    else:
        raise AwsError(
            f"'{reference}' is neither a version number nor a model package ARN "
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)"
        )
    return describe(clients, arn)


def _arn_of_version(clients: Clients, group: str, version: int) -> str:
    for package in list_packages(clients, group):
        if package.version == version:
            return package.arn
    raise AwsError(f"model package group '{group}' has no version {version}")


def describe(clients: Clients, arn: str) -> dict[str, Any]:
    """``DescribeModelPackage`` of ``arn``, or a one-line error when it is missing."""
    from botocore.exceptions import ClientError

    try:
        return clients.sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        raise AwsError(
            f"model package {arn} cannot be read: {error_message(error)}"
        ) from error


def set_status(
    clients: Clients,
    group: str,
    reference: str,
    status: str,
    description: str = "",
) -> ModelPackage:
    """Approve or reject a model package (by version number or ARN)."""
    if status not in (APPROVED, REJECTED):
        raise AwsError(f"status '{status}' is not {APPROVED} or {REJECTED}")
    if not reference or not (reference.isdigit() or PACKAGE_ARN.match(reference)):
        raise AwsError(
            f"name the model package to {'approve' if status == APPROVED else 'reject'}"
            f" by version number or ARN, not '{reference}'"
        )
    package = resolve(clients, group, reference)
    request: dict[str, Any] = {
        "ModelPackageArn": package["ModelPackageArn"],
        "ModelApprovalStatus": status,
    }
    if description:
        request["ApprovalDescription"] = description
    with aws_call(f"setting {package['ModelPackageArn']} to {status}"):
        clients.sagemaker.update_model_package(**request)
    logger.info("model package %s is %s", package["ModelPackageArn"], status)
    return _package({**package, "ModelApprovalStatus": status})
