"""Entry point of the project image: one image for every SageMaker job.

SageMaker starts a training container with the argument ``train`` and an
endpoint container with ``serve``; the pipeline's processing jobs call this
module with ``preprocess`` or ``evaluate``. Each command runs the same step
code as the local runtime, with the SageMaker paths as defaults:

* ``train``: ``/opt/ml/input/data/<channel>`` -> ``/opt/ml/model``
* ``serve``: the model in ``/opt/ml/model`` on port 8080 (``/ping``,
  ``/invocations``)
* ``preprocess`` and ``evaluate``: ``/opt/ml/processing/...``

This module needs only the project's own dependencies, not boto3 or the SDK.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProjectError

logger = logging.getLogger(__name__)

COMMANDS = ("train", "serve", "preprocess", "evaluate")
FAILURE_FILE = Path("/opt/ml/output/failure")


def model_directory(path: Path) -> Path:
    """``path`` itself, or where its ``model.tar.gz`` unpacks (local runs)."""
    from ..inference import ARTEFACT

    archive = path / "model.tar.gz"
    if (path / ARTEFACT).is_file() or not archive.is_file():
        return path
    target = Path(tempfile.mkdtemp(prefix="model-"))
    with tarfile.open(archive) as bundle:
        bundle.extractall(target, filter="data")
    logger.debug("unpacked %s into %s", archive, target)
    return target


def serve(argv: Sequence[str]) -> None:
    """Answer ``/ping`` and ``/invocations`` until SageMaker stops the container."""
    from ..serve import create_server

    parser = argparse.ArgumentParser(prog="serve")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")),
    )
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - inside the container
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", 8080))
    )
    args = parser.parse_args(argv)
    # SageMaker captures traffic itself (endpoint data capture), so none here.
    server = create_server(model_directory(args.model_dir), args.host, args.port)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one container command; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: one of {', '.join(COMMANDS)} [options]", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "serve":
            serve(rest)
        else:
            from importlib import import_module

            import_module(f"..steps.{command}", __package__).main(rest)
    except ProjectError as error:
        message = f"{command}: {error}"
        print(f"error: {message}", file=sys.stderr)
        failure = Path(os.environ.get("MLOPS_FAILURE_FILE", FAILURE_FILE))
        if failure.parent.is_dir():
            failure.write_text(message[:1024] + "\n", encoding="utf-8")
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
