"""``repo_manifest``: the frozen, versioned list of repositories to scan, and its chunk partitions.

It reads the candidates and writes the manifest through the ``data`` resource (paths, profile,
the warehouse whose views it refreshes); it needs no GitHub.
"""

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from ..discovery.strata import strata
from ..domain.choices import Profile
from ..domain.chunks import default_size as default_chunk_size
from ..manifest.build import build_manifest, fingerprint, what_changed
from ..manifest.exclusions import Exclusions, ExclusionsError, load_exclusions, summary_line
from ..manifest.export import export_jsonl_from_parquet
from ..resources import DataResource
from ..storage.world import recorded
from ..warehouse.companions import clear_scan_companions
from .discovery import STRATUM_NAMES, candidate_assets

CHUNK_PARTITIONS = "manifest_chunks"
chunk_partitions = dg.DynamicPartitionsDefinition(name=CHUNK_PARTITIONS)


class ManifestConfig(dg.Config):
    """``new_version`` is the only way to change the dataset's repository list once v1 exists."""

    new_version: bool = False
    chunk_size: int | None = None  # default: the profile's (domain/chunks.py: 250 full, 40 sample)
    profile: Profile | None = None  # default: the data resource's (sample offline, full with a token)
    # Opt-outs and the licence allowlist; default: STRATUM_EXCLUSIONS_FILE, else stratum_assets/manifest/exclusions.yaml
    exclusions_file: str | None = None


@dg.asset(
    group_name="manifest",
    deps=candidate_assets,
    kinds={"parquet", "duckdb"},
    description="Union of the candidates, deduplicated by full_name (all matched strata kept, one primary "
    "selection_stratum), opt-outs and licence allowlist, fork index, repo_hash identity, chunk ids. "
    "Frozen per version.",
)
def repo_manifest(
    context: dg.AssetExecutionContext, config: ManifestConfig, data: DataResource
) -> dg.MaterializeResult:
    layout = data.layout
    profile = config.profile or data.resolved_profile()
    targets = {name: s.target for name, s in strata(profile).items()}
    candidates = {name: pq.read_table(layout.candidates(name)).to_pylist() for name in STRATUM_NAMES}
    chunk_size = config.chunk_size or default_chunk_size(profile)
    try:
        exclusions = load_exclusions(config.exclusions_file)
    except ExclusionsError as e:  # a malformed file fails the run, naming the line, before anything is written
        raise dg.Failure(description=str(e)) from None
    settings = {"targets": targets, "chunk_size": chunk_size, "profile": profile, **exclusions.settings()}
    print_ = fingerprint(candidates, settings)
    store = data.manifest_store
    active = store.active()
    world = recorded(layout)  # a new world (`stratum-assets run --new-world`) starts at a version not frozen yet
    new_world = world is not None and active is not None and active < world.first_version
    if active is not None and not new_world and store.meta(active)["fingerprint"] == print_:
        status = f"unchanged: candidates and settings are those of v{active}; nothing written"
    elif active is not None and not config.new_version and not new_world:
        changed = ", ".join(what_changed(candidates, settings, store.meta(active)))
        status = (
            f"candidates or settings changed since v{active} ({changed}), which stays frozen and active; "
            "materialize with new_version: true to freeze the next version"
        )
        context.log.warning(status)
    else:
        active = (active or 0) + 1
        build = build_manifest(candidates, targets, version=active, chunk_size=chunk_size, exclusions=exclusions)
        table = pa.Table.from_pylist(build.rows)
        store.freeze(
            active,
            table,
            {
                "fingerprint": print_,
                "settings": settings,
                "rows": len(build.rows),
                "dropped": dict(build.dropped),
                "per_stratum": build.per_stratum,
                "exclusions": exclusions.record(build.dropped, build.opt_out_matches),
            },
        )
        clear_scan_companions(layout)  # the previous version's pings: v{active}'s come when it is finished
        status = f"new version v{active} frozen" + (
            f" for {world.world.describe()}" if new_world and world is not None else ""
        )
    export_jsonl_from_parquet(store.path(active), layout.manifest_jsonl)  # always the active version's, current format
    meta = store.meta(active)
    excluded = meta.get("exclusions") or {}  # none in a version frozen before exclusions existed
    frozen = store.read(active)
    chunks = _register_chunks(context.instance, frozen.column("chunk_id").to_pylist())
    still_listed = _excluded_but_frozen(exclusions, frozen)
    if still_listed:
        context.log.warning(
            f"v{active} lists {sum(still_listed.values())} repositories that the exclusions now "
            f"leave out ({dict(still_listed)}); a frozen version never changes: materialize with "
            "new_version: true so that the next version, and its scans, leave them out"
        )
    data.refresh_views()  # the warehouse shows the active version
    context.log.info(status)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(f"v{active}"),
        metadata={
            "version": active,
            "status": status,
            "rows": meta["rows"],
            "chunks": len(chunks),
            "per_stratum": dg.MetadataValue.json(meta["per_stratum"]),
            "targets": dg.MetadataValue.json(targets),
            "dropped": dg.MetadataValue.json(meta["dropped"]),
            "fingerprint": meta["fingerprint"][:16],
            "exclusions": summary_line(meta.get("exclusions")),
            "opted_out": excluded.get("left_out", {}).get("opted_out", 0),
            "licence_allowlist": ", ".join(excluded.get("licence_allowlist") or ["off"]),
            "excluded_but_in_active_version": dg.MetadataValue.json(dict(still_listed)),
            "jsonl": dg.MetadataValue.path(str(layout.manifest_jsonl)),
            "strata": dg.MetadataValue.md(_strata_table(meta["per_stratum"], targets)),
        },
    )


def _register_chunks(instance: dg.DagsterInstance, chunk_ids: list[str]) -> list[str]:
    """Make the partitions of ``scan_results`` exactly the chunks of the active version."""
    wanted = sorted(set(chunk_ids))
    existing = set(instance.get_dynamic_partitions(CHUNK_PARTITIONS))
    missing = [c for c in wanted if c not in existing]
    if missing:
        instance.add_dynamic_partitions(CHUNK_PARTITIONS, missing)
    for stale in sorted(existing - set(wanted)):
        instance.delete_dynamic_partition(CHUNK_PARTITIONS, stale)
    return wanted


def _excluded_but_frozen(exclusions: Exclusions, frozen: pa.Table):
    """Repositories of the frozen active version that today's exclusions would leave out, by reason."""
    columns = [c for c in ("full_name", "is_fork", "fork_parent", "license") if c in frozen.column_names]
    return exclusions.apply(frozen.select(columns).to_pylist())[1]


def _strata_table(per_stratum: dict, targets: dict) -> str:
    lines = ["| stratum | selected | target | fill |", "| --- | ---: | ---: | ---: |"]
    for name, target in targets.items():
        got = per_stratum.get(name, 0)
        lines.append(f"| {name} | {got} | {target} | {100 * got / target:.0f}% |")
    return "\n".join(lines)


__all__ = ["chunk_partitions", "repo_manifest"]
