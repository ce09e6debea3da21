"""The closed choices a user makes, each a ``StrEnum`` written once: the profile and the scanner.

Member names equal their values, lower case, on purpose: Dagster's enum config takes a member's
*name*, so ``profile: sample`` in a run config (as the README documents it) is the member ``sample``
— an upper-case name would refuse every documented run config. A member is a ``str``: it compares,
hashes, formats and serializes to JSON as its value, so the strings stored in data files do not change;
only Dagster's metadata, which serializes none but its own enums, is handed ``.value``.
"""

from __future__ import annotations

from enum import StrEnum


class Profile(StrEnum):
    """The scale a dataset is built to: ``full`` (the strategy's numbers, against GitHub) or ``sample``
    (targets and gate counts scaled to the offline universe; the default offline)."""

    full = "full"
    sample = "sample"


class ScannerKind(StrEnum):
    """Which scanner runs on each checkout: the built-in one, or the external ``stratum`` CLI."""

    builtin = "builtin"
    external = "external"


def one_of(choice: type[StrEnum]) -> str:
    """``"builtin, external"``: the values of a choice, for a message that lists them."""
    return ", ".join(choice)
