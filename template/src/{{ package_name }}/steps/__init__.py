"""Pipeline steps: each runs locally or in a SageMaker container unchanged.

Every step module has a ``run(...)`` function with explicit paths (used by the
local pipeline and the CLI). Preprocess, train and evaluate also have a
``main(argv)`` entry point whose defaults follow the SageMaker container
contract (``/opt/ml/...`` paths, ``SM_*`` environment variables); on SageMaker,
registration is the pipeline's own model step.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)


@contextmanager
def timed(step: str) -> Iterator[dict[str, float]]:
    """Measure a step; the caller logs the duration in its INFO line."""
    facts: dict[str, float] = {}
    started = time.perf_counter()
    yield facts
    facts["seconds"] = time.perf_counter() - started
    logger.debug("%s took %.2fs", step, facts["seconds"])
