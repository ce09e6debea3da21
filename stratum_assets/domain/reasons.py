"""Failure reasons that are no fact about the repository: such a row is stored, but not settled.

Every other reason is a fact about the repository (404, blocked, a timeout while GitHub served the rest, no
Python, ...), and a fault of the machine is never stored at all (scanning/pipeline.py). Between the two:

* ``clone_unclassified`` — git said something no rule recognises: nobody can tell who failed;
* ``clone_rate_limited`` — GitHub still answered 429 after the retries' minutes of waiting: a limit on our
  token, not a property of the repository (a partition whose clones all end so fails whole instead).

The ping records the reason (the strategy lists both) and the row counts as unsettled — `status` names it,
`backfill` scans it again, and the split and the label-audit sample wait for it as for a pending row — rather
than being passed off as a fact.
"""

UNSETTLED_REASONS = ("clone_unclassified", "clone_rate_limited")
UNSETTLED_MEANING = "stored with a reason that is no fact about the repository"


def unsettled(column: str = "failure_reason") -> str:
    """SQL: ``column`` holds a reason that is not settled."""
    return f"{column} IN ({', '.join(repr(reason) for reason in UNSETTLED_REASONS)})"
