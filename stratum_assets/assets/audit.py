"""``audit_report`` with gates G1–G8, ``train_test_split`` and ``label_audit_sample``.

All three read the warehouse through the ``data`` resource (a connection whose views show the
active manifest version) and need no GitHub: the profile is the data resource's.
"""

import json
from typing import Any, cast

import dagster as dg

from ..audit import label_audit
from ..audit.gate_measures import GateThresholds, check_descriptions
from ..audit.groups import duplicate_groups
from ..audit.report import audit, render
from ..audit.split import LABEL_COLUMNS, split_and_export
from ..audit.split import snapshot as split_snapshot
from ..discovery.strata import strata
from ..domain.choices import Profile
from ..domain.reasons import UNSETTLED_MEANING, UNSETTLED_REASONS, unsettled
from ..resources import DataResource
from ..storage.files import write_text_atomic
from ..warehouse.schema import Warehouse
from .automation import AFTER_THE_SCANS

GATE_DESCRIPTIONS = check_descriptions()  # from the gate table (domain/gate_table.py): G1..G8, full profile


class AuditConfig(dg.Config):
    profile: Profile | None = None  # default: the data resource's (sample offline, full with a token)
    # e.g. {"g1_min_usable": 30000}: overrides of the profile
    thresholds: dict[str, float] = {}  # noqa: RUF012  # a pydantic field: each instance gets its own copy


@dg.asset(
    automation_condition=AFTER_THE_SCANS,
    group_name="audit",
    deps=["pipeline_run_log"],
    kinds={"duckdb"},
    check_specs=[dg.AssetCheckSpec(g, asset="audit_report", description=d) for g, d in GATE_DESCRIPTIONS.items()],
    description="Dataset audit in DuckDB SQL: volume, frameworks, scores, findings, maturity, duplicates, coverage, "
    "strata, gates, recommendations. Written to data/dataset_audit_report.md.",
)
def audit_report(context: dg.AssetExecutionContext, config: AuditConfig, data: DataResource):
    layout = data.layout
    profile = config.profile or data.resolved_profile()
    targets = {name: s.target for name, s in strata(profile).items()}
    data.compact()  # a partition re-run since the scans finished: its block again, so the audit reads few files
    with data.warehouse() as warehouse:
        conn, version = warehouse.conn, warehouse.version
        manifest_rows = cast(tuple, conn.execute("SELECT count(*) FROM repo_manifest").fetchone())[0]
        thresholds = GateThresholds.for_profile(profile, manifest_rows, **config.thresholds)
        results = audit(
            conn,
            targets,
            thresholds,
            near_duplicate_threshold=data.near_duplicate_threshold,
            manifest_meta=data.manifest_store.meta(version),  # Volume: what opt-outs left out
            discovery=discovery_summaries(layout, targets),
        )  # Strata: what discovery could not get
    text = render(results, version, profile)
    write_text_atomic(text, layout.audit_report)
    gates = results.gates
    context.log.info(
        "Quality gates:\n"
        + "\n".join(
            f"  {'PASS' if g.passed else 'FAIL'}  {g.name}  {g.title}: {g.measured} (threshold {g.threshold})"
            for g in gates
        )
    )
    yield dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(text),
            "path": dg.MetadataValue.path(str(layout.audit_report)),
            "usable": results.volume["usable"],
            "manifest_version": version,
            "profile": profile.value,
            "gates_passed": sum(g.passed for g in gates),
            "gates_failed": [g.name for g in gates if not g.passed],
        }
    )
    severity = gate_severity(profile)
    for g in gates:
        yield dg.AssetCheckResult(
            check_name=g.name,
            passed=g.passed,
            severity=severity,
            metadata={
                "measured": g.measured if isinstance(g.measured, (int, float)) else str(g.measured),
                "threshold": g.threshold,
                "what": g.title,
                "profile": profile.value,
            },
        )


def discovery_summaries(layout, names) -> dict[str, dict]:
    """Each stratum's discovery summary (written by its candidates asset), for those that have one."""
    found = {}
    for name in names:
        path = layout.discovery_summary(name)
        if path.exists():
            found[name] = json.loads(path.read_text())
    return found


def gate_severity(profile: Profile) -> dg.AssetCheckSeverity:
    """A gate missed on the full scan is an error; on the sample universe (scaled thresholds, a rehearsal of
    the dataset, not the dataset) it is a warning."""
    return dg.AssetCheckSeverity.ERROR if profile == Profile.full else dg.AssetCheckSeverity.WARN


def refuse_to_freeze_while_pending(warehouse: Warehouse, what: str, src: str = "scan_dataset") -> None:
    """A frozen artefact (the split, the label-audit sample) is built on a complete dataset or not at all.

    Freezing with repositories pending would assign them later, by another rule of arrival, and a
    re-run after a crash would differ from a clean build. ``src``: the view or a snapshot of it.
    """
    pending, unsettled_rows = cast(  # aggregates answer one row
        tuple,
        warehouse.conn.execute(
            f"SELECT count(*) FILTER (outcome = 'pending'), count(*) FILTER (outcome = 'stored' AND {unsettled()}) "
            f"FROM {src}"
        ).fetchone(),
    )
    if pending:
        raise dg.Failure(
            f"{pending} repositories of manifest v{warehouse.version} are still pending: {what} is "
            "frozen only once every repository is stored or quarantined; finish the scan "
            "(`stratum-assets backfill`) first",
            metadata={"pending": pending},
        )
    if unsettled_rows:
        raise dg.Failure(
            f"{unsettled_rows} repositories of manifest v{warehouse.version} are unsettled "
            f"({UNSETTLED_MEANING}: {', '.join(UNSETTLED_REASONS)}): {what} is frozen only "
            "once every outcome is settled; scan them again (`stratum-assets backfill`) first",
            metadata={"unsettled": unsettled_rows},
        )


class SplitConfig(dg.Config):
    seed: int = 17
    min_test_per_stratum: int = 40


@dg.asset(
    automation_condition=AFTER_THE_SCANS,
    group_name="audit",
    deps=["pipeline_run_log"],
    kinds={"parquet", "duckdb"},
    check_specs=[
        dg.AssetCheckSpec("no_repo_in_both_splits", asset="train_test_split"),
        dg.AssetCheckSpec(
            "no_group_in_both_splits",
            asset="train_test_split",
            description="no duplicate group (fork family, exact or near-duplicate code, "
            "topology; audit/groups.py) has members in both train and test",
        ),
        dg.AssetCheckSpec("no_label_among_features", asset="train_test_split"),
    ],
    description="Frozen 80/20 split stratified by framework × deployment_score bucket, deterministic from "
    "repo_hash and a seed, each duplicate group (audit/groups.py) whole on one side; exported as "
    "train/test Parquet and JSONL with features, labels and metadata kept apart.",
)
def train_test_split(context: dg.AssetExecutionContext, config: SplitConfig, data: DataResource):
    with data.warehouse() as warehouse:
        src = split_snapshot(warehouse.conn)  # the view's joins once, not three times
        refuse_to_freeze_while_pending(warehouse, "the train/test split", src)
        groups = duplicate_groups(warehouse.conn, data.near_duplicate_threshold, src=src)
        out = split_and_export(
            warehouse.conn,
            warehouse.layout,
            warehouse.version,
            seed=config.seed,
            min_test=config.min_test_per_stratum,
            groups=groups.register(warehouse.conn, "split_groups_input"),
            src=src,
        )
    # set, as the split ran with duplicate groups
    in_both, deviations = cast(list[dict], out.groups_in_both), cast(dict, out.share_deviations)
    yield dg.MaterializeResult(
        metadata={
            "train": out.train,
            "test": out.test,
            "kept_assignments": out.kept,
            "new_assignments": out.new,
            "merged_strata": dg.MetadataValue.json(out.merged),
            "undersized_test_strata": dg.MetadataValue.json(out.undersized),
            "exports": dg.MetadataValue.json(out.exports),
            "duplicate_groups": groups.summary()["joined"]["groups"],
            "stratum_share_deviations": dg.MetadataValue.json(deviations),
        }
    )
    yield dg.AssetCheckResult(
        check_name="no_group_in_both_splits",
        passed=not out.groups_in_both,
        metadata={
            "groups": len(groups.joined),
            "groups_in_both": len(in_both),
            "examples": dg.MetadataValue.json(in_both[:20]),
        },
    )
    yield dg.AssetCheckResult(
        check_name="no_repo_in_both_splits", passed=out.in_both == 0, metadata={"in_both": out.in_both}
    )
    leaked = sorted(set(out.feature_fields) & set(LABEL_COLUMNS))
    yield dg.AssetCheckResult(
        check_name="no_label_among_features",
        passed=not leaked,
        metadata={"label_columns_in_features": leaked, "features": len(out.feature_fields)},
    )


class LabelAuditConfig(dg.Config):
    seed: int = 23
    profile: Profile | None = None  # default: the data resource's (a miss is an error on full only)


@dg.asset(
    automation_condition=AFTER_THE_SCANS,
    group_name="audit",
    deps=["pipeline_run_log"],
    kinds={"csv"},
    check_specs=[
        dg.AssetCheckSpec(
            "label_agreement",
            asset="label_audit_sample",
            description="in >= 80% of the decided pairs the reviewer finds the higher "
            "risk_score riskier (blind pairwise review, once complete)",
        )
    ],
    description="100 pairs, 20 per risk_score quintile, each a sampled repository and a lower-scored comparison "
    "(data/label_audit/sample.csv, the key) with blind cards (cards.json); `stratum-assets review` "
    "serves them to reviewers, whose answers land in data/label_audit/reviews/<reviewer>.csv.",
)
def label_audit_sample(context: dg.AssetExecutionContext, config: LabelAuditConfig, data: DataResource):
    layout = data.layout
    with data.warehouse() as warehouse:
        refuse_to_freeze_while_pending(warehouse, "the label-audit sample")
        conn = warehouse.conn
        groups = duplicate_groups(conn, data.near_duplicate_threshold)
        pairs = label_audit.sample(label_audit.usable_repos(conn), groups.joined, seed=config.seed)
        hashes = sorted({p[f"{side}_repo_hash"] for p in pairs for side in "ab"})
        cards = label_audit.cards(conn, hashes, label_audit.descriptions(conn, str(layout.candidates("*"))))
    path = write_text_atomic(label_audit.to_csv(pairs), layout.label_audit_sample)
    write_text_atomic(json.dumps(cards, sort_keys=True, indent=1), layout.label_audit_cards)
    per_quintile = {str(q): sum(p["quintile"] == q for p in pairs) for q in range(1, 6)}  # JSON keys are text
    yield dg.MaterializeResult(
        metadata={
            "pairs": len(pairs),
            "pairs_per_quintile": dg.MetadataValue.json(per_quintile),
            "comparison_rules": dg.MetadataValue.json(
                {r: sum(p["rule"] == r for p in pairs) for r in ("adjacent_quintile", "any_lower")}
            ),
            "path": dg.MetadataValue.path(str(path)),
        }
    )
    yield label_agreement(layout, pairs, config.profile or data.resolved_profile())


def label_agreement(layout, pairs: list[dict], profile: Profile) -> dg.AssetCheckResult:
    """The check from the reviews folder: awaiting (a warning) until one reviewer answered every pair."""
    if layout.label_audit_reviewed.exists():
        return dg.AssetCheckResult(
            check_name="label_agreement",
            passed=False,
            description=label_audit.OLD_FORMAT,
            metadata={"evaluated": False, "status": "old reviewed.csv refused"},
        )
    try:
        result = label_audit.evaluate(pairs, label_audit.read_reviews(layout.label_audit_reviews))
    except ValueError as err:
        return dg.AssetCheckResult(
            check_name="label_agreement",
            passed=False,
            description=str(err),
            metadata={"evaluated": False, "status": "unreadable review"},
        )
    metadata: dict[str, Any] = {
        "evaluated": result.evaluated,
        "pairs": result.pairs,
        "threshold": label_audit.THRESHOLD,
        "progress": dg.MetadataValue.json(result.progress),
        "per_reviewer": dg.MetadataValue.json(result.per_reviewer),
        "problems": dg.MetadataValue.json(result.problems[:20]),
    }
    if not result.evaluated:
        status = (
            f"awaiting review: {max(result.progress.values(), default=0)} of {result.pairs} pairs answered "
            "by the furthest reviewer (`stratum-assets review`)"
        )
        return dg.AssetCheckResult(
            check_name="label_agreement",
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=status,
            metadata={**metadata, "status": status},
        )
    overall = result.overall.summary()
    per_quintile = {str(q): t.summary() for q, t in sorted(result.per_quintile.items())}  # JSON keys are text
    return dg.AssetCheckResult(
        check_name="label_agreement",
        passed=result.passed,
        severity=gate_severity(profile),
        metadata={
            **metadata,
            "agreement": overall["agreement"],
            "agree": overall["agree"],
            "decided": overall["decided"],
            "cannot_tell": overall["cannot_tell"],
            "ci95": dg.MetadataValue.json(overall["ci95"]),
            "complete_reviews": len(result.complete),
            "per_quintile": dg.MetadataValue.json(per_quintile),
            "cohen_kappa": dg.MetadataValue.json(result.kappa),
            "profile": profile.value,
        },
    )
