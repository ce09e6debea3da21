"""Fork policy: skip forks by default, and never keep more than one fork per parent.

A popular example repository can have hundreds of forks that are byte-for-byte
the same code; keeping them would let one project dominate the dataset. When
forks are searched at all, only the most starred fork of each parent survives
(ties: the most recent push, then the name, so the choice is deterministic).
"""

from __future__ import annotations

from collections.abc import Iterable


def one_fork_per_parent(rows: Iterable[dict]) -> tuple[list[dict], list[dict]]:
    """(rows kept, forks dropped); rows need ``is_fork``, ``fork_parent``, stars and push date."""
    rows = list(rows)
    best: dict[str, dict] = {}
    for row in rows:
        if row["is_fork"] and row.get("fork_parent"):
            parent = row["fork_parent"].lower()
            if parent not in best or _rank(row) > _rank(best[parent]):
                best[parent] = row
    winners = {id(r) for r in best.values()}
    kept = [r for r in rows if not (r["is_fork"] and r.get("fork_parent")) or id(r) in winners]
    dropped = [r for r in rows if r["is_fork"] and r.get("fork_parent") and id(r) not in winners]
    return kept, dropped


def _rank(row: dict) -> tuple:
    return (row["github_stars"], row["last_commit_date"] or "", _reverse(row["full_name"].lower()))


def _reverse(text: str) -> tuple:
    """Sorts names descending so that, with ``max``, the alphabetically first name wins a tie."""
    return tuple(-ord(c) for c in text)
