"""GitHub's rules for repository names: a hostile search answer must not steer a clone elsewhere.

An owner (user or organisation) is 1–39 ASCII letters, digits or single hyphens, neither first
nor last; a repository name is 1–100 ASCII letters, digits, ``.``, ``-`` or ``_``, and not ``.``
or ``..``. A ``full_name`` is exactly ``owner/name``. Anything else (``a/../b``, spaces, a
third path segment, a URL) never reaches git.
"""

from __future__ import annotations

import re

_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def full_name_problem(full_name: object) -> str | None:
    """Why ``full_name`` is not a GitHub ``owner/name``, or None when it is one."""
    if not isinstance(full_name, str):
        return f"not a string: {type(full_name).__name__}"
    owner, slash, name = full_name.partition("/")
    if not slash:
        return "no '/' between owner and name"
    if not _OWNER.fullmatch(owner):
        return f"owner {owner[:60]!r} is not 1-39 letters, digits or single inner hyphens"
    if not _NAME.fullmatch(name) or name in (".", ".."):
        return f"name {name[:60]!r} is not 1-100 letters, digits, '.', '-' or '_' (nor '.' or '..')"
    return None
