"""The numbers of the audit, each section one function of DuckDB SQL over ``scan_dataset``.

Nothing here loads pings into Python: every section is an aggregate query, so
the audit's memory does not grow with the dataset. "Usable" repositories are
stored pings with status success or partial — the ones with analysis.
Each function reads ``src``: the ``scan_dataset`` view, or a snapshot of it
(:func:`snapshot`) so that the joins behind the view run once per audit.
"""

from __future__ import annotations

import duckdb

from ..domain import frameworks as framework_table
from ..warehouse import schema

USABLE = "outcome = 'stored' AND scan_status IN ('success', 'partial')"
GATE_FRAMEWORKS = framework_table.gated()  # the frameworks gate G2 requires, as the table had them at import


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def _one(conn: duckdb.DuckDBPyConnection, sql: str):
    return conn.execute(sql).fetchone()


def volume(conn, src: str = "scan_dataset") -> dict:
    total, stored, quarantined, pending, usable = _one(
        conn,
        f"""
        SELECT count(*), count(*) FILTER (outcome = 'stored'), count(*) FILTER (outcome = 'quarantined'),
               count(*) FILTER (outcome = 'pending'), count(*) FILTER ({USABLE}) FROM {src}""",
    )
    return {
        "manifest": total,
        "stored": stored,
        "quarantined": quarantined,
        "pending": pending,
        "usable": usable,
        "by_status": dict(
            _rows(conn, f"SELECT scan_status, count(*) FROM {src} WHERE outcome = 'stored' GROUP BY 1 ORDER BY 1")
        ),
        "failure_reasons": dict(
            _rows(
                conn,
                f"SELECT failure_reason, count(*) FROM {src} WHERE outcome = "
                "'stored' AND failure_reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
            )
        ),
    }


def frameworks(conn, src: str = "scan_dataset") -> dict:
    counts = dict(
        _rows(
            conn,
            f"""
        SELECT fw, count(*) FROM (SELECT unnest(frameworks) AS fw FROM {src} WHERE {USABLE})
        GROUP BY 1 ORDER BY 2 DESC, 1""",
        )
    )
    multi = _one(conn, f"SELECT count(*) FROM {src} WHERE {USABLE} AND len(frameworks) > 1")[0]
    return {"counts": counts, "multi_framework_repos": multi}


def framework_targets(stratum_targets: dict[str, int]) -> dict[str, int]:
    """Framework label → its target: the sum of the targets of the strata that search for it."""
    return {fw: sum(stratum_targets.get(s, 0) for s in names) for fw, names in framework_table.strata_of().items()}


def scores(conn, src: str = "scan_dataset") -> dict:
    hist = dict(
        _rows(
            conn,
            f"""
        SELECT least(risk_score // 10, 9) AS bucket, count(*) FROM {src} WHERE {USABLE}
        GROUP BY 1 ORDER BY 1""",
        )
    )
    n, mean, median, p10, p90, sd, skew, kurt, low, high = _one(
        conn,
        f"""
        SELECT count(*), avg(risk_score), median(risk_score), quantile_cont(risk_score, 0.1),
               quantile_cont(risk_score, 0.9), stddev_pop(risk_score), skewness(risk_score), kurtosis(risk_score),
               count(*) FILTER (risk_score <= 10), count(*) FILTER (risk_score >= 90)
        FROM {src} WHERE {USABLE}""",
    )
    counts = [hist.get(b, 0) for b in range(10)]
    # Sarle's bimodality coefficient: above 5/9 ≈ 0.555 suggests two populations.
    bimodality = ((skew or 0) ** 2 + 1) / ((kurt or 0) + 3 * (n - 1) ** 2 / max(1, (n - 2) * (n - 3))) if n > 3 else 0
    peaks = [
        b
        for b in range(10)
        if counts[b] > 0
        and counts[b] >= max(counts[max(0, b - 1)], counts[min(9, b + 1)])
        and (b in (0, 9) or counts[b] > min(counts[b - 1], counts[b + 1]))
    ]
    return {
        "histogram": counts,
        "n": n,
        "mean": _r(mean),
        "median": _r(median),
        "p10": _r(p10),
        "p90": _r(p90),
        "stddev": _r(sd),
        "bimodality_coefficient": _r(bimodality, 3),
        "peaks": peaks,
        "tail_low_share": _share(low, n),
        "tail_high_share": _share(high, n),
    }


def findings(conn, src: str = "scan_dataset") -> dict:
    usable = _one(conn, f"SELECT count(*) FROM {src} WHERE {USABLE}")[0]
    per_rule = _rows(
        conn,
        f"""
        SELECT rule, count(*) FROM (SELECT unnest(finding_rules) AS rule FROM {src} WHERE {USABLE})
        GROUP BY 1 ORDER BY 2 DESC, 1""",
    )
    prevalence = {rule: {"repos": n, "share": _share(n, usable)} for rule, n in per_rule}
    return {
        "usable": usable,
        "prevalence": prevalence,
        "rare_rules": sorted(r for r, v in prevalence.items() if v["share"] < 0.01),
    }


def maturity(conn, src: str = "scan_dataset") -> dict:
    hist = dict(
        _rows(
            conn,
            f"""
        SELECT deployment_signals.deployment_score, count(*) FROM {src} WHERE {USABLE} GROUP BY 1""",
        )
    )
    n = sum(hist.values())
    mature = sum(v for k, v in hist.items() if k is not None and k >= 3)
    return {"histogram": [hist.get(s, 0) for s in range(6)], "mature": mature, "mature_share": _share(mature, n)}


def duplicates(conn, cluster_size: int = 10, src: str = "scan_dataset") -> dict:
    groups = _rows(
        conn,
        f"""
        SELECT topology_key, count(*) FROM {src}
        WHERE {USABLE} AND coalesce(topology_key, '') <> ''
        GROUP BY 1 HAVING count(*) > {cluster_size} ORDER BY 2 DESC, 1""",
    )
    in_big = sum(n for _, n in groups)
    usable, unknown, distinct = _one(
        conn,
        f"""
        SELECT count(*), count(*) FILTER (coalesce(topology_key, '') = ''),
               count(DISTINCT CASE WHEN coalesce(topology_key, '') = '' THEN repo_hash
                                   ELSE topology_key END)
        FROM {src} WHERE {USABLE}""",
    )
    forks = _rows(
        conn,
        f"""
        SELECT fork_parent, count(*) FROM {src} WHERE fork_parent IS NOT NULL
        GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 20""",
    )
    return {
        "topology_groups_over": cluster_size,
        "groups": [{"hash": h, "repos": n} for h, n in groups[:20]],
        "group_count": len(groups),
        "repos_in_groups": in_big,
        "repos_in_groups_share": _share(in_big, usable),
        "unknown_topology": unknown,
        "effective_size": distinct,
        "fork_parent_groups": [{"parent": p, "forks": n} for p, n in forks],
    }


def coverage(conn, src: str = "scan_dataset") -> dict:
    hist = dict(
        _rows(
            conn,
            f"""
        SELECT least(floor(files_scanned / files_total * 10), 9)::INT, count(*) FROM {src}
        WHERE {USABLE} AND files_total > 0 GROUP BY 1""",
        )
    )
    median = _one(
        conn,
        f"""SELECT median(files_scanned / files_total) FROM {src}
                            WHERE {USABLE} AND files_total > 0""",
    )[0]
    python_share = """
        coalesce(try_cast(json_extract(language_bytes, '$.Python') AS DOUBLE), 0) /
        nullif(list_sum(try_cast(json_extract(language_bytes, '$.*') AS BIGINT[])), 0)"""
    low, known = _one(
        conn,
        f"""
        SELECT count(*) FILTER ({python_share} < 0.2), count(*) FILTER ({python_share} IS NOT NULL)
        FROM {src}""",
    )
    return {
        "histogram": [hist.get(d, 0) for d in range(10)],
        "median_ratio": _r(median, 3),
        "low_python_repos": low,
        "low_python_share": _share(low, known),
    }


def strata(conn, targets: dict[str, int], src: str = "scan_dataset") -> dict:
    manifest = dict(_rows(conn, f"SELECT selection_stratum, count(*) FROM {src} GROUP BY 1"))
    usable = dict(_rows(conn, f"SELECT selection_stratum, count(*) FROM {src} WHERE {USABLE} GROUP BY 1"))
    return {
        name: {
            "target": t,
            "manifest": manifest.get(name, 0),
            "usable": usable.get(name, 0),
            "fill": _share(usable.get(name, 0), t),
        }
        for name, t in targets.items()
    }


def _share(part, whole) -> float:
    return round(part / whole, 4) if whole else 0.0


def _r(value, digits: int = 1):
    return None if value is None else round(float(value), digits)


SNAPSHOT_COLUMNS = (
    "repo_hash",
    "outcome",
    "scan_status",
    "failure_reason",
    "frameworks",
    "risk_score",
    "finding_rules",
    "deployment_signals",
    "topology_key",
    "files_scanned",
    "files_total",
    "fork_parent",
    "language_bytes",
    "selection_stratum",
    "scanner",
    "scanner_version",
)


def snapshot(conn: duckdb.DuckDBPyConnection, name: str = "audit_snapshot", extra: tuple[str, ...] = ()) -> str:
    """Materialize the columns the sections read, and ``extra`` ones, once, as a temporary table; returns its name."""
    return schema.snapshot(conn, SNAPSHOT_COLUMNS + extra, name)
