"""Keeping the audit fresh: when scan partitions complete, everything after them follows.

``pipeline_run_log`` and the audit assets carry ``AFTER_THE_SCANS`` (Dagster's eager
condition): they are requested when an upstream partition was updated — a backfill of
failed chunks, a re-scan — but only once no upstream partition is missing or still in
progress, so a 200-partition backfill refreshes the audit once, at its end, not 200 times.
The sensor that evaluates it is on by default under ``dagster dev``/the daemon; the
``stratum-assets run`` and ``backfill`` commands refresh the same assets themselves.
"""

import dagster as dg

AFTER_THE_SCANS = dg.AutomationCondition.eager()

keep_audit_fresh = dg.AutomationConditionSensorDefinition(
    "keep_audit_fresh",
    target=dg.AssetSelection.assets("pipeline_run_log") | dg.AssetSelection.groups("audit"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Re-runs pipeline_run_log, audit_report, train_test_split and label_audit_sample once the scan "
                "partitions they read have changed and none is missing or in progress.",
)
