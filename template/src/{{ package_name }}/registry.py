"""A local model registry with the SageMaker Model Registry's semantics.

Each registered model is a numbered *model version* (the local counterpart of
a model package) under ``registry/versions/<n>/``: the model files, its
evaluation, a model card, and ``package.json`` with the metrics, lineage
(data checksum, code commit, hyperparameters) and the *approval status*:
``PendingManualApproval`` on registration, then ``Approved`` or ``Rejected``.
A *stage* (staging, production) points at one approved version.

Why files and not MLflow's registry: the team needs exactly three statuses
and two stages that mirror SageMaker; plain JSON keeps the registry readable,
diffable, dependency-free (MLflow adds ~1 GB) and safe to copy. Writes are
atomic (temporary file + rename), so an interrupted command never leaves a
half-written version or stage.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import STAGES
from .errors import RegistryError

logger = logging.getLogger(__name__)

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
PACKAGE_FILE = "package.json"


@dataclass(frozen=True)
class ModelVersion:
    """One registered model and its metadata."""

    number: int
    path: Path
    package: dict[str, Any]

    @property
    def status(self) -> str:
        """The approval status."""
        return str(self.package["approval_status"])

    @property
    def model_dir(self) -> Path:
        """Folder with the model files (pipeline and inference artefact)."""
        return self.path / "model"

    @property
    def evaluation_dir(self) -> Path:
        """Folder with ``evaluation.json``, the plots and the report."""
        return self.path / "evaluation"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, content: dict[str, Any]) -> None:
    """Write JSON atomically: readers see the old or the new file, never half."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)


class LocalRegistry:
    """Model versions and stages stored under one folder."""

    def __init__(self, root: Path) -> None:
        """Use (and create on first write) the registry at ``root``."""
        self.root = root
        self.versions_dir = root / "versions"
        self.stages_dir = root / "stages"

    def register(
        self,
        model_dir: Path,
        evaluation_dir: Path,
        metadata: dict[str, Any],
        describe: Callable[[ModelVersion], object] | None = None,
    ) -> ModelVersion:
        """Copy a trained model and its evaluation in as a new pending version.

        ``describe`` (e.g. writing the model card) runs on the new version
        before it becomes visible: ``package.json`` is written last, and a
        failure removes the whole version.
        """
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=".new-"))
        try:
            shutil.copytree(model_dir, staging / "model")
            shutil.copytree(evaluation_dir, staging / "evaluation")
            number = self._claim_number(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        path = self.versions_dir / str(number)
        package = {
            "version": number,
            "created": _now(),
            "approval_status": PENDING,
            "history": [{"status": PENDING, "at": _now(), "description": "registered"}],
            **metadata,
        }
        version = ModelVersion(number, path, package)
        try:
            if describe is not None:
                describe(version)
            _write_json(path / PACKAGE_FILE, package)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        logger.info("register: version %d (%s) at %s", number, PENDING, path)
        return version

    def _claim_number(self, prepared: Path) -> int:
        """Rename the prepared folder to the next free number (atomic, race-safe)."""
        number = max((v.number for v in self.list()), default=0) + 1
        while True:
            try:
                prepared.rename(self.versions_dir / str(number))
                return number
            except OSError as error:  # only "taken by a concurrent run" is retried
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                number += 1

    def list(self) -> list[ModelVersion]:
        """Every registered version, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        versions = []
        for path in self.versions_dir.iterdir():
            if path.name.isdigit() and (path / PACKAGE_FILE).is_file():
                package = json.loads((path / PACKAGE_FILE).read_text(encoding="utf-8"))
                versions.append(ModelVersion(int(path.name), path, package))
        return sorted(versions, key=lambda v: v.number)

    def get(self, number: int | str) -> ModelVersion:
        """One version by number, or ``latest`` / ``latest-approved``."""
        versions = self.list()
        if number == "latest":
            candidates = versions
        elif number == "latest-approved":
            candidates = [v for v in versions if v.status == APPROVED]
        else:
            candidates = [v for v in versions if str(v.number) == str(number)]
        if not candidates:
            known = ", ".join(str(v.number) for v in versions) or "none registered yet"
            raise RegistryError(f"no model version '{number}' (versions: {known})")
        return candidates[-1]

    def set_status(
        self, number: int | str, status: str, description: str = ""
    ) -> ModelVersion:
        """Approve or reject a version; a deployed version cannot be rejected."""
        if status not in STATUSES:
            raise RegistryError(
                f"approval status '{status}' is not one of {', '.join(STATUSES)}"
            )
        version = self.get(number)
        if status != APPROVED:
            deployed = [s for s in STAGES if self.deployed_number(s) == version.number]
            if deployed:
                raise RegistryError(
                    f"version {version.number} is deployed to {', '.join(deployed)}; "
                    "deploy another version there first"
                )
        if version.status == status:
            logger.info("version %d is already %s", version.number, status)
            return version
        package = dict(version.package)
        package["approval_status"] = status
        package["history"] = [
            *package.get("history", []),
            {"status": status, "at": _now(), "description": description},
        ]
        _write_json(version.path / PACKAGE_FILE, package)
        logger.info("version %d is now %s", version.number, status)
        return ModelVersion(version.number, version.path, package)

    def deploy(self, number: int | str, stage: str) -> ModelVersion:
        """Point ``stage`` at an approved version.

        Production only takes the version that is on staging, so what reaches
        production is exactly what passed staging.
        """
        if stage not in STAGES:
            raise RegistryError(f"stage '{stage}' is not one of {', '.join(STAGES)}")
        version = self.get(number)
        if version.status != APPROVED:
            raise RegistryError(
                f"version {version.number} is {version.status}; only Approved "
                f"versions can be deployed (approve it with 'models approve "
                f"{version.number}')"
            )
        if stage == "production" and self.deployed_number("staging") != version.number:
            raise RegistryError(
                f"version {version.number} is not on staging (staging has "
                f"{self.deployed_number('staging') or 'nothing'}); deploy it to "
                "staging and check it there first"
            )
        self.stages_dir.mkdir(parents=True, exist_ok=True)
        _write_json(
            self.stages_dir / f"{stage}.json",
            {"version": version.number, "deployed": _now()},
        )
        logger.info("deploy: version %d -> %s", version.number, stage)
        return version

    def deployed_number(self, stage: str) -> int | None:
        """The version number a stage points at, if any."""
        path = self.stages_dir / f"{stage}.json"
        if not path.is_file():
            return None
        return int(json.loads(path.read_text(encoding="utf-8"))["version"])

    def deployed(self, stage: str) -> ModelVersion:
        """The version a stage serves."""
        number = self.deployed_number(stage)
        if number is None:
            raise RegistryError(
                f"nothing is deployed to {stage}; run 'deploy <version> --stage {stage}'"
            )
        return self.get(number)
