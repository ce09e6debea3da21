"""Opt-outs and the licence allowlist: parsed with line numbers, applied before strata, recorded, versioned."""

import re
from collections import Counter

import dagster as dg
import pyarrow.parquet as pq
import pytest

from stratum_assets.assets.discovery import STRATUM_NAMES
from stratum_assets.assets.manifest import chunk_partitions, repo_manifest
from stratum_assets.audit.report import compute, render
from stratum_assets.manifest.build import build_manifest, fingerprint, repo_hash, what_changed
from stratum_assets.manifest.exclusions import (
    DEFAULT_FILE,
    ENV_VAR,
    ExclusionsError,
    exclusions_path,
    load_exclusions,
    parse_exclusions,
    summary_line,
)
from stratum_assets.resources import DataResource

from .test_audit import THRESHOLDS, constructed

# Fixtures: pytest passes them to the tests as arguments, which ruff reads as a redefinition (F811) of the
# imported name.
from .test_manifest import discovered, workspace  # noqa: F401  (the sample universe's candidates; a home)

OPT_OUTS = """\
# who asked
opt_outs:
  - repository: Someone
    reason: the owner asked by email
    date: 2025-10-01
    requester: someone@example.com
  - repository: acme/Agent
    reason: published by mistake
"""


def _cand(name, stratum="a", **extra):
    row = {
        "full_name": name,
        "is_fork": False,
        "fork_parent": None,
        "github_stars": 1,
        "license": "MIT",
        "last_commit_date": "2025-09-01T00:00:00Z",
        "discovery_query": f"q-{stratum}",
        "selection_stratum": stratum,
    }
    return {**row, **extra}


def _kept(exclusions, *rows):
    return [r["full_name"] for r in exclusions.apply(rows)[0]]


# -- matching ---------------------------------------------------------------------------------------
def test_an_owner_entry_covers_every_repository_of_that_owner_and_nothing_else():
    ex = parse_exclusions(OPT_OUTS)
    names = ["someone/a", "someone/b", "someone-else/a", "someon/a", "other/someone", "some/one"]
    kept, reasons, matched = ex.apply([_cand(n) for n in names])
    assert [r["full_name"] for r in kept] == ["someone-else/a", "someon/a", "other/someone", "some/one"]
    assert reasons == Counter({"opted_out": 2}) and matched == Counter({"someone": 2})


def test_an_owner_name_entry_covers_that_repository_only():
    ex = parse_exclusions(OPT_OUTS)
    assert _kept(
        ex, _cand("acme/agent"), _cand("acme/agent2"), _cand("acme/agen"), _cand("acme/other"), _cand("acmeX/agent")
    ) == ["acme/agent2", "acme/agen", "acme/other", "acmeX/agent"]


def test_matching_is_case_insensitive_on_both_sides():
    ex = parse_exclusions(OPT_OUTS)  # written "Someone" and "acme/Agent"
    assert _kept(ex, _cand("SOMEONE/Repo"), _cand("sOmEoNe/x"), _cand("ACME/AGENT"), _cand("acme/agent")) == []
    assert ex.opt_out_for("AcMe/aGeNt").repository == "acme/agent"


def test_the_repository_entry_wins_over_its_owner_entry_and_each_match_is_counted_once():
    ex = parse_exclusions(
        "opt_outs:\n  - {repository: acme, reason: all of acme}\n  - {repository: acme/agent, reason: this one first}\n"
    )
    kept, reasons, matched = ex.apply([_cand("acme/agent"), _cand("acme/tool"), _cand("acme/kit")])
    assert kept == [] and reasons == Counter({"opted_out": 3})
    assert matched == Counter({"acme/agent": 1, "acme": 2})
    assert ex.opt_out_for("Acme/Agent").reason == "this one first" and ex.opt_out_for("acme/x").reason == "all of acme"


def test_a_fork_of_an_opted_out_repository_is_left_out_and_cannot_take_its_place():
    ex = parse_exclusions(OPT_OUTS)
    candidates = {
        "a": [
            _cand("acme/agent"),
            _cand("f/copy", is_fork=True, fork_parent="ACME/agent", github_stars=9),
            _cand("g/copy", is_fork=True, fork_parent="someone/thing"),
            _cand("h/copy", is_fork=True, fork_parent="else/thing"),
            _cand("acme/notfork", fork_parent="acme/agent"),
        ]
    }  # not a fork: its fork_parent is ignored
    build = build_manifest(candidates, {"a": 10}, version=1, chunk_size=10, exclusions=ex)
    assert sorted(r["full_name"] for r in build.rows) == ["acme/notfork", "h/copy"]
    assert build.dropped["opted_out"] == 1 and build.dropped["fork_of_opted_out"] == 2
    assert build.opt_out_matches == Counter({"acme/agent": 2, "someone": 1})


# -- strata and counts --------------------------------------------------------------------------------
def test_an_opted_out_repository_never_takes_a_stratum_slot():
    names = sorted((f"o/slot{i}" for i in range(3)), key=repo_hash)
    first = names[0]  # the one the stratum would take first
    candidates = {"a": [_cand(n) for n in names]}
    without = build_manifest(candidates, {"a": 2}, version=1, chunk_size=10)
    assert [r["full_name"] for r in without.rows] == names[:2] and without.dropped["over_target"] == 1
    ex = parse_exclusions(f"opt_outs:\n  - repository: {first}\n    reason: asked\n")
    build = build_manifest(candidates, {"a": 2}, version=1, chunk_size=10, exclusions=ex)
    assert [r["full_name"] for r in build.rows] == names[1:], "its slot goes to the next repository"
    assert [r["chunk_id"] for r in build.rows] == ["v1-c0000", "v1-c0000"]
    assert dict(build.dropped) == {"opted_out": 1, "fork_of_kept_fork": 0, "fork_of_manifest_repo": 0}
    assert build.per_stratum == {"a": 2}


def test_the_meta_record_keeps_each_entry_with_its_reason_and_matches_zeros_included():
    ex = parse_exclusions(OPT_OUTS, "policy.yaml")
    build = build_manifest(
        {"a": [_cand("someone/x"), _cand("someone/y"), _cand("o/kept")]},
        {"a": 5},
        version=1,
        chunk_size=10,
        exclusions=ex,
    )
    record = ex.record(build.dropped, build.opt_out_matches)
    assert record == {
        "source": "policy.yaml",
        "opt_outs_fingerprint": ex.opt_outs_fingerprint,
        "opt_outs": [
            {
                "repository": "someone",
                "reason": "the owner asked by email",
                "date": "2025-10-01",
                "requester": "someone@example.com",
                "matched": 2,
            },
            {
                "repository": "acme/agent",
                "reason": "published by mistake",
                "date": None,
                "requester": None,
                "matched": 0,
            },
        ],
        "licence_allowlist": None,
        "left_out": {"opted_out": 2, "fork_of_opted_out": 0},
    }
    assert len(record["opt_outs_fingerprint"]) == 64


# -- licence allowlist ---------------------------------------------------------------------------------
LICENCES = [
    _cand("o/mit", license="MIT"),
    _cand("o/apache", license="Apache-2.0"),
    _cand("o/gpl", license="GPL-3.0"),
    _cand("o/none", license=None),
    _cand("o/blank", license=""),
    _cand("o/noassert", license="NOASSERTION"),
    _cand("o/other", license="other"),
]


def test_the_allowlist_is_off_by_default_and_keeps_every_licence_even_none():
    ex = parse_exclusions("opt_outs: []\n")
    assert ex.licence_allowlist is None
    assert _kept(ex, *LICENCES) == [r["full_name"] for r in LICENCES]
    assert ex.settings() == {}


def test_an_allowlist_keeps_only_listed_licences_and_leaves_out_missing_and_unidentified_ones():
    ex = parse_exclusions("licence_allowlist: [mit, Apache-2.0]\n")
    kept, reasons, matched = ex.apply(LICENCES)
    assert [r["full_name"] for r in kept] == ["o/mit", "o/apache"], "SPDX ids compare case-insensitively"
    assert reasons == Counter({"licence_not_allowed": 1, "licence_missing": 2, "licence_unidentified": 2})
    assert matched == Counter()
    record = ex.record(reasons, matched)
    assert record["licence_allowlist"] == ["mit", "Apache-2.0"]
    assert record["left_out"] == {
        "opted_out": 0,
        "fork_of_opted_out": 0,
        "licence_missing": 2,
        "licence_unidentified": 2,
        "licence_not_allowed": 1,
    }


def test_an_opt_out_is_counted_as_such_even_when_its_licence_is_not_allowed_either():
    ex = parse_exclusions(OPT_OUTS + "licence_allowlist: [MIT]\n")
    kept, reasons, _ = ex.apply([_cand("someone/gpl", license="GPL-3.0"), _cand("x/gpl", license="GPL-3.0")])
    assert kept == [] and reasons == Counter({"opted_out": 1, "licence_not_allowed": 1})


# -- the file: malformed entries name their line -----------------------------------------------------------
MALFORMED = [
    ("opt_outs:\n  - repository: a\n", 2, "'a' has no `reason`"),
    ("opt_outs:\n  - repository: a\n    reason: '  '\n", 2, "has no `reason`"),
    ("opt_outs:\n  - reason: why\n", 2, "`repository` is missing"),
    (
        "opt_outs:\n  - repository: ok\n    reason: r\n  - repository: a/b/c\n    reason: r\n",
        4,
        "'a/b/c' is not a GitHub owner or owner/name",
    ),
    ("opt_outs:\n  - repository: -bad-\n    reason: r\n", 2, "owner '-bad-'"),
    ("opt_outs:\n  - repository: owner/\n    reason: r\n", 2, "name ''"),
    ("opt_outs:\n  - repository: a\n    reason: r\n    dat: 2025-01-01\n", 2, "unknown field dat"),
    ("opt_outs:\n  - repository: a\n    reason: r\n    date: 2025-13-45\n", 2, "cannot read this entry"),
    ("opt_outs:\n  - repository: a\n    reason: r\n    date: last week\n", 2, "'last week' is not a date"),
    ("opt_outs:\n  - repository: a\n    reason: r\n    requester: [x]\n", 2, "`requester` is text"),
    ("opt_outs:\n  - someone\n", 2, "an opt-out is a mapping"),
    ("opt_outs: someone\n", 1, "`opt_outs` is a list"),
    ("\nopt_outs:\n - {repository: a, reason: r}\n - {repository: A, reason: s}\n", 4, "already listed at line 3"),
    ("opt_out:\n  - repository: a\n", 1, "unknown key 'opt_out'"),
    ("- repository: a\n", 1, "the file is a mapping"),
    ("licence_allowlist: []\n", 1, "`licence_allowlist` is empty"),
    ("licence_allowlist: MIT\n", 1, "is a list of SPDX ids"),
    ("licence_allowlist:\n  - MIT\n  - NOASSERTION\n", 3, "names no licence"),
    ("licence_allowlist:\n  - MIT\n  - 'MIT License'\n", 3, "is not an SPDX licence id"),
    ("opt_outs: [\n", 2, "not valid YAML"),
]


@pytest.mark.parametrize("text,line,message", MALFORMED, ids=[m for _, _, m in MALFORMED])
def test_a_malformed_entry_is_an_error_naming_its_line(text, line, message):
    with pytest.raises(ExclusionsError) as error:
        parse_exclusions(text, "policy.yaml")
    assert str(error.value).startswith(f"policy.yaml:{line}: ")
    assert message in str(error.value)


def test_an_empty_file_and_empty_sections_exclude_nothing():
    for text in ("", "# nothing yet\n", "opt_outs: []\nlicence_allowlist: null\n", "opt_outs:\nlicence_allowlist:\n"):
        ex = parse_exclusions(text)
        assert (ex.opt_outs, ex.licence_allowlist, ex.settings()) == ((), None, {})


def test_the_projects_file_is_valid_and_excludes_nothing_yet(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    ex = load_exclusions()
    assert ex.source == str(DEFAULT_FILE) and DEFAULT_FILE.name == "exclusions.yaml"
    assert (ex.opt_outs, ex.licence_allowlist) == ((), None)


def test_the_config_path_wins_over_the_environment_which_wins_over_the_project_file(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert exclusions_path() == DEFAULT_FILE
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.yaml"))
    assert exclusions_path() == tmp_path / "env.yaml"
    assert exclusions_path(str(tmp_path / "config.yaml")) == tmp_path / "config.yaml"
    with pytest.raises(ExclusionsError, match=re.escape("env.yaml: no such exclusions file")):
        load_exclusions()


# -- the fingerprint: a changed list is a changed manifest -------------------------------------------------------
def _manifest_print(text):
    candidates = {"a": [_cand("someone/x"), _cand("o/y")]}
    return fingerprint(candidates, {"chunk_size": 40, **parse_exclusions(text).settings()})


def test_the_manifest_fingerprint_changes_when_the_list_or_the_allowlist_changes():
    base = _manifest_print(OPT_OUTS)
    assert _manifest_print(OPT_OUTS + "  - {repository: new, reason: r}\n") != base
    assert _manifest_print(OPT_OUTS.replace("published by mistake", "published in error")) != base
    assert _manifest_print(OPT_OUTS.replace("2025-10-01", "2025-10-02")) != base
    assert _manifest_print(OPT_OUTS + "licence_allowlist: [MIT]\n") != base
    assert _manifest_print(OPT_OUTS + "licence_allowlist: [MIT, GPL-3.0]\n") != _manifest_print(
        OPT_OUTS + "licence_allowlist: [MIT]\n"
    )
    assert _manifest_print("opt_outs: []\n") != base


def test_the_fingerprint_ignores_layout_order_comments_and_case():
    base = _manifest_print(OPT_OUTS)
    reordered = (
        "opt_outs:  # reordered, reformatted\n"
        "  - {reason: published by mistake, repository: ACME/agent}\n"
        "  - {repository: someone, reason: the owner asked by email, date: '2025-10-01',"
        " requester: someone@example.com}\n"
    )
    assert _manifest_print(reordered) == base
    assert _manifest_print("licence_allowlist: [MIT, apache-2.0]\n") == _manifest_print(
        "licence_allowlist: [Apache-2.0, mit]\n"
    )


def test_no_list_and_no_allowlist_leave_the_settings_and_so_older_versions_unchanged():
    candidates = {"a": [_cand("o/y")]}
    settings = {"targets": {"a": 1}, "chunk_size": 40, "profile": "sample"}
    assert fingerprint(candidates, {**settings, **parse_exclusions("opt_outs: []\n").settings()}) == fingerprint(
        candidates, settings
    )


def test_what_changed_names_the_list_not_the_candidates():
    candidates = {"a": [_cand("someone/x"), _cand("o/y")]}
    before = {"chunk_size": 40}
    frozen = {"settings": before, "fingerprint": fingerprint(candidates, before)}
    settings = {**before, **parse_exclusions(OPT_OUTS).settings()}
    assert what_changed(candidates, settings, frozen) == ["opt_outs"]
    assert what_changed({"a": candidates["a"][:1]}, settings, frozen) == ["candidates", "opt_outs"]
    assert what_changed(candidates, before, frozen) == []


def test_the_summary_line_gives_the_counts_the_list_and_the_allowlist():
    ex = parse_exclusions(OPT_OUTS)
    record = ex.record(Counter({"opted_out": 3, "fork_of_opted_out": 1}), Counter({"someone": 4}))
    assert summary_line(record) == (
        f"Opted out: 3 repositories and 1 forks of them (2-entry list "
        f"{ex.opt_outs_fingerprint[:12]}); licence allowlist: off."
    )
    allow = parse_exclusions("licence_allowlist: [MIT]\n")
    assert summary_line(allow.record(Counter({"licence_missing": 2, "licence_not_allowed": 5}), Counter())) == (
        "Opted out: 0 repositories (empty list); licence allowlist: MIT, leaving out 7 "
        "(5 other licence, 2 none, 0 unidentified)."
    )
    assert "none recorded" in summary_line(None)


# -- through Dagster: the real asset on the sample universe's candidates ----------------------------------------------
def _materialize(resources, instance, **config):
    return dg.materialize(
        [repo_manifest],
        resources=resources,
        instance=instance,
        raise_on_error=False,
        run_config={"ops": {"repo_manifest": {"config": config}}},
    )


def _candidate_names(data) -> set[str]:
    return {
        r["full_name"] for s in STRATUM_NAMES for r in pq.read_table(data / "candidates" / f"{s}.parquet").to_pylist()
    }


def test_an_opt_out_after_v1_leaves_v1_frozen_and_the_next_version_without_the_repositories(workspace, tmp_path):  # noqa: F811  (a fixture)
    data, resources, instance = workspace
    policy = tmp_path / "exclusions.yaml"
    policy.write_text("opt_outs: []\n")
    first = _materialize(resources, instance, exclusions_file=str(policy))
    assert first.success
    v1 = pq.read_table(data / "manifest" / "v1" / "manifest.parquet").to_pylist()
    owners = Counter(r["full_name"].split("/")[0] for r in v1)
    owner = owners.most_common(1)[0][0]  # the owner with the most repositories in v1
    single = next(r["full_name"] for r in v1 if r["full_name"].split("/")[0] != owner)
    gone = {r["full_name"] for r in v1 if r["full_name"].split("/")[0] == owner} | {single}
    assert len(gone) >= 3
    candidates_gone = {n for n in _candidate_names(data) if n.split("/")[0] == owner} | {single}
    v1_bytes = (data / "manifest" / "v1" / "manifest.parquet").read_bytes()

    policy.write_text(
        f"opt_outs:\n  - repository: {owner.upper()}\n    reason: asked by email\n"
        f"  - repository: {single.upper()}\n    reason: removal request\n    date: 2025-11-02\n"
    )
    kept = _materialize(resources, instance, exclusions_file=str(policy))
    meta = kept.get_asset_materialization_events()[0].materialization.metadata
    assert meta["version"].value == 1, "a frozen version never changes"
    assert "settings changed since v1 (opt_outs)" in meta["status"].value
    assert meta["excluded_but_in_active_version"].value == {"opted_out": len(gone)}
    assert (data / "manifest" / "v1" / "manifest.parquet").read_bytes() == v1_bytes

    bumped = _materialize(resources, instance, exclusions_file=str(policy), new_version=True)
    meta = bumped.get_asset_materialization_events()[0].materialization.metadata
    assert meta["version"].value == 2 and meta["excluded_but_in_active_version"].value == {}
    v2 = pq.read_table(data / "manifest" / "v2" / "manifest.parquet").to_pylist()
    assert not {r["full_name"] for r in v2} & candidates_gone
    assert meta["opted_out"].value == len(candidates_gone) and meta["licence_allowlist"].value == "off"
    assert meta["dropped"].value["opted_out"] == len(candidates_gone)
    frozen_meta = DataResource(root=str(data)).manifest_store.meta(2)
    stored = frozen_meta["exclusions"]
    assert stored["source"] == str(policy) and stored["left_out"] == {
        "opted_out": len(candidates_gone),
        "fork_of_opted_out": 0,
    }
    assert [(e["repository"], e["reason"], e["date"], e["matched"]) for e in stored["opt_outs"]] == [
        (owner.lower(), "asked by email", None, len(candidates_gone) - 1),
        (single.lower(), "removal request", "2025-11-02", 1),
    ]
    assert meta["exclusions"].value == summary_line(stored)

    # No partition row: every chunk of v2 (what scan_partition reads) and the warehouse's one row per repository.
    chunks = instance.get_dynamic_partitions(chunk_partitions.name)
    assert chunks and all(c.startswith("v2-") for c in chunks)
    by_chunk = {c: {r["full_name"] for r in v2 if r["chunk_id"] == c} for c in chunks}
    assert sum(map(len, by_chunk.values())) == len(v2) and not set().union(*by_chunk.values()) & gone
    hashes = sorted(repo_hash(n) for n in candidates_gone)
    with DataResource(root=str(data)).warehouse() as warehouse:
        conn = warehouse.conn
        assert conn.execute("SELECT count(*) FROM scan_dataset").fetchone()[0] == len(v2)
        assert (
            conn.execute("SELECT count(*) FROM scan_dataset WHERE list_contains(?, repo_hash)", [hashes]).fetchone()[0]
            == 0
        )
    # The audit's Volume section reads the version's meta (its scans are the constructed ones of test_audit).
    report = render(compute(constructed(), {"crewai": 200}, THRESHOLDS, {}, manifest_meta=frozen_meta), 2, "sample")
    volume = report.split("## 1. Volume")[1].split("## 2.")[0]
    assert (
        f"Opted out: {len(candidates_gone)} repositories (2-entry list {stored['opt_outs_fingerprint'][:12]}); "
        "licence allowlist: off." in volume
    )


def test_the_allowlist_through_the_asset_leaves_out_unlisted_and_unlicensed_repositories(workspace, tmp_path):  # noqa: F811  (a fixture)
    data, resources, instance = workspace
    policy = tmp_path / "exclusions.yaml"
    policy.write_text("licence_allowlist: [MIT, Apache-2.0]\n")
    result = _materialize(resources, instance, exclusions_file=str(policy), chunk_size=1000)
    assert result.success
    rows = pq.read_table(data / "manifest" / "v1" / "manifest.parquet").to_pylist()
    assert rows and {r["license"] for r in rows} <= {"MIT", "Apache-2.0"}
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["licence_allowlist"].value == "MIT, Apache-2.0"
    candidates = {}
    for s in STRATUM_NAMES:
        for r in pq.read_table(data / "candidates" / f"{s}.parquet").to_pylist():
            candidates[r["full_name"].lower()] = r["license"]
    missing = sum(1 for v in candidates.values() if v is None)
    other = sum(1 for v in candidates.values() if v not in (None, "MIT", "Apache-2.0"))
    assert missing > 0 and other > 0, "the sample universe has both"
    left_out = DataResource(root=str(data)).manifest_store.meta(1)["exclusions"]["left_out"]
    assert (left_out["licence_missing"], left_out["licence_not_allowed"]) == (missing, other)


def test_a_malformed_exclusions_file_fails_the_manifest_and_names_the_line(workspace, tmp_path):  # noqa: F811  (a fixture)
    data, resources, instance = workspace
    policy = tmp_path / "exclusions.yaml"
    policy.write_text("opt_outs:\n  - repository: someone\n    reason: ok\n  - repository: other\n")
    result = _materialize(resources, instance, exclusions_file=str(policy))
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert f"{policy}:4: 'other' has no `reason`" in failure.event_specific_data.error.message, (
        "said first, not in a stack trace"
    )
    assert not (data / "manifest").exists(), "nothing frozen"
