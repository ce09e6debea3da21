"""``stratum-assets``: the terminal entry points.

* ``stratum-assets run`` — build the whole dataset (every stage, every
  partition) on the embedded offline GitHub, or on real GitHub when
  ``GITHUB_TOKEN`` is set, and print the quality gates.
* ``stratum-assets backfill`` — re-run only the partitions that failed or
  never ran (then the audit stages), like the UI's "failed and missing" backfill.
* ``stratum-assets gates`` — the latest evaluation of every quality gate (G1–G8) and
  check, read from the Dagster instance (what the UI's Checks tabs show).
* ``stratum-assets status`` — progress, outcomes, failure reasons and ETA,
  read from the data directory (works while a build runs).
* ``stratum-assets publish DEST`` — copy the finished dataset version to object
  storage (``s3://bucket/prefix``, ``gs://…``) or another directory.
* ``stratum-assets sandbox serve`` — run the loopback GitHub emulator on its
  own, e.g. for ``dagster dev`` sessions or to poke at it with curl and git.
* ``stratum-assets scan PATH --json`` — the built-in scanner on one checkout:
  prints one ping (schema 5 / 0.3.2) as JSON, like ``stratum scan``.
* ``stratum-assets rules`` — the scanner's rule set as markdown.
* ``stratum-assets validate FILE`` — check pings produced elsewhere (JSON or
  JSONL) exactly as the pipeline does before storing them.
* ``stratum-assets review`` — the label audit's blind pairwise review, a page
  on 127.0.0.1 (``audit/review.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from stratum_sandbox.universe import SizeProfile

from .domain.choices import ScannerKind

PROJECT_ROOT = Path.cwd()
SHOWN_INVALID = 20  # `validate` shows this many invalid pings (and errors per ping), then counts the rest


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "run": _run,
        "backfill": _run,
        "gates": _gates,
        "status": _status,
        "publish": _publish,
        "scan": _scan,
        "rules": _rules,
        "sandbox": _serve,
        "validate": _validate,
        "review": _review,
    }
    try:
        return handlers[args.command](args)
    except BrokenPipeError:  # `stratum-assets status | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 1
    except KeyboardInterrupt:
        print(f"stratum-assets {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        from .orchestration.problems import user_problem

        problem = user_problem(err)
        if problem is None:
            raise  # a bug: its traceback is what the report needs
        print(f"stratum-assets {args.command}: {problem}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stratum-assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build every stage and partition, then print the gates")
    backfill = sub.add_parser("backfill", help="re-run the failed and missing partitions, then the audit stages")
    run.add_argument(
        "--new-world",
        action="store_true",
        help="build against another GitHub or profile than the data directory's: its next manifest "
        "version belongs to the new world, the previous world's outputs move to data/worlds/",
    )
    backfill.add_argument(
        "--partitions",
        default=None,
        metavar="FIRST...LAST",
        help="re-scan exactly this range of partitions (e.g. v1-c0003...v1-c0010), finished or not",
    )
    for build in (run, backfill):
        build.add_argument("--sandbox", action="store_true", help="use the offline GitHub even if GITHUB_TOKEN is set")
        build.add_argument(
            "--wait",
            action="store_true",
            help="if another build holds the data directory, wait for it instead of refusing",
        )
        build.add_argument(
            "--parallel",
            type=_positive,
            default=None,
            metavar="N",
            help="partition runs at a time (default: dagster.yaml's max_concurrent_runs, at most one per core)",
        )
        build.add_argument(
            "--scanner",
            choices=[kind.value for kind in ScannerKind],
            default=None,
            help="the scanner of every partition run (default: $STRATUM_SCANNER, else builtin); "
            "one manifest version is scanned by one scanner",
        )
        build.add_argument(
            "--scanner-command",
            default=None,
            metavar="PATH",
            help="the external `stratum` CLI (default: $STRATUM_SCANNER_COMMAND, else `stratum` on "
            "PATH), e.g. the one in its own Python 3.12 venv",
        )
    sub.add_parser("gates", help="the latest evaluation of every quality gate and check, from the instance")
    status = sub.add_parser("status", help="progress, status breakdown, failure reasons and ETA of the build")
    status.add_argument("--data", type=Path, default=Path("data"), help="the data directory (default: data)")
    publish = sub.add_parser("publish", help="copy the finished dataset to object storage (s3://bucket/prefix)")
    publish.add_argument("destination", help="s3://bucket/prefix, gs://bucket/prefix or a directory")
    publish.add_argument(
        "--endpoint-url",
        default=None,
        help="an S3-compatible server (MinIO, Ceph…); credentials come from the AWS_* environment",
    )
    publish.add_argument("--data", type=Path, default=Path("data"), help="the data directory (default: data)")
    scan = sub.add_parser("scan", help="scan one checkout with the built-in scanner and print its ping")
    scan.add_argument("path", type=Path)
    scan.add_argument("--json", action="store_true", help="print the ping as one JSON object (the default)")
    scan.add_argument("--repo-name", default=None, help="owner/name to put in repo_full_name")
    scan.add_argument(
        "--files-from",
        type=Path,
        default=None,
        help="the repository's full file list, one per line (when the checkout is sparse)",
    )
    sub.add_parser("rules", help="print the built-in scanner's rule set as markdown (docs/RULES.md)")
    validate = sub.add_parser("validate", help="validate pings (one JSON object or JSONL) as the pipeline does")
    validate.add_argument("file", type=Path)
    validate.add_argument(
        "--repo-name",
        default=None,
        help="owner/name: stamp this identity on the (single) ping first, as the pipeline does",
    )
    review = sub.add_parser("review", help="the label audit's blind pairwise review, as a page on 127.0.0.1")
    review.add_argument("--data", type=Path, default=Path("data"), help="the data directory (default: data)")
    review.add_argument("--port", type=int, default=8790, help="the loopback port (default: 8790; 0: any free one)")
    sandbox = sub.add_parser("sandbox", help="the offline GitHub emulator")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_sub.add_parser("serve", help="serve the synthetic universe on loopback until interrupted")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--size", type=int, default=400)
    serve.add_argument("--git-root", type=Path, default=Path("data/sandbox/git"))
    serve.add_argument(
        "--size-profile",
        choices=[p.value for p in SizeProfile],
        default=SizeProfile.compact.value,
        help="files per repository: compact (~10) or real (the real corpus's, median 27)",
    )
    serve.add_argument(
        "--max-repos",
        type=_positive,
        default=2000,
        help="bare repositories kept on disk; the least recently cloned idle ones are dropped "
        "and rebuilt identically if asked for again (default: 2000)",
    )
    serve.add_argument(
        "--search-per-minute",
        type=_positive,
        default=30,
        help="the search budget, as GitHub's (default: 30 per minute)",
    )
    serve.add_argument(
        "--weather",
        action="store_true",
        help="GitHub weather: incomplete searches, drifting counts, partial and timed-out GraphQL "
        "answers, secondary limits, blocked and renamed repositories (default: clear)",
    )
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def _status(args) -> int:
    from .storage.build_lock import current_holder, describe
    from .storage.layout import Layout
    from .warehouse.status import read_status, render

    holder = current_holder(args.data)
    print(f"build running: {describe(holder)}" if holder is not None else "no build running")
    print(render(read_status(Layout(args.data), build_running=holder is not None)))
    return 0


def _gates(args) -> int:
    """Like the UI's Checks tabs, for the terminal: exit 1 when a check's latest evaluation failed (not WARN)."""
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    import dagster as dg

    from .definitions import defs
    from .orchestration.build_driver import latest_check_evaluations

    with dg.DagsterInstance.get() as instance:
        rows = latest_check_evaluations(defs, instance)
    width = max(len(name) for name, _, _ in rows)
    for name, verdict, detail in rows:
        print(f"{verdict:<13}  {name:<{width}}  {detail}".rstrip())
    return 1 if any(verdict == "FAIL" for _, verdict, _ in rows) else 0


def _rules(args) -> int:
    from .scanner.rules import rules_markdown

    print(rules_markdown(), end="")
    return 0


def _scan(args) -> int:
    from .scanner.engine import scan_repository

    if not args.path.is_dir():
        print(f"stratum-assets scan: {args.path} is not a directory", file=sys.stderr)
        return 2
    files = args.files_from.read_text().splitlines() if args.files_from else None
    ping = scan_repository(args.path, args.repo_name or args.path.resolve().name, all_files=files)
    print(json.dumps(ping))
    return 0


def _validate(args) -> int:
    from .scanner.ping_file import check_pings

    try:
        verdicts = list(check_pings(args.file.read_text(errors="replace"), args.repo_name))
    except (OSError, ValueError) as err:
        print(f"stratum-assets validate: {err}", file=sys.stderr)
        return 2
    if not verdicts:
        print(f"stratum-assets validate: no ping in {args.file}", file=sys.stderr)
        return 1
    invalid = 0
    for verdict in verdicts:
        invalid += not verdict.valid
        if invalid > SHOWN_INVALID:
            continue  # counted, not shown: a file of garbage is a count, not millions of lines
        print(f"{'OK' if verdict.valid else 'INVALID'}  {verdict.where}")
        for error in verdict.errors[:SHOWN_INVALID]:
            print(f"    {error}")
        if len(verdict.errors) > SHOWN_INVALID:
            print(f"    … and {len(verdict.errors) - SHOWN_INVALID:,} more errors")
    if invalid > SHOWN_INVALID:
        print(f"… the first {SHOWN_INVALID} invalid pings are shown; {invalid - SHOWN_INVALID:,} more are invalid")
    print(f"{len(verdicts) - invalid:,} valid, {invalid:,} invalid")
    return 1 if invalid else 0


def choose_build_environment(args) -> None:
    """The choices of ``run``/``backfill`` that the code location reads when it is assembled, as environment
    variables: every partition run (worker processes inherit them) and every retry sees the same ones."""
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    if args.sandbox:
        os.environ["STRATUM_SANDBOX"] = "1"
    if args.scanner:
        os.environ["STRATUM_SCANNER"] = args.scanner
    if args.scanner_command:
        os.environ["STRATUM_SCANNER_COMMAND"] = args.scanner_command


def _run(args) -> int:
    choose_build_environment(args)
    import dagster as dg

    from .manifest.exclusions import load_exclusions

    load_exclusions()  # a broken opt-out list is one line now, not a failed manifest run later
    try:
        from .definitions import defs  # reads the strata file
    except ValueError as err:  # a configuration choice that does not exist (e.g. STRATUM_SCANNER=other)
        print(f"stratum-assets {args.command}: {err}", file=sys.stderr)
        return 2
    from .instance.pools import ensure_pool_limits
    from .manifest.store import NoManifestError
    from .orchestration.build_driver import UnknownPartitions, backfill_unfinished, build_everything, claim_world
    from .orchestration.stopping import BuildStopped, stop_signals
    from .resources import GitHubConfigError, GitHubUnreachable
    from .storage.build_lock import BuildLocked, build_lock
    from .storage.world import WorldMismatch

    resources = cast(Mapping[str, Any], defs.resources)  # the code location names its resources
    try:
        with (
            build_lock(resources["data"].layout.root, f"stratum-assets {args.command}", wait=args.wait),
            dg.DagsterInstance.get() as instance,
            stop_signals(),
        ):
            claim_world(defs, new_world=getattr(args, "new_world", False))  # one world per data directory
            ensure_pool_limits(instance)  # for the UI's backfills and runs in this instance, too
            if args.command == "run":
                report = build_everything(defs, instance, parallel=args.parallel)
            else:
                report = backfill_unfinished(defs, instance, parallel=args.parallel, partitions=args.partitions)
    except (
        NoManifestError,
        BuildLocked,
        UnknownPartitions,
        WorldMismatch,
        GitHubConfigError,
        GitHubUnreachable,
    ) as err:
        print(f"stratum-assets {args.command}: {err}", file=sys.stderr)
        return 1
    except BuildStopped as stop:
        resume = "backfill" if resources["data"].manifest_store.active() is not None else "run"
        print(
            f"stratum-assets {args.command}: stopped by {stop}; the interrupted runs are marked failed. "
            f"Resume with `stratum-assets {resume}`.",
            file=sys.stderr,
        )
        return stop.exit_code
    if report.checks:
        print("\nQuality gates:")
        for name, passed, detail in sorted(report.checks):
            print(f"  {'PASS' if passed else 'WARN' if name in report.warnings else 'FAIL'}  {name}  {detail}")
    if report.stopped:
        print(
            f"\nThe build stopped: {report.stopped}. Nothing the environment broke was stored; once GitHub (or "
            "the disk) is back, `stratum-assets backfill` runs what is left."
        )
    for stage in report.failed_stages:
        print(f"\nA stage failed ({stage}); its run is in the Dagster UI with the error.")
    if report.failed_partitions:
        print(
            f"\n{len(report.failed_partitions)} partitions failed: {', '.join(report.failed_partitions)}; "
            "re-run just those with `stratum-assets backfill` (or in the UI: scan_results > Partitions > "
            "Materialize > Failed and missing)."
        )
    return 0 if report.ok else 1


def _publish(args) -> int:
    from .storage.layout import Layout
    from .warehouse.publish import SUCCESS, PublishError, publish

    filesystem = None
    if args.endpoint_url:
        import pyarrow.fs as pafs

        filesystem = pafs.S3FileSystem(
            endpoint_override=args.endpoint_url, region=os.environ.get("AWS_REGION", "us-east-1")
        )
    try:
        done = publish(Layout(args.data), args.destination, filesystem=filesystem)
    except PublishError as err:
        print(f"stratum-assets publish: {err}", file=sys.stderr)
        return 1
    print(
        f"published v{done.version} to {done.destination}/v{done.version}: {done.objects} objects, "
        f"{done.bytes / 2**20:.1f} MiB, {sum(done.rows.values()):,} Parquet rows; {SUCCESS} written last"
    )
    return 0


def _serve(args) -> int:
    from stratum_sandbox.server import GitHubEmulator
    from stratum_sandbox.universe import build_universe

    universe = build_universe(seed=args.seed, size=args.size, size_profile=args.size_profile)
    emulator = GitHubEmulator(
        universe,
        args.git_root,
        port=args.port,
        max_repos=args.max_repos,
        budgets={"search": (args.search_per_minute, 60.0)},
    ).start()
    if args.weather:
        from stratum_sandbox.weather import apply_weather

        apply_weather(emulator)
    weather = " in GitHub weather" if args.weather else ""
    print(
        f"GitHub emulator for {len(universe.repos)} repositories on {emulator.url}{weather} (Ctrl-C to stop)",
        flush=True,
    )
    _until_stopped()
    emulator.stop()
    stats = emulator.stats()
    print(
        f"served requests: {json.dumps(stats['requests'], sort_keys=True)}; bare repositories built: "
        f"{emulator.git.built}, dropped: {emulator.git.evicted}",
        flush=True,
    )
    return 0


def _review(args) -> int:
    from .audit.review import ReviewServer
    from .storage.layout import Layout

    try:
        server = ReviewServer(Layout(args.data), port=args.port).start()
    except (FileNotFoundError, ValueError, OSError) as err:
        print(f"stratum-assets review: {err}", file=sys.stderr)
        return 1
    print(
        f"label audit: {len(server.store.pairs)} pairs on {server.url}/ (answers in "
        f"{server.store.layout.label_audit_reviews}; Ctrl-C to stop)",
        flush=True,
    )
    _until_stopped()
    server.stop()
    return 0


def _until_stopped() -> None:
    """Serve (on other threads) until Ctrl-C or SIGTERM: a server command's own loop."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
