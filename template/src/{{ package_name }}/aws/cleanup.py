"""Delete a stage's endpoint, endpoint configurations, models and schedules.

:func:`plan` only lists; :func:`delete` removes what the plan lists, in an
order AWS accepts (schedules, endpoint, configurations, models). Only names
this project's deployments create are touched: ``<prefix>-<stage>`` and
``<prefix>-<stage>-v<version>-<time>``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config import ProjectConfig
from .deploy import current_config, stage_target
from .session import Clients, aws_call, paginate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    """One thing to delete."""

    kind: str  # monitoring-schedule, endpoint, endpoint-config, model
    name: str


def plan(config: ProjectConfig, clients: Clients, stage: str) -> list[Resource]:
    """What ``delete`` would remove for ``stage``, in deletion order."""
    from botocore.exceptions import BotoCoreError, ClientError

    endpoint = stage_target(config, stage).endpoint_name
    prefix = f"{endpoint}-v"
    sagemaker = clients.sagemaker
    resources: list[Resource] = []
    if current_config(clients, endpoint) is not None:
        try:
            schedules = paginate(
                sagemaker.list_monitoring_schedules,
                "MonitoringScheduleSummaries",
                EndpointName=endpoint,
            )
        except (BotoCoreError, ClientError) as error:
            logger.warning("cannot list monitoring schedules: %s", error)
            schedules = []
        resources += [
            Resource("monitoring-schedule", s["MonitoringScheduleName"])
            for s in schedules
        ]
        resources.append(Resource("endpoint", endpoint))
    with aws_call(f"listing endpoint configurations of {endpoint}"):
        configs = paginate(
            sagemaker.list_endpoint_configs, "EndpointConfigs", NameContains=prefix
        )
        models = paginate(sagemaker.list_models, "Models", NameContains=prefix)
    resources += sorted(
        (
            Resource("endpoint-config", c["EndpointConfigName"])
            for c in configs
            if c["EndpointConfigName"].startswith(prefix)
        ),
        key=lambda r: r.name,
    )
    resources += sorted(
        (
            Resource("model", m["ModelName"])
            for m in models
            if m["ModelName"].startswith(prefix)
        ),
        key=lambda r: r.name,
    )
    return resources


def delete(clients: Clients, resources: list[Resource]) -> int:
    """Delete ``resources`` in order; return how many were deleted."""
    sagemaker = clients.sagemaker
    calls = {
        "monitoring-schedule": lambda n: sagemaker.delete_monitoring_schedule(
            MonitoringScheduleName=n
        ),
        "endpoint": lambda n: sagemaker.delete_endpoint(EndpointName=n),
        "endpoint-config": lambda n: sagemaker.delete_endpoint_config(
            EndpointConfigName=n
        ),
        "model": lambda n: sagemaker.delete_model(ModelName=n),
    }
    for resource in resources:
        with aws_call(f"deleting {resource.kind} {resource.name}"):
            calls[resource.kind](resource.name)
        logger.info("cleanup: deleted %s %s", resource.kind, resource.name)
    return len(resources)
