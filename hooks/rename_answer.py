"""Rename answers in a project's Copier answers file, for ``_migrations``.

When a release renames a question, a migration that runs before the update
renames the saved answer, so the team keeps its value instead of getting the
new question's default::

    _migrations:
      - version: v1.1.0
        command:
          - "{{ _copier_python }}"
          - "{{ _copier_conf.src_path }}/hooks/rename_answer.py"
          - old_name=new_name
        when: "{{ _stage == 'before' }}"

Copier runs migrations with the project as working directory. Only top-level
keys are renamed, the rest of the file is kept byte for byte; running the
script twice changes nothing. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def rename(text: str, old: str, new: str) -> str:
    """Return ``text`` with the top-level key ``old`` renamed to ``new``."""
    if re.search(rf"^{re.escape(new)}:", text, flags=re.MULTILINE):
        return text
    return re.sub(rf"^{re.escape(old)}:", f"{new}:", text, flags=re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    """Rename each ``old=new`` pair in the answers file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", nargs="+", metavar="OLD=NEW")
    parser.add_argument(
        "--answers-file", type=Path, default=Path(".copier-answers.yml")
    )
    args = parser.parse_args(argv)

    text = args.answers_file.read_text(encoding="utf-8")
    for pair in args.pairs:
        old, separator, new = pair.partition("=")
        if not (separator and old and new):
            parser.error(f"'{pair}' is not OLD=NEW")
        renamed = rename(text, old, new)
        if renamed != text:
            print(f"renamed answer {old} to {new} in {args.answers_file}")
        text = renamed
    args.answers_file.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
