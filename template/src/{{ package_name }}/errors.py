"""Errors the project raises on purpose.

Every user-facing error names the bad value and what would be accepted; the
CLI prints its message on one line and exits with its ``exit_code``.
"""

from __future__ import annotations


class ProjectError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class ConfigError(ProjectError):
    """A configuration file or environment variable holds a wrong value."""

    exit_code = 2


class DataError(ProjectError):
    """Data cannot be read, downloaded or verified."""


class DataValidationError(DataError):
    """Data was read but breaks the schema; ``problems`` lists each finding."""

    def __init__(self, problems: list[str]) -> None:
        """Summarise the first five problems in the message."""
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"data is invalid: {shown}{more}")


class QualityGateError(ProjectError):
    """The model missed the quality gate, so it was not registered."""

    exit_code = 3


class DriftDetected(ProjectError):
    """Captured traffic crossed a monitoring threshold: drift or worse model quality.

    Its own exit code lets a scheduler tell "look at the report" from a failure.
    """

    exit_code = 4


class PipelineBusyError(ProjectError):
    """Another pipeline run holds the build folder."""


class RegistryError(ProjectError):
    """A model version does not exist or cannot change as asked."""


class InvalidRequestError(ProjectError):
    """A prediction request is malformed; the endpoint answers it with a 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        """Carry the HTTP status the endpoint answers with."""
        self.status = status
        super().__init__(message)


class AwsError(ProjectError):
    """An AWS call failed or AWS holds something other than expected."""
