"""What is mutated and which benches judge it.

Every file of rtl/ is a target, except the simulation-only checkers in EXCLUDED (their code is the
bench's, not the design's). A file's benches are the DUTs whose hierarchy contains it (instantiated or
imported, transitively), fastest bench first, so a mutant is usually killed by the quickest run; it is
derived from the RTL, so a new file or DUT cannot be forgotten (tb/test_mutation.py checks it).
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

from .lexer import blank_comments

ROOT = Path(__file__).resolve().parents[2]
RTL = ROOT / "rtl"
OUT = ROOT / "sim_build" / "mutation"

# Never mutated, with the reason.
EXCLUDED = {
    "stream_checker.sv": "simulation-only protocol checker (inside `ifndef SYNTHESIS in every user)",
    "lockstep_checker.sv": "simulation-only array lockstep check (inside `ifndef SYNTHESIS in every array)",
}

# The DUT benches (tb/runner.py DUTS), fastest first: the order in which a mutant's benches run.
BENCH_ORDER = ("fp2bfp", "fp32_acc", "fast_fp2bfp", "bf16_fp2bf16", "neuroflix_fp2nf", "fast_mac", "bm_fp2bm",
               "bm_mac", "fp_mac", "bf16_mac", "neuroflix_mac", "range_bn", "range_bn_bwd", "bn_fp32", "dw_unit",
               "fast_array", "bm_array", "bf16_array", "neuroflix_array", "pe_array", "pe_array_harness",
               "flexblock_core")

# Parameter sets per DUT when tb/test_rtl.py cannot be read ('regression' configs); normally read from it.
REGRESSION_CONFIGS = {
    "fp2bfp": [{}, {"K": 4, "SR_BITS": 3, "SR_SEED": 0x1234}],
    "fp32_acc": [{}],
    "pe_array": [{}, {"ROWS": 2, "COLS": 3}, {"ROWS": 1, "COLS": 1, "K": 32}],
    "flexblock_core": [{}, {"ROWS": 2, "COLS": 2, "DEPTH": 160, "BDEPTH": 40}],
    "bm_mac": [{}, {"K": 48, "EX": 2, "MX": 3, "EG": 3, "MG": 2}],
    "bm_fp2bm": [{}, {"K": 48, "EX": 2, "MX": 3, "EG": 3, "MG": 2, "SR_BITS": 3, "SR_SEED": 0x1234}],
    "bf16_mac": [{}, {"N": 1}],
    "neuroflix_mac": [{}, {"G": 3}],
    "fast_mac": [{}, {"EW": 4}],
    "fast_array": [{}, {"ROWS": 3, "COLS": 1, "EW": 4}],
    "fast_fp2bfp": [{}, {"EW": 4, "G": 12, "SR_SEED": 0x1234}],
}


def uses(rtl: Path = RTL) -> dict[str, set[str]]:
    """file -> the rtl files it instantiates or imports (by module/package name in its code)."""
    names = {p.stem: p.name for p in rtl.glob("*.sv")}
    out = {}
    for p in rtl.glob("*.sv"):
        code = "\n".join(blank_comments(p.read_text().splitlines()))
        words = set(re.findall(r"\b\w+\b", code))
        out[p.name] = {names[w] for w in words if w in names and names[w] != p.name}
    return out


@lru_cache(maxsize=None)
def _targets(rtl: str) -> dict[str, tuple[str, ...]]:
    graph = uses(Path(rtl))

    def closure(top: str) -> set[str]:
        seen, todo = set(), [f"{top}.sv"]
        while todo:
            f = todo.pop()
            if f not in seen:
                seen.add(f)
                todo.extend(graph.get(f, ()))
        return seen

    hier = {dut: closure(dut) for dut in BENCH_ORDER if f"{dut}.sv" in graph}
    files = sorted(f for f in graph if f not in EXCLUDED)
    return {f: tuple(d for d in hier if f in hier[d]) for f in files}


def targets(rtl: Path = RTL) -> dict[str, tuple[str, ...]]:
    """Mutated file -> the DUT benches that contain it, fastest first (every file of rtl/ but EXCLUDED)."""
    return dict(_targets(str(rtl)))


def regression_configs() -> dict[str, list[dict]]:
    """Every parameter set of tb/test_rtl.py per DUT, default parameters first."""
    try:
        sys.path[:0] = [str(ROOT / "tb"), str(ROOT)]
        from test_rtl import CONFIGS
    except Exception as e:  # noqa: BLE001 - any import problem: use the copy
        print(f"note: tb/test_rtl.py CONFIGS not readable ({e}); using the built-in parameter sets")
        return REGRESSION_CONFIGS
    out: dict[str, list[dict]] = {}
    for dut, params in CONFIGS:
        out.setdefault(dut, []).append(dict(params))
    for sets in out.values():
        sets.sort(key=lambda p: p != {})
    return out
