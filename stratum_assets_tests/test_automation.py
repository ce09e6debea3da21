"""The eager automation after the scans waits for the blocking checks upstream to pass."""

import dagster as dg

from stratum_assets.assets.automation import AFTER_THE_SCANS


class Intact(dg.Config):
    intact: bool


@dg.asset(check_specs=[dg.AssetCheckSpec("intact", asset="scans", blocking=True)])
def scans(config: Intact):
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="intact", passed=config.intact)


@dg.asset(deps=[scans], automation_condition=AFTER_THE_SCANS)
def frozen_split():
    return None


def _materialize_scans(instance, intact: bool) -> None:
    dg.materialize(
        [scans], instance=instance, raise_on_error=False, run_config={"ops": {"scans": {"config": {"intact": intact}}}}
    )


def test_the_frozen_asset_is_requested_only_once_the_blocking_check_upstream_passes():
    defs = dg.Definitions(assets=[scans, frozen_split])
    frozen = dg.AssetKey("frozen_split")
    with dg.instance_for_test() as instance:
        nothing_yet = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert nothing_yet.total_requested == 0

        _materialize_scans(instance, intact=False)  # materialized, but its blocking check failed
        broken = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=nothing_yet.cursor)
        assert broken.total_requested == 0, "the frozen asset waits for the blocking check"

        _materialize_scans(instance, intact=True)
        whole = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=broken.cursor)
        assert whole.total_requested == 1 and whole.get_num_requested(frozen) == 1
