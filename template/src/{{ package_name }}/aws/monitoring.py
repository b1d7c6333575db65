"""SageMaker Model Monitor for a stage: a data-quality baseline and a schedule.

The baseline is computed from the training split that built the served model
package (the pipeline records its S3 URI in the package's metadata as
``training-data``); the hourly schedule compares the endpoint's captured
traffic with it. Both need data capture, so an instance endpoint: serverless
endpoints capture nothing, and for them the project's own drift report
(``monitor``) is the tool.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..config import ProjectConfig
from ..errors import AwsError
from . import registry
from .deploy import capture_enabled, served_package, stage_target
from .session import Clients, aws_call, error_code

logger = logging.getLogger(__name__)

INSTANCE_TYPE = "ml.m5.large"
SCHEDULE = "cron(0 * ? * * *)"  # hourly, the finest Model Monitor allows
BASELINE_INPUT = "/opt/ml/processing/input/baseline_dataset_input"
OUTPUT = "/opt/ml/processing/output"


@dataclass(frozen=True)
class Monitoring:
    """The baseline job and the schedule of a stage."""

    baseline_job: str
    baseline_uri: str
    schedule_name: str


def analyzer_image(region: str) -> str:
    """The Model Monitor analyzer image of ``region`` (from the SDK's image list)."""
    from sagemaker.core import image_uris

    return image_uris.retrieve("model-monitor", region)


def _resources() -> dict[str, Any]:
    return {
        "ClusterConfig": {
            "InstanceCount": 1,
            "InstanceType": INSTANCE_TYPE,
            "VolumeSizeInGB": 20,
        }
    }


def enable(
    config: ProjectConfig,
    clients: Clients,
    stage: str,
    *,
    wait: bool = True,
    poll_seconds: float = 30.0,
    timeout_seconds: float = 3600.0,
) -> Monitoring:
    """Baseline the package a stage serves and (re)schedule data-quality checks."""
    if not config.endpoint.get("monitoring_enabled"):
        raise AwsError(
            "monitoring is disabled for this project (answer monitoring_enabled); "
            "enable it with 'copier update --data monitoring_enabled=true'"
        )
    if not capture_enabled(config):
        raise AwsError(
            "SageMaker Model Monitor needs data capture, which serverless endpoints "
            "do not offer; use an instance endpoint or the local 'monitor' report"
        )
    target = stage_target(config, stage)
    arn = served_package(clients, target.endpoint_name)
    package = registry.describe(clients, arn)
    training = package.get("CustomerMetadataProperties", {}).get("baseline-data")
    if not training:
        raise AwsError(
            f"{arn} does not record its monitoring baseline ('baseline-data' "
            "metadata); register it with this project's pipeline"
        )
    bucket = target.capture_uri.removeprefix("s3://").split("/")[0]
    root = f"s3://{bucket}/monitoring/{target.endpoint_name}"
    version = arn.rsplit("/", 1)[-1]
    baseline_uri = f"{root}/baseline/v{version}"
    image = analyzer_image(config.region)
    tags = [{"Key": k, "Value": v} for k, v in sorted(config.tags.items())]
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    job = f"{target.endpoint_name}-baseline-v{version}-{stamp}"[:63]

    with aws_call(f"starting the baseline job {job}"):
        clients.sagemaker.create_processing_job(
            ProcessingJobName=job,
            AppSpecification={"ImageUri": image},
            Environment={
                # Headerless, like the captured text/csv requests it is compared with.
                "dataset_format": json.dumps({"csv": {"header": False}}),
                "dataset_source": BASELINE_INPUT,
                "output_path": OUTPUT,
                "publish_cloudwatch_metrics": "Disabled",
            },
            ProcessingInputs=[
                {
                    "InputName": "baseline_dataset_input",
                    "S3Input": {
                        "S3Uri": training,
                        "LocalPath": BASELINE_INPUT,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "monitoring_output",
                        "S3Output": {
                            "S3Uri": baseline_uri,
                            "LocalPath": OUTPUT,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            ProcessingResources=_resources(),
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
            RoleArn=target.role_arn,
            Tags=tags,
        )
    logger.info("monitoring: baseline job %s -> %s", job, baseline_uri)
    if wait:
        _wait_for_job(clients, job, poll_seconds, timeout_seconds)

    schedule = f"{target.endpoint_name}-data-quality"
    schedule_config = {
        "ScheduleConfig": {"ScheduleExpression": SCHEDULE},
        "MonitoringJobDefinition": {
            "BaselineConfig": {
                "ConstraintsResource": {"S3Uri": f"{baseline_uri}/constraints.json"},
                "StatisticsResource": {"S3Uri": f"{baseline_uri}/statistics.json"},
            },
            "MonitoringInputs": [
                {
                    "EndpointInput": {
                        "EndpointName": target.endpoint_name,
                        "LocalPath": "/opt/ml/processing/input/endpoint",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                }
            ],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": f"{root}/reports",
                            "LocalPath": OUTPUT,
                            "S3UploadMode": "EndOfJob",
                        }
                    }
                ]
            },
            "MonitoringResources": _resources(),
            "MonitoringAppSpecification": {"ImageUri": image},
            "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
            "Environment": {"publish_cloudwatch_metrics": "Enabled"},
            "RoleArn": target.role_arn,
        },
    }
    _put_schedule(clients, schedule, schedule_config, tags)
    return Monitoring(job, baseline_uri, schedule)


def _wait_for_job(
    clients: Clients, job: str, poll_seconds: float, timeout_seconds: float
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while True:
        with aws_call(f"describing the baseline job {job}"):
            described = clients.sagemaker.describe_processing_job(ProcessingJobName=job)
        status = described["ProcessingJobStatus"]
        if status == "Completed":
            return
        if status in ("Failed", "Stopped"):
            raise AwsError(
                f"baseline job {job} {status.lower()}: "
                f"{described.get('FailureReason', 'no reason given')}"
            )
        if time.monotonic() > deadline:
            raise AwsError(
                f"baseline job {job} still {status} after {timeout_seconds:.0f}s"
            )
        time.sleep(poll_seconds)


def _put_schedule(
    clients: Clients, name: str, schedule: dict[str, Any], tags: list[dict[str, str]]
) -> None:
    from botocore.exceptions import ClientError

    sagemaker = clients.sagemaker
    try:
        sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
        exists = True
    except ClientError as error:
        if error_code(error) not in ("ResourceNotFound", "ValidationException"):
            raise AwsError(f"cannot read schedule {name}: {error}") from error
        exists = False
    with aws_call(f"{'updating' if exists else 'creating'} monitoring schedule {name}"):
        if exists:
            sagemaker.update_monitoring_schedule(
                MonitoringScheduleName=name, MonitoringScheduleConfig=schedule
            )
        else:
            sagemaker.create_monitoring_schedule(
                MonitoringScheduleName=name,
                MonitoringScheduleConfig=schedule,
                Tags=tags,
            )
    logger.info("monitoring: schedule %s (%s)", name, SCHEDULE)
