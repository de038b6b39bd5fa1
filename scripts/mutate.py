#!/usr/bin/env python3
"""Mutation check: how strong is the simulation regression?

Makes single-point mutants of the RTL (every file of rtl/ but the simulation-only checkers; datapath
operators and control ones: statement deletion, stuck-at on handshake/control signals, swapped handshakes),
runs each through the benches of the DUTs that contain the mutated file, and reports which the tests kill.
The parts live in scripts/mutation/ (targets, lexer, operators, sample, run, report); this is the CLI.

    .venv/bin/python scripts/mutate.py                   # a reproducible sample of 64, stratified by file
    .venv/bin/python scripts/mutate.py --max 120 --seed 7
    .venv/bin/python scripts/mutate.py --max all --shard 3/8      # the 3rd of 8 slices of every candidate
    .venv/bin/python scripts/mutate.py --merge sim_build/mutation # merge the shard-*.json reports there
    .venv/bin/python scripts/mutate.py --list [--all]    # print the sample (or every candidate) without running
    .venv/bin/python scripts/mutate.py --only fp32_round.sv:52        # re-run the mutant(s) of one line
        (like every run, after the baseline of its DUTs, kept per RTL + bench snapshot in sim_build/mutation/
        baseline-pertest-*.json; --no-baseline skips it: every test then gets --timeout)
    .venv/bin/python scripts/mutate.py --only fp32_round.sv:52:drop-and-rhs
    .venv/bin/python scripts/mutate.py --file pe_array.sv [--shard 1/4]   # every candidate of one file
        (report file-pe_array[-shard-1-of-4].json; merge a file run's shards with --merge FILE.json ...)
    .venv/bin/python scripts/mutate.py --configs regression   # every parameter set of tb/test_rtl.py
    make mutate [MUTANTS=N|all] [SHARD=i/n] [SEED=n];  make mutate-merge [DIR=sim_build/mutation]

rtl/ is never modified: the script snapshots rtl/ once, with the benches and models that judge it (tb/,
models/: a long run is immune to edits of the checkout), and every mutant is a copy of that snapshot with one
line changed, simulated on Icarus with FLEXBLOCK_RTL_DIR / FLEXBLOCK_BUILD_DIR pointing at a temporary
directory (tb/runner.py honours both), one simulation at a time. A mutant is 'invalid' if it does not
compile, 'killed' if a test fails (by which), 'timeout' if a run passes its limit with no test failed: not a
kill, since a mutant that only costs cycles must be caught by a test that checks cycle counts, 'survived' if
every test passes. The limit of a run is proportional to the same run on the unmutated RTL (the baseline,
timed first, per test: 3x the test's time and start-up + 60 s, at most --timeout); tests the baseline skips
on Icarus are not run for mutants either (scripts/mutation/run.py run_limits).

Results: a table on stdout, sim_build/mutation/report.md and report.json (shard-I-of-N.* for a shard) with
the per-file kill rates and the diff of every mutant; per-run logs in sim_build/mutation/logs/.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutation.operators import Mutant, all_mutants  # noqa: E402
from mutation.report import merge, report_name, report_text, summary, write_report  # noqa: E402
from mutation.run import config_name, run_dut, run_limits, run_mutant, snapshot_tree  # noqa: E402
from mutation.sample import parse_shard, sample, shard  # noqa: E402
from mutation.targets import BENCH_ORDER, OUT, REGRESSION_CONFIGS, ROOT, regression_configs  # noqa: E402


def select_only(mutants: list[Mutant], spec: str) -> list[Mutant]:
    """file:line[:op] (op may be 'op@col')."""
    parts = spec.split(":")
    if len(parts) < 2:
        raise SystemExit(f"--only wants file:line[:operator], got '{spec}'")
    file = Path(parts[0] if parts[0].endswith(".sv") else parts[0] + ".sv").name
    line = int(parts[1])
    picked = [m for m in mutants if m.file == file and m.line == line]
    if len(parts) > 2:
        op = ":".join(parts[2:])
        picked = [m for m in picked if m.op == op or f"{m.op}@{m.col}" == op]
    if not picked:
        raise SystemExit(f"no mutant at {spec} (see --list --all)")
    return picked


def merge_main(where: list[str]) -> int:
    paths = []
    for w in where:
        p = Path(w)
        paths += sorted(p.glob("shard-*.json")) if p.is_dir() else [p]
    mutants, meta = merge(paths)
    out = Path(where[0]) if Path(where[0]).is_dir() else Path(where[0]).parent
    json_path = out / "report.json"
    write_report(mutants, meta, json_path, json_path.with_suffix(".md"))
    s = summary(mutants)
    print(report_text(mutants, meta).split("## Every mutant")[0])
    print(f"merged {len(paths)} shard reports ({s['total']} mutants) into {json_path} and {json_path.with_suffix('.md')}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1, help="seed of the sample (and of the simulations)")
    ap.add_argument("--sim-seed", type=int, default=None, help="simulation seed (default: --seed)")
    ap.add_argument("--max", default="64", help="mutants in the sample (default 64), or 'all' candidates")
    ap.add_argument("--shard", default=None, metavar="I/N", help="run only the I-th of N slices of the selection")
    ap.add_argument("--merge", nargs="+", metavar="DIR|JSON", help="merge shard reports (a directory's "
                    "shard-*.json, or files) into report.json/.md; runs nothing")
    ap.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    ap.add_argument("--all", action="store_true", help="with --list: every candidate, not the sample")
    ap.add_argument("--only", action="append", default=[], metavar="FILE:LINE[:OP]",
                    help="run only the mutant(s) of this line (any candidate, sampled or not); repeatable")
    ap.add_argument("--file", action="append", default=[], metavar="FILE",
                    help="every candidate of this rtl/ file (repeatable): a file's full candidate set")
    ap.add_argument("--configs", choices=["default", "regression"], default="default",
                    help="default: one run per DUT with default parameters; regression: every parameter "
                         "set of tb/test_rtl.py")
    ap.add_argument("--timeout", type=float, default=1200, help="at most this many seconds per simulation run")
    ap.add_argument("--whole-bench", dest="per_test", action="store_false",
                    help="run each DUT's bench in one simulation (default: one simulation per test, stopping "
                         "at the first failing test)")
    ap.add_argument("--keep-going", action="store_true", help="run every DUT even after a kill")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary mutant directories")
    ap.add_argument("--no-baseline", action="store_true", help="skip the check that the unmutated RTL passes")
    ap.add_argument("--workdir", default=None, help="where the temporary directories go (default $TMPDIR)")
    ap.add_argument("--json", default=None, help="the JSON report (default sim_build/mutation/report.json, "
                    "shard-I-of-N.json for a shard)")
    args = ap.parse_args(argv)
    if args.merge:
        return merge_main(args.merge)
    args.sim_seed = args.seed if args.sim_seed is None else args.sim_seed
    configs = {d: [{}] for d in BENCH_ORDER}
    if args.configs == "regression":
        configs = {**REGRESSION_CONFIGS, **regression_configs()}

    base = Path(tempfile.mkdtemp(prefix="flexblock-mutation-", dir=args.workdir))
    try:
        meta = snapshot_tree(base / "tree")   # rtl/ and the benches and models that judge it
        snapshot = base / "tree" / "rtl"
        candidates = all_mutants(snapshot)
        if args.only:
            chosen, selection = [m for spec in args.only for m in select_only(candidates, spec)], "only"
        elif args.file:
            files = {Path(f if f.endswith(".sv") else f + ".sv").name for f in args.file}
            unknown = files - {m.file for m in candidates}
            if unknown:
                raise SystemExit(f"--file: no candidates in {', '.join(sorted(unknown))} (see --list --all)")
            chosen = [m for m in candidates if m.file in files]
            selection = f"every candidate of {', '.join(sorted(files))}"
        elif args.max == "all":
            chosen, selection = candidates, "every candidate"
        else:
            chosen, selection = sample(candidates, int(args.max), args.seed), f"stratified sample of {args.max}"
        if args.shard:
            i, n = parse_shard(args.shard)
            chosen = shard(chosen, i, n)
            meta["shard"] = f"{i}/{n}"

        if args.list:
            shown = candidates if args.all else chosen
            for i, m in enumerate(shown, 1):
                print(f"{i:4} {m.file}:{m.line:<4} {m.op:16} {m.kind:6} {m.before!r} -> {m.after!r}   "
                      f"[{', '.join(m.duts)}]\n       {m.mutated}")
            per_file = Counter(m.file for m in shown)
            print(f"{len(shown)} mutants ({len(candidates)} candidates): "
                  + ", ".join(f"{f} {c}" for f, c in sorted(per_file.items())))
            print("per class: " + ", ".join(f"{k} {c}" for k, c in sorted(Counter(m.kind for m in shown).items())))
            return 0

        from tqdm import tqdm

        meta.update({"seed": args.seed, "sim_seed": args.sim_seed, "configs": args.configs,
                     "selection": selection, "candidates": len(candidates),
                     "candidates_per_file": dict(sorted(Counter(m.file for m in candidates).items())),
                     "candidates_per_kind": dict(sorted(Counter(m.kind for m in candidates).items())),
                     "only": args.only, "timeout_s": args.timeout,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S")})
        t_start = time.monotonic()
        if args.only:
            tag = re.sub(r"[^\w.-]+", "_", "-".join(args.only))
            if len(tag) > 80:  # many --only specs: keep the file name legal
                tag = f"{tag[:40]}-{len(args.only)}specs-{hashlib.sha1(tag.encode()).hexdigest()[:10]}"
            json_path, md_path = OUT / f"only-{tag}.json", None
        else:
            default = OUT / report_name(meta.get("shard"), args.file)
            json_path = Path(args.json) if args.json else default
            md_path = json_path.with_suffix(".md")
        log_tag = f"s{meta['shard'].replace('/', 'of')}-" if args.shard else ""

        limits: dict[str, dict] = {}
        if not args.no_baseline:
            duts = sorted({d for m in chosen for d in m.duts}, key=BENCH_ORDER.index)
            print(f"baseline: the unmutated RTL on {', '.join(duts)} (seed {args.sim_seed})", flush=True)
            # the shards of one run share it: kept per RTL and bench snapshot, simulation seed and parameter sets
            cache_path = OUT / (f"baseline-pertest-{meta['rtl_sha1']}-{meta['judges_sha1']}-{args.sim_seed}-"
                                f"{args.configs}.json")
            cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
            baseline = []
            for dut in duts:
                for i, params in enumerate(configs.get(dut) or [{}]):
                    if config_name(dut, params) in cache:
                        run = cache[config_name(dut, params)]
                        baseline.append(run)
                        limits[config_name(dut, params)] = run_limits(run, args.timeout)
                        print(f"  {dut} {params or ''}: {run['status']} in {run['seconds']} s (earlier run, "
                              f"{cache_path.name})", flush=True)
                        continue
                    log = OUT / "logs" / f"{log_tag}baseline-{dut}{''.join(f'-{k}{v}' for k, v in params.items())}.log"
                    run = run_dut(dut, params, snapshot, base / f"baseline-build-{dut}{i}", args.sim_seed,
                                  args.timeout, log, tree=base / "tree")
                    baseline.append(run)
                    limits[config_name(dut, params)] = run_limits(run, args.timeout)
                    print(f"  {dut} {params or ''}: {run['status']} in {run['seconds']} s", flush=True)
                    if run["status"] != "pass":
                        print(f"the unmutated RTL does not pass {dut} (see {run['log']}): nothing to measure",
                              file=sys.stderr)
                        return 2
                    cache[config_name(dut, params)] = {k: run[k] for k in ("dut", "params", "status", "seconds",
                                                                           "tests")}
                    cache_path.parent.mkdir(parents=True, exist_ok=True)
                    cache_path.write_text(json.dumps(cache, indent=1))
            meta["baseline"] = [{k: r[k] for k in ("dut", "params", "status", "seconds")} for r in baseline]
            meta["limits_s"] = {name: {str(t): s for t, s in lim.items()} for name, lim in limits.items()}

        results = []
        bar = tqdm(chosen, unit="mutant", dynamic_ncols=True, file=sys.stdout, mininterval=1.0)
        try:
            for i, m in enumerate(bar, 1):
                bar.set_description(f"{m.file}:{m.line} {m.op}")
                op_tag = re.sub(r"[^\w+-]", "_", m.op)
                r = run_mutant(m, snapshot, configs, args, f"{log_tag}{i:03d}-{m.file[:-3]}-{m.line}-{op_tag}", limits)
                results.append(r)
                s = summary(results)
                bar.write(f"[{i}/{len(chosen)}] {m.file}:{m.line} {m.op}: {m.before!r} -> {m.after!r}: "
                          f"{r.result.upper()}"
                          + (f" by {r.killed_by[0]}" if r.killed_by else f" ({r.detail.splitlines()[0]})"
                             if r.detail else "")
                          + f" [{r.seconds:.0f} s]  (killed {s['killed']}, timeout {s['timeout']}, survived "
                            f"{s['survived']}, invalid {s['invalid']})")
                meta["elapsed_s"] = round(time.monotonic() - t_start, 1)
                write_report(results, meta, json_path, md_path)
        except KeyboardInterrupt:
            bar.write("interrupted: reporting the mutants run so far")
        bar.close()
        meta["elapsed_s"] = round(time.monotonic() - t_start, 1)
        meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        write_report(results, meta, json_path, md_path)
        print()
        print(report_text(results, meta))
        print(f"JSON report: {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
