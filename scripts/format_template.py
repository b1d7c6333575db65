"""Format the template's Python files with ruff, through a rendered project.

Jinja files cannot be formatted in place, so this renders the template with
default answers, runs ``ruff format`` and ``ruff check --fix`` on the result,
and copies each formatted file back over its source, turning the rendered
package name back into ``{{ package_name }}``. Only files whose Jinja is
limited to the package name are copied back; others are listed for a manual
look.

Usage: .venv/bin/python scripts/format_template.py [TEMPLATE_PATH ...]
(paths relative to template/, e.g. tests/test_serve.py.jinja; default: all)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template"
PACKAGE = "heart_disease_risk"  # package_name of the default answers
MARKER = "{{ package_name }}"


def main() -> int:
    """Render, format, copy back; list the files that need a manual look."""
    only = set(sys.argv[1:])
    with tempfile.TemporaryDirectory() as temporary:
        project = Path(temporary) / "project"
        copier.run_copy(str(ROOT), project, defaults=True, unsafe=True,
                        vcs_ref="HEAD", quiet=True)  # fmt: skip
        ruff = [sys.executable, "-m", "ruff"]
        subprocess.run([*ruff, "check", "--fix", "--quiet", "."], cwd=project, check=False)
        subprocess.run([*ruff, "format", "--quiet", "."], cwd=project, check=True)
        manual = []
        for source in TEMPLATE.rglob("*.py*"):
            if source.suffix not in (".py", ".jinja") or not (
                source.name.endswith(".py") or source.name.endswith(".py.jinja")
            ):
                continue
            relative = source.relative_to(TEMPLATE).as_posix()
            if only and relative not in only:
                continue
            rendered = project / relative.replace(MARKER, PACKAGE).removesuffix(".jinja")
            if not rendered.is_file():
                continue  # an optional part the default answers do not render
            text = source.read_text()
            if "{{" in text.replace(MARKER, "") or "{%" in text:
                manual.append(relative)
                continue
            formatted = rendered.read_text().replace(PACKAGE, MARKER)
            if formatted != text:
                source.write_text(formatted)
                print(f"formatted {relative}")
    for relative in manual:
        print(f"check by hand (more Jinja than the package name): {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
