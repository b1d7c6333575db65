#!/usr/bin/env bash
# Run every test of the template (installs what is missing first).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k validators`.
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.tools/bin:$PATH"
exec .venv/bin/python -m pytest "$@"
