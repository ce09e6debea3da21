"""Validate pings produced elsewhere (one JSON object, or JSONL) exactly as the pipeline does.

Users import pings from other runs of the reference scanner; before they join a dataset they
must pass the same model and consistency rules as the pipeline's own (:func:`validate_ping`).
Identity belongs to the pipeline (``repo_hash = sha256(lower(full_name))[:16]``): with a
repository name given, it is stamped on the ping first, as the pipeline stamps the manifest's;
without one, each ping is checked against the identity its own ``repo_full_name`` implies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from ..domain.identity import repo_hash
from .ping import validate_ping

# A ping is a flat object with a few nested lists; JSON nested past the interpreter's recursion limit is no ping.
TOO_DEEP = "nested too deeply (past the JSON parser's limit, ~1,000 levels): a ping nests a few levels at most"


@dataclass(frozen=True)
class PingVerdict:
    where: str  # "line 3 (owner/name)" or "ping (owner/name)"
    errors: list[str]  # empty: valid

    @property
    def valid(self) -> bool:
        return not self.errors


def stamp_identity(ping: dict, full_name: str, selection_stratum: str | None = None) -> None:
    """What the pipeline writes on every ping: the repository's identity, never the scanner's."""
    ping.update(repo_hash=repo_hash(full_name), repo_full_name=full_name)
    if selection_stratum is not None:
        ping["selection_stratum"] = selection_stratum


def check_pings(text: str, repo_name: str | None = None) -> Iterator[PingVerdict]:
    """One verdict per ping in ``text``: a single JSON object, or one object per non-blank line."""
    pings = _parse(text)
    if repo_name is not None and len(pings) > 1:
        raise ValueError(f"--repo-name names one repository, but the file holds {len(pings)} pings")
    for where, ping, parse_error in pings:
        if parse_error:
            yield PingVerdict(where, [parse_error])
            continue
        if repo_name is not None and isinstance(ping, dict):
            stamp_identity(ping, repo_name)
        name = ping.get("repo_full_name") if isinstance(ping, dict) else None
        label = f"{where} ({name})" if isinstance(name, str) and name else where
        expected = repo_hash(name) if isinstance(name, str) else ""
        try:
            errors = validate_ping(ping, expected)
        except RecursionError:
            errors = [TOO_DEEP]
        yield PingVerdict(label, errors)


def _parse(text: str) -> list[tuple[str, object, str | None]]:
    """(where, ping, parse error) for the whole text as one object, else for each non-blank line."""
    try:
        return [("ping", json.loads(text), None)]
    except (ValueError, RecursionError):
        pass
    parsed: list[tuple[str, object, str | None]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((f"line {number}", json.loads(line), None))
        except ValueError as err:
            parsed.append((f"line {number}", None, f"not JSON: {err}"))
        except RecursionError:
            parsed.append((f"line {number}", None, TOO_DEEP))
    return parsed
