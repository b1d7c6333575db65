"""The SageMaker Pipeline: the local steps, run as SageMaker jobs.

preprocess (processing) -> train (training) -> evaluate (processing, writes
``evaluation.json``) -> quality gate (condition on the hold-out ROC AUC) ->
register (model package, PendingManualApproval) or fail with the reason.

Every job runs the project image (``docker/Dockerfile``), which holds the
package and its locked dependencies; the image is addressed by digest, so the
digest is the content hash of the code. Nothing is uploaded while the
definition is built, and building it twice from the same code, configuration
and image gives byte-identical JSON, which keeps step caching effective.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from ..config import ModelConfig, ProjectConfig
from ..errors import AwsError
from .session import Clients, aws_call, check_bucket, check_role, sagemaker_session

logger = logging.getLogger(__name__)

IMAGE_ENV = "MLOPS_IMAGE_URI"
IMAGE_URI = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+"
    r"(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})$"
)
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
APPROVAL_PENDING = "PendingManualApproval"
CONTENT_TYPES = ["text/csv", "application/json"]
RESPONSE_TYPES = ["application/json", "text/csv"]
TERMINAL = ("Succeeded", "Failed", "Stopped")
SPLITS = ("train", "validation", "test")
BASELINE = "baseline"  # the training rows in request layout, for Model Monitor


@dataclass(frozen=True)
class Execution:
    """A pipeline execution and its last known status."""

    arn: str
    status: str
    failure_reason: str = ""


def image_uri(config: ProjectConfig, given: str | None = None) -> str:
    """The project image: ``given``, ``$MLOPS_IMAGE_URI``, else the ``latest`` tag."""
    uri = given or os.environ.get(IMAGE_ENV)
    if uri:
        if not IMAGE_URI.match(uri):
            raise AwsError(
                f"image '{uri}' is not an ECR image URI "
                "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> or "
                "@sha256:<digest>)"
            )
        return uri
    uri = (
        f"{config.account_id}.dkr.ecr.{config.region}.amazonaws.com/"
        f"{config.ecr_repository}:latest"
    )
    logger.warning(
        "no %s given; using %s (a tag can move: CI passes the image digest)",
        IMAGE_ENV,
        uri,
    )
    return uri


def quality_gate_path(target: str) -> str:
    """JSON path of the hold-out ROC AUC in ``evaluation.json``."""
    from ..evaluation import metric_kind

    return f"{metric_kind(target)}.auc.value"


def get_pipeline(
    config: ProjectConfig,
    model: ModelConfig,
    image: str,
    session: Any,
) -> Any:
    """Build the SageMaker Pipeline of this project (nothing is created on AWS).

    Args:
        config: Names, role, buckets, region and tags of the project.
        model: Target, split, hyperparameters and quality gate.
        image: URI of the project image that runs every job.
        session: A ``PipelineSession`` (see :func:`.session.sagemaker_session`).

    Returns:
        A ``sagemaker.mlops.workflow.pipeline.Pipeline``.
    """
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.mlops.workflow.pipeline import Pipeline

    parameters = {
        "input": ParameterString(
            "InputDataUri",
            default_value=f"s3://{config.data_bucket}/raw/heart.csv",
        ),
        "processing_type": ParameterString(
            "ProcessingInstanceType", default_value=DEFAULT_INSTANCE_TYPE
        ),
        "processing_count": ParameterInteger(
            "ProcessingInstanceCount", default_value=1
        ),
        "training_type": ParameterString(
            "TrainingInstanceType", default_value=DEFAULT_INSTANCE_TYPE
        ),
        "gate": ParameterFloat("QualityGateAuc", default_value=model.quality_gate_auc),
        "approval": ParameterString(
            "ModelApprovalStatus", default_value=APPROVAL_PENDING
        ),
    }
    base = Join(
        on="/",
        values=[
            f"s3://{config.artifact_bucket}",
            config.pipeline_name,
            ExecutionVariables.PIPELINE_EXECUTION_ID,
        ],
    )
    jobs = _Jobs(config, model, image, session, parameters, base)
    preprocess = jobs.preprocess()
    train = jobs.train(preprocess)
    evaluate, report = jobs.evaluate(preprocess, train)
    gate = jobs.quality_gate(preprocess, train, evaluate, report)
    return Pipeline(
        name=config.pipeline_name,
        parameters=list(parameters.values()),
        steps=[preprocess, train, evaluate, gate],
        sagemaker_session=session,
    )


class _Jobs:
    """Builds the steps; one method per step keeps each readable."""

    def __init__(
        self,
        config: ProjectConfig,
        model: ModelConfig,
        image: str,
        session: Any,
        parameters: dict[str, Any],
        base: Any,
    ) -> None:
        from sagemaker.mlops.workflow.steps import CacheConfig

        self.config, self.model, self.image = config, model, image
        self.session, self.parameters, self.base = session, parameters, base
        self.cache = CacheConfig(enable_caching=True, expire_after="P30D")
        self.tags = [{"Key": k, "Value": v} for k, v in sorted(config.tags.items())]

    def _uri(self, *parts: str) -> Any:
        from sagemaker.core.workflow.functions import Join

        return Join(on="/", values=[self.base, *parts])

    def _processor(self, step: str) -> Any:
        from sagemaker.core.processing import Processor

        return Processor(
            role=self.config.role_arn,
            image_uri=self.image,
            instance_count=self.parameters["processing_count"],
            instance_type=self.parameters["processing_type"],
            entrypoint=["python", "-m", f"{self.config.package}.aws.container", step],
            max_runtime_in_seconds=3600,
            base_job_name=f"{self.config.resource_prefix}-{step}",
            sagemaker_session=self.session,
            tags=self.tags,
        )

    @staticmethod
    def _input(name: str, source: Any, path: str) -> Any:
        from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=source,
                local_path=path,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
            ),
        )

    def _output(self, name: str) -> Any:
        from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output

        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=self._uri(name),
                local_path=f"/opt/ml/processing/{name}",
                s3_upload_mode="EndOfJob",
            ),
        )

    def preprocess(self) -> Any:
        from sagemaker.mlops.workflow.steps import ProcessingStep

        split = self.model.split
        arguments = self._processor("preprocess").run(
            inputs=[
                self._input(
                    "data", self.parameters["input"], "/opt/ml/processing/input"
                )
            ],
            outputs=[self._output(name) for name in (*SPLITS, BASELINE)],
            arguments=[
                "--target",
                self.model.target,
                "--test-size",
                str(split.test_size),
                "--validation-size",
                str(split.validation_size),
                "--seed",
                str(split.seed),
            ],
        )
        return ProcessingStep(
            name="Preprocess", step_args=arguments, cache_config=self.cache
        )

    def train(self, preprocess: Any) -> Any:
        from sagemaker.core.shapes import Tag
        from sagemaker.core.training.configs import (
            Compute,
            InputData,
            OutputDataConfig,
            StoppingCondition,
        )
        from sagemaker.mlops.workflow.steps import TrainingStep
        from sagemaker.train.model_trainer import ModelTrainer

        hyperparameters = {
            **{k: str(v) for k, v in sorted(self.model.hyperparameters.items())},
            "target": self.model.target,
            "seed": str(self.model.split.seed),
            "drop_columns": ",".join(self.model.drop_columns),
        }
        trainer = ModelTrainer(
            training_image=self.image,
            role=self.config.role_arn,
            sagemaker_session=self.session,
            base_job_name=f"{self.config.resource_prefix}-train",
            compute=Compute(
                instance_type=self.parameters["training_type"], instance_count=1
            ),
            stopping_condition=StoppingCondition(max_runtime_in_seconds=3600),
            output_data_config=OutputDataConfig(s3_output_path=self._uri("model")),
            hyperparameters=hyperparameters,
            tags=[Tag(key=t["Key"], value=t["Value"]) for t in self.tags],
        )
        outputs = preprocess.properties.ProcessingOutputConfig.Outputs
        arguments = trainer.train(
            input_data_config=[
                InputData(
                    channel_name=name,
                    data_source=outputs[name].S3Output.S3Uri,
                    content_type="text/csv",
                )
                for name in ("train", "validation")
            ]
        )
        return TrainingStep(
            name="Train",
            step_args=arguments,
            depends_on=[preprocess],
            cache_config=self.cache,
        )

    def evaluate(self, preprocess: Any, train: Any) -> tuple[Any, Any]:
        from sagemaker.core.workflow.properties import PropertyFile
        from sagemaker.mlops.workflow.steps import ProcessingStep

        test = preprocess.properties.ProcessingOutputConfig.Outputs["test"]
        arguments = self._processor("evaluate").run(
            inputs=[
                self._input(
                    "model",
                    train.properties.ModelArtifacts.S3ModelArtifacts,
                    "/opt/ml/processing/model",
                ),
                self._input("test", test.S3Output.S3Uri, "/opt/ml/processing/test"),
            ],
            outputs=[self._output("evaluation")],
            # The report's verdict and the condition step read the same parameter.
            arguments=["--quality-gate-auc", self.parameters["gate"].to_string()],
        )
        report = PropertyFile(
            name="EvaluationReport", output_name="evaluation", path="evaluation.json"
        )
        step = ProcessingStep(
            name="Evaluate",
            step_args=arguments,
            property_files=[report],
            cache_config=self.cache,
        )
        return step, report

    def quality_gate(
        self, preprocess: Any, train: Any, evaluate: Any, report: Any
    ) -> Any:
        from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
        from sagemaker.core.workflow.functions import Join, JsonGet
        from sagemaker.mlops.workflow.condition_step import ConditionStep
        from sagemaker.mlops.workflow.fail_step import FailStep

        auc = JsonGet(
            step_name=evaluate.name,
            property_file=report,
            json_path=quality_gate_path(self.model.target),
        )
        failed = FailStep(
            name="QualityGateFailed",
            error_message=Join(
                on=" ",
                values=[
                    "hold-out ROC AUC is below the quality gate",
                    self.parameters["gate"],
                    "; the model was not registered",
                ],
            ),
        )
        return ConditionStep(
            name="CheckQualityGate",
            conditions=[
                ConditionGreaterThanOrEqualTo(left=auc, right=self.parameters["gate"])
            ],
            if_steps=[self.register(preprocess, train, evaluate)],
            else_steps=[failed],
        )

    def register(self, preprocess: Any, train: Any, evaluate: Any) -> Any:
        from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.model_step import ModelStep
        from sagemaker.serve.model_builder import ModelBuilder

        evaluation = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"]
        outputs = preprocess.properties.ProcessingOutputConfig.Outputs
        training_data, baseline_data = outputs["train"], outputs[BASELINE]
        metrics = ModelMetrics(
            model_statistics=MetricsSource(
                content_type="application/json",
                s3_uri=Join(
                    on="/", values=[evaluation.S3Output.S3Uri, "evaluation.json"]
                ),
            )
        )
        builder = ModelBuilder(
            image_uri=self.image,
            s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
            role_arn=self.config.role_arn,
            sagemaker_session=self.session,
        )
        endpoint_type = self.config.endpoint.get("instance_type", DEFAULT_INSTANCE_TYPE)
        arguments = builder.register(
            model_package_group_name=self.config.model_package_group,
            content_types=CONTENT_TYPES,
            response_types=RESPONSE_TYPES,
            inference_instances=[endpoint_type],
            transform_instances=[DEFAULT_INSTANCE_TYPE],
            model_metrics=metrics,
            approval_status=self.parameters["approval"],
            description=f"{self.config.slug}: {self.model.target} model",
            customer_metadata_properties={
                "target": self.model.target,
                "training-data": training_data.S3Output.S3Uri,
                "baseline-data": baseline_data.S3Output.S3Uri,
            },
        )
        return ModelStep(name="Register", step_args=arguments)


def build(
    config: ProjectConfig,
    model: ModelConfig,
    clients: Clients,
    image: str | None = None,
) -> tuple[Any, str]:
    """The pipeline and its definition as JSON (builds; creates nothing)."""
    started = time.perf_counter()
    # Checked first: the SDK would otherwise create a missing default bucket.
    check_bucket(clients, config.artifact_bucket)
    pipeline = get_pipeline(
        config, model, image_uri(config, image), sagemaker_session(clients)
    )
    definition = pipeline.definition()
    logger.info(
        "pipeline %s: %d steps defined [%.1fs]",
        config.pipeline_name,
        len(json.loads(definition)["Steps"]),
        time.perf_counter() - started,
    )
    return pipeline, definition


def check_prerequisites(config: ProjectConfig, clients: Clients) -> None:
    """Fail early when the role, a bucket or the model package group is missing."""
    from .registry import check_group

    check_role(clients, config.role_arn)
    for bucket in (config.data_bucket, config.artifact_bucket):
        check_bucket(clients, bucket)
    check_group(clients, config.model_package_group)


def upsert(
    config: ProjectConfig,
    model: ModelConfig,
    clients: Clients,
    image: str | None = None,
) -> str:
    """Create or update the pipeline on SageMaker; return its ARN."""
    check_prerequisites(config, clients)
    pipeline, _ = build(config, model, clients, image)
    tags = [{"Key": k, "Value": v} for k, v in sorted(config.tags.items())]
    with aws_call(f"creating or updating pipeline {config.pipeline_name}"):
        response = pipeline.upsert(
            role_arn=config.role_arn,
            description=f"{config.slug}: preprocess, train, evaluate, gate, register",
            tags=tags,
        )
    arn = response["PipelineArn"]
    logger.info("pipeline upserted: %s", arn)
    return arn


def _gate(value: str) -> bool:
    try:
        return 0.5 <= float(value) <= 0.95
    except ValueError:
        return False


_INSTANCE = re.compile(r"^ml\.[a-z0-9]+\.[0-9]*x?(large|medium|small|xlarge)$")
# What each pipeline parameter accepts at start, and how to say it.
PARAMETER_RULES: dict[str, tuple[Any, str]] = {
    "InputDataUri": (
        re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+").match,
        "an s3://<bucket>/<key> URI",
    ),
    "ProcessingInstanceType": (_INSTANCE.match, "a SageMaker instance type"),
    # Preprocess and evaluate are not distributed: more instances repeat them.
    "ProcessingInstanceCount": ("1".__eq__, "1"),
    "TrainingInstanceType": (_INSTANCE.match, "a SageMaker instance type"),
    "QualityGateAuc": (_gate, "a number from 0.5 to 0.95"),
    "ModelApprovalStatus": (
        {APPROVAL_PENDING, "Approved"}.__contains__,
        f"{APPROVAL_PENDING} or Approved",
    ),
}


def check_parameters(parameters: dict[str, str]) -> None:
    """Refuse unknown or malformed parameters before any job is paid for."""
    for name, value in parameters.items():
        if name not in PARAMETER_RULES:
            raise AwsError(
                f"pipeline parameter '{name}' does not exist; the pipeline takes "
                f"{', '.join(PARAMETER_RULES)}"
            )
        accepts, allowed = PARAMETER_RULES[name]
        if not accepts(str(value)):
            raise AwsError(f"pipeline parameter {name}='{value}' is not {allowed}")


def start(
    config: ProjectConfig,
    clients: Clients,
    parameters: dict[str, str] | None = None,
    *,
    wait: bool = False,
    poll_seconds: float = 30.0,
    timeout_seconds: float = 4 * 3600,
) -> Execution:
    """Start an execution with ``parameters``; wait for its end if ``wait``."""
    check_parameters(parameters or {})
    sagemaker = clients.sagemaker
    request: dict[str, Any] = {"PipelineName": config.pipeline_name}
    if parameters:
        request["PipelineParameters"] = [
            {"Name": k, "Value": str(v)} for k, v in sorted(parameters.items())
        ]
    with aws_call(f"starting pipeline {config.pipeline_name}"):
        arn = sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"]
    logger.info("pipeline execution started: %s", arn)
    execution = describe(clients, arn)
    deadline = time.monotonic() + timeout_seconds
    while wait and execution.status not in TERMINAL:
        if time.monotonic() > deadline:
            raise AwsError(
                f"pipeline execution {arn} still {execution.status} after "
                f"{timeout_seconds / 60:.0f} minutes; it keeps running on SageMaker"
            )
        time.sleep(poll_seconds)
        execution = describe(clients, arn)
    return execution


def describe(clients: Clients, arn: str) -> Execution:
    """Status of a pipeline execution, with the failed step's reason if any."""
    with aws_call(f"describing pipeline execution {arn}"):
        response = clients.sagemaker.describe_pipeline_execution(
            PipelineExecutionArn=arn
        )
    status = response["PipelineExecutionStatus"]
    reason = response.get("FailureReason", "")
    if status == "Failed" and not reason:
        reason = _failed_step(clients, arn)
    return Execution(arn, status, reason)


def _failed_step(clients: Clients, arn: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        steps = clients.sagemaker.list_pipeline_execution_steps(
            PipelineExecutionArn=arn
        )["PipelineExecutionSteps"]
    except (BotoCoreError, ClientError) as error:
        logger.debug("cannot list the execution's steps: %s", error)
        return ""
    for step in steps:
        if step.get("StepStatus") == "Failed":
            return f"step {step['StepName']}: {step.get('FailureReason', 'failed')}"
    return ""
