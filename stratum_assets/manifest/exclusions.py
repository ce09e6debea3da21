"""Who asked to be left out, and which licences the dataset accepts: applied when a manifest version is built.

The list lives in ``exclusions.yaml`` beside this module (versioned with the project; the manifest's
``exclusions_file`` config or ``STRATUM_EXCLUSIONS_FILE`` point at another one). Two parts:

* ``opt_outs`` — an owner (``someone``: every repository of that owner) or ``owner/name``, each with a
  reason and optionally a date and a requester; matched case-insensitively, as GitHub names are. A fork
  of an opted-out repository is left out too (``fork_of_opted_out``): it carries the same code, and the
  fork index would otherwise let it take the parent's place.
* ``licence_allowlist`` — SPDX ids (GitHub's ``licenseInfo.spdxId``, the candidates' ``license``); ``null``
  (the default) is off. When on, a repository is kept only if its licence is listed. A repository
  without a licence is left out (``licence_missing``): no licence means all rights reserved, so nothing
  permits redistributing it. ``NOASSERTION``/``OTHER`` (GitHub found a licence file it could not
  identify) is left out too (``licence_unidentified``): its terms are unknown, so they cannot be shown
  to be on the list. Both are refused *in* the list for the same reason: they name no licence.

Why it is applied at the manifest and nowhere later: a repository left out here never takes a stratum
slot, never gets a chunk, so it is never cloned or scanned. A frozen version never changes, so a list
edited after a version was frozen applies to the next one (``new_version: true``); the list's
fingerprint is part of the manifest's settings, so the edit shows as "settings changed".

A malformed file is an error naming the line, never a silently skipped entry: an opt-out that is
ignored is a promise broken.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml

from ..github.names import full_name_problem
from ..storage.config_files import ConfigError

DEFAULT_FILE = Path(__file__).with_name("exclusions.yaml")
ENV_VAR = "STRATUM_EXCLUSIONS_FILE"

OPTED_OUT = "opted_out"
FORK_OF_OPTED_OUT = "fork_of_opted_out"
LICENCE_MISSING = "licence_missing"
LICENCE_UNIDENTIFIED = "licence_unidentified"
LICENCE_NOT_ALLOWED = "licence_not_allowed"
# GitHub's answers that name no licence: a licence file it could not identify.
UNIDENTIFIED = frozenset({"noassertion", "other"})
_SPDX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")
_ENTRY_KEYS = {"repository", "reason", "date", "requester"}
_FILE_KEYS = {"opt_outs", "licence_allowlist"}


class ExclusionsError(ConfigError):
    """The exclusions file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class OptOut:
    """One entry: ``repository`` is lower-cased ``owner`` or ``owner/name``; ``line`` is where it is written."""

    repository: str
    reason: str
    line: int
    date: str | None = None
    requester: str | None = None

    def record(self) -> dict:
        """What the manifest meta and the fingerprint keep of it (not the line: moving it changes nothing)."""
        return {"repository": self.repository, "reason": self.reason, "date": self.date, "requester": self.requester}


@dataclass(frozen=True)
class Exclusions:
    """One exclusions file, parsed: what :func:`~stratum_assets.manifest.build.build_manifest` leaves out first."""

    opt_outs: tuple[OptOut, ...] = ()
    licence_allowlist: tuple[str, ...] | None = None  # SPDX ids as written; None: off
    source: str = ""
    _by_repository: dict[str, OptOut] = field(init=False, repr=False, compare=False)
    _allowed: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_repository", {o.repository: o for o in self.opt_outs})
        object.__setattr__(self, "_allowed", frozenset(s.casefold() for s in self.licence_allowlist or ()))

    def opt_out_for(self, full_name: str | None) -> OptOut | None:
        """The entry that covers ``full_name``: its own ``owner/name`` entry first, else its owner's."""
        if not full_name:
            return None
        key = full_name.lower()
        return self._by_repository.get(key) or self._by_repository.get(key.partition("/")[0])

    def why_left_out(self, row: dict) -> tuple[str, OptOut | None] | None:
        """(reason, the opt-out entry if one) when ``row`` (a candidate) is left out, None when it is kept."""
        entry = self.opt_out_for(row["full_name"])
        if entry is not None:
            return OPTED_OUT, entry
        entry = self.opt_out_for(row.get("fork_parent")) if row.get("is_fork") else None
        if entry is not None:
            return FORK_OF_OPTED_OUT, entry
        if self.licence_allowlist is None:
            return None
        licence = (row.get("license") or "").strip().casefold()
        if not licence:
            return LICENCE_MISSING, None
        if licence in UNIDENTIFIED:
            return LICENCE_UNIDENTIFIED, None
        return None if licence in self._allowed else (LICENCE_NOT_ALLOWED, None)

    def apply(self, rows: Iterable[dict]) -> tuple[list[dict], Counter, Counter]:
        """(rows kept, repositories left out by reason, repositories matched by opt-out entry)."""
        reasons: Counter[str]
        matched: Counter[str]
        kept, reasons, matched = [], Counter(), Counter()
        for row in rows:
            verdict = self.why_left_out(row)
            if verdict is None:
                kept.append(row)
                continue
            reasons[verdict[0]] += 1
            if verdict[1] is not None:
                matched[verdict[1].repository] += 1
        return kept, reasons, matched

    @property
    def opt_outs_fingerprint(self) -> str | None:
        """sha256 of the entries' content in a fixed order: comments, order and layout of the file do not count."""
        if not self.opt_outs:
            return None
        records = sorted((o.record() for o in self.opt_outs), key=lambda r: r["repository"])
        return hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()

    def settings(self) -> dict:
        """What goes into the manifest's fingerprint settings. An empty list and no allowlist add nothing, so
        versions frozen before opt-outs existed (the same repositories) stay "unchanged"."""
        out: dict[str, object] = {}
        if self.opt_outs:
            out["opt_outs"] = self.opt_outs_fingerprint
        if self.licence_allowlist is not None:
            out["licence_allowlist"] = sorted(self._allowed)  # SPDX ids are case-insensitive: "mit" is "MIT"
        return out

    def record(self, left_out: Counter, matched: Counter) -> dict:
        """The manifest meta's ``exclusions``: which list, its fingerprint, every entry with its matches, the
        allowlist and what each reason left out (zeros included: "nobody" is an answer)."""
        reasons = [OPTED_OUT, FORK_OF_OPTED_OUT]
        if self.licence_allowlist is not None:
            reasons += [LICENCE_MISSING, LICENCE_UNIDENTIFIED, LICENCE_NOT_ALLOWED]
        return {
            "source": self.source,
            "opt_outs_fingerprint": self.opt_outs_fingerprint,
            "opt_outs": [{**o.record(), "matched": matched.get(o.repository, 0)} for o in self.opt_outs],
            "licence_allowlist": None if self.licence_allowlist is None else list(self.licence_allowlist),
            "left_out": {reason: left_out.get(reason, 0) for reason in reasons},
        }


def summary_line(record: dict | None) -> str:
    """One sentence on what a version's exclusions left out (the audit's Volume section, the manifest's status)."""
    if record is None:
        return "Opt-outs and licence allowlist: none recorded (this manifest version was frozen before they existed)."
    left = record["left_out"]
    forks = left.get(FORK_OF_OPTED_OUT, 0)
    listed = (
        f"{len(record['opt_outs'])}-entry list {record['opt_outs_fingerprint'][:12]}"
        if record["opt_outs"]
        else "empty list"
    )
    text = f"Opted out: {left.get(OPTED_OUT, 0)} repositories"
    text += f" and {forks} forks of them" if forks else ""
    text += f" ({listed}); licence allowlist: "
    allow = record["licence_allowlist"]
    if allow is None:
        return text + "off."
    out = {r: left.get(r, 0) for r in (LICENCE_NOT_ALLOWED, LICENCE_MISSING, LICENCE_UNIDENTIFIED)}
    return (
        text + f"{', '.join(allow)}, leaving out {sum(out.values())} "
        f"({out[LICENCE_NOT_ALLOWED]} other licence, {out[LICENCE_MISSING]} none, "
        f"{out[LICENCE_UNIDENTIFIED]} unidentified)."
    )


def exclusions_path(configured: str | None = None) -> Path:
    """The file to read: the manifest config's, else ``STRATUM_EXCLUSIONS_FILE``, else the project's."""
    return Path(configured or os.environ.get(ENV_VAR) or DEFAULT_FILE)


def load_exclusions(path: str | Path | None = None) -> Exclusions:
    file = exclusions_path(str(path) if path else None)
    if not file.is_file():
        raise ExclusionsError(f"{file}: no such exclusions file (the manifest's exclusions_file or {ENV_VAR})")
    return parse_exclusions(file.read_text(encoding="utf-8"), str(file))


def parse_exclusions(text: str, source: str = "<exclusions>") -> Exclusions:
    """Validate the whole file; the first problem raises :class:`ExclusionsError` with ``source:line``."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ExclusionsError(
                f"{source}:{mark.line + 1 if mark else '?'}: not valid YAML: {getattr(e, 'problem', None) or e}"
            ) from None
        if root is None:
            return Exclusions(source=source)
        if not isinstance(root, yaml.MappingNode):
            raise _error(source, root, "the file is a mapping with `opt_outs` and `licence_allowlist`")
        parts = {}
        for key, value in root.value:
            if key.value not in _FILE_KEYS:
                raise _error(source, key, f"unknown key {key.value!r}; known: {', '.join(sorted(_FILE_KEYS))}")
            if key.value in parts:
                raise _error(source, key, f"{key.value!r} is given twice")
            parts[key.value] = value
        entries = _opt_outs(loader, source, parts.get("opt_outs"))
        allow = _allowlist(loader, source, parts.get("licence_allowlist"))
        return Exclusions(opt_outs=entries, licence_allowlist=allow, source=source)
    finally:
        loader.dispose()


def _opt_outs(loader: yaml.SafeLoader, source: str, node) -> tuple[OptOut, ...]:
    if node is None or _is_null(node):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        raise _error(source, node, "`opt_outs` is a list of entries (`- repository: owner/name`, `reason: ...`)")
    entries: dict[str, OptOut] = {}
    for item in node.value:
        entry = _opt_out(loader, source, item)
        if entry.repository in entries:
            raise _error(
                source, item, f"{entry.repository!r} is already listed at line {entries[entry.repository].line}"
            )
        entries[entry.repository] = entry
    return tuple(entries.values())


def _opt_out(loader: yaml.SafeLoader, source: str, item) -> OptOut:
    if not isinstance(item, yaml.MappingNode):
        raise _error(
            source, item, "an opt-out is a mapping with `repository` and `reason` (optionally `date`, `requester`)"
        )
    try:
        body = loader.construct_object(item, deep=True)
    except (yaml.YAMLError, ValueError) as e:  # e.g. date: 2025-13-45, which YAML reads as a date
        raise _error(source, item, f"cannot read this entry: {e}") from None
    unknown = sorted(map(str, set(body) - _ENTRY_KEYS))
    if unknown:
        raise _error(
            source, item, f"unknown field {', '.join(unknown)}; an opt-out has {', '.join(sorted(_ENTRY_KEYS))}"
        )
    repository = body.get("repository")
    if not isinstance(repository, str) or not repository.strip():
        raise _error(source, item, "`repository` is missing: an owner (`someone`) or `owner/name`")
    repository = repository.strip()
    problem = full_name_problem(repository if "/" in repository else f"{repository}/x")  # an owner: checked alone
    if problem:
        raise _error(source, item, f"`repository` {repository!r} is not a GitHub owner or owner/name: {problem}")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _error(source, item, f"{repository!r} has no `reason`: every opt-out says why")
    when = body.get("date")
    if isinstance(when, datetime):
        when = when.date()
    elif when is not None and not isinstance(when, date):
        try:
            when = date.fromisoformat(str(when))
        except ValueError:
            raise _error(source, item, f"`date` {when!r} is not a date (YYYY-MM-DD)") from None
    requester = body.get("requester")
    if requester is not None and not isinstance(requester, str):
        raise _error(source, item, "`requester` is text (a name, a handle or an address)")
    return OptOut(
        repository=repository.lower(),
        reason=reason.strip(),
        line=item.start_mark.line + 1,
        date=when.isoformat() if when else None,
        requester=requester.strip() if requester else None,
    )


def _allowlist(loader: yaml.SafeLoader, source: str, node) -> tuple[str, ...] | None:
    if node is None or _is_null(node):
        return None
    if not isinstance(node, yaml.SequenceNode):
        raise _error(source, node, "`licence_allowlist` is a list of SPDX ids (e.g. [MIT, Apache-2.0]) or null (off)")
    if not node.value:
        raise _error(
            source,
            node,
            "`licence_allowlist` is empty, which would leave out every repository; write null to turn it off",
        )
    ids: list[str] = []
    for item in node.value:
        spdx = loader.construct_object(item)
        if not isinstance(spdx, str) or not _SPDX_ID.fullmatch(spdx.strip()):
            raise _error(source, item, f"{spdx!r} is not an SPDX licence id (e.g. MIT, Apache-2.0)")
        if spdx.strip().casefold() in UNIDENTIFIED:
            raise _error(
                source,
                item,
                f"{spdx!r} names no licence (GitHub's answer for an unidentified licence "
                "file); such repositories are always left out while the allowlist is on",
            )
        if spdx.strip().casefold() not in {i.casefold() for i in ids}:
            ids.append(spdx.strip())
    return tuple(ids)


def _is_null(node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _error(source: str, node, message: str) -> ExclusionsError:
    return ExclusionsError(f"{source}:{node.start_mark.line + 1}: {message}")
