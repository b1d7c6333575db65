#!/usr/bin/env bash
# Run every test of the template (installs what is missing first).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k validators`.
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.tools/bin:$PATH"
# Two workers by default (the machines here have two cores); PYTEST_WORKERS=0
# runs everything in one process.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
