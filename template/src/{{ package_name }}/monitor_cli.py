"""The ``monitor`` command: drift and model quality of a stage's captured traffic.

Exit status 0 when nothing crossed a threshold, 4 when a feature, the
predictions or the model quality did (so a scheduler can alert on it), 1 when
the captures or ground truth cannot be read, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .config import STAGES, Paths, load_model_config
from .errors import DriftDetected


def _time(text: str) -> Any:
    from .captures import parse_time

    try:
        return parse_time(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _registered(model_dir: Path) -> dict[str, Any] | None:
    package = model_dir.parent / "package.json"
    if not package.is_file():
        return None
    content = json.loads(package.read_text(encoding="utf-8"))
    return {
        **content.get("metrics", {}),
        "version": content.get("version"),
        "quality_gate": content.get("quality_gate", {}).get("threshold"),
    }


def _monitor(args: argparse.Namespace) -> None:
    from .monitor import Thresholds, run
    from .registry import LocalRegistry

    paths = Paths.discover()
    if args.model_dir:
        model_dir = Path(args.model_dir)
    else:
        model_dir = LocalRegistry(paths.registry).deployed(args.stage).model_dir
    thresholds = Thresholds.from_config(load_model_config(paths.root).monitoring)
    thresholds = thresholds.override(
        psi_threshold=args.psi_threshold,
        p_value_threshold=args.p_value_threshold,
        missing_rate_increase=args.missing_rate_increase,
        invalid_rate=args.invalid_rate,
    )
    output = Path(args.output) if args.output else paths.build / "monitor" / args.stage
    summary = run(
        model_dir,
        args.captures or paths.captures / args.stage,
        output,
        since=args.since,
        until=args.until,
        thresholds=thresholds,
        ground_truth=args.ground_truth,
        registered=_registered(model_dir),
    )
    print(f"{summary['rows']} rows from {summary['requests']} requests")
    for name, result in summary["features"].items():
        if result["reasons"]:
            print(f"  {name}: {'; '.join(result['reasons'])}")
    if summary["prediction"] and summary["prediction"]["reasons"]:
        print(f"  prediction: {'; '.join(summary['prediction']['reasons'])}")
    quality = summary.get("quality")
    if quality and "overall" in quality:
        auc = quality["overall"]["auc"]
        print(
            f"  model quality: ROC AUC {auc['value']:.3f} "
            f"({auc['ci95'][0]:.3f}-{auc['ci95'][1]:.3f}) on "
            f"{quality['matched_rows']} rows with ground truth"
        )
    print(f"report: {output / 'report.html'}")
    if summary["drift"]:
        crossed = summary["drifted"] + (
            ["model quality"] if quality and quality["degraded"] else []
        )
        raise DriftDetected(f"drift in {', '.join(crossed)}; see {output}")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``monitor``."""
    monitor = commands.add_parser(
        "monitor",
        help="drift and model quality of captured traffic against the baseline",
        description="Compare a stage's captured requests with the training "
        "baseline of the model it serves. Exit 4 when a threshold is crossed.",
    )
    monitor.add_argument(
        "--stage",
        choices=STAGES,
        default="staging",
        help="the stage whose model and captures to use (default: staging)",
    )
    monitor.add_argument(
        "--model-dir", help="a model folder (with baseline.json) instead of the stage's"
    )
    monitor.add_argument(
        "--captures",
        help="capture folder or file, or an s3:// data-capture prefix "
        "(default: captures/<stage>)",
    )
    monitor.add_argument(
        "--since", type=_time, help="start: ISO time (UTC) or an age like 24h, 7d"
    )
    monitor.add_argument(
        "--until", type=_time, help="end (exclusive): ISO time (UTC) or an age"
    )
    monitor.add_argument(
        "--ground-truth",
        help="CSV with eventId,label (and optional row) for model quality",
    )
    monitor.add_argument(
        "--output",
        help="folder for summary.json and report.html (default: build/monitor/<stage>)",
    )
    thresholds = monitor.add_argument_group(
        "thresholds", "override the monitoring: block of config/model.yaml"
    )
    thresholds.add_argument("--psi-threshold", type=float)
    thresholds.add_argument("--p-value-threshold", type=float)
    thresholds.add_argument("--missing-rate-increase", type=float)
    thresholds.add_argument(
        "--invalid-rate",
        type=float,
        help="share of out-of-range or unknown values tolerated per feature",
    )
    monitor.set_defaults(handler=_monitor)
