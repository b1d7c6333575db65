"""Project and model configuration.

``config/project.yaml`` (rendered from the template's answers) describes the
AWS side; ``config/model.yaml`` (owned by the team) describes the model. Any
AWS value can be overridden at run time with an ``MLOPS_*`` environment
variable, e.g. ``MLOPS_AWS_REGION`` or ``MLOPS_DATA_BUCKET``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .schema import COLUMNS

TARGETS = ("binary", "severity")
STAGES = ("staging", "production")


def project_dir() -> Path:
    """The project's root: ``MLOPS_HOME`` or the nearest parent with ``config/``."""
    if home := os.environ.get("MLOPS_HOME"):
        return Path(home).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "config" / "project.yaml").is_file():
            return candidate
    raise ConfigError(
        f"no config/project.yaml in {here} or its parents; run the command inside "
        "the project or set MLOPS_HOME to the project directory"
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"configuration file {path} does not exist") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path} must hold a mapping, not {type(content).__name__}")
    return content


MODEL_KEYS = (
    "target",
    "quality_gate_auc",
    "split",
    "drop_columns",
    "hyperparameters",
    "monitoring",
)
SPLIT_KEYS = ("test_size", "validation_size", "seed")
# XGBoost hyperparameters the model accepts, with their sensible ranges.
HYPERPARAMETERS: dict[str, tuple[float, float]] = {
    "max_depth": (1, 16),
    "n_estimators": (1, 5000),
    "learning_rate": (1e-4, 1.0),
    "subsample": (0.1, 1.0),
    "colsample_bytree": (0.1, 1.0),
    "colsample_bylevel": (0.1, 1.0),
    "colsample_bynode": (0.1, 1.0),
    "min_child_weight": (0.0, 1000.0),
    "gamma": (0.0, 1000.0),
    "reg_alpha": (0.0, 1000.0),
    "reg_lambda": (0.0, 1000.0),
    "max_delta_step": (0.0, 100.0),
    "scale_pos_weight": (0.01, 100.0),
    "max_bin": (2, 1024),
}


def _check_keys(path: Path, prefix: str, raw: Any, allowed: Any) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: {prefix.rstrip('.') or 'the file'} must be a mapping"
        )
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(prefix + str(k) for k in unknown)}; "
            f"allowed: {', '.join(prefix + k for k in allowed)}"
        )


@dataclass(frozen=True)
class SplitConfig:
    """How rows are split into train, validation and test."""

    test_size: float = 0.2
    validation_size: float = 0.1
    seed: int = 42


@dataclass(frozen=True)
class ModelConfig:
    """What to predict, how to train it and the bar it must clear."""

    target: str = "binary"
    quality_gate_auc: float = 0.85
    split: SplitConfig = field(default_factory=SplitConfig)
    drop_columns: tuple[str, ...] = ("id", "dataset")
    hyperparameters: dict[str, float | int] = field(default_factory=dict)
    monitoring: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Reject values that would train a meaningless model."""
        if self.target not in TARGETS:
            raise ConfigError(
                f"target '{self.target}' is not one of {', '.join(TARGETS)}"
            )
        if not 0.5 <= self.quality_gate_auc <= 0.95:
            raise ConfigError(
                f"quality_gate_auc {self.quality_gate_auc} is outside 0.5-0.95 "
                "(above 0.95 only a leak passes on this data)"
            )
        for name, value in self.hyperparameters.items():
            low, high = HYPERPARAMETERS[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (low <= value <= high)
            ):
                raise ConfigError(
                    f"hyperparameter {name}={value!r} is outside {low}-{high}"
                )
        unknown = set(self.drop_columns) - set(COLUMNS)
        if unknown:
            raise ConfigError(
                f"drop_columns names {', '.join(sorted(unknown))}, which are not "
                f"columns of the data ({', '.join(COLUMNS)})"
            )
        sizes = (self.split.test_size, self.split.validation_size)
        if not all(0 < size < 0.5 for size in sizes) or sum(sizes) >= 0.6:
            raise ConfigError(
                f"split sizes test={sizes[0]} validation={sizes[1]} must each be "
                "in (0, 0.5) and together below 0.6"
            )

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        """Read ``config/model.yaml``, refusing unknown keys (typos)."""
        raw = _read_yaml(path)
        _check_keys(path, "", raw, MODEL_KEYS)
        _check_keys(path, "split.", raw.get("split") or {}, SPLIT_KEYS)
        _check_keys(
            path, "hyperparameters.", raw.get("hyperparameters") or {}, HYPERPARAMETERS
        )
        try:
            return cls(
                target=str(raw.get("target", "binary")),
                quality_gate_auc=float(raw.get("quality_gate_auc", 0.85)),
                split=SplitConfig(**raw.get("split", {})),
                drop_columns=tuple(raw.get("drop_columns", ("id", "dataset"))),
                hyperparameters=dict(raw.get("hyperparameters", {})),
                monitoring=dict(raw.get("monitoring", {})),
            )
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{path}: {error}") from error


# What an MLOPS_* override must look like (the template's questions check the
# rendered values more thoroughly).
_BUCKET = r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"
_ACCOUNT = r"\d{12}"
_OVERRIDE_PATTERNS = {
    "aws_region": r"[a-z]{2}(-[a-z]+)+-\d",
    "aws_account_id": _ACCOUNT,
    "staging_account_id": _ACCOUNT,
    "production_account_id": _ACCOUNT,
    "data_bucket": _BUCKET,
    "artifact_bucket": _BUCKET,
    "log_bucket": _BUCKET,
    "sagemaker_role": r"[\w+=,.@-]{1,64}|arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+",
    "model_package_group": r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    "pipeline_name": r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}",
}


@dataclass(frozen=True)
class ProjectConfig:
    """Names and places of the use case, locally and on AWS."""

    root: Path
    slug: str
    package: str
    region: str
    account_id: str
    staging_account_id: str
    production_account_id: str
    resource_prefix: str
    sagemaker_role: str
    data_bucket: str
    artifact_bucket: str
    log_bucket: str
    model_package_group: str
    pipeline_name: str
    ecr_repository: str
    tags: dict[str, str]
    endpoint: dict[str, Any]

    @classmethod
    def load(cls, root: Path | None = None) -> ProjectConfig:
        """Read ``config/project.yaml`` and apply ``MLOPS_*`` overrides."""
        root = root or project_dir()
        path = root / "config" / "project.yaml"
        try:
            return cls._from_raw(root, _read_yaml(path))
        except (KeyError, TypeError) as error:
            raise ConfigError(
                f"{path} lacks {error}; render it again with 'copier update'"
            ) from error

    @classmethod
    def _from_raw(cls, root: Path, raw: dict[str, Any]) -> ProjectConfig:
        aws, project = raw.get("aws", {}), raw.get("project", {})
        env = os.environ.get

        def pick(key: str, value: Any) -> str:
            name = f"MLOPS_{key.upper()}"
            given = env(name) or None  # set but empty: keep the configured value
            pattern = _OVERRIDE_PATTERNS.get(key)
            if given is not None and pattern and not re.fullmatch(pattern, given):
                raise ConfigError(
                    f"{name}='{given}' is not a valid {key.replace('_', ' ')}"
                )
            return str(given if given is not None else value)

        return cls(
            root=root,
            slug=project["slug"],
            package=project["package"],
            region=pick("aws_region", aws["region"]),
            account_id=pick("aws_account_id", aws["account_id"]),
            staging_account_id=pick("staging_account_id", aws["staging_account_id"]),
            production_account_id=pick(
                "production_account_id", aws["production_account_id"]
            ),
            resource_prefix=aws["resource_prefix"],
            sagemaker_role=pick("sagemaker_role", aws["sagemaker_role"]),
            data_bucket=pick("data_bucket", aws["buckets"]["data"]),
            artifact_bucket=pick("artifact_bucket", aws["buckets"]["artifacts"]),
            log_bucket=pick("log_bucket", aws["buckets"]["logs"]),
            model_package_group=pick("model_package_group", aws["model_package_group"]),
            pipeline_name=pick("pipeline_name", aws["pipeline_name"]),
            ecr_repository=aws["ecr_repository"],
            tags={str(k): str(v) for k, v in aws.get("tags", {}).items()},
            endpoint=dict(raw.get("endpoint", {})),
        )

    @property
    def role_arn(self) -> str:
        """The execution role as an ARN, whether the answer was a name or an ARN."""
        if self.sagemaker_role.startswith("arn:"):
            return self.sagemaker_role
        return f"arn:aws:iam::{self.account_id}:role/{self.sagemaker_role}"


@dataclass(frozen=True)
class Paths:
    """Where the local runtime keeps its files, all under the project."""

    root: Path

    @property
    def raw_data(self) -> Path:
        """The dataset the pipeline reads by default."""
        return self.root / "data" / "raw" / "heart.csv"

    @property
    def cache(self) -> Path:
        """Downloads (the UCI archive)."""
        return self.root / "data" / "cache"

    @property
    def build(self) -> Path:
        """Outputs of the last local pipeline run, one folder per step."""
        return self.root / "build"

    @property
    def registry(self) -> Path:
        """The local model registry."""
        return self.root / "registry"

    @property
    def captures(self) -> Path:
        """Requests and responses captured by the local endpoint."""
        return self.root / "captures"

    @classmethod
    def discover(cls) -> Paths:
        """Paths of the project the command runs in."""
        return cls(project_dir())


def load_model_config(root: Path | None = None) -> ModelConfig:
    """Read the model configuration of the project at ``root``."""
    return ModelConfig.load((root or project_dir()) / "config" / "model.yaml")
