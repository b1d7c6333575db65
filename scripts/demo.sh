#!/usr/bin/env bash
# The main job, end to end on a laptop: render a project with default answers,
# install it, train / evaluate / gate / register a model on the heart data,
# approve it, deploy it to the local staging stage, serve it and ask it for a
# prediction. No AWS account, no Docker.
#
#   HEART_DATA=../shared/data/heart_disease_uci.csv bash scripts/demo.sh
#   bash scripts/demo.sh                  # downloads the public UCI archive
#
# DEMO_DIR (default build/demo) is where the project is rendered; a previous
# demo project there is replaced.
set -euo pipefail

cd "$(dirname "$0")/.."
template="$PWD"
bash scripts/bootstrap.sh

if [[ -n "${HEART_DATA:-}" ]]; then
  HEART_DATA="$(realpath "$HEART_DATA")"
  export HEART_DATA
fi
project="$(realpath -m "${DEMO_DIR:-build/demo}")/heart-disease-risk"
rm -rf "$project"

echo "== render the template with default answers into $project"
"$template/.venv/bin/copier" copy --defaults --trust --quiet --vcs-ref HEAD \
  "$template" "$project"
cd "$project"
git init --quiet
git add --all
git -c user.name=demo -c user.email=demo@open-mlops.invalid commit --quiet \
  --message "Render from the open-mlops template"

echo "== install the project into $project/.venv"
make --no-print-directory install

echo "== run the local pipeline"
make --no-print-directory pipeline
make --no-print-directory approve deploy

echo "== serve the staging stage and ask for a prediction"
cli=".venv/bin/heart-disease-risk"
"$cli" serve --stage staging --port 0 >serve.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "serving on" serve.log && break
  sleep 0.1
done
url="$(grep -o 'http://127.0.0.1:[0-9]*' serve.log | head -n 1)"
.venv/bin/python - "$url" <<'PY'
import sys
import urllib.request

row = b"63,Male,typical angina,145,233,TRUE,lv hypertrophy,150,FALSE,2.3,downsloping,0,fixed defect"
request = urllib.request.Request(
    sys.argv[1] + "/invocations", data=row, headers={"Content-Type": "text/csv"}
)
with urllib.request.urlopen(request, timeout=10) as response:
    print("POST /invocations (text/csv) ->", response.read().decode())
PY
echo "== done: $project (report: registry/versions/1/evaluation/report.html)"
