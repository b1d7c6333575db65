"""Run ``terraform init -backend=false`` in the Terraform roots of a project.

Copier runs this script after ``copier copy --trust`` when the answer
``run_terraform_init`` is true, with the rendered project as working directory.
A root is a folder with ``*.tf`` files that is not a reusable module (nothing
under a ``modules`` folder). ``-backend=false`` downloads the providers and
modules without touching any state, so it needs no AWS credentials.

The script never changes a rendered file: a lock file that the template
rendered is only read (``-lockfile=readonly``); terraform adds ``.terraform/``
and, where none was rendered, ``.terraform.lock.hcl``.

Exit status: 0 unless ``--strict`` is given, because a failing Copier task
deletes the project it has just rendered. With ``--strict``: 0 when every init
succeeded, 1 when one failed, 3 when terraform is not installed.

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXIT_PASSED, EXIT_FAILED, EXIT_NOT_RUN = 0, 1, 3
SKIPPED_FOLDERS = {".terraform", ".git", ".venv", "node_modules", "modules"}
LOCK_FILE = ".terraform.lock.hcl"


def find_roots(project: Path) -> list[Path]:
    """Return the folders with ``*.tf`` files that are not modules, sorted."""
    roots = set()
    for tf_file in project.rglob("*.tf"):
        relative = tf_file.parent.relative_to(project)
        if not SKIPPED_FOLDERS.intersection(relative.parts):
            roots.add(tf_file.parent)
    return sorted(roots)


def init(terraform: str, root: Path, timeout: float) -> tuple[bool, str]:
    """Run init in one root; return success and the last lines of its output."""
    command = [terraform, f"-chdir={root}", "init", "-backend=false"]
    command += ["-input=false", "-no-color"]
    if (root / LOCK_FILE).exists():
        command.append("-lockfile=readonly")
    env = {**os.environ, "TF_IN_AUTOMATION": "1"}
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout:.0f} s (offline?)"
    except OSError as error:
        return False, f"could not start terraform: {error}"
    output = (completed.stderr or completed.stdout).strip().splitlines()
    tail = "\n".join(f"      {line}" for line in output[-6:] if line.strip())
    return completed.returncode == 0, tail


def main(argv: list[str] | None = None) -> int:
    """Init every root, print one line per root and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="*", type=Path, help="default: every root")
    parser.add_argument("--project", type=Path, default=Path.cwd())
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--strict", action="store_true", help="exit 1 on a failure")
    args = parser.parse_args(argv)

    project = args.project.resolve()
    roots = [project / r for r in args.roots] or find_roots(project)
    terraform = shutil.which("terraform")
    if terraform is None:
        print(
            "terraform init skipped: terraform is not on PATH. Install it, then "
            "run 'terraform -chdir=<root> init -backend=false' in: "
            + (", ".join(str(r.relative_to(project)) for r in roots) or "(no roots)")
        )
        return EXIT_NOT_RUN if args.strict else EXIT_PASSED
    if not roots:
        print(f"terraform init skipped: no Terraform root under {project}")
        return EXIT_PASSED

    failed = []
    for root in roots:
        name = root.relative_to(project)
        ok, tail = init(terraform, root, args.timeout)
        print(f"  {'PASS' if ok else 'FAIL'}  terraform init in {name}")
        if not ok:
            failed.append(str(name))
            print(tail)
    if failed:
        print(
            f"terraform init failed in {len(failed)} of {len(roots)} roots "
            f"({', '.join(failed)}); the registry may be unreachable (offline or "
            "a proxy). Every rendered file is kept; run 'terraform init "
            "-backend=false' there when online."
        )
        return EXIT_FAILED if args.strict else EXIT_PASSED
    print(f"terraform init succeeded in {len(roots)} roots.")
    return EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main())
