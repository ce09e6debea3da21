"""``candidates_<stratum>``: one asset per stratum of strata.yaml (group ``discovery``)."""

import json

import dagster as dg
import pyarrow as pa

from ..discovery.candidates import COLUMNS, clear_checkpoints, discover_stratum
from ..discovery.strata import load_strata_file, strata
from ..domain.choices import Profile
from ..instance.pools import GITHUB_API
from ..resources import DataResource, GitHubConfigError, GitHubResource, world_of
from ..storage.files import write_parquet_atomic, write_text_atomic
from ..storage.world import WorldMismatch, claim


class DiscoveryConfig(dg.Config):
    """Per-run overrides of strata.yaml (the launchpad shows these)."""

    profile: Profile | None = None  # default: the data resource's (sample offline, full with a token)
    target: int | None = None
    queries: list[str] | None = None
    pushed_after: str | None = None


def _candidates_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"candidates_{name}",
        group_name="discovery",
        kinds={"github", "parquet"},
        pool=GITHUB_API,
        description=f"Repositories of the `{name}` stratum: search past the 1,000 cap by created: windows, "
        "GraphQL enrichment, recency floor, fork policy. Rows carry repo_source_metadata.",
    )
    def _asset(
        context: dg.AssetExecutionContext, config: DiscoveryConfig, github: GitHubResource, data: DataResource
    ) -> dg.MaterializeResult:
        try:  # one world per data directory: candidates of another GitHub never join these
            world = world_of(github, data)
            claim(data.layout, world, data.manifest_store.active())
        except (WorldMismatch, GitHubConfigError) as err:
            raise dg.Failure(description=str(err)) from None
        stratum = strata(config.profile or data.resolved_profile())[name]
        overrides = {
            k: v
            for k, v in {
                "target": config.target,
                "queries": config.queries,
                "pushed_after": config.pushed_after,
            }.items()
            if v is not None
        }
        if overrides:
            stratum = stratum.model_validate({**stratum.model_dump(), **overrides})
        client = github.client()
        checkpoints = data.layout.discovery_checkpoints
        result = discover_stratum(client, stratum, checkpoint_dir=checkpoints)
        table = pa.Table.from_pylist(result.rows, schema=CANDIDATE_SCHEMA)
        path = write_parquet_atomic(table, data.layout.candidates(name))
        write_text_atomic(json.dumps(result.summary(), sort_keys=True), data.layout.discovery_summary(name))
        clear_checkpoints(checkpoints, stratum)
        cost = client.governor.summary()
        if result.invalid_names:
            context.log.warning(
                f"{len(result.invalid_names)} search hits have a full_name that is not a GitHub "
                "owner/name; they are dropped, never cloned (metadata 'invalid_full_names')"
            )
        if result.enrichment_failed:
            context.log.warning(
                f"{len(result.enrichment_failed)} search hits could not be enriched (GitHub kept "
                "failing on them, not deleted); they are listed in metadata 'enrichment_failed'"
            )
        if result.truncated_windows:
            context.log.warning(
                f"{len(result.truncated_windows)} search windows still miss results GitHub "
                f"counted or did not finish searching ({result.search_gaps}); see metadata "
                "'truncated_windows'"
            )
        return dg.MaterializeResult(
            metadata={
                "rows": len(result.rows),
                "target": stratum.target,
                "target_fill_pct": result.fill_pct,
                "search_hits": result.search_hits,
                "dropped": dg.MetadataValue.json(dict(result.dropped)),
                "api_requests": dg.MetadataValue.json(cost["requests"]),
                "api_requests_total": cost["requests_total"],
                "requests_per_candidate": round(cost["requests_total"] / max(1, len(result.rows)), 4),
                "rate_limit_waits": dg.MetadataValue.json(cost["waits"]),
                "rate_limit_wait_seconds": cost["wait_seconds"],
                "rate_limit_hits": cost["rate_limit_hits"],
                "windows_searched": result.windows_searched,
                "truncated_windows": dg.MetadataValue.json(result.truncated_windows),
                "search_gaps": dg.MetadataValue.json(result.search_gaps),
                "invalid_full_names": dg.MetadataValue.json(result.invalid_names[:100]),
                "enrichment_failed": dg.MetadataValue.json(result.enrichment_failed),
                "renamed": dg.MetadataValue.json(result.renamed),
                "duration_s": round(result.seconds, 2),
                "queries": dg.MetadataValue.json([stratum.search_query(q) for q in stratum.queries]),
                "path": dg.MetadataValue.path(str(path)),
                "github": world.github,  # the API's URL, or "offline"
            }
        )

    return _asset


CANDIDATE_SCHEMA = pa.schema(
    [
        ("repo_id", pa.int64()),
        ("node_id", pa.string()),
        ("full_name", pa.string()),
        ("html_url", pa.string()),
        ("default_branch", pa.string()),
        ("description", pa.string()),
        ("github_stars", pa.int64()),
        ("github_forks", pa.int64()),
        ("last_commit_date", pa.string()),
        ("repo_created_date", pa.string()),
        ("is_fork", pa.bool_()),
        ("fork_parent", pa.string()),
        ("license", pa.string()),
        ("github_topics", pa.list_(pa.string())),
        ("primary_language", pa.string()),
        ("language_bytes", pa.string()),
        ("has_readme", pa.bool_()),
        ("has_dockerfile", pa.bool_()),
        ("has_ci", pa.bool_()),
        ("has_tests", pa.bool_()),
        ("size_kb", pa.int64()),
        ("frameworks_named", pa.list_(pa.string())),
        ("discovery_query", pa.string()),
        ("selection_stratum", pa.string()),
        ("collected_at", pa.string()),
    ]
)
assert tuple(CANDIDATE_SCHEMA.names) == COLUMNS

STRATUM_NAMES = tuple(load_strata_file().strata)
candidate_assets = [_candidates_asset(name) for name in STRATUM_NAMES]
