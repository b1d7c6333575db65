"""Benchmark the everyday loop of a rendered project, side by side with MLflow.

Prints one Markdown table: ``copier copy`` time, the local pipeline (cold
process and warm), the local endpoint (start-up to /ping, RSS, single-record
p50/p99 at concurrency 1, throughput at concurrency 8, all over 127.0.0.1),
batch prediction of 100k rows, and the same endpoint figures for
``mlflow models serve`` of the same model in the same run, with ratios.

    .venv/bin/python benchmarks/run.py --data ../shared/data/heart_disease_uci.csv

The MLflow comparison needs ``bash benchmarks/setup.sh`` first (a separate
environment under .tools/mlflow-bench); without it the MLflow rows are
skipped. Every load is bounded in requests and seconds and targets only
127.0.0.1. Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import loadgen

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_ENV = ROOT / ".tools" / "mlflow-bench"
PACKAGE = "heart_disease_risk"
RECORD = {
    "age": 63.0, "sex": "Male", "cp": "typical angina", "trestbps": 145.0,
    "chol": 233.0, "fbs": "true", "restecg": "lv hypertrophy", "thalch": 150.0,
    "exang": "false", "oldpeak": 2.3, "slope": "downsloping", "ca": 0.0,
    "thal": "fixed defect",
}  # fmt: skip
BODY = json.dumps({"dataframe_records": [RECORD]}).encode()


def timed(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MB."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
            pending += [int(c) for c in children.split()]
        except (FileNotFoundError, AttributeError):
            continue
    return total / 1024


def wait_for_ping(port: int, process: subprocess.Popen, timeout: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"no /ping answer on port {port} within {timeout}s")


def measure_endpoint(command: list[str], port: int, env: dict, cwd: Path,
                     requests: int, seconds: float) -> dict[str, float]:
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        start = wait_for_ping(port, process)
        request = loadgen.build_request("/invocations", BODY, "application/json")
        loadgen.run(port, request, 1, 200, 5)  # warm-up
        single = loadgen.run(port, request, 1, requests, seconds)
        parallel = loadgen.run(port, request, 8, requests * 4, seconds)
        return {
            "start_s": start,
            "p50_ms": single.percentile(50),
            "p99_ms": single.percentile(99),
            "rps_c8": parallel.throughput,
            "rss_mb": rss_mb(process.pid),
            "errors": single.errors + parallel.errors,
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
        process.wait(timeout=30)


def render(destination: Path) -> float:
    copier = [sys.executable, "-m", "copier", "copy", "--defaults", "--trust",
              "--quiet", "--vcs-ref", "HEAD", str(ROOT), str(destination)]  # fmt: skip
    return timed(copier)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data"
                        / "heart_disease_uci.csv")  # fmt: skip
    parser.add_argument("--requests", type=int, default=3000,
                        help="requests at concurrency 1 (x4 at concurrency 8)")
    parser.add_argument("--seconds", type=float, default=15, help="cap per load run")
    args = parser.parse_args()
    data = args.data.resolve()
    load_before = Path("/proc/loadavg").read_text().split()[:3]

    with tempfile.TemporaryDirectory() as temporary:
        project = Path(temporary) / "project"
        results: dict[str, object] = {"copier_copy_s": render(project)}
        env = {**os.environ, "PYTHONPATH": str(project / "src"), "MLOPS_HOME": str(project)}
        python = [sys.executable, "-m", PACKAGE]

        results["pipeline_cold_s"] = timed([*python, "pipeline", "run", "--data", str(data)],
                                           cwd=project, env=env)  # fmt: skip
        warm = subprocess.run(
            [sys.executable, "-c",
             "import time; from heart_disease_risk import pipeline;"
             "from heart_disease_risk.config import Paths, load_model_config;"
             "p = Paths.discover(); c = load_model_config(p.root);"
             "pipeline.run(p, c); s = time.perf_counter(); pipeline.run(p, c);"
             "print(time.perf_counter() - s)"],
            cwd=project, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        results["pipeline_warm_s"] = float(warm.stdout.strip().splitlines()[-1])
        subprocess.run([*python, "models", "approve", "1"], cwd=project, env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([*python, "deploy", "1", "--stage", "staging"], cwd=project, env=env,
                       check=True, capture_output=True)  # fmt: skip

        port = free_port()
        results["ours"] = measure_endpoint(
            [*python, "serve", "--stage", "staging", "--port", str(port)], port, env,
            project, args.requests, args.seconds,
        )  # fmt: skip
        results["batch"] = batch(project, env)

        mlflow = MLFLOW_ENV / "bin" / "mlflow"
        if mlflow.is_file():
            model = Path(temporary) / "mlflow-model"
            save = (
                "import joblib, mlflow.sklearn, sys;"
                "mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2],"
                " serialization_format='cloudpickle', pyfunc_predict_fn='predict_proba')"
            )
            # mlflow starts `uvicorn` by name, so its environment's bin goes first.
            mlflow_env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true",
                          "DO_NOT_TRACK": "true",
                          "PATH": f"{MLFLOW_ENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
            subprocess.run([str(MLFLOW_ENV / "bin" / "python"), "-c", save,
                            str(project / "registry/versions/1/model/pipeline.joblib"),
                            str(model)], check=True, capture_output=True, env=mlflow_env)  # fmt: skip
            port = free_port()
            results["mlflow"] = measure_endpoint(
                [str(mlflow), "models", "serve", "-m", str(model), "--env-manager", "local",
                 "-h", "127.0.0.1", "-p", str(port)], port, mlflow_env, project,
                args.requests // 3, args.seconds,
            )  # fmt: skip

    results["load_before"] = load_before
    results["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
    results["cpus"] = os.cpu_count()
    print(table(results))
    print("\n```json\n" + json.dumps(results, indent=2) + "\n```")
    return 0


def batch(project: Path, env: dict) -> dict[str, float]:
    """100k rows: in-process (parse, encode, predict, format) and through the CLI."""
    script = (
        "import time, pathlib, sys;"
        "from heart_disease_risk.synthetic import generate;"
        "from heart_disease_risk.inference import Predictor, predict_batch;"
        "body = generate(100_000, seed=1).to_csv(index=False).encode();"
        "pathlib.Path(sys.argv[1]).write_bytes(body);"
        "p = Predictor.load(pathlib.Path('registry/versions/1/model'));"
        "best = min(("
        " (lambda s: (predict_batch(p, body)[0].to_csv(), time.perf_counter() - s)[1])"
        " (time.perf_counter()) for _ in range(3)));"
        "print(best)"
    )
    rows = project / "rows.csv"
    out = subprocess.run([sys.executable, "-c", script, str(rows)], cwd=project, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    cli = timed([sys.executable, "-m", PACKAGE, "predict", "--model-dir",
                 "registry/versions/1/model", "--input", str(rows), "--output",
                 str(project / "predictions.csv")], cwd=project, env=env)  # fmt: skip
    return {"in_process_s": float(out.stdout.strip()), "cli_s": cli}


def table(r: dict) -> str:
    ours, theirs = r["ours"], r.get("mlflow")

    def ratio(key: str, higher_is_better: bool) -> str:
        if not theirs:
            return "n/a"
        value = ours[key] / theirs[key] if higher_is_better else theirs[key] / ours[key]
        return f"{value:.1f}x"

    def cell(result: dict | None, key: str, fmt: str) -> str:
        return format(result[key], fmt) if result else "not run"

    lines = [
        f"Machine: {r['cpus']} CPUs; load average before {' '.join(r['load_before'])}, "
        f"after {' '.join(r['load_after'])}.",
        "",
        "| measure | this template | mlflow models serve | better by |",
        "|---|---|---|---|",
        f"| endpoint p50, 1 record, concurrency 1 (ms) | {ours['p50_ms']:.2f} | "
        f"{cell(theirs, 'p50_ms', '.2f')} | {ratio('p50_ms', False)} |",
        f"| endpoint p99, concurrency 1 (ms) | {ours['p99_ms']:.2f} | "
        f"{cell(theirs, 'p99_ms', '.2f')} | {ratio('p99_ms', False)} |",
        f"| endpoint throughput, concurrency 8 (req/s) | {ours['rps_c8']:.0f} | "
        f"{cell(theirs, 'rps_c8', '.0f')} | {ratio('rps_c8', True)} |",
        f"| endpoint RSS after load (MB) | {ours['rss_mb']:.0f} | "
        f"{cell(theirs, 'rss_mb', '.0f')} | {ratio('rss_mb', False)} |",
        f"| start to first /ping (s) | {ours['start_s']:.2f} | "
        f"{cell(theirs, 'start_s', '.2f')} | {ratio('start_s', False)} |",
        f"| failed requests | {ours['errors']} | {cell(theirs, 'errors', 'd')} | |",
        f"| batch 100k rows in process: parse, predict, CSV (s) | "
        f"{r['batch']['in_process_s']:.2f} | | |",
        f"| batch 100k rows through the CLI, file to file (s) | {r['batch']['cli_s']:.2f} | | |",
        f"| local pipeline, cold process (s) | {r['pipeline_cold_s']:.1f} | | |",
        f"| local pipeline, warm (s) | {r['pipeline_warm_s']:.1f} | | |",
        f"| copier copy --defaults (s) | {r['copier_copy_s']:.1f} | | |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
