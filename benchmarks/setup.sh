#!/usr/bin/env bash
# Install the comparison server (MLflow) for benchmarks/run.py into its own
# environment, .tools/mlflow-bench. About 1 GB; not needed by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .tools/mlflow-bench
.tools/mlflow-bench/bin/python -m pip install --quiet -r benchmarks/requirements-mlflow.txt
