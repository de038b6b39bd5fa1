#!/usr/bin/env python3
"""Where the time of a regression goes: per DUT x simulator x parameter set, the pytest time (build,
start-up and tests) from the JUnit XML, the cocotb tests' own times from their results files, and the
longest tests; the README's budget rule flags the runs over it.

    .venv/bin/python scripts/test_times.py [--junit sim_build/junit.xml] [--build sim_build] [--top 15]

Run it after `make test` (each build directory's newest results file is taken as that run's). Times are
wall-clock seconds of each test as pytest measured it; on a busy machine they are inflated together.
"""
from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tb"))

TEST_BUDGET_S = 15  # the cocotb tests of one DUT x simulator x parameter set (README: time budget)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--junit", default=str(ROOT / "sim_build" / "junit.xml"))
    ap.add_argument("--build", default=str(ROOT / "sim_build"))
    ap.add_argument("--top", type=int, default=15, help="how many of the longest cocotb tests to list")
    args = ap.parse_args(argv)
    import runner
    import test_rtl

    junit = {}
    groups = defaultdict(float)
    if not Path(args.junit).exists():
        print(f"no JUnit XML at {args.junit}: run `make test` first (it writes sim_build/junit.xml)", file=sys.stderr)
        return 2
    for case in ET.parse(args.junit).iter("testcase"):
        name, t = case.get("name"), float(case.get("time"))
        junit[name] = t
        groups[case.get("classname").split(".")[-1]] += t
    tests = []
    rows = []
    for dut, params in test_rtl.CONFIGS:
        for sim in ("icarus", "verilator"):
            jid = f"test_rtl[{sim}-run0-{test_rtl._id((dut, params))}]"
            d = runner.build_dir(dut, sim, params, False, quick=sim == "verilator")
            cocotb = 0.0
            for f in sorted(Path(args.build, d.name).glob("*_results.xml"), key=lambda f: f.stat().st_mtime)[-1:]:
                for case in ET.parse(f).iter("testcase"):
                    cocotb += float(case.get("time"))
                    tests.append((float(case.get("time")), f"{dut} {sim} {test_rtl._id((dut, params))} {case.get('name')}"))
            rows.append((junit.get(jid), cocotb, jid))
    print(f"{'pytest s':>9} {'tests s':>8} {'build+start s':>14}  run")
    for total, cocotb, jid in sorted(rows, key=lambda r: -(r[0] or 0)):
        flag = "  over the test budget" if cocotb > TEST_BUDGET_S else ""
        print(f"{total or 0:9.1f} {cocotb:8.1f} {(total or 0) - cocotb:14.1f}  {jid}{flag}")
    print(f"\nper pytest module (s): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(groups.items(), key=lambda kv: -kv[1])))
    print(f"sum of all test times: {sum(junit.values()):.0f} s (about twice the wall time with -n 2)")
    print(f"\nthe {args.top} longest cocotb tests:")
    for t, name in sorted(tests, reverse=True)[:args.top]:
        print(f"{t:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
