"""Keeping the audit fresh: when scan partitions complete, everything after them follows.

``pipeline_run_log`` and the audit assets carry ``AFTER_THE_SCANS`` (Dagster's eager
condition): they are requested when an upstream partition was updated — a backfill of
failed chunks, a re-scan — but only once no upstream partition is missing or still in
progress, so a 200-partition backfill refreshes the audit once, at its end, not 200 times;
and only while every blocking check upstream passes (``zero_silent_drops``,
``every_repo_accounted_for``), so the frozen split is never requested to refuse.
The sensor that evaluates it is on by default under ``dagster dev``/the daemon; the
``stratum-assets run`` and ``backfill`` commands refresh the same assets themselves.
"""

import dagster as dg

AFTER_THE_SCANS = dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()

keep_audit_fresh = dg.AutomationConditionSensorDefinition(
    "keep_audit_fresh",
    target=dg.AssetSelection.assets("pipeline_run_log") | dg.AssetSelection.groups("audit"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Re-runs pipeline_run_log, audit_report, train_test_split and label_audit_sample once the scan "
    "partitions they read have changed and none is missing or in progress.",
)


@dg.sensor(default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60)
def reap_dead_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Fail the runs whose process is gone (killed, crashed, machine restarted), so their partitions show
    as failed and the UI's "Failed and missing" backfill re-runs them; Dagster's run monitoring cannot
    check the health of workers the default run launcher started."""
    from ..instance.dead_runs import fail_dead_runs

    failed = fail_dead_runs(context.instance, context.log.info)
    return dg.SkipReason(f"{len(failed)} dead runs failed" if failed else "no dead runs")
