"""Simulation speed of the pe_array bench (TrainingPasses, full bit-exact checking), Icarus vs Verilator.

    .venv/bin/python scripts/bench_sim.py [--sims icarus,verilator] [--seed 1] [--profile] [--out docs/results/sim_speed.md]

Each simulator runs `tb/runner.py pe_array --testcase TrainingPasses` (i.e. runner.run(...)) in a fresh
build directory (FLEXBLOCK_BUILD_DIR = a temp dir). From the cocotb results XML: simulated time of the
test (sim_time_duration / 10 ns clock = cycles) and the test's own wall time (build, simulator start-up
and Python import excluded); the rest of the process' wall time is reported as build + start-up (the
Verilator C++ build dominates it). Checked MACs = element products of every tile the scoreboard checked
bit-exactly (padded tiles: ROWS*COLS*kblocks*K per tile, from the job table in the log).

--profile re-runs Verilator with COCOTB_ENABLE_PROFILING=1 (cProfile of the Python side) and groups the
Python time by where it is spent (BFMs, bench packing, scoreboard/model, cocotb scheduler, pyuvm).
"""
from __future__ import annotations

import argparse
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from cycle_model import parse_cycle_table  # noqa: E402

CLOCK_NS = 10
ROWS = COLS = 4   # pe_array defaults
K = 16


def load() -> str:
    return os.getloadavg().__repr__() if hasattr(os, "getloadavg") else "?"


def run_one(sim: str, seed: int, build: Path, profile: bool = False, rtl: Path | None = None) -> dict:
    env = dict(os.environ, FLEXBLOCK_BUILD_DIR=str(build))
    if rtl:
        env["FLEXBLOCK_RTL_DIR"] = str(rtl)
    env.pop("SIM", None)
    if profile:
        env["COCOTB_ENABLE_PROFILING"] = "1"
    load_before = os.getloadavg()
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(ROOT / "tb/runner.py"), "pe_array", "--sim", sim,
                           "--testcase", "TrainingPasses", "--seed", str(seed)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    log = proc.stdout + proc.stderr
    (build / f"{sim}{'-profile' if profile else ''}.log").write_text(log)
    if proc.returncode != 0:
        sys.stderr.write(log[-4000:])
        raise SystemExit(f"{sim}: TrainingPasses failed (rc {proc.returncode})")
    xml_path = re.findall(r"^results: (.*)$", proc.stdout, re.M)[-1].strip()
    case = next(tc for tc in ET.parse(xml_path).iter("testcase") if tc.get("name") == "TrainingPasses")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    if case.find("failure") is not None or case.find("error") is not None:
        raise SystemExit(f"{sim}: TrainingPasses did not pass")
    test_s = float(case.get("time"))
    cycles = float(props["sim_time_duration"]) / CLOCK_NS
    jobs = parse_cycle_table(log)
    macs = sum(j["padded_macs"] for j in jobs)
    useful = sum(j["useful_macs"] for j in jobs)
    return {"sim": sim, "wall": wall, "test_s": test_s, "setup_s": wall - test_s, "cycles": cycles,
            "jobs": len(jobs), "macs": macs, "useful": useful, "load_before": load_before,
            "load_after": os.getloadavg(), "sim_dir": Path(xml_path).parent}


# Where Python time goes: first matching pattern of a function's file wins.
GROUPS = [
    ("BFMs (tb/fbuvm/bfm.py)", "fbuvm/bfm.py"),
    ("fbuvm components (driver/monitor/scoreboard glue)", "fbuvm/"),
    ("bench packing + scoreboard (tb/pe_array_env.py)", "pe_array_env.py"),
    ("reference model (models/)", "/models/"),
    ("numpy", "numpy"),
    ("pyuvm", "pyuvm"),
    ("cocotb (scheduler, triggers, handles)", "cocotb"),
]


PER_CYCLE = [  # (label, file pattern, function name): calls per simulated cycle
    ("simulator -> Python callbacks", "cocotb/_event_loop.py", "run"),
    ("task resumes (coroutine wake-ups)", "cocotb/task.py", "_resume"),
    ("trigger registrations", "_base_triggers.py", "_register"),
    ("signal writes", "cocotb/handle.py", "_schedule_write"),
    ("StreamScheduler._run (one wake-up serves every stream)", "fbuvm/bfm.py", "_run"),
    ("StreamScheduler._watch (ready/valid rises while it sleeps)", "fbuvm/bfm.py", "_watch"),
    ("StreamSource.tick / StreamSink.tick", "fbuvm/bfm.py", "tick"),
    ("pack_blocks (a/b bursts, vectorized)", "pe_array_env.py", "pack_blocks"),
    ("unpack_blocks (scoreboard batches)", "pe_array_env.py", "unpack_blocks"),
    ("bfp_gemm (model, a batch of tiles per call)", "models/", "bfp_gemm"),
]


def per_cycle(pstat: Path, cycles: float) -> list[tuple[str, float, float]]:
    st = pstats.Stats(str(pstat))
    out = []
    for label, pat, fn in PER_CYCLE:
        nc = sum(v[1] for (f, _, n), v in st.stats.items() if pat in f and n == fn)
        ct = sum(v[3] for (f, _, n), v in st.stats.items() if pat in f and n == fn)
        out.append((label, nc / cycles, ct))
    return out


def profile_groups(pstat: Path) -> tuple[float, list[tuple[str, float]], list[tuple[str, float, int]]]:
    st = pstats.Stats(str(pstat))
    total = 0.0
    acc: dict[str, float] = {}
    funcs = []
    for (file, line, name), (cc, nc, tt, ct, callers) in st.stats.items():
        total += tt
        g = next((g for g, pat in GROUPS if pat in file), "other (builtins, stdlib)")
        acc[g] = acc.get(g, 0.0) + tt
        funcs.append((f"{Path(file).name}:{line} {name}", tt, nc))
    funcs.sort(key=lambda f: -f[1])
    return total, sorted(acc.items(), key=lambda kv: -kv[1]), funcs[:12]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sims", default="icarus,verilator")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="also a cProfile'd Verilator run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per simulator; the median is reported")
    ap.add_argument("--rtl-rev", default="", help="simulate rtl/ of this git revision (default: working tree)")
    ap.add_argument("--keep", default=str(ROOT / "sim_build/bench_sim"),
                    help="copy the run logs and the profile here ('' = keep nothing)")
    ap.add_argument("--out", default=str(ROOT / "docs/results/sim_speed.md"))
    args = ap.parse_args(argv)

    results = []
    prof = None
    with tempfile.TemporaryDirectory(prefix="flexblock-bench-sim-") as d:
        rtl = None
        if args.rtl_rev:  # a fixed snapshot of rtl/ (others may be editing the working tree)
            rtl = Path(d) / "rev"
            rtl.mkdir()
            subprocess.run(f"git archive {args.rtl_rev} rtl | tar -x -C {rtl}", shell=True, check=True, cwd=ROOT)
            rtl = rtl / "rtl"
        for sim in args.sims.split(","):
            runs = []
            for i in range(args.repeat):  # the first run builds; the test's wall time is the median run's
                print(f"{sim}: {'building + ' if i == 0 else ''}running TrainingPasses "
                      f"(load {os.getloadavg()[0]:.2f}) ...", flush=True)
                runs.append(run_one(sim, args.seed, Path(d) / "build", rtl=rtl))
                r = runs[-1]
                print(f"  {r['cycles']:.0f} cycles in {r['test_s']:.2f} s test wall "
                      f"({r['cycles'] / r['test_s']:.0f} cycles/s); build+start-up {r['setup_s']:.1f} s", flush=True)
            r = dict(sorted(runs, key=lambda r: r["test_s"])[len(runs) // 2])
            r["setup_s"] = runs[0]["setup_s"]
            r["range"] = (min(x["cycles"] / x["test_s"] for x in runs), max(x["cycles"] / x["test_s"] for x in runs))
            results.append(r)
        if args.profile:
            print("verilator: cProfile'd re-run (build cached) ...", flush=True)
            r = run_one("verilator", args.seed, Path(d) / "build", profile=True, rtl=rtl)
            pstat = r["sim_dir"] / "cocotb.pstat"
            total, groups, funcs = profile_groups(pstat)
            prof = (r, total, groups, funcs, per_cycle(pstat, r["cycles"]))
        if args.keep:  # logs (cycle_model.py --log sim_build/bench_sim/verilator.log), results, profile
            shutil.copytree(Path(d) / "build", args.keep, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.o", "*.a", "*.cpp", "*.h", "*.d", "*.gch", "obj_dir"))
            print(f"kept logs, results and cocotb.pstat under {args.keep}")

    head = ("| simulator | cycles | test wall s | cycles/s (median) | cycles/s (range) | checked MACs/s (padded) "
            "| useful MACs/s | build + start-up s | load 1-min before / after |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r['sim']} | {r['cycles']:.0f} | {r['test_s']:.2f} | {r['cycles'] / r['test_s']:,.0f} "
                     f"| {r['range'][0]:,.0f} - {r['range'][1]:,.0f} "
                     f"| {r['macs'] / r['test_s']:,.0f} | {r['useful'] / r['test_s']:,.0f} | {r['setup_s']:.1f} "
                     f"| {r['load_before'][0]:.2f} / {r['load_after'][0]:.2f} |")
    table = "\n".join(lines)
    jobs = results[0]["jobs"] if results else 0
    rev = args.rtl_rev and subprocess.run(["git", "rev-parse", "--short", args.rtl_rev], cwd=ROOT,
                                          capture_output=True, text=True).stdout.strip()
    text = [f"# Simulation speed: pe_array {ROWS}x{COLS}, K={K}, TrainingPasses (full bit-exact checking)\n",
            f"RTL: {'git ' + rev if rev else 'working tree rtl/'}; seed {args.seed}; "
            f"{time.strftime('%Y-%m-%d %H:%M')}.\n",
            "Generated by `make bench-sim` (`scripts/bench_sim.py`). One simulator at a time on a shared 2-core "
            f"machine (load shown), each run {args.repeat} times on one build: the median run is shown, with the "
            "range. *cycles* = the test's simulated time / 10 ns; *test wall* = the test's wall "
            "time from the cocotb results XML (excludes build, simulator start-up, imports); *checked MACs* = "
            f"element products of all {jobs} jobs' tiles as computed and checked (ROWS*COLS*kblocks*K per tile); "
            "*useful* = M*N*Kdim unpadded. Target (issue): >= 20,000 cycles/s on Verilator, 4x4, full checking.\n",
            table, ""]
    print()
    print(table)
    if prof:
        r, total, groups, funcs, pc = prof
        text += [f"## Python-side cost (cProfile, Verilator, seed {args.seed})\n",
                 f"Profiled run: {r['cycles']:.0f} cycles in {r['test_s']:.1f} s test wall (cProfile overhead "
                 f"included); Python self time profiled: {total:.1f} s.\n",
                 "| where | self s | share |", "|---|---:|---:|"]
        text += [f"| {g} | {t:.2f} | {t / total:.0%} |" for g, t in groups]
        text += ["", "Per simulated cycle (calls / cycle; cumulative s over the run):\n",
                 "| what | calls/cycle | cum. s |", "|---|---:|---:|"]
        text += [f"| {label} | {n:.2f} | {ct:.2f} |" for label, n, ct in pc]
        text += ["", "Top functions by self time:\n", "| function | self s | calls |", "|---|---:|---:|"]
        text += [f"| `{f}` | {t:.2f} | {n} |" for f, t, n in funcs]
        text.append("")
        print("\n".join(text[-(len(groups) + len(funcs) + len(pc) + 12):]))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        keep = ""  # a hand-written analysis section survives re-generation
        if out.exists() and "\n## Bottleneck analysis" in out.read_text():
            keep = out.read_text()[out.read_text().index("\n## Bottleneck analysis"):]
        out.write_text("\n".join(text) + "\n" + keep)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
