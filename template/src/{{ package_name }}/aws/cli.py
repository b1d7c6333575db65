"""The ``aws`` subcommands: SageMaker pipeline, registry, endpoints, cleanup.

Registered by the main CLI through ``add_commands``; boto3 and the SDK are
imported only when a command runs, so the rest of the CLI works without the
``[aws]`` extra.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import Any

from ..config import STAGES, ProjectConfig, load_model_config
from ..errors import AwsError

Handler = Callable[[argparse.Namespace], None]


def _guarded(handler: Handler) -> Handler:
    """Turn botocore errors that escaped the modules into one-line ``AwsError``."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> None:
        try:
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError as error:
            raise AwsError(
                "the AWS commands need the [aws] extra: pip install -e '.[aws]'"
            ) from error
        try:
            handler(args)
        except ClientError as error:
            message = error.response.get("Error", {}).get("Message", str(error))
            raise AwsError(f"AWS refused the request: {message}") from error
        except BotoCoreError as error:
            raise AwsError(f"AWS call failed: {error}") from error

    return run


def _context() -> tuple[ProjectConfig, Any]:
    from .session import Clients

    config = ProjectConfig.load()
    return config, Clients(config)


def _definition(args: argparse.Namespace) -> None:
    from .pipeline import build

    config, clients = _context()
    _, definition = build(
        config, load_model_config(config.root), clients, args.image_uri
    )
    text = json.dumps(json.loads(definition), indent=2, sort_keys=True) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"definition of {config.pipeline_name} -> {args.output}")
    else:
        sys.stdout.write(text)


def _upsert(args: argparse.Namespace) -> None:
    from .pipeline import upsert

    config, clients = _context()
    arn = upsert(config, load_model_config(config.root), clients, args.image_uri)
    print(f"pipeline {arn} is up to date")


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise AwsError(f"parameter '{pair}' is not Name=Value")
        parameters[name] = value
    return parameters


def _start(args: argparse.Namespace) -> None:
    from .pipeline import start

    config, clients = _context()
    execution = start(
        config,
        clients,
        _parameters(args.parameter),
        wait=args.wait,
        poll_seconds=args.poll_seconds,
    )
    print(f"execution {execution.arn}: {execution.status}")
    if args.wait and execution.status != "Succeeded":
        reason = f": {execution.failure_reason}" if execution.failure_reason else ""
        raise AwsError(f"pipeline execution {execution.status}{reason}")


def _models_list(args: argparse.Namespace) -> None:
    from .registry import list_packages

    config, clients = _context()
    packages = list_packages(clients, config.model_package_group, args.status)
    if not packages:
        print(f"no model packages in {config.model_package_group}")
        return
    print(f"{'version':>7}  {'status':<22} {'created':<16}  arn")
    for p in packages:
        print(f"{p.version:>7}  {p.status:<22} {p.created:<16}  {p.arn}")


def _models_status(args: argparse.Namespace) -> None:
    from .registry import APPROVED, REJECTED, set_status

    config, clients = _context()
    status = APPROVED if args.command_name == "approve" else REJECTED
    package = set_status(
        clients, config.model_package_group, args.package, status, args.description
    )
    print(f"version {package.version} is {status}: {package.arn}")


def _models_card(args: argparse.Namespace) -> None:
    from .card import attach

    config, clients = _context()
    card = attach(config, load_model_config(config.root), clients, args.package)
    gate = card.gate
    done = "attached to" if card.attached else "unchanged on"
    print(
        f"model card {done} version {card.version} ({card.approval_status}): "
        f"{card.package_arn}"
    )
    print(f"  evaluation report: {card.evaluation_uri}")
    print(
        "  hold-out metrics: "
        + ", ".join(f"{name} {value:.3f}" for name, value in card.metrics.items())
    )
    print(
        f"  quality gate: {gate['metric']} {gate['value']:.3f} >= "
        f"{gate['threshold']:.3f}: {'passed' if gate['passed'] else 'failed'}"
    )
    if card.model_card_name:
        print(
            f"  SageMaker Model Card {card.model_card_name} "
            f"({card.model_card_action}): {card.model_card_arn}"
        )


def _deploy(args: argparse.Namespace) -> None:
    from .deploy import capture_enabled, deploy

    config, clients = _context()
    done = deploy(config, clients, args.stage, args.package_arn)
    print(f"{done.endpoint_name} serves {done.package_arn} ({done.seconds:.0f}s)")
    _monitor_after_deploy(config, clients, args.stage, capture_enabled(config))


def _promote(args: argparse.Namespace) -> None:
    from .deploy import capture_enabled, promote

    config, clients = _context()
    done = promote(config, clients)
    print(f"{done.endpoint_name} serves {done.package_arn} ({done.seconds:.0f}s)")
    _monitor_after_deploy(config, clients, "production", capture_enabled(config))


def _monitor_after_deploy(
    config: ProjectConfig, clients: Any, stage: str, enabled: bool
) -> None:
    if not enabled:
        return
    from .monitoring import enable

    try:
        monitoring = enable(config, clients, stage)
    except AwsError as error:
        raise AwsError(
            f"the endpoint serves the new model, but monitoring was not set up: {error}"
        ) from error
    print(f"monitoring schedule {monitoring.schedule_name} checks captured traffic")


def _monitoring(args: argparse.Namespace) -> None:
    from .monitoring import enable

    config, clients = _context()
    monitoring = enable(config, clients, args.stage, wait=not args.no_wait)
    print(
        f"baseline {monitoring.baseline_uri} (job {monitoring.baseline_job}); "
        f"schedule {monitoring.schedule_name}"
    )


def _cleanup(args: argparse.Namespace) -> None:
    from .cleanup import delete, plan

    config, clients = _context()
    resources = plan(config, clients, args.stage)
    if not resources:
        print(f"nothing to delete for {args.stage}")
        return
    for resource in resources:
        print(
            f"{'delete' if args.yes else 'would delete'} {resource.kind} {resource.name}"
        )
    if not args.yes:
        print("dry run: nothing was deleted; add --yes to delete")
        return
    print(f"deleted {delete(clients, resources)} resources of {args.stage}")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``aws ...`` to the main command line."""
    aws = commands.add_parser("aws", help="SageMaker pipeline, registry and endpoints")
    sub = aws.add_subparsers(dest="aws_command", required=True, metavar="COMMAND")

    pipeline = sub.add_parser("pipeline", help="the SageMaker Pipeline")
    steps = pipeline.add_subparsers(dest="aws_pipeline_command", required=True)
    definition = steps.add_parser("definition", help="print the definition JSON")
    upsert = steps.add_parser("upsert", help="create or update the pipeline")
    for parser in (definition, upsert):
        parser.add_argument(
            "--image-uri",
            help="project image (default: $MLOPS_IMAGE_URI, else :latest)",
        )
    definition.add_argument("--output", help="write to this file instead of stdout")
    definition.set_defaults(handler=_guarded(_definition))
    upsert.set_defaults(handler=_guarded(_upsert))
    start = steps.add_parser("start", help="start an execution")
    start.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="pipeline parameter, e.g. InputDataUri=s3://bucket/heart.csv",
    )
    start.add_argument("--wait", action="store_true", help="wait for the end")
    start.add_argument(
        "--poll-seconds", type=float, default=30.0, help=argparse.SUPPRESS
    )
    start.set_defaults(handler=_guarded(_start))

    models = sub.add_parser("models", help="the SageMaker Model Registry")
    model_commands = models.add_subparsers(dest="aws_models_command", required=True)
    listing = model_commands.add_parser("list", help="model packages, newest first")
    listing.add_argument(
        "--status", choices=("Approved", "Rejected", "PendingManualApproval")
    )
    listing.set_defaults(handler=_guarded(_models_list))
    for name in ("approve", "reject"):
        change = model_commands.add_parser(name, help=f"{name} a model package")
        change.add_argument("package", help="version number or model package ARN")
        change.add_argument("--description", default="", help="why")
        change.set_defaults(handler=_guarded(_models_status), command_name=name)
    card = model_commands.add_parser(
        "card", help="attach the model card to a model package (and publish it)"
    )
    card.add_argument(
        "package",
        nargs="?",
        default="latest",
        help="'latest' (newest package of the group, default), a version number "
        "or a model package ARN",
    )
    card.set_defaults(handler=_guarded(_models_card))

    deploy = sub.add_parser("deploy", help="deploy a model package to a stage")
    deploy.add_argument("--stage", choices=STAGES, required=True)
    deploy.add_argument(
        "--package-arn",
        help="model package ARN or version (staging default: newest Approved)",
    )
    deploy.set_defaults(handler=_guarded(_deploy))

    promote = sub.add_parser(
        "promote", help="deploy to production the package staging serves"
    )
    promote.set_defaults(handler=_guarded(_promote))

    monitoring = sub.add_parser(
        "monitoring", help="baseline and schedule SageMaker Model Monitor for a stage"
    )
    monitoring.add_argument("--stage", choices=STAGES, required=True)
    monitoring.add_argument(
        "--no-wait", action="store_true", help="do not wait for the baseline job"
    )
    monitoring.set_defaults(handler=_guarded(_monitoring))

    cleanup = sub.add_parser(
        "cleanup", help="delete a stage's endpoint, configurations and models"
    )
    cleanup.add_argument("--stage", choices=STAGES, required=True)
    cleanup.add_argument("--yes", action="store_true", help="delete (default: list)")
    cleanup.set_defaults(handler=_guarded(_cleanup))
