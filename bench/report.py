"""Write one benchmark's section into docs/BENCHMARKS.md, leaving the other sections alone."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
HEADER = """# Benchmarks

Every number here comes from a script under `bench/`, run on this project's machine; each section
gives the command that reproduces it and compares against a baseline measured in the same run.
"""


def write_section(title: str, body: str) -> None:
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    section = f"## {title}\n\n_Measured {date.today().isoformat()}._\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    BENCHMARKS.parent.mkdir(parents=True, exist_ok=True)
    BENCHMARKS.write_text(text.rstrip() + "\n")
