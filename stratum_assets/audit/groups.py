"""Duplicate groups of the usable repositories, four ways, and the groups the split keeps whole.

"50k rows of noise" is the dataset's main fear, and each way of being a copy misses others:

* **fork family** — a fork and its parent, and forks of one parent (GitHub's fork index; the
  manifest keeps at most one fork per parent, so families are small);
* **exact code** — the same content hash of the Python files (copies that are not forks);
* **same-project code** ("near_duplicate_code") — lightly edited copies (MinHash LSH, decided near
  the threshold on exact per-part digests) and copies contained in another (a copy that grew, an
  older snapshot), by exact per-file digests with boilerplate down-weighted (``dedup/clusters.py``);
* **topology** — the same non-empty topology signature (the view's ``topology_key``: the ping's, else the
  built-in scanner's ``detected_topology_signature_hash``; an empty one is unknown, never a group).

The report shows them side by side with the dataset's effective size after each (every group
counted once); the split joins all four into one set of groups (connected components: a fork of
an edited copy is one group with the original) and keeps each on one side, so the test set never
measures memorisation of a copy it trained on. Computed the same way by the audit and the split
from the stored data — no file between them to go stale.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..dedup.clusters import exact_groups, near_duplicate_clusters
from ..dedup.fingerprint import NearDupSettings
from .sections import USABLE

KINDS = ("fork_family", "exact_code", "near_duplicate_code", "topology")


@dataclass
class DuplicateGroups:
    """Groups of two or more usable repositories (sorted tuples of repo_hash) per kind, and all kinds joined."""

    usable: int
    by_kind: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    joined: list[tuple[str, ...]] = field(default_factory=list)
    fingerprinted: int = 0  # usable repositories with a code signature
    signature_keys: list[str] = field(default_factory=list)

    def effective_size(self, groups: list[tuple[str, ...]]) -> int:
        """The usable count with each group counted once."""
        return self.usable - sum(len(g) - 1 for g in groups)

    def summary(self) -> dict:
        """Per kind and joined: groups, repos in groups, largest group, effective size (for the report)."""
        rows = {kind: self._row(groups) for kind, groups in self.by_kind.items()}
        return {
            "usable": self.usable,
            "fingerprinted": self.fingerprinted,
            "signature_keys": self.signature_keys,
            "kinds": rows,
            "joined": self._row(self.joined),
        }

    def register(self, conn, name: str) -> str:
        """Temporary table ``name`` (repo_hash, group_id) of every usable repository in a joined group, group_id
        its smallest repo_hash: the split's ``groups`` relation. Returns ``name``.

        Filled from Python lists (``unnest``), not by registering an Arrow table: DuckDB imports pandas to
        look at any Python object it is handed (0.3 s of every short process).
        """
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} (repo_hash VARCHAR, group_id VARCHAR)")
        hashes = [h for g in self.joined for h in g]
        if hashes:
            conn.execute(
                f"INSERT INTO {name} SELECT unnest(?), unnest(?)", [hashes, [g[0] for g in self.joined for _ in g]]
            )
        return name

    def _row(self, groups: list[tuple[str, ...]]) -> dict:
        return {
            "groups": len(groups),
            "repos_in_groups": sum(map(len, groups)),
            "largest": max(map(len, groups), default=0),
            "effective_size": self.effective_size(groups),
        }


# What duplicate_groups reads of ``src`` (besides the code fingerprints): a snapshot for it holds these.
KEY_COLUMNS = ("repo_hash", "outcome", "scan_status", "full_name", "fork_parent", "topology_key")


def duplicate_groups(conn, threshold: float = NearDupSettings.threshold, src: str = "scan_dataset") -> DuplicateGroups:
    """Every grouping of the usable repositories of ``src`` (the warehouse views must be current); signatures are
    compared under the settings they were made with (their signature_key) at ``threshold``."""
    # The usable rows' four keys, read once (each read of the view joins the manifest and the scans again).
    # Partitions scanned before per-file digests have no such column (their signature_key says so too).
    columns = {c for (c, *_) in conn.execute("DESCRIBE code_fingerprints").fetchall()}
    digests = ", ".join(f"f.{c}" if c in columns else f"NULL::BLOB AS {c}" for c in ("file_digests", "part_digests"))
    conn.execute(f"""CREATE OR REPLACE TEMP TABLE {_USABLE_KEYS} AS
                     SELECT d.repo_hash, lower(d.full_name) AS name, lower(d.fork_parent) AS parent,
                            d.topology_key, f.content_hash, f.minhash, f.signature_key,
                            {digests}
                     FROM {src} d LEFT JOIN code_fingerprints f USING (repo_hash) WHERE {USABLE}""")
    try:
        return _groups(conn, threshold)
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {_USABLE_KEYS}")


_USABLE_KEYS = "duplicate_group_keys"


def _groups(conn, threshold: float) -> DuplicateGroups:
    src = _USABLE_KEYS
    usable = conn.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
    keys = [
        k
        for (k,) in conn.execute(
            f"SELECT DISTINCT signature_key FROM {src} WHERE signature_key IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    if len(keys) > 1:
        raise ValueError(
            f"code signatures made with different settings in one version ({', '.join(keys)}): "
            "they cannot be compared; rescan the version with one setting"
        )
    settings = (
        NearDupSettings.from_signature_key(keys[0], threshold=threshold)
        if keys
        else NearDupSettings(threshold=threshold)
    )
    signatures = conn.execute(
        f"SELECT repo_hash, minhash, file_digests, part_digests FROM {src} WHERE minhash IS NOT NULL ORDER BY 1"
    ).fetchall()
    by_kind = {
        "fork_family": _fork_families(conn, src),
        "exact_code": exact_groups((h, c) for c, h in _shared(conn, src, "content_hash")),
        "near_duplicate_code": near_duplicate_clusters(signatures, settings),
        "topology": _groups_of(_shared(conn, src, "topology_key")),
    }
    return DuplicateGroups(
        usable=usable,
        by_kind=by_kind,
        joined=_joined(by_kind.values()),
        fingerprinted=len(signatures),
        signature_keys=keys,
    )


def _fork_families(conn, usable: str) -> list[tuple[str, ...]]:
    """Usable forks of one parent, with the parent when it is a usable repository of the manifest too."""
    rows = conn.execute(f"""
        SELECT coalesce(u.parent, u.name) AS family, u.repo_hash FROM {usable} u
        WHERE u.parent IS NOT NULL OR u.name IN (SELECT parent FROM {usable} WHERE parent IS NOT NULL)""").fetchall()
    return _groups_of(rows)


def _shared(conn, rows: str, column: str) -> list[tuple[str, str]]:
    """(value, repo_hash) of the rows whose non-empty ``column`` value another row shares: the grouping is done
    in SQL, so a million unique values never come into Python."""
    return conn.execute(f"""WITH valued AS (SELECT {column} AS v, repo_hash FROM {rows}
                                            WHERE coalesce({column}, '') <> '')
                            SELECT v, repo_hash FROM valued
                            WHERE v IN (SELECT v FROM valued GROUP BY v HAVING count(*) > 1)""").fetchall()


def _groups_of(rows) -> list[tuple[str, ...]]:
    members: dict[str, set[str]] = defaultdict(set)
    for key, repo_hash in rows:
        members[key].add(repo_hash)
    return sorted(tuple(sorted(m)) for m in members.values() if len(m) > 1)


def _joined(groupings) -> list[tuple[str, ...]]:
    """Connected components of every grouping together (union-find over repo hashes)."""
    parent: dict[str, str] = {}

    def find(h: str) -> str:
        while parent.setdefault(h, h) != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    for groups in groupings:
        for group in groups:
            root = find(group[0])
            for h in group[1:]:
                other = find(h)
                if other != root:
                    parent[max(root, other)] = min(root, other)
                    root = min(root, other)
    return _groups_of((find(h), h) for h in list(parent))
