#!/usr/bin/env python3
"""Merge the functional coverage databases of a regression (sim_build/coverage/*.yml, one per test run)
and report coverage per cover point with the holes (bins never hit).

    .venv/bin/python scripts/coverage_report.py [--dir sim_build/coverage] [--out sim_build/coverage_merged.yml]
                                      [--fail-under 100]
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml
from cocotb_coverage.coverage import merge_coverage


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="sim_build/coverage")
    ap.add_argument("--out", default="sim_build/coverage_merged.yml")
    ap.add_argument("--fail-under", type=float, default=None, help="exit 1 if total coverage is lower (%%)")
    args = ap.parse_args(argv)
    files = sorted(str(p) for p in Path(args.dir).glob("*.yml"))
    if not files:
        print(f"no coverage databases in {args.dir}: run the regression first", file=sys.stderr)
        return 1
    log = logging.getLogger("coverage")
    merge_coverage(log.info, args.out, *files)
    db = yaml.safe_load(Path(args.out).read_text())
    points = {k: v for k, v in db.items() if "bins:_hits" in v}
    print(f"functional coverage from {len(files)} runs -> {args.out}")
    print(f"{'cover point':48} {'hit':>6} {'bins':>6} {'%':>7}")
    total_hit = total = 0
    holes = []
    for name, item in sorted(points.items()):
        hits = item["bins:_hits"]
        hit = sum(1 for h in hits.values() if h > 0)
        total_hit += hit
        total += len(hits)
        print(f"{name:48} {hit:>6} {len(hits):>6} {100 * hit / max(1, len(hits)):>6.1f}%")
        holes += [f"{name}: {b}" for b, h in hits.items() if h == 0]
    pct = 100 * total_hit / max(1, total)
    print(f"{'total':48} {total_hit:>6} {total:>6} {pct:>6.1f}%")
    if holes:
        print(f"\n{len(holes)} holes:")
        for h in holes:
            print(f"  {h}")
    return 1 if args.fail_under is not None and pct < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
