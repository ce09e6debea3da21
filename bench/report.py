"""Write one benchmark's section into docs/BENCHMARKS.md, leaving the other sections alone.

The page opens with a summary table rebuilt from the sections themselves (each section's
command and its ``Ratio:``/``Goals:`` lines), so it can never disagree with them.
"""

from __future__ import annotations

import platform
import re
from datetime import date
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
HEADER = """# Benchmarks

Every number here comes from a script under `bench/`, run on this project's machine; each section
gives the command that reproduces it and compares against a baseline measured in the same run.
`.venv/bin/python bench/run_all.py` re-runs them all, one after the other (about 40 minutes).
"""
START, END = "<!-- summary:start -->", "<!-- summary:end -->"
SECTION = re.compile(r"^## (?P<title>.+?)\n(?P<body>.*?)(?=^## |\Z)", re.S | re.M)


def write_section(title: str, body: str) -> None:
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    section = f"## {title}\n\n_Measured {date.today().isoformat()}._\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    BENCHMARKS.parent.mkdir(parents=True, exist_ok=True)
    BENCHMARKS.write_text(with_summary(text).rstrip() + "\n")


def with_summary(text: str) -> str:
    """``text`` with its summary table (between the markers, after the header) rebuilt."""
    text = re.sub(rf"\n*{re.escape(START)}.*?{re.escape(END)}\n*", "\n\n", text, flags=re.S)
    rows = []
    for match in SECTION.finditer(text):
        body = match["body"]
        command = re.search(r"Command: `([^`]+)`", body)
        measured = re.search(r"_Measured (\S+?)\._", body)
        results = re.findall(r"^(?:Ratio|Goals): (.+?)(?:\.(?:\s|$)|$)", body, re.M)
        rows.append(
            f"| {match['title']} | {'; '.join(results).replace('|', '/') or '—'} | "
            f"`{command[1] if command else '—'}` | {measured[1] if measured else '—'} |"
        )
    table = "\n".join(
        [
            START,
            "",
            f"Machine: {platform.machine()}, 2 cores, Python {platform.python_version()}.",
            "",
            "| benchmark | result (ratio against the same-run baseline) | command | measured |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
            END,
        ]
    )
    first = SECTION.search(text)
    at = first.start() if first else len(text)
    return text[:at].rstrip() + "\n\n" + table + "\n\n" + text[at:]
