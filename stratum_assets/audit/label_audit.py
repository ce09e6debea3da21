"""The label audit as the dataset strategy asks it: is this repository riskier than one with a lower score?

**The sample** — 100 pairs, frozen by :func:`sample` and written to ``data/label_audit/sample.csv``
(the answer key; the reviewer never sees it). Per risk_score quintile (ntile(5) over the usable
repositories, ties broken by repo_hash) 20 repositories are drawn in the order of
sha256(seed | repo_hash). Each is paired with a **comparison** repository of lower risk_score:

* from the quintile just below (quintile 1: from quintile 1 itself), at least ``MIN_GAP`` points
  lower; if that quintile holds none so far below (ties at a quintile's edge), from any lower score
  at least ``MIN_GAP`` below;
* never a member of the sampled repository's duplicate group (audit/groups.py: a copy of itself is
  no comparison);
* the candidate with the smallest sha256(seed | sampled hash | candidate hash) — deterministic.

A sampled repository with no such comparison (quintile 1's lowest scores) is passed over for the next
in its quintile's order, so a quintile can hold fewer than 20 pairs only when fewer than 20 of its
repositories have anything ``MIN_GAP`` points below them (the asset reports ``pairs_per_quintile``).
Which repository shows as A and which as B is drawn per pair (sha256 again), and the pairs are
numbered in a shuffled order so their position says nothing about their quintile.

**Blind cards** — :func:`cards` writes what a person needs to judge risk (links, description,
frameworks, agents, crews, tools, capabilities, guardrails, deployment signals, findings with title
and severity) and nothing of the score: no risk_score, no quintile, no label (``cards.json``).

**Reviews** — one CSV per reviewer, ``data/label_audit/reviews/<reviewer>.csv`` (``REVIEW_COLUMNS``;
the review page writes them). :func:`evaluate` measures agreement: the share of decided pairs
(A or B; "cannot tell" is not a decision) where the reviewer picked the higher-scored repository,
overall and per quintile with a Wilson 95% interval, over the reviews that answered every pair; and
with two reviewers or more, Cohen's kappa of each two on the pairs both answered.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..scanner.rules import RULES_BY_ID
from ..scanner.scoring import base_id
from .sections import USABLE

PER_QUINTILE = 20
MIN_GAP = 5  # risk_score points (0..100) the comparison lies at least below the sampled repository
THRESHOLD = 0.8  # the strategy's ">= 80% binary agreement"
ANSWERS = ("A", "B", "cannot tell")
SAMPLE_COLUMNS = (
    "pair_id",
    "quintile",
    "higher",
    "rule",
    "score_gap",
    "a_repo_hash",
    "a_full_name",
    "a_risk_score",
    "b_repo_hash",
    "b_full_name",
    "b_risk_score",
)
REVIEW_COLUMNS = ("pair_id", "a_full_name", "b_full_name", "answer", "notes", "answered_at")
REVIEWER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
OLD_FORMAT = (
    "data/label_audit/reviewed.csv (one repository per row, reviewer_risky yes/no against "
    "risk_score >= 50) is the old label audit and is no longer read: it measured a cut-off, not whether "
    "the score ranks risk. Review pairs instead: `stratum-assets review` serves the 100 pairs of "
    "sample.csv one at a time and saves your answers (A, B or cannot tell: which of the two is riskier) "
    "into data/label_audit/reviews/<reviewer>.csv; then remove or rename reviewed.csv."
)


def _digest(*parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


@dataclass(frozen=True)
class Repo:
    repo_hash: str
    full_name: str
    risk_score: int
    quintile: int


def usable_repos(conn: duckdb.DuckDBPyConnection, src: str = "scan_dataset") -> list[Repo]:
    """The usable repositories with their score quintile (ntile over risk_score, ties by repo_hash)."""
    rows = conn.execute(f"""
        SELECT repo_hash, full_name, risk_score, ntile(5) OVER (ORDER BY risk_score, repo_hash) AS quintile
        FROM {src} WHERE {USABLE} AND risk_score IS NOT NULL ORDER BY risk_score, repo_hash""").fetchall()
    return [Repo(*row) for row in rows]


def sample(
    repos: list[Repo],
    groups: Sequence[tuple[str, ...]] = (),
    seed: int = 23,
    per_quintile: int = PER_QUINTILE,
    min_gap: int = MIN_GAP,
) -> list[dict]:
    """The frozen pairs (``SAMPLE_COLUMNS``), numbered 1..n in a shuffled order; see the module's rules."""
    group_of = {h: i for i, g in enumerate(groups) for h in g}
    by_quintile = defaultdict(list)
    for repo in repos:
        by_quintile[repo.quintile].append(repo)
    pairs = []
    for q in sorted(by_quintile):
        adjacent = by_quintile[max(q - 1, 1)]
        taken = 0
        for repo in sorted(by_quintile[q], key=lambda r: _digest(seed, r.repo_hash)):
            found = comparison(repo, adjacent, repos, group_of, seed, min_gap)
            if found is None:
                continue
            other, rule = found
            pairs.append(_pair(repo, other, rule, seed))
            taken += 1
            if taken == per_quintile:
                break
    pairs.sort(key=lambda p: _digest(seed, "order", p["a_repo_hash"], p["b_repo_hash"]))
    for i, pair in enumerate(pairs, start=1):
        pair["pair_id"] = i
    return pairs


def comparison(
    repo: Repo, adjacent: list[Repo], everyone: list[Repo], group_of: dict, seed: int, min_gap: int
) -> tuple[Repo, str] | None:
    """The comparison of ``repo`` and the rule that found it (``adjacent_quintile`` | ``any_lower``), or None."""
    ceiling = repo.risk_score - min_gap
    group = group_of.get(repo.repo_hash)
    for rule, pool in (("adjacent_quintile", adjacent), ("any_lower", everyone)):
        # Both pools are sorted by score: stop at the first too high (the lowest quintile's zeros stop at once).
        fits = []
        for other in pool:
            if other.risk_score > ceiling:
                break
            if group is None or group_of.get(other.repo_hash) != group:
                fits.append(other)
        if fits:
            return min(fits, key=lambda o: _digest(seed, repo.repo_hash, o.repo_hash)), rule
    return None


def _pair(repo: Repo, other: Repo, rule: str, seed: int) -> dict:
    higher = "A" if int(_digest(seed, "side", repo.repo_hash), 16) % 2 == 0 else "B"
    a, b = (repo, other) if higher == "A" else (other, repo)
    return {
        "pair_id": 0,
        "quintile": repo.quintile,
        "higher": higher,
        "rule": rule,
        "score_gap": repo.risk_score - other.risk_score,
        "a_repo_hash": a.repo_hash,
        "a_full_name": a.full_name,
        "a_risk_score": a.risk_score,
        "b_repo_hash": b.repo_hash,
        "b_full_name": b.full_name,
        "b_risk_score": b.risk_score,
    }


def to_csv(rows: list[dict], columns=SAMPLE_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def read_sample(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or set(SAMPLE_COLUMNS) - set(rows[0]):
        raise ValueError(
            f"{path} is not a pair sample (columns {', '.join(SAMPLE_COLUMNS)}): materialize label_audit_sample again"
        )
    for row in rows:
        row["pair_id"], row["quintile"] = int(row["pair_id"]), int(row["quintile"])
    return rows


# -- blind cards ---------------------------------------------------------------------------------------------
CARD_FIELDS = (
    "full_name",
    "html_url",
    "description",
    "github_stars",
    "frameworks",
    "llm_providers",
    "agents",
    "crews",
    "tools",
    "capabilities",
    "guardrails",
    "human_in_the_loop",
    "mcp_servers",
    "deployment",
    "findings",
)


def cards(
    conn: duckdb.DuckDBPyConnection, hashes: list[str], descriptions: dict[str, str], src: str = "scan_dataset"
) -> dict[str, dict]:
    """What the reviewer sees of each repository (``CARD_FIELDS``, a whitelist: nothing of the score).

    ``descriptions``: lower(full_name) -> the GitHub description the candidates carry (the manifest keeps
    neither the description nor the README).
    """
    rows = conn.execute(
        f"""
        SELECT repo_hash, full_name, html_url, github_stars, frameworks, llm_providers, agent_count, crew_count,
               agent_tool_count_distribution, capability_distribution, total_capabilities, guardrail_types,
               has_hitl_anywhere, mcp_server_count, deployment_signals, finding_rules
        FROM {src} WHERE repo_hash IN (SELECT unnest(?))""",
        [hashes],
    ).fetchall()
    out = {}
    for (
        h,
        name,
        url,
        stars,
        fws,
        providers,
        agents,
        crews,
        tool_counts,
        capabilities,
        total_caps,
        guardrails,
        hitl,
        mcp,
        deployment,
        rules,
    ) in rows:
        out[h] = {
            "full_name": name,
            "html_url": url,
            "description": descriptions.get((name or "").lower()),
            "github_stars": stars,
            "frameworks": list(fws or []),
            "llm_providers": list(providers or []),
            "agents": agents,
            "crews": crews,
            "tools": sum(tool_counts) if tool_counts else None,
            "capabilities": {"total": total_caps, **(capabilities or {})},
            "guardrails": list(guardrails or []),
            "human_in_the_loop": hitl,
            "mcp_servers": mcp,
            "deployment": {k: v for k, v in (deployment or {}).items() if k != "deployment_score"},
            "findings": [_finding(r) for r in rules or []],
        }
    return out


def _finding(rule_id: str) -> dict:
    rule = RULES_BY_ID.get(base_id(rule_id))
    return {"rule": rule_id, "title": rule.title if rule else "", "severity": rule.severity if rule else ""}


def descriptions(conn: duckdb.DuckDBPyConnection, candidates_glob: str) -> dict[str, str]:
    """lower(full_name) -> description from the candidates files (empty when there are none)."""
    try:
        rows = conn.execute(
            "SELECT lower(full_name), any_value(description) FROM read_parquet(?, union_by_name=true) "
            "WHERE description IS NOT NULL GROUP BY 1",
            [candidates_glob],
        ).fetchall()
    except duckdb.IOException:
        return {}
    return dict(rows)


def blind_pairs(sample_rows: list[dict], cards_by_hash: dict[str, dict]) -> list[dict]:
    """What the review page receives: per pair its id and the two cards, in A/B order; no score, no key."""
    return [
        {"pair_id": p["pair_id"], "a": cards_by_hash[p["a_repo_hash"]], "b": cards_by_hash[p["b_repo_hash"]]}
        for p in sample_rows
    ]


# -- reviews -------------------------------------------------------------------------------------------------
def read_reviews(folder: Path) -> dict[str, dict[int, dict]]:
    """reviewer -> pair_id -> review row, of every ``<reviewer>.csv``; a file of another format raises ValueError."""
    out = {}
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != REVIEW_COLUMNS:
                raise ValueError(
                    f"{path} has columns {reader.fieldnames}, not {', '.join(REVIEW_COLUMNS)}: reviews "
                    "are written by `stratum-assets review`"
                )
            out[path.stem] = {int(row["pair_id"]): row for row in reader}
    return out


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default): honest near 0, 1 and for small n."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cohen_kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa of two reviewers' answers to the same pairs (None when chance agreement is certain)."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    expected = sum(first.count(c) * second.count(c) for c in ANSWERS) / (n * n)
    return None if expected == 1 else (observed - expected) / (1 - expected)


@dataclass
class Tally:
    agree: int = 0
    decided: int = 0
    cannot_tell: int = 0

    def summary(self) -> dict:
        low, high = wilson(self.agree, self.decided)
        return {
            "agreement": round(self.agree / self.decided, 4) if self.decided else None,
            "agree": self.agree,
            "decided": self.decided,
            "cannot_tell": self.cannot_tell,
            "ci95": [round(low, 4), round(high, 4)],
        }


@dataclass
class Evaluation:
    pairs: int
    progress: dict[str, int]  # reviewer -> pairs answered
    complete: list[str]  # reviewers who answered every pair
    overall: Tally = field(default_factory=Tally)  # over the complete reviews, pooled
    per_quintile: dict[int, Tally] = field(default_factory=dict)
    per_reviewer: dict[str, dict] = field(default_factory=dict)  # every reviewer, complete or not
    kappa: dict[str, float | None] = field(default_factory=dict)  # "r1 vs r2" -> kappa
    problems: list[str] = field(default_factory=list)

    @property
    def evaluated(self) -> bool:
        return bool(self.complete)

    @property
    def agreement(self) -> float:
        return self.overall.agree / self.overall.decided if self.overall.decided else 0.0

    @property
    def passed(self) -> bool:
        return self.evaluated and self.overall.decided > 0 and self.agreement >= THRESHOLD and not self.problems


def evaluate(sample_rows: list[dict], reviews: dict[str, dict[int, dict]]) -> Evaluation:
    """Agreement of the reviews with the score's order (see the module); stale or unknown answers are problems."""
    key = {p["pair_id"]: p for p in sample_rows}
    result = Evaluation(pairs=len(key), progress={}, complete=[])
    answers = {}
    for reviewer, rows in sorted(reviews.items()):
        given, tally = {}, Tally()
        quintiles: defaultdict[int, Tally] = defaultdict(Tally)
        for pair_id, row in sorted(rows.items()):
            pair = key.get(pair_id)
            if pair is None or (row["a_full_name"], row["b_full_name"]) != (pair["a_full_name"], pair["b_full_name"]):
                result.problems.append(
                    f"{reviewer}: pair {pair_id} ({row['a_full_name']} vs {row['b_full_name']}) "
                    "is not in the current sample: the sample changed after this review"
                )
                continue
            if row["answer"] not in ANSWERS:
                result.problems.append(
                    f"{reviewer}: pair {pair_id}: answer {row['answer']!r} is not A, B or cannot tell"
                )
                continue
            given[pair_id] = row["answer"]
            for t in (tally, quintiles[pair["quintile"]]):
                _count(t, row["answer"], pair["higher"])
        answers[reviewer] = given
        result.progress[reviewer] = len(given)
        result.per_reviewer[reviewer] = {
            "answered": len(given),
            **tally.summary(),
            "per_quintile": {q: t.summary() for q, t in sorted(quintiles.items())},
        }
        if key and len(given) == len(key):
            result.complete.append(reviewer)
    for reviewer in result.complete:
        for pair_id, answer in answers[reviewer].items():
            q = key[pair_id]["quintile"]
            _count(result.overall, answer, key[pair_id]["higher"])
            _count(result.per_quintile.setdefault(q, Tally()), answer, key[pair_id]["higher"])
    names = sorted(answers)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            both = sorted(set(answers[first]) & set(answers[second]))
            kappa = cohen_kappa([answers[first][p] for p in both], [answers[second][p] for p in both])
            result.kappa[f"{first} vs {second}"] = None if kappa is None else round(kappa, 4)
    return result


def _count(tally: Tally, answer: str, higher: str) -> None:
    if answer == "cannot tell":
        tally.cannot_tell += 1
    else:
        tally.decided += 1
        tally.agree += answer == higher
