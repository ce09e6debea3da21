"""Mutation score per module from the results ``mutmut run`` left in ``mutants/`` (docs/TESTING.md).

Score = (killed + timeout) / every mutant of the module, so a mutant no test reaches counts
against the module. Prints a markdown table; exits 1 when a module is under ``--min``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

CAUGHT = {"killed", "timeout"}


def module_counts(mutants: Path) -> dict[str, Counter]:
    counts = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        exit_codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        module = str(meta.relative_to(mutants))[: -len(".meta")]
        counts[module] = Counter(status_by_exit_code[code] for code in exit_codes.values())
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--min", type=float, default=0.85, help="lowest acceptable score per module")
    args = parser.parse_args(argv)
    counts = module_counts(args.mutants)
    if not counts:
        print("no mutation results: run `mutmut run` first", file=sys.stderr)
        return 2
    print("| module | mutants | killed | timeout | survived | no tests | score |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    low = []
    for module, c in counts.items():
        total = sum(c.values())
        score = sum(c[s] for s in CAUGHT) / total if total else 1.0
        low += [module] if score < args.min else []
        print(
            f"| `{module}` | {total} | {c['killed']} | {c['timeout']} | {c['survived']} | {c['no tests']} "
            f"| {score:.1%} |"
        )
    if low:
        print(f"\nunder {args.min:.0%}: {', '.join(low)}", file=sys.stderr)
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
