"""Gates G1–G8 at their exact boundaries, and how the thresholds of each profile are derived.

Each gate is judged on a constructed sections dict (the shape ``audit.report.compute`` gives
``evaluate``): the measured value exactly at the threshold passes, one step beyond fails, and
every other gate keeps passing, so a flipped or off-by-one comparison fails here.
"""

import re

import pytest

from stratum_assets.audit.gate_measures import FULL_SCAN_SIZE, GateThresholds, ThresholdError, evaluate
from stratum_assets.audit.sections import GATE_FRAMEWORKS

T = GateThresholds(
    g1_min_usable=100,
    g2_min_per_framework=20,
    g3_min_mature=30,
    g4_min_rules=3,
    g4_min_repos_per_rule=10,
    g5_max_share_in_clusters=0.05,
    g6_max_empty_share=0.20,
    g7_max_failed_share=0.10,
    g8_min_median_coverage=0.80,
)
ALL_PASS = {f"G{i}": True for i in range(1, 9)}


def sections(**change) -> dict:
    """Every gate exactly at its threshold: 100 accounted repos, 20 empty, 10 failed."""
    s = {
        "volume": {
            "usable": 100,
            "stored": 80,
            "quarantined": 20,
            "by_status": {"success": 60, "partial": 10, "empty": 20, "failed": 10},
        },
        "frameworks": {"counts": dict.fromkeys(GATE_FRAMEWORKS, 20) | {"Agno": 0}},
        "maturity": {"mature": 30},
        "findings": {
            "prevalence": {"R01": {"repos": 10}, "R02": {"repos": 10}, "R03": {"repos": 10}, "R04": {"repos": 9}}
        },
        "duplicates": {"repos_in_groups_share": 0.05},
        "coverage": {"median_ratio": 0.80},
    }
    for path, value in change.items():
        section, key = path.split("__")
        s[section][key] = value
    return s


def judge(s: dict, t: GateThresholds = T) -> dict:
    return {g.name: g for g in evaluate(s, t)}


def passed(s: dict, t: GateThresholds = T) -> dict:
    return {name: g.passed for name, g in judge(s, t).items()}


def test_every_gate_passes_exactly_at_its_threshold():
    gates = judge(sections())
    assert list(gates) == [f"G{i}" for i in range(1, 9)]
    assert {n: g.passed for n, g in gates.items()} == ALL_PASS
    assert {n: g.measured for n, g in gates.items()} == {
        "G1": 100,
        "G2": f"{min(GATE_FRAMEWORKS)} 20",
        "G3": 30,
        "G4": 3,
        "G5": 0.05,
        "G6": 0.2,
        "G7": 0.1,
        "G8": 0.80,
    }
    assert {n: g.threshold for n, g in gates.items()} == {
        "G1": ">= 100",
        "G2": ">= 20 each",
        "G3": ">= 30",
        "G4": ">= 3",
        "G5": "<= 0.05",
        "G6": "<= 0.2",
        "G7": "<= 0.1",
        "G8": ">= 0.8",
    }


def test_g1_usable_one_below_the_minimum_fails():
    assert passed(sections(volume__usable=99)) == ALL_PASS | {"G1": False}
    assert judge(sections(volume__usable=99))["G1"].measured == 99


@pytest.mark.parametrize("framework", GATE_FRAMEWORKS)
def test_g2_one_framework_one_repo_short_fails_and_is_shown_as_the_weakest(framework):
    counts = dict.fromkeys(GATE_FRAMEWORKS, 20) | {framework: 19}
    gates = judge(sections(frameworks__counts=counts))
    assert {n: g.passed for n, g in gates.items()} == ALL_PASS | {"G2": False}
    assert gates["G2"].measured == f"{framework} 19"


def test_g2_a_framework_never_seen_counts_as_zero():
    counts = {f: 500 for f in GATE_FRAMEWORKS if f != "AutoGen"}
    gates = judge(sections(frameworks__counts=counts))
    assert gates["G2"].passed is False and gates["G2"].measured == "AutoGen 0"


def test_g2_frameworks_outside_the_gate_do_not_count():
    counts = dict.fromkeys(GATE_FRAMEWORKS, 20) | {"Agno": 0, "Other": 0}
    assert passed(sections(frameworks__counts=counts)) == ALL_PASS


def test_g3_mature_one_below_the_minimum_fails():
    assert passed(sections(maturity__mature=29)) == ALL_PASS | {"G3": False}


def test_g4_a_rule_one_repo_short_no_longer_counts():
    prevalence = {"R01": {"repos": 10}, "R02": {"repos": 10}, "R03": {"repos": 9}, "R04": {"repos": 9}}
    gates = judge(sections(findings__prevalence=prevalence))
    assert {n: g.passed for n, g in gates.items()} == ALL_PASS | {"G4": False}
    assert gates["G4"].measured == 2


def test_g4_counts_only_rules_at_or_above_the_repo_minimum():
    prevalence = {f"R{i:02d}": {"repos": 10 + i} for i in range(3)} | {"R99": {"repos": 9}, "R98": {"repos": 0}}
    gates = judge(sections(findings__prevalence=prevalence))
    assert gates["G4"].passed is True and gates["G4"].measured == 3
    assert judge(sections(), GateThresholds(**{**T.model_dump(), "g4_min_rules": 4}))["G4"].passed is False


def test_g5_share_just_above_the_maximum_fails():
    assert passed(sections(duplicates__repos_in_groups_share=0.0501)) == ALL_PASS | {"G5": False}


def test_g6_one_more_empty_repo_fails():
    by_status = {"success": 59, "partial": 10, "empty": 21, "failed": 10}
    gates = judge(sections(volume__by_status=by_status))
    assert {n: g.passed for n, g in gates.items()} == ALL_PASS | {"G6": False}
    assert gates["G6"].measured == 0.21


def test_g6_and_g7_are_shares_of_stored_plus_quarantined():
    # 20 empty of 100 accounted passes; the same 20 of 90 accounted (fewer quarantined) is over 20%.
    gates = judge(sections(volume__quarantined=10))
    assert gates["G6"].passed is False and gates["G6"].measured == round(20 / 90, 4)
    assert gates["G7"].passed is False and gates["G7"].measured == round(10 / 90, 4)


def test_g6_g7_with_nothing_accounted_are_zero_shares():
    gates = judge(sections(volume__stored=0, volume__quarantined=0, volume__by_status={}))
    assert (gates["G6"].measured, gates["G6"].passed, gates["G7"].measured, gates["G7"].passed) == (
        0.0,
        True,
        0.0,
        True,
    )


def test_g7_one_more_failed_repo_fails():
    by_status = {"success": 59, "partial": 10, "empty": 20, "failed": 11}
    gates = judge(sections(volume__by_status=by_status))
    assert {n: g.passed for n, g in gates.items()} == ALL_PASS | {"G7": False}
    assert gates["G7"].measured == 0.11


def test_g8_coverage_just_below_the_minimum_or_unknown_fails():
    assert passed(sections(coverage__median_ratio=0.7999)) == ALL_PASS | {"G8": False}
    unknown = judge(sections(coverage__median_ratio=None))["G8"]
    assert unknown.passed is False and unknown.measured == 0.0


# -- profiles -----------------------------------------------------------------------------------------
def test_full_profile_is_the_full_scan_standard_whatever_the_manifest_size():
    full = GateThresholds.for_profile("full", 178)
    assert full == GateThresholds()
    assert (
        full.g1_min_usable,
        full.g2_min_per_framework,
        full.g3_min_mature,
        full.g4_min_rules,
        full.g4_min_repos_per_rule,
    ) == (40_000, 1_000, 2_000, 15, 100)
    assert (
        full.g5_max_share_in_clusters,
        full.g6_max_empty_share,
        full.g7_max_failed_share,
        full.g8_min_median_coverage,
    ) == (0.05, 0.20, 0.10, 0.80)


def test_sample_profile_scales_the_counts_up_with_ceil():
    sample = GateThresholds.for_profile("sample", 178)  # scale 178 / 50,000 = 0.00356
    assert FULL_SCAN_SIZE == 50_000
    assert sample.g1_min_usable == 143  # ceil(142.4)
    assert sample.g2_min_per_framework == 4  # ceil(3.56)
    assert sample.g3_min_mature == 8  # ceil(7.12)
    assert sample.g4_min_repos_per_rule == 1  # ceil(0.356)
    assert sample.g4_min_rules == 15, "the number of rules is not a count of repositories: never scaled"
    full = GateThresholds()
    assert (
        sample.g5_max_share_in_clusters,
        sample.g6_max_empty_share,
        sample.g7_max_failed_share,
        sample.g8_min_median_coverage,
        sample.g5_cluster_size,
    ) == (
        full.g5_max_share_in_clusters,
        full.g6_max_empty_share,
        full.g7_max_failed_share,
        full.g8_min_median_coverage,
        full.g5_cluster_size,
    )


def test_sample_profile_of_an_exact_multiple_is_not_rounded_up():
    sample = GateThresholds.for_profile("sample", 5_000)  # scale 0.1
    assert (sample.g1_min_usable, sample.g2_min_per_framework, sample.g3_min_mature, sample.g4_min_repos_per_rule) == (
        4_000,
        100,
        200,
        10,
    )


@pytest.mark.parametrize("rows", [0, 1])
def test_sample_profile_never_scales_a_count_below_one(rows):
    sample = GateThresholds.for_profile("sample", rows)
    assert (sample.g1_min_usable, sample.g2_min_per_framework, sample.g3_min_mature, sample.g4_min_repos_per_rule) == (
        1,
        1,
        1,
        1,
    )
    assert GateThresholds.for_profile("sample", 2).g1_min_usable == 2  # ceil(1.6)


def test_overrides_win_over_the_profile():
    sample = GateThresholds.for_profile("sample", 178, g1_min_usable=7, g6_max_empty_share=0.5)
    assert (sample.g1_min_usable, sample.g6_max_empty_share) == (7, 0.5)
    assert sample.g2_min_per_framework == 4, "the counts not overridden are still scaled"
    full = GateThresholds.for_profile("full", 178, g3_min_mature=9, g8_min_median_coverage=0.5)
    assert (full.g3_min_mature, full.g8_min_median_coverage, full.g1_min_usable) == (9, 0.5, 40_000)


@pytest.mark.parametrize("profile", ["Full", "smoke", ""])
def test_an_unknown_profile_is_refused(profile):
    """The refusal names what it got and the profiles there are."""
    with pytest.raises(ValueError) as refused:
        GateThresholds.for_profile(profile, 178)
    assert str(refused.value) == f"unknown gate profile {profile!r}: full or sample"


def test_each_gate_says_what_it_measures():
    """The titles are what the UI's check descriptions and the report's gate table show."""
    titles = {name: g.title for name, g in judge(sections()).items()}
    assert titles == {
        "G1": "success + partial scans",
        "G2": f"repos per framework ({', '.join(GATE_FRAMEWORKS)}); weakest shown",
        "G3": "repos with deployment_score >= 3",
        "G4": "rules firing in >= 10 repos",
        "G5": "share of repos sharing a topology with 10+ others",
        "G6": "empty share",
        "G7": "failed share",
        "G8": "median files_scanned / files_total",
    }


def test_a_framework_missing_from_the_counts_is_the_weakest_at_zero():
    counts = dict.fromkeys(GATE_FRAMEWORKS[1:], 20)
    gates = judge(sections(frameworks__counts=counts), T.model_copy(update={"g2_min_per_framework": 1}))
    assert gates["G2"].measured == f"{GATE_FRAMEWORKS[0]} 0" and gates["G2"].passed is False


def test_statuses_never_seen_are_zero_shares():
    by_status = {"success": 90, "partial": 10}
    gates = judge(sections(volume__by_status=by_status))
    assert (gates["G6"].measured, gates["G7"].measured) == (0.0, 0.0)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"g1_min_usabel": 3}, "unknown threshold 'g1_min_usabel'; the thresholds are: g1_min_usable, "),
        ({"g1_min_usable": 0}, "g1_min_usable=0: Input should be greater than or equal to 1"),
        ({"g2_min_per_framework": -5}, "g2_min_per_framework=-5: Input should be greater than or equal to 1"),
        ({"g4_min_rules": 10_001}, "g4_min_rules=10001: Input should be less than or equal to 10000"),
        ({"g6_max_empty_share": 1.5}, "g6_max_empty_share=1.5: Input should be less than or equal to 1"),
        ({"g8_min_median_coverage": -0.01}, "g8_min_median_coverage=-0.01: Input should be greater than or equal to 0"),
        ({"g1_min_usable": 20000.5}, "g1_min_usable=20000.5: Input should be a valid integer"),
    ],
)
@pytest.mark.parametrize("profile", ["full", "sample"])
def test_misspelt_or_out_of_range_thresholds_are_refused(profile, overrides, message):
    with pytest.raises(ThresholdError, match=re.escape(message)):
        GateThresholds.for_profile(profile, 178, **overrides)


def test_thresholds_at_the_edges_of_their_ranges_are_accepted_and_a_whole_float_count_stays_a_count():
    t = GateThresholds.for_profile(
        "full",
        178,
        g1_min_usable=20000.0,
        g6_max_empty_share=0,
        g7_max_failed_share=1,
        g4_min_rules=1,
        g5_cluster_size=10_000_000,
    )
    assert (t.g1_min_usable, type(t.g1_min_usable), t.g6_max_empty_share, t.g7_max_failed_share) == (
        20000,
        int,
        0.0,
        1.0,
    )
    assert judge(sections(), t)["G1"].threshold == ">= 20000"


def test_every_misspelt_or_invalid_threshold_is_named_in_one_message():
    with pytest.raises(
        ThresholdError,
        match=re.escape(
            "unknown threshold 'g1_min_usabel', 'g9_max'; the thresholds are: g1_min_usable, g2_min_per_framework, "
        ),
    ):
        GateThresholds.for_profile("full", 178, g9_max=1, g1_min_usabel=3)
    with pytest.raises(
        ThresholdError,
        match=re.escape(
            "invalid threshold: g1_min_usable=0: Input should be greater than or equal to 1; "
            "g6_max_empty_share=1.5: Input should be less than or equal to 1"
        ),
    ):
        GateThresholds.for_profile("full", 178, g6_max_empty_share=1.5, g1_min_usable=0)


def test_a_threshold_of_the_table_becomes_a_field_with_its_default_and_its_range():
    from pydantic import ValidationError, create_model

    from stratum_assets.audit.gate_measures import _field
    from stratum_assets.domain.gate_table import Threshold

    probe = create_model(
        "Probe", share=_field(Threshold("share", 0.25, share=True)), count=_field(Threshold("count", 5, maximum=9))
    )
    assert probe().model_dump() == {"share": 0.25, "count": 5}
    assert probe(share=0, count=1).model_dump() == {"share": 0.0, "count": 1}
    assert probe(share=1, count=9).model_dump() == {"share": 1.0, "count": 9}
    for outside in ({"share": -0.01}, {"share": 1.01}, {"count": 0}, {"count": 10}):
        with pytest.raises(ValidationError):
            probe(**outside)
