"""Parse and evaluate GitHub repository-search queries (the ``q`` parameter).

Supports what the discovery stage relies on, with GitHub's semantics:
keywords (AND by default, ``OR`` between two keywords, ``NOT`` before a
keyword, quoted phrases) matched against name, description and topics;
qualifiers ``created:``, ``pushed:``, ``stars:``, ``forks:`` (``>``, ``>=``,
``<``, ``<=``, ``a..b``, ``a..*``, ``*..b`` or an exact value; dates as
``YYYY-MM-DD`` or ISO 8601 date-times), ``fork:true|only``, ``language:``,
``topic:``, ``user:``/``org:``, ``archived:``, ``is:public``. Forks are
excluded unless the query says ``fork:true`` or ``fork:only``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from .universe import Repo

_TOKEN = re.compile(r"[a-z0-9]+")
_MIN, _MAX = float("-inf"), float("inf")


class QueryError(ValueError):
    """The query cannot be parsed; GitHub answers 422 Validation Failed."""


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def term_matches(term_tokens: list[str], repo_tokens: set[str]) -> bool:
    """Every word of the term is present, allowing a plural ``s`` either way."""
    return all(
        t in repo_tokens or f"{t}s" in repo_tokens or (t.endswith("s") and t[:-1] in repo_tokens) for t in term_tokens
    )


@dataclass(frozen=True)
class Range:
    """An inclusive numeric interval; dates are UTC epoch seconds."""

    lo: float = _MIN
    hi: float = _MAX

    def __contains__(self, value: float) -> bool:
        return self.lo <= value <= self.hi


@dataclass
class SearchQuery:
    """A parsed ``q``: keyword clauses (each a list of alternatives) and qualifiers."""

    clauses: list[list[list[str]]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)
    created: Range = Range()
    pushed: Range = Range()
    stars: Range = Range()
    forks: Range = Range()
    fork: str = "false"
    language: str | None = None
    topics: list[str] = field(default_factory=list)
    owner: str | None = None
    archived: bool | None = None

    def matches(self, repo: Repo, repo_tokens: set[str]) -> bool:
        if self.fork == "false" and repo.is_fork:
            return False
        if self.fork == "only" and not repo.is_fork:
            return False
        if self.archived is True:
            return False  # the synthetic universe has no archived repositories
        if repo.created_at.timestamp() not in self.created or repo.pushed_at.timestamp() not in self.pushed:
            return False
        if repo.stars not in self.stars or repo.forks_count not in self.forks:
            return False
        if self.language and repo.primary_language.lower() != self.language:
            return False
        if self.owner and repo.owner.lower() != self.owner:
            return False
        if any(t not in repo.topics for t in self.topics):
            return False
        if any(term_matches(t, repo_tokens) for t in self.excluded):
            return False
        return all(any(term_matches(alt, repo_tokens) for alt in clause) for clause in self.clauses)

    def score(self, repo_tokens: set[str]) -> int:
        return sum(1 for clause in self.clauses for alt in clause for t in alt if t in repo_tokens)


def parse_query(q: str) -> SearchQuery:
    if not q or not q.strip():
        raise QueryError("q is missing")
    try:
        parts = shlex.split(q)
    except ValueError as exc:
        raise QueryError(f"unbalanced quotes in q: {exc}") from None
    query = SearchQuery()
    negate = join_next = False
    for part in parts:
        if part == "NOT":
            negate = True
            continue
        if part == "OR":
            join_next = True
            continue
        key, sep, value = part.partition(":")
        if sep and key.lower() in _QUALIFIERS and value:
            _QUALIFIERS[key.lower()](query, value)
        else:
            words = tokens(part)
            if not words:
                continue
            if negate:
                query.excluded.append(words)
            elif join_next and query.clauses:
                query.clauses[-1].append(words)
            else:
                query.clauses.append([words])
        negate = join_next = False
    return query


def _number_range(value: str) -> Range:
    return _range(value, lambda v: (float(v), float(v)), step=1)


def _date_range(value: str) -> Range:
    return _range(value, _date_bounds, step=1)


def _range(value: str, bounds, step: float) -> Range:
    """Shared grammar of numeric and date qualifiers: ``>x``, ``>=x``, ``<x``, ``<=x``, ``a..b``, ``x``."""
    try:
        if ".." in value:
            lo, hi = value.split("..", 1)
            return Range(_MIN if lo == "*" else bounds(lo)[0], _MAX if hi == "*" else bounds(hi)[1])
        for op in (">=", "<=", ">", "<"):
            if value.startswith(op):
                first, last = bounds(value[len(op) :])
                return {
                    ">=": Range(lo=first),
                    "<=": Range(hi=last),
                    ">": Range(lo=last + step),
                    "<": Range(hi=first - step),
                }[op]
        first, last = bounds(value)
        return Range(first, last)
    except ValueError:
        raise QueryError(f"cannot parse qualifier value {value!r}") from None


def _date_bounds(value: str) -> tuple[float, float]:
    """A day covers its whole 24 hours; a date-time is exact to the second."""
    if "T" in value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp(), moment.timestamp()
    day = date.fromisoformat(value)
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start.timestamp(), (start + timedelta(days=1)).timestamp() - 1


def _set_fork(query: SearchQuery, value: str) -> None:
    value = value.lower()
    if value not in ("true", "only", "false"):
        raise QueryError(f"fork: must be true or only, got {value!r}")
    query.fork = value


_QUALIFIERS = {
    "created": lambda q, v: setattr(q, "created", _date_range(v)),
    "pushed": lambda q, v: setattr(q, "pushed", _date_range(v)),
    "stars": lambda q, v: setattr(q, "stars", _number_range(v)),
    "forks": lambda q, v: setattr(q, "forks", _number_range(v)),
    "fork": _set_fork,
    "language": lambda q, v: setattr(q, "language", v.lower()),
    "topic": lambda q, v: q.topics.append(v.lower()),
    "user": lambda q, v: setattr(q, "owner", v.lower()),
    "org": lambda q, v: setattr(q, "owner", v.lower()),
    "archived": lambda q, v: setattr(q, "archived", v.lower() == "true"),
    "is": lambda q, v: None,  # is:public — every repository here is public
    "in": lambda q, v: None,  # in:name,description — the default fields are searched anyway
}
