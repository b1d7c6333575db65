"""The model card on AWS, built from what a model package already points to.

Every model package can carry a card (``UpdateModelPackage`` with
``ModelCard``), which Studio's model registry shows next to the version. The
card is built from the package itself: its model-quality statistics (the
evaluate step's ``evaluation.json`` in S3), its approval status and group, and
the quality gate of ``config/model.yaml``. With ``model_card.sagemaker_enabled``
in ``config/project.yaml`` the same content also becomes a SageMaker Model
Card ``<group>-v<version>``, which keeps its own versions and review status.

Intended use, out-of-scope uses and limitations come from :mod:`..model_card`,
so the local Markdown card and the card on AWS say the same.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from .. import model_card
from ..config import TARGETS, ModelConfig, ProjectConfig
from ..errors import AwsError, ConfigError
from ..evaluation import metric_kind
from .registry import PACKAGE_ARN, describe, list_packages, resolve
from .session import Clients, aws_call, error_code, error_message

logger = logging.getLogger(__name__)

CARD_STATUS = "Draft"
# ModelCardName (EntityName) in the SageMaker API model.
CARD_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
MAX_CARD_NAME = 63
MAX_CONTENT = 100_000  # characters of ModelCardContent
GATE_METRIC = "auc"
ALGORITHM = "XGBoost gradient-boosted trees behind scikit-learn preprocessing"
PROBLEM_TYPES = {
    "binary": "Binary Classification",
    "severity": "Multiclass Classification",
}


@dataclass(frozen=True)
class Card:
    """What was written, for the command to print."""

    package_arn: str
    version: int
    approval_status: str
    evaluation_uri: str
    metrics: dict[str, float]
    gate: dict[str, Any]
    content: dict[str, Any]
    attached: bool  # False: the package already carried exactly this card
    model_card_name: str | None = None
    model_card_arn: str | None = None
    model_card_action: str | None = None  # created, updated or unchanged


def sagemaker_card_enabled(config: ProjectConfig) -> bool:
    """``model_card.sagemaker_enabled`` of ``config/project.yaml`` (default false)."""
    path = config.root / "config" / "project.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    section = raw.get("model_card") or {}
    value = (
        section.get("sagemaker_enabled", False) if isinstance(section, dict) else None
    )
    if not isinstance(value, bool):
        raise ConfigError(
            f"{path}: model_card.sagemaker_enabled is {value!r}; use true or false"
        )
    return value


def card_name(group: str, version: int) -> str:
    """The SageMaker Model Card name of a package: ``<group>-v<version>``."""
    name = f"{group}-v{version}"
    if len(name) > MAX_CARD_NAME or not CARD_NAME.fullmatch(name):
        raise AwsError(
            f"model card name '{name}' is not a valid ModelCardName (at most "
            f"{MAX_CARD_NAME} letters, digits and single hyphens); shorten the model "
            "package group name (MLOPS_MODEL_PACKAGE_GROUP) or the resource prefix"
        )
    return name


def find_package(clients: Clients, group: str, reference: str) -> dict[str, Any]:
    """Describe ``latest`` (newest package of ``group``), a version or an ARN."""
    if reference != "latest":
        if not (reference.isdigit() or PACKAGE_ARN.match(reference)):
            raise AwsError(
                f"'{reference}' is not 'latest', a version number or a model package "
                "ARN (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<N>)"
            )
        return resolve(clients, group, reference)
    packages = list_packages(clients, group)
    if not packages:
        raise AwsError(
            f"model package group '{group}' has no model packages; register one "
            "with 'aws pipeline start --wait'"
        )
    return describe(clients, packages[0].arn)


def evaluation_uri(package: dict[str, Any]) -> str:
    """S3 URI of the package's model-quality statistics (``evaluation.json``)."""
    quality = package.get("ModelMetrics", {}).get("ModelQuality", {})
    uri = quality.get("Statistics", {}).get("S3Uri", "")
    if not uri:
        raise AwsError(
            f"model package {package['ModelPackageArn']} has no model-quality "
            "statistics (ModelMetrics.ModelQuality.Statistics); only packages "
            "registered by the pipeline's Register step point to an evaluation.json"
        )
    return uri


def read_report(clients: Clients, uri: str) -> dict[str, Any]:
    """The evaluation report at ``uri`` (``s3://bucket/key``), parsed."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise AwsError(
            f"model-quality statistics '{uri}' is not an s3://bucket/key URI"
        )
    try:
        body = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise AwsError(
            f"cannot read the evaluation report {uri}: {error_message(error)}"
        ) from error
    except BotoCoreError as error:
        raise AwsError(f"cannot read the evaluation report {uri}: {error}") from error
    try:
        report = json.loads(body)
    except ValueError as error:
        raise AwsError(f"the evaluation report {uri} is not JSON: {error}") from error
    if not isinstance(report, dict):
        raise AwsError(f"the evaluation report {uri} is not a JSON object")
    return report


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def hold_out_metrics(
    report: dict[str, Any], target: str, uri: str
) -> dict[str, dict[str, Any]]:
    """Metrics of the report that have a finite ``value``, by name."""
    kind = metric_kind(target)
    body = report.get(kind)
    metrics = {
        name: item
        for name, item in (body if isinstance(body, dict) else {}).items()
        if isinstance(item, dict) and _number(item.get("value"))
    }
    if GATE_METRIC not in metrics:
        raise AwsError(
            f"the evaluation report {uri} has no {kind}.{GATE_METRIC}.value; a "
            f"{target} model's package must point to the evaluate step's "
            "evaluation.json (SageMaker model-quality shape)"
        )
    return metrics


def _target(package: dict[str, Any], model: ModelConfig) -> str:
    target = package.get("CustomerMetadataProperties", {}).get("target", model.target)
    if target not in TARGETS:
        raise AwsError(
            f"model package {package['ModelPackageArn']} has target '{target}'; "
            f"expected one of {', '.join(TARGETS)}"
        )
    return target


def _notes(item: dict[str, Any]) -> str:
    notes = []
    if _number(item.get("standard_deviation")):
        notes.append(f"standard deviation {item['standard_deviation']:.3f}")
    interval = item.get("confidence_interval_95")
    if (
        isinstance(interval, list)
        and len(interval) == 2
        and all(map(_number, interval))
    ):
        notes.append(f"95% bootstrap interval {interval[0]:.3f}-{interval[1]:.3f}")
    return "; ".join(notes)


def _confusion_matrix(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The confusion matrix as a matrix metric, or nothing if it is malformed."""
    matrix = body.get("confusion_matrix")
    if not isinstance(matrix, dict) or not 0 < len(matrix) <= 20:
        return []
    labels = list(matrix)
    try:
        rows = [
            [int(matrix[actual][predicted]) for predicted in labels]
            for actual in labels
        ]
    except (KeyError, TypeError, ValueError):
        return []
    return [
        {
            "name": "confusion_matrix",
            "type": "matrix",
            "value": rows,
            "x_axis_name": [f"predicted {label}" for label in labels],
            "y_axis_name": [f"actual {label}" for label in labels],
        }
    ]


def package_content(
    config: ProjectConfig,
    package: dict[str, Any],
    target: str,
    report: dict[str, Any],
    gate: dict[str, Any],
    uri: str,
) -> dict[str, Any]:
    """Card content in the model package model card schema."""
    arn = package["ModelPackageArn"]
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    metrics = hold_out_metrics(report, target, uri)
    verdict = "passed" if gate["passed"] else "failed"
    rows = report.get("rows")
    metric_data = []
    for name, item in metrics.items():
        metric = {"name": name, "type": "number", "value": float(item["value"])}
        if notes := _notes(item):
            metric["notes"] = notes
        metric_data.append(metric)
    metric_data += _confusion_matrix(report[metric_kind(target)])
    content: dict[str, Any] = {
        "model_overview": {
            "model_creator": config.slug,
            "model_artifact": [
                c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")
            ][:15],
        },
        "intended_uses": {
            "purpose_of_model": model_card.intended_use(target),
            "intended_uses": "Out of scope:\n"
            + "\n".join(f"- {item}" for item in model_card.OUT_OF_SCOPE),
        },
        "evaluation_details": [
            {
                "name": "hold-out",
                "evaluation_observation": (
                    f"{rows if _number(rows) else 'An unknown number of'} hold-out "
                    "rows; intervals from a seeded bootstrap of those rows. Quality "
                    f"gate: ROC AUC {gate['value']:.3f} against "
                    f"{gate['threshold']:.3f} (quality_gate_auc of "
                    f"config/model.yaml): {verdict}."
                ),
                "metadata": {"evaluation_report": uri, "target": target},
                "metric_groups": [
                    {"name": "hold-out metrics", "metric_data": metric_data},
                    {
                        "name": "quality gate",
                        "metric_data": [
                            {
                                "name": f"{GATE_METRIC} threshold",
                                "type": "number",
                                "value": gate["threshold"],
                            },
                            {
                                "name": "passed",
                                "type": "boolean",
                                "value": gate["passed"],
                            },
                        ],
                    },
                ],
            }
        ],
        "additional_information": {
            "caveats_and_recommendations": "\n".join(
                f"- {item}" for item in model_card.LIMITATIONS
            ),
            "custom_details": {
                "model_package_arn": arn,
                "model_package_group": package.get(
                    "ModelPackageGroupName", config.model_package_group
                ),
                "approval_status": package.get("ModelApprovalStatus", ""),
                "quality_gate": f"{GATE_METRIC} >= {gate['threshold']:.3f}: {verdict}",
            },
        },
    }
    training_data = package.get("CustomerMetadataProperties", {}).get("training-data")
    images = [c["Image"] for c in containers if c.get("Image")][:15]
    job: dict[str, Any] = {}
    if training_data:
        job["training_datasets"] = [training_data]
    if images:
        job["training_environment"] = {"container_image": images}
    if job:
        content["training_details"] = {"training_job_details": job}
    return content


def model_card_content(
    package_card: dict[str, Any], package: dict[str, Any], target: str
) -> dict[str, Any]:
    """The package's card widened to a SageMaker Model Card's model overview."""
    content = copy.deepcopy(package_card)
    content["model_overview"].update(
        model_description=(
            package.get("ModelPackageDescription") or f"{target} heart-disease model"
        )[:1024],
        problem_type=PROBLEM_TYPES[target],
        algorithm_type=ALGORITHM,
    )
    return content


def _serialise(content: dict[str, Any], what: str) -> str:
    text = json.dumps(content, allow_nan=False)
    if len(text) > MAX_CONTENT:
        raise AwsError(
            f"{what} is {len(text)} characters; SageMaker accepts at most {MAX_CONTENT}"
        )
    return text


def _same(text: str | None, content: dict[str, Any]) -> bool:
    try:
        return bool(text) and json.loads(text) == content
    except ValueError:
        return False


def publish(
    config: ProjectConfig,
    clients: Clients,
    name: str,
    content: dict[str, Any],
    package_arn: str,
) -> tuple[str, str]:
    """Create the SageMaker Model Card ``name``, or update it when it changed.

    Returns:
        The card's ARN and what happened: created, updated or unchanged.
    """
    from botocore.exceptions import ClientError

    text = _serialise(content, f"SageMaker Model Card {name}")
    try:
        current = clients.sagemaker.describe_model_card(ModelCardName=name)
    except ClientError as error:
        if error_code(error) != "ResourceNotFound":
            raise AwsError(
                f"cannot read the SageMaker Model Card '{name}': {error_message(error)}"
            ) from error
        tags = {**config.tags, "model-package-arn": package_arn}
        with aws_call(f"creating the SageMaker Model Card {name}"):
            arn = clients.sagemaker.create_model_card(
                ModelCardName=name,
                Content=text,
                ModelCardStatus=CARD_STATUS,
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )["ModelCardArn"]
        return arn, "created"
    if _same(current.get("Content"), content):
        return current["ModelCardArn"], "unchanged"
    if current.get("ModelCardStatus") == "Archived":
        raise AwsError(
            f"the SageMaker Model Card '{name}' is Archived and cannot change; "
            "delete it or set it to another status first"
        )
    with aws_call(f"updating the SageMaker Model Card {name}"):
        arn = clients.sagemaker.update_model_card(
            ModelCardName=name, Content=text, ModelCardStatus=CARD_STATUS
        )["ModelCardArn"]
    return arn, "updated"


def attach(
    config: ProjectConfig,
    model: ModelConfig,
    clients: Clients,
    reference: str = "latest",
    *,
    sagemaker_card: bool | None = None,
) -> Card:
    """Attach the card to a package; with ``sagemaker_card``, publish it too.

    Args:
        config: The project configuration.
        model: The model configuration (its quality gate goes into the card).
        clients: AWS clients.
        reference: ``latest``, a version number or a model package ARN.
        sagemaker_card: Also create or update a SageMaker Model Card; default
            ``model_card.sagemaker_enabled`` of ``config/project.yaml``.
    """
    if sagemaker_card is None:
        sagemaker_card = sagemaker_card_enabled(config)
    package = find_package(clients, config.model_package_group, reference)
    arn = package["ModelPackageArn"]
    version = int(package.get("ModelPackageVersion") or arn.rsplit("/", 1)[-1])
    group = package.get("ModelPackageGroupName", config.model_package_group)
    name = card_name(group, version) if sagemaker_card else None
    target = _target(package, model)
    uri = evaluation_uri(package)
    report = read_report(clients, uri)
    metrics = hold_out_metrics(report, target, uri)
    auc = float(metrics[GATE_METRIC]["value"])
    gate = {
        "metric": GATE_METRIC,
        "threshold": model.quality_gate_auc,
        "value": auc,
        "passed": auc >= model.quality_gate_auc,
    }
    content = package_content(config, package, target, report, gate, uri)
    text = _serialise(content, f"the model card of {arn}")
    attached = not _same(package.get("ModelCard", {}).get("ModelCardContent"), content)
    if attached:
        with aws_call(f"attaching the model card to {arn}"):
            clients.sagemaker.update_model_package(
                ModelPackageArn=arn,
                ModelCard={"ModelCardContent": text, "ModelCardStatus": CARD_STATUS},
            )
    logger.info(
        "model card of %s: ROC AUC %.3f, gate %.3f %s%s",
        arn,
        auc,
        model.quality_gate_auc,
        "passed" if gate["passed"] else "failed",
        "" if attached else " (unchanged)",
    )
    card = Card(
        package_arn=arn,
        version=version,
        approval_status=package.get("ModelApprovalStatus", ""),
        evaluation_uri=uri,
        metrics={k: float(v["value"]) for k, v in metrics.items()},
        gate=gate,
        content=content,
        attached=attached,
    )
    if name is None:
        return card
    full = model_card_content(content, package, target)
    card_arn, action = publish(config, clients, name, full, arn)
    logger.info("SageMaker Model Card %s %s: %s", name, action, card_arn)
    return dataclasses.replace(
        card, model_card_name=name, model_card_arn=card_arn, model_card_action=action
    )
