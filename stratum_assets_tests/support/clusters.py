"""How well near-duplicate clusters find the true groups: pairwise precision and recall.

A measure for the tests and the near-duplicate benchmark (bench/near_duplicates.py), never run by the
build: the build has no ground truth.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def pairwise_precision_recall(
    predicted: Iterable[Iterable[str]], truth: Iterable[Iterable[str]], members: Iterable[str]
) -> tuple[float, float]:
    """Pairwise precision and recall of ``predicted`` groups against ``truth`` groups, over ``members``.

    A pair of members is predicted if they share a predicted group, true if they share a true
    group; members outside ``members`` (say, without a signature) are left out of both. Counted
    from group overlaps, never by listing pairs: a family of 5,000 is 12.5 million pairs. With no
    pair predicted (or none true) the precision (or recall) is 1.0.
    """
    members = set(members)
    label = {m: i for i, group in enumerate(truth) for m in group if m in members}
    predicted_pairs = true_pairs = both = 0
    for group in predicted:
        inside = [m for m in group if m in members]
        predicted_pairs += _pairs(len(inside))
        overlaps: dict[int, int] = defaultdict(int)
        for m in inside:
            if m in label:
                overlaps[label[m]] += 1
        both += sum(_pairs(n) for n in overlaps.values())
    sizes: dict[int, int] = defaultdict(int)
    for i in label.values():
        sizes[i] += 1
    true_pairs = sum(_pairs(n) for n in sizes.values())
    return (both / predicted_pairs if predicted_pairs else 1.0, both / true_pairs if true_pairs else 1.0)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2
