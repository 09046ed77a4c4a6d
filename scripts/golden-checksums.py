#!/usr/bin/env python3
"""Print `<filename> <checksum>` for every fixture, as Python Jetbase 0.18.1 computes it.

Run with the Python that has jetbase==0.18.1 installed, from the repository root:

    /work/main/.venv-py/bin/python scripts/golden-checksums.py > tests/fixtures/checksums/GOLDEN

The original opens migration files with the locale's encoding, so this refuses to run
unless that encoding is UTF-8 (the only setting under which the checksums are portable).
"""

import locale
import sys
from pathlib import Path

from jetbase.engine.checksum import calculate_checksum
from jetbase.engine.file_parser import parse_upgrade_statements

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "checksums"


def main() -> int:
    encoding = locale.getpreferredencoding(False).lower().replace("-", "")
    if encoding != "utf8":
        print(f"locale encoding is {encoding!r}, need UTF-8", file=sys.stderr)
        return 1
    for path in sorted(FIXTURES.glob("*.sql")):
        statements = parse_upgrade_statements(file_path=str(path))
        print(f"{path.name} {calculate_checksum(sql_statements=statements)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
