"""Build and run one DUT's cocotb tests through cocotb-test: the single path used by `make sim` and pytest.

    .venv/bin/python tb/runner.py fp2bfp [--sim verilator] [--testcase NAME] [--seed N] [--waves] [-P ROWS=2 ...]
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import logging
import os
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Overridable so that tools (e.g. the mutation check) can simulate a modified copy of the RTL.
RTL = Path(os.environ.get("FLEXBLOCK_RTL_DIR", ROOT / "rtl")).resolve()
# ... and a modified copy of the benches (scripts/known_bugs.py: a bug planted in a monitor of tb/fbuvm).
TB = Path(os.environ.get("FLEXBLOCK_TB_DIR", ROOT / "tb")).resolve()
BUILD = Path(os.environ.get("FLEXBLOCK_BUILD_DIR", ROOT / "sim_build")).resolve()

# DUT -> cocotb test module (tb/<module>.py). Every DUT is built from all of rtl/ (one module per file).
DUTS = {
    "fp2bfp": "fp2bfp_tests",
    "fp32_acc": "fp32_acc_tests",
    "fast_mac": "fast_mac_tests",
    "fast_fp2bfp": "fast_fp2bfp_tests",
    "fast_array": "fast_array_tests",
    "pe_array": "pe_array_tests",
    "flexblock_core": "flexblock_core_tests",
    "bm_mac": "bm_mac_tests",
    "bm_fp2bm": "bm_fp2bm_tests",
    "bf16_mac": "bf16_mac_tests",
    "neuroflix_mac": "neuroflix_mac_tests",
    "bm_array": "bm_array_tests",
    "bf16_array": "bf16_array_tests",
    "neuroflix_array": "neuroflix_array_tests",
    "fp_mac": "fp_mac_tests",
    "bf16_fp2bf16": "bf16_fp2bf16_tests",
    "neuroflix_fp2nf": "neuroflix_fp2nf_tests",
    # pe_array inside SystemVerilog transactors (tb/sv/pe_array_harness.sv): the bench wakes once per batch
    "pe_array_harness": "pe_array_fast_tests",
    "range_bn": "range_bn_tests",
    "bn_fp32": "bn_fp32_tests",
    "range_bn_bwd": "range_bn_bwd_tests",
    "dw_unit": "dw_unit_tests",
}
# Simulation-only tops and helpers (harnesses, the no-Python ceiling bench): tb/sv/, built with rtl/.
TB_SV = TB / "sv"


def top_source(toplevel: str) -> Path:
    return TB_SV / f"{toplevel}.sv" if (TB_SV / f"{toplevel}.sv").exists() else RTL / f"{toplevel}.sv"


def sources(tb_sv: bool = False) -> list[str]:
    """rtl/*.sv, packages first (they must be compiled before their importers); with tb_sv, tb/sv/*.sv too."""
    files = sorted(RTL.glob("*.sv"))
    rtl = [str(f) for f in sorted(files, key=lambda f: not f.stem.endswith("_pkg"))]
    # the ceiling benches (stand-alone tops with their own clock) are not part of a cocotb build
    return rtl + ([str(f) for f in sorted(TB_SV.glob("*.sv")) if not f.stem.endswith("_ceiling")] if tb_sv else [])


def top_interface(toplevel: str) -> list[str]:
    """Names of the top module's parameters and ports (ANSI header: `module name #(...) (...);`)."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", top_source(toplevel).read_text(), flags=re.S)
    header = re.search(rf"\bmodule\s+{toplevel}\s*(#\s*\((.*?)\)\s*)?\((.*?)\);", text, re.S)
    params = re.findall(r"\bparameter\b[^=,]*?(\w+)\s*=", header.group(2) or "")
    ports = [re.findall(r"\w+", decl)[-1] for decl in header.group(3).split(",") if decl.strip()]
    return params + ports


def test_names(toplevel: str, tb: Path = TB) -> list[str]:
    """The cocotb tests of a DUT's test module (in `tb`, default this bench directory): its classes and
    functions decorated `@pyuvm.test(...)` or `@cocotb.test(...)`, read from the source (importing the module
    needs a running simulator)."""
    tree = ast.parse((tb / f"{DUTS[toplevel]}.py").read_text())
    names = []
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                f = deco.func if isinstance(deco, ast.Call) else deco
                if (isinstance(f, ast.Attribute) and f.attr == "test" and isinstance(f.value, ast.Name)
                        and f.value.id in ("pyuvm", "cocotb")):
                    names.append(node.name)
    return names


def select_tests(toplevel: str, testcase: str) -> list[str]:
    """The tests `testcase` selects, as cocotb filters them (a regex searched in `<module>.<test>`); none is
    an error (cocotb itself would run nothing and pass), with the DUT's test names in the message."""
    names = test_names(toplevel)
    try:
        pattern = re.compile(testcase)
    except re.error as e:
        raise SystemExit(f"TESTCASE '{testcase}' is not a valid regex ({e}); {toplevel}'s tests: "
                         f"{', '.join(names)}")
    chosen = [n for n in names if pattern.search(f"{DUTS[toplevel]}.{n}")]
    if not chosen:
        raise SystemExit(f"TESTCASE '{testcase}' matches no test of {toplevel} (tb/{DUTS[toplevel]}.py); its "
                         f"tests: {', '.join(names)}")
    return chosen


# Verilator line/toggle/branch coverage (`make coverage-code`): every run writes its own .dat file here.
CODE_COVERAGE = os.environ.get("FLEXBLOCK_CODE_COVERAGE") == "1"
CODE_COVERAGE_DIR = BUILD / "code_coverage"


def build_dir(toplevel: str, sim: str, parameters: dict, waves: bool, quick: bool = False) -> Path:
    tag = ",".join(f"{k}={v}" for k, v in sorted(parameters.items()))
    digest = hashlib.sha1(f"{tag}|{waves}|{CODE_COVERAGE}{'|quick' if quick else ''}".encode()).hexdigest()[:8]
    return BUILD / f"{toplevel}-{sim}-{digest}"


def waves_file(toplevel: str, sim: str, parameters: dict | None = None) -> Path:
    d = build_dir(toplevel, sim, parameters or {}, True)
    return d / (f"{toplevel}.fst" if sim == "icarus" else "dump.fst")


class IcarusSorryFilter(logging.Filter):
    """Icarus 11 reports every `unique case` with `sorry: Case unique/unique0 qualities are ignored.` (on stderr,
    which cocotb-test logs as ERROR): it simulates them as plain `case` statements and does not check their
    uniqueness. Nothing is wrong with the RTL (Verilator, run with --assert, does check it), so those lines are
    replaced by one note."""
    TEXT = "sorry: Case unique/unique0 qualities are ignored"

    def __init__(self):
        super().__init__()
        self.hidden = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.TEXT not in record.getMessage():
            return True
        self.hidden += 1
        if self.hidden > 1:
            return False
        record.levelno, record.levelname, record.args = logging.INFO, "INFO", ()
        record.msg = ("note: Icarus does not check `unique case` (its 'sorry: Case unique/unique0 qualities are "
                      "ignored' lines are hidden; harmless: it simulates them as plain `case`, and the Verilator "
                      "runs check uniqueness with --assert)")
        return True


def run(toplevel: str, sim: str = "icarus", testcase: str | None = None, seed: int | None = None,
        waves: bool = False, parameters: dict | None = None, extra_env: dict | None = None) -> str:
    """Run the DUT's tests; raises (SystemExit) on any failure. Returns the results XML path."""
    if toplevel not in DUTS:
        raise SystemExit(f"unknown TOPLEVEL '{toplevel}'; known: {', '.join(DUTS)}")
    if not top_source(toplevel).exists():
        raise SystemExit(f"TOPLEVEL '{toplevel}' is not built yet: rtl/{toplevel}.sv does not exist")
    if testcase:
        select_tests(toplevel, testcase)
    from cocotb_test.simulator import run as cocotb_run

    parameters = dict(parameters or {})
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    print(f"{toplevel} on {sim}: seed {seed}", flush=True)
    # The quick regression (tb/test_rtl.py: FLEXBLOCK_QUICK) compiles the Verilator model without C++
    # optimization: its tests are bound by Python, not by the model (measured on pe_array: build -30%,
    # tests +18%); in a build directory of its own, so `make sim` keeps its optimized model.
    quick = sim == "verilator" and (extra_env or {}).get("FLEXBLOCK_QUICK") == "1" and not waves
    sim_build = build_dir(toplevel, sim, parameters, waves, quick)
    env = {"PYTHONPATH": str(ROOT), "FLEXBLOCK_SIM": sim,
           "FLEXBLOCK_PARAMS": " ".join(f"{k}={v}" for k, v in parameters.items()),
           "FLEXBLOCK_COVERAGE_DIR": str(BUILD / "coverage"), "FLEXBLOCK_STATS_DIR": os.environ.get("FLEXBLOCK_STATS_DIR", str(BUILD / "stats"))}
    # cocotb rewrites the asserts of every module imported after its start-up ("*.py"): numpy's, pyuvm's,
    # the models'. Where bytecode is not cached (PYTHONDONTWRITEBYTECODE, as on the CI machine) every run
    # parses and rewrites them again, ~0.8 s per simulation; the benches' asserts are in these files.
    env["COCOTB_REWRITE_ASSERTION_FILES"] = os.environ.get("COCOTB_REWRITE_ASSERTION_FILES",
                                                           "*_tests.py *_env.py mac_array.py fbuvm/*.py")
    if testcase:
        env["FLEXBLOCK_TESTCASE"] = testcase
    env.update(extra_env or {})
    # The venv's Verilator (5.052) must shadow an older system one.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    kwargs = {}
    if sim == "verilator":
        # Verilator's runtime (verilated.cpp, verilated_vpi.cpp, ...) is the same in every build: compiled once
        # into sim_build/verilator_runtime and copied from there (tb/objcache.py), not once per DUT x parameters.
        kwargs["make_args"] = ["-j", str(os.cpu_count() or 1),
                               f"OBJCACHE={sys.executable} {TB / 'objcache.py'} {BUILD / 'verilator_runtime'}"]
        if quick:
            # ... and as one translation unit (Vtop__ALL.cpp): Verilator's parallel build compiles each of
            # ~12 files separately, with two 74 MB precompiled headers (fast and slow, identical at -O0) made
            # first; on 2 cores shared by two pytest workers that parallelism buys nothing (pe_array 4 x 4:
            # 26 s of C++ CPU time -> 11.5 s).
            kwargs["make_args"] += ["OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0", "VM_PARALLEL_BUILDS=0"]
        # cocotb-test makes every signal VPI-writable (--public-flat-rw), which forces Verilator to
        # re-evaluate all combinational logic on every simulator event (3x slower here); the benches touch
        # only the top-level ports and parameters, so only those are made public.
        vlt = sim_build / "public_ports.vlt"
        vlt.parent.mkdir(parents=True, exist_ok=True)
        vlt.write_text("`verilator_config\n" + "".join(
            f'public_flat_rw -module "{toplevel}" -var "{name}"\n' for name in top_interface(toplevel)))
        kwargs["compile_args"] = ["-Wno-fatal", "--assert", "-O2", "--no-public-flat-rw", str(vlt)]
        kwargs["plus_args"] = ["--trace"] if waves else []
        if CODE_COVERAGE:
            kwargs["compile_args"].append("--coverage")
            CODE_COVERAGE_DIR.mkdir(parents=True, exist_ok=True)
            tag = "-".join([toplevel, *(f"{k}{v}" for k, v in parameters.items()), testcase or "all", str(seed)])
            kwargs["plus_args"].append(f"+verilator+coverage+file+{CODE_COVERAGE_DIR / tag}.dat")
    if TB != (ROOT / "tb").resolve():
        sys.path.insert(0, str(TB))  # cocotb-test puts this process's sys.path (ROOT/tb first) before python_search
    quiet = IcarusSorryFilter()
    logging.getLogger("cocotb").addFilter(quiet)
    try:
        return cocotb_run(
            simulator=sim,
            verilog_sources=sources(tb_sv=top_source(toplevel).parent == TB_SV),
            toplevel=toplevel,
            module=DUTS[toplevel],
            python_search=[str(TB), str(ROOT)],
            parameters=parameters,
            sim_build=str(sim_build),
            testcase=testcase,
            seed=seed,
            waves=waves,
            timescale="1ns/1ps",
            extra_env=env,
            **kwargs,
        )
    finally:
        logging.getLogger("cocotb").removeFilter(quiet)


def _param(text: str) -> tuple[str, int]:
    name, _, value = text.partition("=")
    return name, int(value, 0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("toplevel")
    ap.add_argument("--sim", default=os.environ.get("SIM", "icarus"), choices=["icarus", "verilator"])
    ap.add_argument("--testcase", default=None, help="run only this cocotb test (regex)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time-based, printed)")
    ap.add_argument("--waves", action="store_true", help="write an FST waveform")
    ap.add_argument("-P", dest="params", action="append", type=_param, default=[], metavar="NAME=VALUE",
                    help="top-level parameter override")
    args = ap.parse_args(argv)
    os.environ.pop("SIM", None)  # cocotb-test lets $SIM override the argument; the argument already has it
    try:
        results = run(args.toplevel, args.sim, args.testcase or None, args.seed, args.waves, dict(args.params))
    except SystemExit as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    if args.waves:
        print(f"waveform: {waves_file(args.toplevel, args.sim, dict(args.params))}")
    print(f"results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
