"""Deploy a model package to a stage's endpoint, with a smoke test and rollback.

A deployment creates a model (from the package, so image and artefact are
exactly the registered ones) and an endpoint configuration, then creates the
stage's endpoint ``<prefix>-<stage>`` or updates it in place. It waits until the
endpoint is in service and sends one record. If any of that fails, the
endpoint goes back to its previous configuration (or is deleted if it is new),
what this deployment created is deleted, and the error says what happened.

Production only ever receives the package that staging serves: ``promote``
reads it from the staging endpoint's model.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..config import ProjectConfig
from ..errors import AwsError, ProjectError
from . import registry
from .session import Clients, aws_call, check_bucket, check_role, error_message

logger = logging.getLogger(__name__)

VARIANT = "AllTraffic"
PACKAGE_TAG = "model-package-arn"
STAGE_TAG = "stage"
SMOKE_RECORD = {
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
}
ALARM_SUFFIXES = ("invocation-5xx-errors", "model-latency")


@dataclass(frozen=True)
class StageTarget:
    """Where and as whom a stage's endpoint runs."""

    stage: str
    account_id: str
    endpoint_name: str
    role_arn: str
    capture_uri: str


@dataclass(frozen=True)
class Deployment:
    """The outcome of a successful deployment."""

    stage: str
    endpoint_name: str
    package_arn: str
    model_name: str
    endpoint_config_name: str
    seconds: float


def stage_target(config: ProjectConfig, stage: str) -> StageTarget:
    """Names of a stage; a stage in its own account has its own role and bucket."""
    account = {
        "staging": config.staging_account_id,
        "production": config.production_account_id,
    }.get(stage)
    if account is None:
        raise AwsError(f"stage '{stage}' is not staging or production")
    endpoint = f"{config.resource_prefix}-{stage}"
    if account == config.account_id:
        role, bucket = config.role_arn, config.log_bucket
    else:
        short = "stg" if stage == "staging" else "prd"
        role = f"arn:aws:iam::{account}:role/{config.resource_prefix}-{stage}-sagemaker"
        bucket = f"{config.resource_prefix}-{short}-{account}-{config.region}-capture"
    return StageTarget(
        stage, account, endpoint, role, f"s3://{bucket}/data-capture/{endpoint}"
    )


def capture_enabled(config: ProjectConfig) -> bool:
    """Data capture needs monitoring on and an instance endpoint (serverless has none)."""
    return bool(config.endpoint.get("monitoring_enabled")) and (
        config.endpoint.get("kind") == "instance"
    )


def _tags(config: ProjectConfig, stage: str, package_arn: str) -> list[dict[str, str]]:
    tags = {**config.tags, STAGE_TAG: stage, PACKAGE_TAG: package_arn}
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _variant(config: ProjectConfig, model_name: str) -> dict[str, Any]:
    variant: dict[str, Any] = {"VariantName": VARIANT, "ModelName": model_name}
    endpoint = config.endpoint
    if endpoint.get("kind") == "instance":
        variant.update(
            InstanceType=endpoint["instance_type"],
            InitialInstanceCount=1,
            InitialVariantWeight=1.0,
        )
    else:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": int(endpoint.get("serverless_memory_mb", 2048)),
            "MaxConcurrency": int(endpoint.get("serverless_max_concurrency", 5)),
        }
    return variant


def _capture(target: StageTarget) -> dict[str, Any]:
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": target.capture_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }


def current_config(clients: Clients, endpoint: str) -> str | None:
    """The endpoint configuration an endpoint runs, or None if there is no endpoint."""
    from botocore.exceptions import ClientError

    try:
        response = clients.sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        if "Could not find" in error_message(error) or "does not exist" in (
            error_message(error)
        ):
            return None
        raise AwsError(
            f"cannot read endpoint {endpoint}: {error_message(error)}"
        ) from error
    return response["EndpointConfigName"]


def served_package(clients: Clients, endpoint: str) -> str:
    """The model package ARN an endpoint serves, read from its model."""
    config_name = current_config(clients, endpoint)
    if config_name is None:
        raise AwsError(
            f"endpoint {endpoint} does not exist; deploy to it first "
            "('aws deploy --stage staging')"
        )
    with aws_call(f"reading what {endpoint} serves"):
        variants = clients.sagemaker.describe_endpoint_config(
            EndpointConfigName=config_name
        )["ProductionVariants"]
        model = clients.sagemaker.describe_model(ModelName=variants[0]["ModelName"])
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    arn = container.get("ModelPackageName", "")
    if not registry.PACKAGE_ARN.match(arn):
        raise AwsError(
            f"endpoint {endpoint} serves model {variants[0]['ModelName']}, which was "
            "not created from a model package; deploy a package to it first"
        )
    return arn


def single_account(config: ProjectConfig) -> bool:
    """Whether staging and production live in the development account."""
    return (
        config.account_id == config.staging_account_id == config.production_account_id
    )


def deploy(
    config: ProjectConfig,
    clients: Clients,
    stage: str,
    package: str | None = None,
    *,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 1800.0,
) -> Deployment:
    """Deploy ``package`` (ARN or version; default: newest approved) to ``stage``."""
    started = time.perf_counter()
    if stage == "production" and not package:
        raise AwsError(
            "production receives only the package staging serves: run 'aws "
            "promote', or pass --package-arn with the ARN staging reported"
        )
    target = stage_target(config, stage)
    described = registry.resolve(clients, config.model_package_group, package)
    arn = described["ModelPackageArn"]
    if stage == "production" and single_account(config):
        staged = served_package(clients, stage_target(config, "staging").endpoint_name)
        if staged != arn:
            raise AwsError(
                f"staging serves {staged}, not {arn}; production receives only "
                "the package staging serves ('aws promote')"
            )
    if described.get("ModelApprovalStatus") != registry.APPROVED:
        raise AwsError(
            f"{arn} is {described.get('ModelApprovalStatus')}, not Approved; "
            "approve it with 'aws models approve' first"
        )
    check_role(clients, target.role_arn)
    if capture_enabled(config):
        check_bucket(clients, target.capture_uri.removeprefix("s3://").split("/")[0])
    previous = current_config(clients, target.endpoint_name)

    version = arn.rsplit("/", 1)[-1]
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    name = f"{target.endpoint_name}-v{version}-{stamp}"
    plan = _Rollout(config, clients, target, arn, name, previous)
    plan.poll_seconds, plan.timeout_seconds = poll_seconds, timeout_seconds
    try:
        plan.run()
    except ProjectError as error:
        undone = plan.roll_back()
        raise AwsError(
            f"deploying {arn} to {stage} failed: {error}; {undone}"
        ) from error
    seconds = time.perf_counter() - started
    logger.info(
        "deploy: %s serves %s (model %s) [%.0fs]",
        target.endpoint_name,
        arn,
        name,
        seconds,
    )
    return Deployment(stage, target.endpoint_name, arn, name, name, seconds)


class _Rollout:
    """The steps of one deployment, remembering what to undo."""

    poll_seconds = 15.0
    timeout_seconds = 1800.0

    def __init__(
        self,
        config: ProjectConfig,
        clients: Clients,
        target: StageTarget,
        package_arn: str,
        name: str,
        previous: str | None,
    ) -> None:
        self.config, self.clients, self.target = config, clients, target
        self.package_arn, self.name, self.previous = package_arn, name, previous
        self.tags = _tags(config, target.stage, package_arn)
        self.created: list[tuple[str, str]] = []
        self.endpoint_touched = False

    def run(self) -> None:
        sagemaker = self.clients.sagemaker
        with aws_call(f"creating model {self.name}"):
            sagemaker.create_model(
                ModelName=self.name,
                PrimaryContainer={"ModelPackageName": self.package_arn},
                ExecutionRoleArn=self.target.role_arn,
                Tags=self.tags,
            )
        self.created.append(("model", self.name))
        request: dict[str, Any] = {
            "EndpointConfigName": self.name,
            "ProductionVariants": [_variant(self.config, self.name)],
            "Tags": self.tags,
        }
        if capture_enabled(self.config):
            request["DataCaptureConfig"] = _capture(self.target)
        else:
            logger.info("data capture off (monitoring disabled or serverless endpoint)")
        with aws_call(f"creating endpoint configuration {self.name}"):
            sagemaker.create_endpoint_config(**request)
        self.created.append(("endpoint-config", self.name))

        endpoint = self.target.endpoint_name
        if self.previous is None:
            with aws_call(f"creating endpoint {endpoint}"):
                sagemaker.create_endpoint(
                    EndpointName=endpoint, EndpointConfigName=self.name, Tags=self.tags
                )
        else:
            self._update(self.name, rollback_alarms=True)
        self.endpoint_touched = True
        wait_in_service(
            self.clients, endpoint, self.poll_seconds, self.timeout_seconds, self.name
        )
        smoke_test(self.clients, endpoint)
        if self.previous is not None:
            self._retag()

    def _update(self, config_name: str, *, rollback_alarms: bool) -> None:
        request: dict[str, Any] = {
            "EndpointName": self.target.endpoint_name,
            "EndpointConfigName": config_name,
        }
        alarms = self._alarms() if rollback_alarms else []
        if alarms and self.config.endpoint.get("kind") == "instance":
            request["DeploymentConfig"] = {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 0,
                    },
                    "TerminationWaitInSeconds": 300,
                },
                "AutoRollbackConfiguration": {
                    "Alarms": [{"AlarmName": alarm} for alarm in alarms]
                },
            }
        with aws_call(f"updating endpoint {self.target.endpoint_name}"):
            self.clients.sagemaker.update_endpoint(**request)

    def _alarms(self) -> list[str]:
        """The stage's rollback alarms that exist (Terraform's ``rollback_alarm_names``)."""
        names = [f"{self.target.endpoint_name}-{s}" for s in ALARM_SUFFIXES]
        with aws_call("reading the rollback alarms"):
            found = self.clients.cloudwatch.describe_alarms(AlarmNames=names)
        return sorted(a["AlarmName"] for a in found.get("MetricAlarms", []))

    def _retag(self) -> None:
        endpoint = self.target.endpoint_name
        with aws_call(f"tagging endpoint {endpoint}"):
            arn = self.clients.sagemaker.describe_endpoint(EndpointName=endpoint)[
                "EndpointArn"
            ]
            self.clients.sagemaker.add_tags(ResourceArn=arn, Tags=self.tags)

    def roll_back(self) -> str:
        """Undo this deployment; return a sentence saying what state is left."""
        from botocore.exceptions import BotoCoreError, ClientError

        sagemaker, endpoint = self.clients.sagemaker, self.target.endpoint_name
        steps = []
        try:
            if self.endpoint_touched and self.previous is None:
                sagemaker.delete_endpoint(EndpointName=endpoint)
                steps.append(f"deleted the new endpoint {endpoint}")
            elif self.endpoint_touched:
                if (
                    settled_config(
                        self.clients, endpoint, self.timeout_seconds, self.poll_seconds
                    )
                    == self.previous
                ):
                    steps.append(f"{endpoint} already runs {self.previous} again")
                    self.endpoint_touched = False
            if self.endpoint_touched and self.previous is not None:
                self._update(self.previous, rollback_alarms=False)
                wait_in_service(
                    self.clients,
                    endpoint,
                    self.poll_seconds,
                    self.timeout_seconds,
                    self.previous,
                )
                steps.append(f"{endpoint} is back on {self.previous}")
            for kind, name in reversed(self.created):
                if kind == "endpoint-config":
                    sagemaker.delete_endpoint_config(EndpointConfigName=name)
                else:
                    sagemaker.delete_model(ModelName=name)
            if self.created:
                steps.append(f"removed model and configuration {self.name}")
        except (BotoCoreError, ClientError, ProjectError) as error:
            message = error_message(error) if isinstance(error, ClientError) else error
            return (
                f"rollback incomplete ({message}); check {endpoint} and run "
                f"'aws cleanup --stage {self.target.stage}'"
            )
        return "; ".join(steps) or "nothing was changed"


def settled_config(
    clients: Clients, endpoint: str, timeout_seconds: float, poll_seconds: float
) -> str | None:
    """Wait out an update or rollback in progress; return the running config."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        with aws_call(f"describing endpoint {endpoint}"):
            described = clients.sagemaker.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] not in ("Creating", "Updating", "RollingBack"):
            return described.get("EndpointConfigName")
        if time.monotonic() > deadline:
            raise AwsError(
                f"endpoint {endpoint} is still {described['EndpointStatus']} after "
                f"{timeout_seconds:.0f}s"
            )
        time.sleep(poll_seconds)


def wait_in_service(
    clients: Clients,
    endpoint: str,
    poll_seconds: float,
    timeout_seconds: float,
    expected_config: str | None = None,
) -> None:
    """Wait until ``endpoint`` is InService on ``expected_config``.

    Raises:
        AwsError: The endpoint failed, SageMaker is rolling the update back (a
            rollback alarm fired), or it took longer than ``timeout_seconds``.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        with aws_call(f"describing endpoint {endpoint}"):
            described = clients.sagemaker.describe_endpoint(EndpointName=endpoint)
        status = described["EndpointStatus"]
        running = described.get("EndpointConfigName")
        if status == "InService" and expected_config in (None, running):
            return
        if status == "InService" and described.get("FailureReason"):
            # A failed update leaves the endpoint serving the old configuration.
            raise AwsError(
                f"updating endpoint {endpoint} to {expected_config} failed and it "
                f"still runs {running}: {described['FailureReason']}"
            )
        if status in ("Failed", "OutOfService", "RollingBack", "UpdateRollbackFailed"):
            reason = described.get("FailureReason", "no reason given")
            raise AwsError(f"endpoint {endpoint} is {status}: {reason}")
        if time.monotonic() > deadline:
            raise AwsError(
                f"endpoint {endpoint} is {status} on {running} after "
                f"{timeout_seconds:.0f}s, not InService on {expected_config}"
            )
        logger.debug("endpoint %s is %s on %s", endpoint, status, running)
        time.sleep(poll_seconds)


def smoke_test(clients: Clients, endpoint: str) -> dict[str, Any]:
    """Send one record; the answer must hold exactly one prediction with a label."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = clients.sagemaker_runtime.invoke_endpoint(
            EndpointName=endpoint,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps(SMOKE_RECORD).encode(),
        )
        body = response["Body"].read()
    except (BotoCoreError, ClientError) as error:
        raise AwsError(
            f"smoke test: invoking {endpoint} failed: {error_message(error)}"
        ) from error
    try:
        predictions = json.loads(body)["predictions"]
        if len(predictions) != 1 or "label" not in predictions[0]:
            raise ValueError(f"expected one labelled prediction, got {predictions!r}")
    except (ValueError, KeyError, TypeError) as error:
        shown = body[:120].decode("utf-8", errors="replace")
        raise AwsError(
            f"smoke test: {endpoint} answered {shown!r}, not "
            '{"predictions": [{"label": ...}]}'
        ) from error
    logger.info("smoke test of %s passed: %s", endpoint, predictions[0])
    return predictions[0]


def promote(config: ProjectConfig, clients: Clients, **kwargs: Any) -> Deployment:
    """Deploy to production exactly the package the staging endpoint serves."""
    staging = stage_target(config, "staging").endpoint_name
    arn = served_package(clients, staging)
    logger.info("promote: staging serves %s", arn)
    return deploy(config, clients, "production", arn, **kwargs)
