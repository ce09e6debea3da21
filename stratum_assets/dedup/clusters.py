"""Groups of repositories that share code: exact-duplicate groups and near-duplicate clusters.

Both take ``(repo_hash, fingerprint)`` rows, as the scan stores them beside the pings, and return
plain data: a sorted list of groups, each a sorted tuple of repo hashes, only groups of two or
more. The output depends on the set of rows only, never on their order, so the audit's report
and the split built on it are reproducible.

Near-duplicate clusters group the repositories that are one project (README, "What counts as one
project"): lightly edited copies, copies that grew, snapshots of one source at other dates; not
projects that only share a template's boilerplate. No pair list is quadratic (1.25 billion pairs
at 50,000 repositories): candidates are the pairs sharing a band of datasketch's MinHashLSH
(similar code) and the pairs sharing a distinctive file digest (contained code, which LSH cannot
see: a copy holding all of a source and as much again of its own has Jaccard ~0.5). Each is
decided exactly where the estimate is not sure (:func:`near_duplicate_clusters`), and clusters
are the connected components of the kept pairs: a copy of a copy joins its grandparent's cluster.
Identical signatures are merged before LSH, so a family of a thousand byte-identical forks costs
one index entry, not a million pair checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .fingerprint import NearDupSettings, decode_files, decode_signature

if TYPE_CHECKING:  # imported where LSH runs: datasketch imports scipy (0.4 s of every process)
    from datasketch import LeanMinHash


def exact_groups(rows: Iterable[tuple[str, str | None]]) -> list[tuple[str, ...]]:
    """Repositories with the same content hash; rows without one (None) are in no group."""
    members: dict[str, set[str]] = defaultdict(set)
    for repo_hash, content_hash in rows:
        if content_hash:
            members[content_hash].add(repo_hash)
    return _sorted_groups(members.values())


def near_duplicate_clusters(rows: Iterable[tuple], settings: NearDupSettings | None = None) -> list[tuple[str, ...]]:
    """Clusters of repositories that are one project: near-duplicates or one contained in the other.

    ``rows`` are ``(repo_hash, signature)`` or ``(repo_hash, signature, files, parts)`` (the file
    and part digests as ``encode_files`` wrote them; None or absent: that repository is decided on
    its estimate alone). Two repositories are joined when

    * their MinHash estimate is at least ``settings.sure_threshold`` (similar beyond estimator
      noise), or
    * their estimate is at least ``threshold`` and their exact part digests agree (:func:`alike`):
      near the threshold the estimate alone never decides a pair, or
    * their exact file digests show one contained in the other (:func:`contained`): a copy that
      grew, an older snapshot of a source that grew, whose Jaccard LSH cannot see. Candidates:
      the pairs sharing a distinctive file (held by at most ``common_repos`` projects).

    The similar pairs are joined first; a file's holders are then counted in projects (the clusters
    so far), not code bases: the files of a source that a hundred similar copies hold stay its own,
    and a copy that grew still joins it. A template's files, found in every unrelated project
    started from it, are not distinctive: they weigh little and never join two projects alone.

    ValueError if a repo_hash comes twice with different signatures, or a signature was made
    with another number of permutations than ``settings.num_perm``.
    """
    settings = settings or NearDupSettings()
    by_signature, digests_by_signature = _members_by_signature(rows)
    if not by_signature:  # a version scanned before fingerprints, or without Python: datasketch never imported
        return []
    signatures = sorted(by_signature)  # an index per distinct signature, whatever the input order
    minhashes = [_decoded(data, settings) for data in signatures]
    parent = list(range(len(signatures)))
    parts = _Parts(signatures, digests_by_signature)
    undecided = []
    for i, j in sorted(candidate_pairs(minhashes, settings)):  # similar code first
        if _find(parent, i) == _find(parent, j):  # already one cluster: nothing to decide
            continue
        estimate = minhashes[i].jaccard(minhashes[j])
        if (
            not settings.verify_pairs
            or estimate >= settings.sure_threshold
            or (estimate >= settings.threshold and alike(parts[i], parts[j], settings))
        ):
            _union(parent, i, j)
        else:
            undecided.append((i, j))
    files = [decode_files(digests_by_signature.get(s, (None, None))[0]) for s in signatures]
    projects = [_find(parent, i) for i in range(len(signatures))]  # a much-copied source's copies: one project
    holders = document_frequency(files, projects)
    weights = [weighted(digests, holders, settings) for digests in files]
    common = {d for d, n in holders.items() if n > settings.common_repos}
    for i, j in sorted(set(undecided) | sharing_pairs(weights, holders, settings.common_repos, projects)):
        if _find(parent, i) != _find(parent, j) and contained(weights[i], weights[j], common, settings):
            _union(parent, i, j)
    components: dict[int, set[str]] = defaultdict(set)
    for i, data in enumerate(signatures):
        components[_find(parent, i)] |= by_signature[data]
    return _sorted_groups(components.values())


def document_frequency(files: list[dict[bytes, int]], projects: list[int] | None = None) -> dict[bytes, int]:
    """How many projects hold each file content: code bases (distinct signatures: a thousand identical forks are
    one), or with ``projects`` (a project id per code base) the distinct projects among them.

    Counted over projects, a source copied and edited by a hundred similar copies still holds its files
    alone, while a template's files are held by every unrelated project started from it."""
    holders: dict[bytes, set[int]] = defaultdict(set)
    for i, digests in enumerate(files):
        for digest in digests:
            holders[digest].add(i if projects is None else projects[i])
    return {digest: len(members) for digest, members in holders.items()}


def weighted(digests: dict[bytes, int], frequency: dict[bytes, int], settings: NearDupSettings) -> dict[bytes, float]:
    """Each file's weight: its tokens, times common_repos / holders for a content more projects hold."""
    return {d: n * min(1.0, settings.common_repos / frequency[d]) for d, n in digests.items()}


def contained(a: dict[bytes, float], b: dict[bytes, float], common: set[bytes], settings: NearDupSettings) -> bool:
    """Whether the shared files make ``containment`` of the smaller code base and ``grown_share`` of the larger
    (files weighed by :func:`weighted`), one of them at least a distinctive file (not in ``common``): exact,
    from the stored digests.

    Boilerplate is never what joins two projects: files that more than ``common_repos`` projects
    hold (a template's, kept by every project started from it) join nothing alone, and weigh
    little beside each project's own code; and a single shared file (a generated module, a
    template's main file) is not a copy unless it is all the smaller code base has."""
    if len(a) > len(b):
        a, b = b, a
    shared_files = [d for d in a if d in b]
    if all(d in common for d in shared_files):  # nothing shared, or only boilerplate
        return False
    if len(shared_files) < min(settings.min_shared_files, len(a)):  # one generated module in common, or a template's
        return False
    shared = sum(a[d] for d in shared_files)
    small, large = sorted((sum(a.values()), sum(b.values())))
    return shared >= settings.containment * small and shared >= settings.grown_share * large


class _Parts:
    """The part digests of each signature, decoded when a pair first needs them (few pairs do)."""

    def __init__(self, signatures: list[bytes], digests: dict[bytes, tuple]):
        self._decoded: dict[int, dict[bytes, int]]
        self._signatures, self._digests, self._decoded = signatures, digests, {}

    def __getitem__(self, i: int) -> dict[bytes, int]:
        if i not in self._decoded:
            self._decoded[i] = decode_files(self._digests.get(self._signatures[i], (None, None))[1])
        return self._decoded[i]


def alike(a: dict[bytes, int], b: dict[bytes, int], settings: NearDupSettings) -> bool:
    """Whether the parts (``part_digests``) two code bases share make ``threshold`` of the larger one's tokens:
    the exact decision for a pair whose estimate lies between the threshold and the sure threshold."""
    if not a or not b:
        return False
    shared = sum(n for d, n in a.items() if d in b)
    return shared >= settings.threshold * max(sum(a.values()), sum(b.values()))


def sharing_pairs(
    files: list[dict[bytes, float]], frequency: dict[bytes, int], most: int, projects: list[int] | None = None
) -> set[tuple[int, int]]:
    """Index pairs (i < j) of two projects sharing a distinctive file (held by at most ``most`` projects): the only
    pairs :func:`contained` can join. Pairs inside one project (``projects``: an id per index) are left out, so a
    file makes at most its holders x (most - 1) pairs."""
    projects = projects if projects is not None else list(range(len(files)))
    holders: dict[bytes, list[int]] = defaultdict(list)
    for i, digests in enumerate(files):
        for digest in digests:
            if frequency[digest] <= most:
                holders[digest].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in holders.values():
        pairs.update((i, j) for k, i in enumerate(members) for j in members[k + 1 :] if projects[i] != projects[j])
    return pairs


def candidate_pairs(minhashes: list[LeanMinHash], settings: NearDupSettings) -> set[tuple[int, int]]:
    """Index pairs (i < j) that share at least one LSH band: the only pairs ever compared."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
    with lsh.insertion_session() as session:
        for i, minhash in enumerate(minhashes):
            session.insert(i, minhash, check_duplication=False)
    pairs: set[tuple[int, int]] = set()
    for i, minhash in enumerate(minhashes):
        pairs.update((i, j) for j in lsh.query(minhash) if j > i)
    return pairs


def _members_by_signature(rows: Iterable[tuple]) -> tuple[dict[bytes, set[str]], dict[bytes, tuple]]:
    """Repositories per distinct signature, and the (file digests, part digests) of each signature's smallest
    repo_hash that has them; a repository without a signature (None) takes part in nothing."""
    seen: dict[str, bytes] = {}
    members: dict[bytes, set[str]] = defaultdict(set)
    digests: dict[bytes, tuple[str, tuple]] = {}
    for repo_hash, signature, *rest in rows:
        if signature is None:
            continue
        signature = bytes(signature)
        if seen.setdefault(repo_hash, signature) != signature:
            raise ValueError(f"repository {repo_hash} comes twice with different signatures")
        members[signature].add(repo_hash)
        if rest and rest[0] and (signature not in digests or repo_hash < digests[signature][0]):
            digests[signature] = (repo_hash, (bytes(rest[0]), bytes(rest[1]) if len(rest) > 1 and rest[1] else None))
    return members, {s: pair for s, (_, pair) in digests.items()}


def _decoded(data: bytes, settings: NearDupSettings) -> LeanMinHash:
    minhash = decode_signature(data)
    if len(minhash) != settings.num_perm or minhash.seed != settings.seed:
        raise ValueError(
            f"a signature of {len(minhash)} permutations (seed {minhash.seed}) does not compare "
            f"under settings of {settings.num_perm} (seed {settings.seed})"
        )
    return minhash


def _find(parent: list[int], i: int) -> int:
    """Union-find root, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], i: int, j: int) -> None:
    a, b = _find(parent, i), _find(parent, j)
    if a != b:
        parent[max(a, b)] = min(a, b)


def _sorted_groups(groups: Iterable[set[str]]) -> list[tuple[str, ...]]:
    return sorted(tuple(sorted(g)) for g in groups if len(g) > 1)
