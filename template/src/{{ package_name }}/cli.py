"""The project's command line: one command, a subcommand per everyday task.

Errors the project raises on purpose print as one line on stderr and exit
non-zero; a traceback means a bug. ``-v`` shows DEBUG details. Exit codes:

* 0: done.
* 1: an error (data, registry, AWS or any other the project raises).
* 2: configuration (a wrong value in a configuration file, option or
  environment variable).
* 3: quality gate (the model was not good enough to register).
* 4: drift, or model quality worse than registered (``monitor``).
* 130: interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import STAGES, Paths, load_model_config
from .errors import ProjectError

logger = logging.getLogger(__name__)

# Optional parts add their own subcommands through ``add_commands(subparsers)``;
# they import their heavy dependencies only when a command runs.
EXTENSIONS = ("monitor_cli", "aws.cli", "seed")


def _data_fetch(args: argparse.Namespace) -> None:
    from .data import fetch

    paths = Paths.discover()
    path = fetch(args.source, paths.raw_data, paths.cache)
    print(f"data ready: {path}")


def _data_validate(args: argparse.Namespace) -> None:
    from .data import read_csv, validate

    source = args.input or Paths.discover().raw_data
    frame = validate(read_csv(source))
    print(f"{source}: {len(frame)} rows, valid")


def _pipeline_run(args: argparse.Namespace) -> None:
    from .pipeline import run

    paths = Paths.discover()
    result = run(paths, load_model_config(paths.root), args.data)
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
    print(
        f"registered version {result.version.number} ({result.version.status}): "
        f"{metrics}; {result.seconds:.1f}s\n"
        f"report: {result.version.evaluation_dir / 'report.html'}\n"
        f"next: approve it with '{_prog()} models approve {result.version.number}'"
    )


# What each step reads from the step before it, under build/.
_STEP_INPUTS = {
    "train": ("preprocess", "preprocess/train/train.csv"),
    "evaluate": ("train", "model/model.json"),
    "register": ("evaluate", "evaluation/evaluation.json"),
}


def _step(args: argparse.Namespace) -> None:
    from . import pipeline
    from .steps import preprocess, register

    paths = Paths.discover()
    config = load_model_config(paths.root)
    build = paths.build
    if args.step in _STEP_INPUTS:
        previous, needed = _STEP_INPUTS[args.step]
        if not (build / needed).is_file():
            raise ProjectError(
                f"{build / needed} does not exist; run 'step {previous}' first"
            )
    if args.step == "preprocess":
        pipeline.preprocess_step(paths, config, args.input or paths.raw_data)
    elif args.step == "train":
        pipeline.train_step(paths, config)
    elif args.step == "evaluate":
        pipeline.evaluate_step(paths, config)
    else:
        from .registry import LocalRegistry

        source = build / "preprocess" / preprocess.SOURCE_FILE
        lineage = {
            "data": json.loads(source.read_text()),
            "code": register.code_version(paths.root),
        }
        version = register.run(
            LocalRegistry(paths.registry),
            build / "model",
            build / "evaluation",
            quality_gate_auc=config.quality_gate_auc,
            lineage=lineage,
        )
        print(f"registered version {version.number} ({version.status})")


def _registry():  # noqa: ANN202 - the registry class is imported lazily
    from .registry import LocalRegistry

    return LocalRegistry(Paths.discover().registry)


def _models_list(args: argparse.Namespace) -> None:
    registry = _registry()
    stages = {s: registry.deployed_number(s) for s in STAGES}
    versions = registry.list()
    if not versions:
        print("no model versions yet; run 'pipeline run'")
        return
    print(
        f"{'version':>7}  {'status':<22} {'auc':>6} {'accuracy':>8}  "
        f"{'created':<25}  stages"
    )
    for v in versions:
        metrics = v.package.get("metrics", {})
        on = ",".join(s for s, n in stages.items() if n == v.number)
        print(
            f"{v.number:>7}  {v.status:<22} {metrics.get('auc', 0):>6.3f} "
            f"{metrics.get('accuracy', 0):>8.3f}  {v.package['created']:<25}  {on}"
        )


def _models_show(args: argparse.Namespace) -> None:
    version = _registry().get(args.version)
    print(json.dumps(version.package, indent=2))
    card = version.path / "model_card.md"
    if card.is_file():
        print()
        print(card.read_text(encoding="utf-8"))


def _models_status(args: argparse.Namespace) -> None:
    from .registry import APPROVED, REJECTED

    status = APPROVED if args.command_name == "approve" else REJECTED
    version = _registry().set_status(args.version, status, args.description)
    print(f"version {version.number} is {version.status}")


def _deploy(args: argparse.Namespace) -> None:
    version = _registry().deploy(args.version, args.stage)
    print(f"{args.stage} now serves version {version.number}")


def _model_dir(args: argparse.Namespace) -> Path:
    if getattr(args, "model_dir", None):
        return Path(args.model_dir)
    return _registry().deployed(args.stage).model_dir


def _serve(args: argparse.Namespace) -> None:
    from .serve import create_server

    capture_dir = None
    if not args.no_capture:
        capture_dir = (
            Path(args.capture_dir)
            if args.capture_dir
            else (Paths.discover().captures / args.stage)
        )
    version = None if args.model_dir else str(_registry().deployed(args.stage).number)
    server = create_server(
        _model_dir(args),
        args.host,
        args.port,
        capture_dir,
        args.capture_percent,
        strict=not args.lenient,
        version=version,
    )
    print(
        f"serving on http://{args.host}:{server.port} (Ctrl-C stops)",
        flush=True,
    )
    try:
        server.serve_forever()  # returns on Ctrl-C or SIGTERM
    finally:
        server.server_close()


def _predict(args: argparse.Namespace) -> None:
    from .inference import Predictor, parse_json, predict_batch

    predictor = Predictor.load(_model_dir(args))
    if args.record:
        prediction = predictor.predict(
            parse_json(args.record.encode()), not args.lenient
        )
        print(
            json.dumps(
                prediction.records()[0]
                if len(prediction.labels) == 1
                else prediction.records()
            )
        )
        return
    prediction, ids = predict_batch(
        predictor, Path(args.input).read_bytes(), not args.lenient
    )
    lines = prediction.to_csv().decode().splitlines()
    header = "label,probability" + (
        ""
        if prediction.binary
        else "," + ",".join(f"p{c}" for c in range(prediction.probabilities.shape[1]))
    )
    if ids is not None:
        header = "id," + header
        lines = [f"{i},{line}" for i, line in zip(ids, lines, strict=True)]
    text = header + "\n" + "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"{len(lines)} predictions -> {args.output}")
    else:
        sys.stdout.write(text)


def _report(args: argparse.Namespace) -> None:
    version = _registry().get(args.version)
    print((version.evaluation_dir / "report.md").read_text(encoding="utf-8"))
    print(f"HTML: {version.evaluation_dir / 'report.html'}")


def _prog() -> str:
    return __package__.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog=__package__.replace("_", "-"),
        description="Train, register, deploy and serve the model of this use case.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="DEBUG logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="get and validate the data")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    fetch = data_commands.add_parser(
        "fetch", help="copy or download data/raw/heart.csv"
    )
    fetch.add_argument(
        "--source",
        help="CSV path, s3:// URI or 'uci' (default: "
        "$HEART_DATA, else the UCI archive)",
    )
    fetch.set_defaults(handler=_data_fetch)
    check = data_commands.add_parser("validate", help="validate a data file")
    check.add_argument("--input", help="CSV path or s3:// URI (default: data/raw)")
    check.set_defaults(handler=_data_validate)

    pipeline = commands.add_parser("pipeline", help="the whole local pipeline")
    pipeline_commands = pipeline.add_subparsers(dest="pipeline_command", required=True)
    run = pipeline_commands.add_parser(
        "run", help="preprocess, train, evaluate, quality gate, register"
    )
    run.add_argument("--data", help="CSV path, s3:// URI or 'uci' to (re)fetch first")
    run.set_defaults(handler=_pipeline_run)

    step = commands.add_parser("step", help="run one step on the files under build/")
    step.add_argument("step", choices=("preprocess", "train", "evaluate", "register"))
    step.add_argument("--input", help="data for preprocess (default: data/raw)")
    step.set_defaults(handler=_step)

    models = commands.add_parser("models", help="the local model registry")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    model_commands.add_parser("list", help="every version").set_defaults(
        handler=_models_list
    )
    show = model_commands.add_parser("show", help="a version's metadata and card")
    show.add_argument("version", help="number, 'latest' or 'latest-approved'")
    show.set_defaults(handler=_models_show)
    for name in ("approve", "reject"):
        sub = model_commands.add_parser(name, help=f"{name} a version")
        sub.add_argument("version", help="number or 'latest'")
        sub.add_argument(
            "--description", default="", help="why, kept in the version's history"
        )
        sub.set_defaults(handler=_models_status, command_name=name)

    deploy = commands.add_parser("deploy", help="point a local stage at a version")
    deploy.add_argument("version", help="number or 'latest-approved'")
    deploy.add_argument("--stage", choices=STAGES, required=True)
    deploy.set_defaults(handler=_deploy)

    serve = commands.add_parser("serve", help="the local endpoint of a stage")
    _add_model_source(serve)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (0.0.0.0 exposes it to the network)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=8080,
        help="TCP port, 0 for any free one (default 8080)",
    )
    serve.add_argument("--capture-dir", help="default: captures/<stage>")
    serve.add_argument(
        "--capture-percent",
        type=_percent,
        default=100.0,
        help="share of requests to capture, 0-100 (default 100)",
    )
    serve.add_argument("--no-capture", action="store_true", help="capture nothing")
    _add_lenient(serve)
    serve.set_defaults(handler=_serve)

    predict = commands.add_parser("predict", help="predict one record or a CSV file")
    _add_model_source(predict)
    given = predict.add_mutually_exclusive_group(required=True)
    given.add_argument("--record", help='JSON, e.g. \'{"age": 63, "sex": "Male"}\'')
    given.add_argument("--input", help="CSV file (header row, or columns in order)")
    predict.add_argument(
        "--output", help="CSV file for batch results (default: stdout)"
    )
    _add_lenient(predict)
    predict.set_defaults(handler=_predict)

    report = commands.add_parser("report", help="print a version's evaluation report")
    report.add_argument(
        "version", nargs="?", default="latest", help="number or 'latest' (default)"
    )
    report.set_defaults(handler=_report)

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(f".{name}", __package__)
        except ModuleNotFoundError as error:
            if error.name and error.name.startswith(f"{__package__}."):
                continue  # this optional part was not rendered
            raise
        module.add_commands(commands)
    return parser


def _add_lenient(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="predict even for numbers outside the data's ranges and unknown "
        "categories (encoded as unseen) instead of refusing them",
    )


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0-65535)")
    return port


def _percent(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value:g} is not a percentage (0-100)")
    return value


def _add_model_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stage", choices=STAGES, default="staging")
    source.add_argument("--model-dir", help="a model folder instead of a stage")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args.verbose:  # libraries' INFO chatter (credentials found, ...) is noise
        for noisy in ("botocore", "boto3", "urllib3", "sagemaker", "s3transfer"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        args.handler(args)
    except ProjectError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:  # a file or port the user named: not a bug
        if isinstance(error, BrokenPipeError):  # e.g. `... | head`: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
