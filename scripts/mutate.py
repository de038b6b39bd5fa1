#!/usr/bin/env python3
"""Mutation check: how strong is the simulation regression?

Makes single-point mutants of the datapath RTL (operator swaps, constant and index off-by-ones, inverted
conditions, dropped rounding/saturation/sticky terms), runs each one through the benches of the DUTs that
contain the mutated file, and reports which mutants the tests kill.

    .venv/bin/python scripts/mutate.py                   # a reproducible sample of 64 mutants over all target files
    .venv/bin/python scripts/mutate.py --max 120 --seed 7
    .venv/bin/python scripts/mutate.py --list [--all]    # print the sample (or every candidate) without running
    .venv/bin/python scripts/mutate.py --only fp32_round.sv:52        # re-run the mutant(s) of one line
    .venv/bin/python scripts/mutate.py --only fp32_round.sv:52:drop-and-rhs
    .venv/bin/python scripts/mutate.py --configs regression   # every parameter set of tb/test_rtl.py, not only defaults
    make mutate [MUTANTS=N] [SEED=n]

rtl/ is never modified: the script snapshots rtl/ once, and every mutant is a copy of that snapshot with one
line changed, simulated with FLEXBLOCK_RTL_DIR / FLEXBLOCK_BUILD_DIR pointing at a temporary directory
(tb/runner.py honours both). A mutant that iverilog does not compile is 'invalid'; one that makes a test fail
is 'killed' (by that test); one that runs past --timeout is 'timeout' (counted as killed in the kill rate,
reported separately); one that passes every test is 'survived'. Simulations run one at a time.

Results: a table on stdout, sim_build/mutation/report.md, and sim_build/mutation/report.json (with the
diff of every mutant); per-run logs in sim_build/mutation/logs/.
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
OUT = ROOT / "sim_build" / "mutation"

# Mutated file -> (sampling weight, the DUT benches that exercise it, fastest first). The arithmetic
# files weigh more.
TARGETS: dict[str, tuple[float, tuple[str, ...]]] = {
    "fp2bfp.sv":          (3.0, ("fp2bfp",)),
    "sr_lfsr.sv":         (1.0, ("fp2bfp",)),
    "fp32_round.sv":      (3.0, ("fp32_acc", "pe_array")),
    "fp32_acc.sv":        (3.0, ("fp32_acc", "pe_array")),
    "mm_multiplier.sv":   (2.0, ("pe_array",)),
    "pe.sv":              (1.5, ("pe_array",)),
    "pe_array.sv":        (1.0, ("pe_array",)),
    "block_sequencer.sv": (0.75, ("pe_array",)),
    "credit_fifo.sv":     (0.75, ("fp2bfp", "fp32_acc", "pe_array")),
    "flexblock_core.sv":  (1.0, ("flexblock_core",)),
    "fp32_buffer.sv":     (1.0, ("flexblock_core",)),
    "bm_product.sv":      (1.5, ("bm_mac",)),
    "bm_kulisch.sv":      (0.75, ("bm_mac",)),
    "bm_mac.sv":          (1.5, ("bm_mac",)),
    "bm_fp2bm.sv":        (2.0, ("bm_fp2bm",)),
    "bf16_mul.sv":        (2.0, ("bf16_mac",)),
    "fp32_add.sv":        (2.0, ("bf16_mac",)),
    "bf16_mac.sv":        (1.0, ("bf16_mac",)),
    "neuroflix_decode.sv": (2.0, ("neuroflix_mac",)),
    "neuroflix_merge.sv": (2.0, ("neuroflix_mac",)),
    "neuroflix_mac.sv":   (2.0, ("neuroflix_mac",)),
    "fast_mac.sv":        (2.0, ("fast_mac", "fast_array")),
    "fast_array.sv":      (0.5, ("fast_array",)),
    "fast_fp2bfp.sv":     (2.0, ("fast_fp2bfp",)),
    "bm_array.sv":        (0.5, ("bm_array",)),
    "bf16_array.sv":      (0.5, ("bf16_array",)),
    "neuroflix_array.sv": (0.5, ("neuroflix_array",)),
    "fp_mac.sv":          (1.5, ("fp_mac",)),
    "bf16_fp2bf16.sv":    (1.0, ("bf16_fp2bf16",)),
    "neuroflix_fp2nf.sv": (2.0, ("neuroflix_fp2nf",)),
    "lightnorm_pkg.sv":   (2.0, ("range_bn",)),
    "fp10_add.sv":        (1.5, ("range_bn",)),
    "fp10_mul.sv":        (1.5, ("range_bn",)),
    "fp10_recip.sv":      (1.0, ("range_bn",)),
    "range_bn_lane.sv":   (2.0, ("range_bn",)),
    "range_bn_bfp.sv":    (1.5, ("range_bn",)),
    "range_bn.sv":        (1.0, ("range_bn",)),
    "fp32_mul.sv":        (2.0, ("bn_fp32",)),
    "bn_fp32_lane.sv":    (2.0, ("bn_fp32",)),
    "bn_fp32.sv":         (1.0, ("bn_fp32",)),
}

# Parameter sets per DUT. 'default' is one run per DUT; 'regression' adds the other sets of tb/test_rtl.py
# (read from it, so the check follows the regression; this copy is the fallback).
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
    "bm_array": [{}, {"ROWS": 3, "COLS": 1, "K": 48, "EX": 2, "MX": 3, "EG": 3, "MG": 2}],
    "bf16_array": [{}, {"ROWS": 1, "COLS": 3, "N": 1}],
    "neuroflix_array": [{}, {"ROWS": 3, "COLS": 1, "G": 3}],
    "fp_mac": [{}, {"E": 8, "M": 23}],
    "bf16_fp2bf16": [{}],
    "neuroflix_fp2nf": [{}],
    "range_bn": [{}],
    "bn_fp32": [{}],
}


def regression_configs() -> dict[str, list[dict]]:
    try:
        sys.path[:0] = [str(ROOT / "tb"), str(ROOT)]
        from test_rtl import CONFIGS
    except Exception as e:  # noqa: BLE001 - any import problem: use the copy
        print(f"note: tb/test_rtl.py CONFIGS not readable ({e}); using the built-in parameter sets")
        return REGRESSION_CONFIGS
    out: dict[str, list[dict]] = {}
    for dut, params in CONFIGS:
        out.setdefault(dut, []).append(dict(params))
    for dut, sets in out.items():  # default parameters first
        sets.sort(key=lambda p: p != {})
    return out


# ---- the mutation operators ------------------------------------------------------------------------------
# Building blocks of the patterns. An operator preceded by an operand (word character, ')', ']' or '}') is
# binary; one preceded by '(' , '?', ',' ... is unary.
GROUP = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"          # ( ... ) with up to two nested levels
TERM = (rf"(?:\d+'{GROUP}|{GROUP}|\{{[^{{}}]*\}}"             # N'(...) cast, (...), {...}
        r"|\d+'[sS]?[dDhHbB][0-9a-fA-F_]+|\d+"                 # literal
        r"|[~!|&]?[A-Za-z_]\w*(?:\[[^\]]*\])*)")             # [unary] identifier[index]...
# A complete operand of a logical / bitwise (END) or additive (END_ADD) operator ends here ...
END = r"(?=\s*(?:[);?,}:]|\|\||&&|$))"
END_ADD = r"(?=\s*(?:[);?,}:]|\|\||&&|[-+](?!:)|[<>=!]=|[<>](?![<>])|$))"
START = r"((?:^|[(?:,{]|(?<![=!<>])=(?!=))\s*)"               # ... and starts after one of these

# (name, kind, pattern, replacement). kind groups the operators for the spread of the sample. Every match
# of a pattern on a code line is one mutant (re.sub on that match only).
OPERATORS: list[tuple[str, str, str, str]] = [
    # arithmetic
    ("add->sub",      "arith", r"(?<=[\w)\]}])(\s*)\+(?![+:=])",   r"\1-"),
    ("sub->add",      "arith", r"(?<=[\w)\]}])(\s*)-(?![-:=>])",   r"\1+"),
    ("drop-add-rhs",  "drop",  rf"(?<=[\w)\]}}])\s*\+(?![+:=])\s*{TERM}{END_ADD}", ""),
    # relational (a '<=' that is a non-blocking assignment is filtered out below)
    ("lt->le",        "rel",   r"(?<![<])<(?![<=])",               "<="),
    ("le->lt",        "rel",   r"(?<![<])<=(?!=)",                 "<"),
    ("gt->ge",        "rel",   r"(?<![>\-])>(?![>=])",             ">="),
    ("ge->gt",        "rel",   r"(?<![>])>=",                      ">"),
    ("eq->ne",        "eq",    r"(?<![=!<>])==(?!=)",              "!="),
    ("ne->eq",        "eq",    r"!=(?!=)",                         "=="),
    # logical and bitwise
    ("land->lor",     "logic", r"&&",                              "||"),
    ("lor->land",     "logic", r"\|\|",                            "&&"),
    ("and->or",       "bit",   r"(?<=[\w)\]}])(\s*)&(?!&)",        r"\1|"),
    ("or->and",       "bit",   r"(?<=[\w)\]}])(\s*)\|(?!\|)",      r"\1&"),
    ("xor->or",       "bit",   r"(?<=[\w)\]}])(\s*)\^",            r"\1|"),
    ("xor->and",      "bit",   r"(?<=[\w)\]}])(\s*)\^",            r"\1&"),
    # inverted conditions
    ("drop-not",      "cond",  r"(?<![!=])!(?!=)",                 ""),
    ("negate-if",     "cond",  rf"\bif\s*({GROUP})",               r"if (!\1)"),
    ("negate-ternary", "cond", rf"{START}({GROUP}|[A-Za-z_]\w*(?:\[[^\]]*\])?)(\s*\?)", r"\1(!\2)\3"),
    # dropped terms (rounding increments, saturation, sticky bits, flag sources)
    ("drop-or-rhs",   "drop",  rf"\s*\|\|\s*{TERM}{END}",          ""),
    ("drop-or-lhs",   "drop",  rf"{START}{TERM}\s*\|\|\s*",        r"\1"),
    ("drop-and-rhs",  "drop",  rf"\s*&&\s*{TERM}{END}",            ""),
    ("drop-and-lhs",  "drop",  rf"{START}{TERM}\s*&&\s*",          r"\1"),
    ("drop-bitor-rhs", "drop", rf"(?<=[\w)\]}}])\s*\|(?!\|)\s*{TERM}{END}", ""),
    # constants: +/-1 on a literal (decimal, or sized d/h/b); inside [...] it is a bit-range/index tweak
    ("lit+1",         "const", "LITERAL", "+1"),
    ("lit-1",         "const", "LITERAL", "-1"),
]

SIZED = re.compile(r"(?<![\w'$])(\d+)'([sS]?)([dDhHbB])([0-9a-fA-F_]+)")
PLAIN = re.compile(r"(?<![\w'$.])(\d+)(?![\w'.])")

# Lines that are declarations (never mutated) and lines whose right-hand side only is mutated.
DECL = re.compile(r"^\s*(?:input|output|inout|logic|reg|bit|int|integer|genvar|parameter|module|import|"
                  r"function|endfunction|task|package|typedef)\b")
DECL_WITH_VALUE = re.compile(r"^\s*(?:localparam|wire)\b[^=]*=")
STRUCTURAL = re.compile(r"^\s*for\s*\(\s*genvar\b|^\s*(?:always|always_ff|always_comb|initial)\b\s*(?:@|begin|$)")
NBA_LHS = re.compile(r"(?:^|;|\bbegin\b|\belse\b|\))\s*[\w.]+(?:\[[^\]]*\])*\s*$")


@dataclass
class Mutant:
    file: str
    line: int                 # 1-based
    col: int                  # 0-based column of the change
    op: str
    kind: str
    original: str             # the original line (stripped)
    mutated: str              # the mutated line (stripped)
    before: str               # the changed text, before and after
    after: str
    duts: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.op}@{self.col}"


@dataclass
class Result:
    id: str
    file: str
    line: int
    op: str
    kind: str
    before: str
    after: str
    original: str
    mutated: str
    duts: list
    result: str = "pending"           # killed / survived / invalid / timeout
    killed_by: list = field(default_factory=list)
    runs: list = field(default_factory=list)   # {dut, params, status, seconds, failed, log}
    rtl_assertions: list = field(default_factory=list)  # RTL assertion messages seen ($error / $fatal)
    detail: str = ""
    seconds: float = 0.0
    diff: str = ""


# ---- finding the mutable code of a file -----------------------------------------------------------------
def code_lines(text: str) -> list[tuple[int, str, int]]:
    """(line number, code text with comments blanked, first mutable column) of every line that may be
    mutated: no comments, nothing inside `ifndef SYNTHESIS ... `endif or initial blocks, no declarations
    (only the value of a localparam / wire initialiser), no generate-for headers."""
    out = []
    in_block_comment = False
    skip_depth = 0           # nesting of `ifndef SYNTHESIS / `ifdef inside it
    for n, raw in enumerate(text.splitlines(), 1):
        # blank comments, keeping columns
        chars = list(raw)
        i = 0
        in_string = False
        while i < len(raw):
            if in_block_comment:
                if raw.startswith("*/", i):
                    chars[i] = chars[i + 1] = " "
                    in_block_comment = False
                    i += 2
                    continue
                chars[i] = " "
            elif in_string:
                chars[i] = " " if raw[i] != '"' else '"'
                if raw[i] == '"':
                    in_string = False
            elif raw.startswith("//", i):
                for j in range(i, len(raw)):
                    chars[j] = " "
                break
            elif raw.startswith("/*", i):
                chars[i] = chars[i + 1] = " "
                in_block_comment = True
                i += 2
                continue
            elif raw[i] == '"':
                in_string = True
            i += 1
        code = "".join(chars)
        stripped = code.strip()
        if skip_depth:
            if stripped.startswith("`ifdef") or stripped.startswith("`ifndef"):
                skip_depth += 1
            elif stripped.startswith("`endif"):
                skip_depth -= 1
            continue
        if stripped.startswith("`ifndef SYNTHESIS"):
            skip_depth = 1
            continue
        if not stripped or stripped.startswith("`") or DECL.match(code) or STRUCTURAL.match(code):
            continue
        if stripped.startswith("initial"):
            continue
        start = 0
        m = DECL_WITH_VALUE.match(code)
        if m:
            start = m.end()
        elif re.match(r"^\s*(?:localparam|wire)\b", code):
            continue
        out.append((n, code, start))
    return out


def paren_depth(code: str, pos: int) -> int:
    return code[:pos].count("(") - code[:pos].count(")")


def bracket_depth(code: str, pos: int) -> int:
    return code[:pos].count("[") - code[:pos].count("]")


def is_procedural_nba(code: str, pos: int) -> bool:
    """A '<=' at parenthesis depth 0 after an lvalue that starts a statement: a non-blocking assignment."""
    return paren_depth(code, pos) == 0 and not code.lstrip().startswith("assign") and \
        bool(NBA_LHS.search(code[:pos]))


def literal_mutants(code: str, start: int, delta: int):
    """(span, replacement, is_index) for every literal of the code that tolerates +/-delta."""
    taken = []
    for m in SIZED.finditer(code, start):
        size, signed, base, digits = m.group(1), m.group(2), m.group(3), m.group(4)
        radix = {"d": 10, "h": 16, "b": 2}[base.lower()]
        value = int(digits.replace("_", ""), radix) + delta
        taken.append(m.span())
        if value < 0 or value >= (1 << int(size)):
            continue
        width = len(digits.replace("_", ""))
        text = {10: str(value), 16: f"{value:0{width}X}", 2: f"{value:0{width}b}"}[radix]
        yield m.span(4), text, bracket_depth(code, m.start()) > 0
    for m in PLAIN.finditer(code, start):
        if any(a <= m.start() < b for a, b in taken):
            continue
        value = int(m.group(1)) + delta
        if value < 0:
            continue
        yield m.span(1), str(value), bracket_depth(code, m.start()) > 0


def mutants_of(file: str, text: str) -> list[Mutant]:
    lines = text.splitlines()
    found: dict[tuple[int, str], Mutant] = {}
    for n, code, start in code_lines(text):
        raw = lines[n - 1]
        for name, kind, pattern, repl in OPERATORS:
            if pattern == "LITERAL":
                edits = [((a, b), t, "index" if idx else "const")
                         for (a, b), t, idx in literal_mutants(code, start, int(repl))]
            else:
                edits = []
                for m in re.finditer(pattern, code):
                    if m.start() < start:
                        continue
                    if name == "le->lt" and is_procedural_nba(code, m.start()):
                        continue
                    if name == "negate-if" and re.fullmatch(r"\(\s*!\s*\w+\s*\)", m.group(1)):
                        continue  # if (!x): drop-not already makes if (x)
                    new = m.expand(repl)
                    edits.append((m.span(), new, kind))
            for (a, b), new, k in edits:
                mutated = raw[:a] + new + raw[b:]
                if mutated == raw:
                    continue
                key = (n, mutated)
                if key in found:
                    continue
                op = name if pattern != "LITERAL" else f"{'index' if k == 'index' else 'const'}{repl}"
                found[key] = Mutant(file, n, a, op, k, raw.strip(), mutated.strip(), raw[a:b].strip() or raw[a:b],
                                    new.strip() if new.strip() else "(dropped)", TARGETS[file][1])
    return sorted(found.values(), key=lambda m: (m.line, m.col, op_order(m.op)))


def op_order(op: str) -> int:
    names = [o[0] for o in OPERATORS]
    base = op if op in names else ("lit+1" if op.endswith("+1") else "lit-1")
    return names.index(base)


def all_mutants(rtl: Path) -> list[Mutant]:
    out = []
    for file in TARGETS:
        out.extend(mutants_of(file, (rtl / file).read_text()))
    return out


# ---- the sample -----------------------------------------------------------------------------------------
def allocate(n: int, counts: dict[str, int]) -> dict[str, int]:
    """Quotas per file proportional to the weights (at least one per file when n allows), capped by the
    candidates a file has: one mutant at a time to the open file furthest below its weighted share."""
    files = [f for f in TARGETS if counts.get(f)]
    n = min(n, sum(counts[f] for f in files))
    quota = {f: int(n >= len(files)) for f in files}
    total_weight = sum(TARGETS[f][0] for f in files)
    while sum(quota.values()) < n:
        open_files = [f for f in files if quota[f] < counts[f]]
        f = max(open_files, key=lambda f: (n * TARGETS[f][0] / total_weight - quota[f], -files.index(f)))
        quota[f] += 1
    return quota


def sample(mutants: list[Mutant], n: int, seed: int) -> list[Mutant]:
    """A reproducible sample of n mutants: per-file quotas, and within a file a round robin over the
    operator kinds (each kind's candidates shuffled), so every kind of fault is represented."""
    by_file: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_file.setdefault(m.file, []).append(m)
    quota = allocate(n, {f: len(v) for f, v in by_file.items()})
    chosen = []
    for file, q in quota.items():
        rng = random.Random(f"{seed}:{file}")
        kinds: dict[str, list[Mutant]] = {}
        for m in by_file[file]:
            kinds.setdefault(m.kind, []).append(m)
        order = sorted(kinds)
        rng.shuffle(order)
        for k in order:
            rng.shuffle(kinds[k])
        picked = []
        while len(picked) < q:
            for k in order:
                if kinds[k] and len(picked) < q:
                    picked.append(kinds[k].pop())
        chosen.extend(picked)
    index = {m.id: i for i, m in enumerate(mutants)}
    return sorted(chosen, key=lambda m: index[m.id])


# ---- running one mutant ---------------------------------------------------------------------------------
def sources(rtl: Path) -> list[str]:
    files = sorted(rtl.glob("*.sv"))
    return [str(f) for f in sorted(files, key=lambda f: not f.stem.endswith("_pkg"))]


def compile_check(rtl: Path, duts: tuple[str, ...], cwd: Path) -> str | None:
    """None if iverilog elaborates every DUT top, else its first error lines."""
    cmd = ["iverilog", "-g2012", "-t", "null", *sum((["-s", d] for d in duts), []), *sources(rtl)]
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    if p.returncode == 0:
        return None
    lines = [ln for ln in (p.stderr + p.stdout).splitlines() if ln.strip()]
    return "\n".join(lines[:6]) or f"iverilog exit {p.returncode}"


ASSERTION = re.compile(r"(?:ERROR|FATAL): [^\s]*\.sv:\d+: .*")  # $error / $fatal of an RTL assertion


def run_dut(dut: str, params: dict, rtl: Path, build: Path, seed: int, timeout: float, log: Path) -> dict:
    """One `tb/runner.py <dut>` simulation of the RTL in `rtl`. status: pass / fail / timeout / build-error."""
    cmd = [sys.executable, str(ROOT / "tb" / "runner.py"), dut, "--sim", "icarus", "--seed", str(seed)]
    for k, v in params.items():
        cmd += ["-P", f"{k}={v}"]
    env = dict(os.environ, FLEXBLOCK_RTL_DIR=str(rtl), FLEXBLOCK_BUILD_DIR=str(build))
    for var in ("SIM", "FLEXBLOCK_TESTCASE", "COCOTB_TEST_FILTER", "TESTCASE", "WAVES", "FLEXBLOCK_SCALE"):
        env.pop(var, None)
    t0 = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
            status = None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)   # our own process group: the runner and its vvp
            proc.wait()
            rc, status = None, "timeout"
    seconds = time.monotonic() - t0
    text = log.read_text(errors="replace")
    failed, passed = [], []
    for xml in build.rglob("*results.xml"):
        try:
            tree = ET.parse(xml)
        except ET.ParseError:
            continue
        for tc in tree.iter("testcase"):
            name = tc.get("name") or "?"
            (failed if tc.find("failure") is not None or tc.find("error") is not None else passed).append(name)
    if status is None:
        if rc == 0:
            status = "pass"
        elif not list(build.rglob("*.vvp")):
            status = "build-error"          # the cocotb build (iverilog with these parameters) failed
        else:
            status = "fail"
            if not failed:
                failed = ["<simulation ended abnormally: " + _last_error(text) + ">"]
    return {"dut": dut, "params": params, "status": status, "seconds": round(seconds, 1), "failed": failed,
            "passed": len(passed), "log": str(log.relative_to(ROOT)),
            "assertions": sorted(set(ASSERTION.findall(text)))[:5]}


def _last_error(text: str) -> str:
    for ln in reversed(text.splitlines()):
        if "Error" in ln or "ERROR" in ln or "FAILED" in ln:
            return ln.strip()[:160]
    return "no results"


def configs_for(dut: str, mode: str) -> list[dict]:
    if mode == "regression":
        return REGRESSION_CONFIGS.get(dut) or [{}]
    return [{}]


def apply(snapshot: Path, m: Mutant, dest: Path) -> str:
    """Copy the snapshot to dest with the mutant's line replaced; returns the unified diff."""
    shutil.copytree(snapshot, dest)
    path = dest / m.file
    lines = path.read_text().splitlines(keepends=True)
    old = lines[m.line - 1]
    indent = old[: len(old) - len(old.lstrip())]
    new = indent + m.mutated + ("\n" if old.endswith("\n") else "")
    lines[m.line - 1] = new
    path.write_text("".join(lines))
    original = (snapshot / m.file).read_text().splitlines(keepends=True)
    return "".join(difflib.unified_diff(original, lines, f"a/rtl/{m.file}", f"b/rtl/{m.file}", n=1))


def run_mutant(m: Mutant, snapshot: Path, args, tag: str) -> Result:
    r = Result(m.id, m.file, m.line, m.op, m.kind, m.before, m.after, m.original, m.mutated, list(m.duts))
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="flexblock-mutant-", dir=args.workdir))
    try:
        rtl = work / "rtl"
        r.diff = apply(snapshot, m, rtl)
        err = compile_check(rtl, m.duts, work)
        if err:
            r.result, r.detail = "invalid", err
            return r
        for dut in m.duts:
            for i, params in enumerate(configs_for(dut, args.configs)):
                log = OUT / "logs" / f"{tag}-{dut}{''.join(f'-{k}{v}' for k, v in params.items())}.log"
                run = run_dut(dut, params, rtl, work / f"build{i}", args.sim_seed, args.timeout, log)
                r.runs.append(run)
                r.rtl_assertions.extend(a for a in run["assertions"] if a not in r.rtl_assertions)
                name = dut + "".join(f"[{k}={v}]" for k, v in params.items())
                if run["status"] == "build-error":
                    r.result, r.detail = "invalid", f"the {name} build fails: {_last_error(log.read_text())}"
                    return r
                if run["status"] == "timeout":
                    r.result, r.detail = "timeout", f"{name} ran past {args.timeout:.0f} s"
                    return r
                if run["status"] == "fail":
                    r.result = "killed"
                    r.killed_by = [f"{name}:{t}" for t in run["failed"]]
                    if not args.keep_going:
                        return r
        if r.result == "pending":
            r.result = "survived"
        return r
    finally:
        r.seconds = round(time.monotonic() - t0, 1)
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)


# ---- reporting ------------------------------------------------------------------------------------------
def summary(results: list[Result]) -> dict:
    count = {k: sum(r.result == k for r in results) for k in ("killed", "timeout", "survived", "invalid")}
    valid = count["killed"] + count["timeout"] + count["survived"]
    return {"total": len(results), **count, "valid": valid,
            "kill_rate": round((count["killed"] + count["timeout"]) / valid, 4) if valid else None,
            "kill_rate_without_timeouts": round(count["killed"] / valid, 4) if valid else None}


def table(results: list[Result]) -> str:
    def cell(s: str, width: int) -> str:
        s = s.replace("|", "\\|")
        return s if len(s) <= width else s[: width - 1] + "…"
    lines = ["| # | file:line | operator | original -> mutated | DUTs run | result | killed by |",
             "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(results, 1):
        ran = sorted({run["dut"] for run in r.runs}, key=r.duts.index) if r.runs else []
        duts = ", ".join(ran) if ran else "-"
        killer = "; ".join(r.killed_by[:2]) + (" ..." if len(r.killed_by) > 2 else "")
        if r.result in ("invalid", "timeout"):
            killer = r.detail.splitlines()[0] if r.detail else ""
        lines.append(f"| {i} | {r.file}:{r.line} | {r.op} | `{cell(r.before, 40)}` -> `{cell(r.after, 40)}` "
                     f"| {duts} | {r.result} | {cell(killer, 70)} |")
    return "\n".join(lines)


def report_text(results: list[Result], meta: dict) -> str:
    s = summary(results)
    out = [f"# Mutation check of the FlexBlock RTL\n",
           f"seed {meta['seed']} (simulation seed {meta['sim_seed']}), configs '{meta['configs']}', "
           f"{meta.get('elapsed_s', 0) / 60:.1f} min\n",
           table(results), "",
           f"**total {s['total']}: killed {s['killed']}, timeout {s['timeout']}, survived {s['survived']}, "
           f"invalid {s['invalid']}** — kill rate over the {s['valid']} valid mutants: "
           + (f"{s['kill_rate']:.1%} ({s['kill_rate_without_timeouts']:.1%} without timeouts)"
              if s["valid"] else "n/a"), ""]
    survivors = [r for r in results if r.result == "survived"]
    if survivors:
        out.append("## Survivors\n")
        for r in survivors:
            out.append(f"### {r.id}\n")
            if r.rtl_assertions:
                out.append("RTL assertions fired (an $error alone does not fail a test): "
                           + "; ".join(r.rtl_assertions))
            out.append("```diff\n" + r.diff.rstrip() + "\n```\n")
    flagged = [r for r in results if r.rtl_assertions and r.result != "survived"]
    if flagged:
        out.append("## RTL assertions seen in other mutants\n")
        for r in flagged:
            out.append(f"- {r.id} ({r.result}): {r.rtl_assertions[0]}")
    return "\n".join(out) + "\n"


def write_report(results: list[Result], meta: dict, json_path: Path, md_path: Path | None) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "summary": summary(results), "mutants": [asdict(r) for r in results]}
    tmp = json_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(json_path)
    if md_path:
        md_path.write_text(report_text(results, meta))


# ---- main -----------------------------------------------------------------------------------------------
def snapshot_rtl(dest: Path) -> dict:
    shutil.copytree(RTL, dest)
    digest = hashlib.sha1()
    for f in sorted(dest.glob("*.sv")):
        digest.update(f.name.encode() + f.read_bytes())
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rtl"], cwd=ROOT, capture_output=True,
                               text=True).stdout.split("\n")
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        dirty, head = [], "?"
    return {"rtl_sha1": digest.hexdigest()[:12], "git_head": head,
            "rtl_uncommitted": [ln[3:] for ln in dirty if ln.strip()]}


def select_only(mutants: list[Mutant], spec: str) -> list[Mutant]:
    """file:line[:op] (op may be 'op@col')."""
    parts = spec.split(":")
    if len(parts) < 2:
        raise SystemExit(f"--only wants file:line[:operator], got '{spec}'")
    file = parts[0] if parts[0].endswith(".sv") else parts[0] + ".sv"
    file = Path(file).name
    line = int(parts[1])
    picked = [m for m in mutants if m.file == file and m.line == line]
    if len(parts) > 2:
        op = ":".join(parts[2:])
        picked = [m for m in picked if m.op == op or f"{m.op}@{m.col}" == op]
    if not picked:
        raise SystemExit(f"no mutant at {spec} (see --list --all)")
    return picked


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1, help="seed of the sample (and of the simulations)")
    ap.add_argument("--sim-seed", type=int, default=None, help="simulation seed (default: --seed)")
    ap.add_argument("--max", type=int, default=64, help="mutants in the sample (default 64)")
    ap.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    ap.add_argument("--all", action="store_true", help="with --list: every candidate, not the sample")
    ap.add_argument("--only", action="append", default=[], metavar="FILE:LINE[:OP]",
                    help="run only the mutant(s) of this line (any candidate, sampled or not); repeatable")
    ap.add_argument("--configs", choices=["default", "regression"], default="default",
                    help="default: one run per DUT with default parameters; regression: every parameter "
                         "set of tb/test_rtl.py")
    ap.add_argument("--timeout", type=float, default=240, help="seconds per simulation run (default 240)")
    ap.add_argument("--keep-going", action="store_true", help="run every DUT even after a kill")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary mutant directories")
    ap.add_argument("--no-baseline", action="store_true", help="skip the check that the unmutated RTL passes")
    ap.add_argument("--workdir", default=None, help="where the temporary directories go (default $TMPDIR)")
    ap.add_argument("--json", default=str(OUT / "report.json"), help="the JSON report")
    args = ap.parse_args(argv)
    args.sim_seed = args.seed if args.sim_seed is None else args.sim_seed
    if args.configs == "regression":
        REGRESSION_CONFIGS.update(regression_configs())

    base = Path(tempfile.mkdtemp(prefix="flexblock-mutation-", dir=args.workdir))
    try:
        snapshot = base / "rtl"
        meta = snapshot_rtl(snapshot)
        candidates = all_mutants(snapshot)
        if args.only:
            chosen = [m for spec in args.only for m in select_only(candidates, spec)]
        else:
            chosen = sample(candidates, args.max, args.seed)

        if args.list:
            shown = candidates if args.all else chosen
            for i, m in enumerate(shown, 1):
                print(f"{i:4} {m.file}:{m.line:<4} {m.op:15} {m.kind:6} {m.before!r} -> {m.after!r}   "
                      f"[{', '.join(m.duts)}]\n       {m.mutated}")
            per_file = {f: sum(m.file == f for m in shown) for f in TARGETS}
            print(f"{len(shown)} mutants ({len(candidates)} candidates): "
                  + ", ".join(f"{f} {c}" for f, c in per_file.items()))
            return 0

        from tqdm import tqdm

        meta.update({"seed": args.seed, "sim_seed": args.sim_seed, "configs": args.configs,
                     "max": args.max, "candidates": len(candidates), "only": args.only,
                     "timeout_s": args.timeout, "started": time.strftime("%Y-%m-%d %H:%M:%S")})
        t_start = time.monotonic()
        if args.only:
            tag = re.sub(r"[^\w.-]+", "_", "-".join(args.only))
            if len(tag) > 80:  # many --only specs: keep the file name legal
                tag = f"{tag[:40]}-{len(args.only)}specs-{hashlib.sha1(tag.encode()).hexdigest()[:10]}"
            json_path, md_path = OUT / f"only-{tag}.json", None
        else:
            json_path, md_path = Path(args.json), Path(args.json).with_suffix(".md")

        if not args.no_baseline and not args.only:
            order = list(dict.fromkeys(d for _, (_, ds) in TARGETS.items() for d in ds))  # first use in TARGETS
            duts = sorted({d for m in chosen for d in m.duts}, key=order.index)
            print(f"baseline: the unmutated RTL on {', '.join(duts)} (seed {args.sim_seed})", flush=True)
            baseline = []
            for dut in duts:
                for i, params in enumerate(configs_for(dut, args.configs)):
                    log = OUT / "logs" / f"baseline-{dut}{''.join(f'-{k}{v}' for k, v in params.items())}.log"
                    run = run_dut(dut, params, snapshot, base / f"baseline-build-{dut}{i}", args.sim_seed,
                                  args.timeout, log)
                    baseline.append(run)
                    print(f"  {dut} {params or ''}: {run['status']} in {run['seconds']} s", flush=True)
                    if run["status"] != "pass":
                        print(f"the unmutated RTL does not pass {dut} (see {run['log']}): nothing to measure",
                              file=sys.stderr)
                        return 2
            meta["baseline"] = [{k: r[k] for k in ("dut", "params", "status", "seconds")} for r in baseline]

        results: list[Result] = []
        bar = tqdm(chosen, unit="mutant", dynamic_ncols=True, file=sys.stdout, mininterval=1.0)
        try:
            for i, m in enumerate(bar, 1):
                bar.set_description(f"{m.file}:{m.line} {m.op}")
                op_tag = re.sub(r"[^\w+-]", "_", m.op)
                tag = f"{i:03d}-{m.file[:-3]}-{m.line}-{op_tag}"
                r = run_mutant(m, snapshot, args, tag)
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
