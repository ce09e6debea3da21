"""The label audit: 100 repositories, 20 per risk-score quintile, for a human to review.

The sample is deterministic (hash of repo_hash and a seed within each
quintile). A reviewer fills ``reviewer_risky`` (yes/no) in a copy named
``data/label_audit/reviewed.csv``; the check then compares it with the scanner's
binary label (risk_score >= 50) and wants at least 80% agreement.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from .sections import USABLE

PER_QUINTILE = 20
RISKY_AT = 50
COLUMNS = ("repo_full_name", "html_url", "quintile", "risk_score", "scanner_risky", "finding_rules", "frameworks",
           "reviewer_risky", "reviewer_notes")


def sample(conn: duckdb.DuckDBPyConnection, seed: int = 23) -> list[dict]:
    rows = conn.execute(f"""
        WITH usable AS (
            SELECT full_name AS repo_full_name, html_url, risk_score, finding_rules, frameworks, repo_hash,
                   ntile(5) OVER (ORDER BY risk_score, repo_hash) AS quintile
            FROM scan_dataset WHERE {USABLE})
        SELECT repo_full_name, html_url, quintile, risk_score, finding_rules, frameworks FROM (
            SELECT *, row_number() OVER (PARTITION BY quintile ORDER BY sha256(? || repo_hash)) AS pick FROM usable)
        WHERE pick <= {PER_QUINTILE} ORDER BY quintile, risk_score, repo_full_name
    """, [str(seed)]).fetchall()
    return [{"repo_full_name": name, "html_url": url, "quintile": q, "risk_score": score,
             "scanner_risky": "yes" if score >= RISKY_AT else "no", "finding_rules": " ".join(rules or []),
             "frameworks": " ".join(fws or []), "reviewer_risky": "", "reviewer_notes": ""}
            for name, url, q, score, rules, fws in rows]


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def agreement(reviewed: Path) -> tuple[float, int, list[str]]:
    """(agreement rate, reviewed rows, problems) of a reviewed CSV; rows without a yes/no are not counted."""
    problems, agree, total = [], 0, 0
    with open(reviewed, newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            answer = (row.get("reviewer_risky") or "").strip().lower()
            if answer not in ("yes", "no"):
                if answer:
                    problems.append(f"line {i}: reviewer_risky must be yes or no, not {answer!r}")
                continue
            total += 1
            agree += answer == (row.get("scanner_risky") or "").strip().lower()
    return (agree / total if total else 0.0), total, problems
