"""Failure reasons that say the pipeline could not tell who failed: such a row is stored, but not settled.

Every other reason is a fact about the repository (404, blocked, a timeout while GitHub served the rest, no
Python, ...), and a fault of the machine is never stored at all (scanning/pipeline.py). Between the two, git
may say something no rule recognises: the ping records ``clone_unclassified`` with git's words, and the row
counts as unsettled — `status` names it, `backfill` scans it again, and the split and the label-audit sample
wait for it as for a pending row — rather than being passed off as a fact.
"""

UNSETTLED_REASONS = ("clone_unclassified",)


def unsettled(column: str = "failure_reason") -> str:
    """SQL: ``column`` holds a reason that is not settled."""
    return f"{column} IN ({', '.join(repr(reason) for reason in UNSETTLED_REASONS)})"
