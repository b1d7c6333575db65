#!/usr/bin/env bash
# Create (or refresh) the environments the template's tests and demo need:
#   .venv/            the template's Python tooling and the rendered project's
#                     dependencies (pyproject.toml, extra "test")
#   .tools/<name>/    one isolated environment per linter in .ci/tools/<name>.txt
#                     (checkov and python-hcl2 cannot share an environment)
#   .tools/bin/       links to the linters' commands; tests put it on PATH
# Idempotent: a second run only installs what changed.
set -euo pipefail

cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"

if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -e "$stamp" ]]; then
  echo "bootstrap: installing the template's test environment into .venv"
  .venv/bin/python -m pip install --quiet -e ".[test]"
  touch "$stamp"
fi

mkdir -p .tools/bin
for requirements in .ci/tools/*.txt; do
  [[ -e "$requirements" ]] || continue
  name="$(basename "$requirements" .txt)"
  env=".tools/$name"
  tool_stamp="$env/.installed-$(sha256sum "$requirements" | cut -c1-16)"
  if [[ ! -e "$tool_stamp" ]]; then
    echo "bootstrap: installing $name into $env"
    rm -rf "$env"
    "$python" -m venv "$env"
    "$env/bin/python" -m pip install --quiet -r "$requirements"
    touch "$tool_stamp"
  fi
  # The first comment line of the requirements file lists the commands to expose.
  for command in $(sed -n '1s/^# commands://p' "$requirements"); do
    ln -sf "../$name/bin/$command" ".tools/bin/$command"
  done
done
