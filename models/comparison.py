"""The design comparison (issue 17): FlexBlock, FAST, Block Minifloat, NeuroFlix, fixed-precision BFP and
bfloat16 on the same training workloads (models/workloads.py). scripts/compare.py is the command line.

Every design is a `Row`: a design family (its cycle model, its operation counts) and a precision policy
(a GEMM -> a mixture of the family's mode pairs, weights summing to 1).

Cycles. Each GEMM job runs on the design's output-stationary 4 x 4 array of its MAC unit, as its own
validated cycle model counts it (the function the design's RTL bench asserts), `count` jobs one after the
other:
    FlexBlock / fixed BFP   models.pe_array.gemm_cycles(m, k, n, mode_a, mode_b, 4, 4, 16)
    FAST                    models.fast.array_cycles(4, 4, m, k, n, m_a, m_b)            (groups of 16)
    Block Minifloat         models.block_minifloat.array_cycles(m, k, n, 4, 4, 48)       (blocks of 48)
    NeuroFlix               models.neuroflix.gemm_cycles(m, k, n, wa, fmt_b, 4, 4)       (groups of 8)
    bfloat16                models.bf16_mac.gemm_cycles(m, k, n, 4, 4, 4)                (4 lanes)
The operand formats of a pass are the training arithmetics' (models/training/arithmetics.py: FlexBlock's
configurations, BMArithmetic.formats, NeuroFlixArithmetic.mode).

Iso-area. A design with unit area `cells` (Yosys generic cells of its MAC unit) gets budget / cells units
instead of 16; throughput is assumed to scale linearly with the number of units (tile padding on a bigger
array is not modelled), so its time on the budget is cycles_4x4 * 16 * cells / budget / f_clk, and the ratio
of two designs' times does not depend on the budget. f_clk: the logic-depth estimate of scripts/timing.py.

Energy. Operation counts per GEMM (from the same mode pairs and the unit structure the RTL has: sub-multiplier
products per element product = (Wa/4)(Wb/4) for FlexBlock, (ma/2)(mb/2) 2-bit passes for FAST, brick pairs
for NeuroFlix, one product per element pair for BM and bfloat16; one binary32 accumulation per block / group
term) times per-operation energies of one table, `HOROWITZ` (M. Horowitz, "Computing's energy problem (and
what we can do about it)", ISSCC 2014, 45 nm, 0.9 V), plus operand traffic from an 8 KB SRAM buffer (10 pJ
per 64 bits, same table) with the output-stationary array's reuse (A read once per column tile, B once per
row tile, C written once in binary32). Not counted: FP32 -> format conversion, DRAM, control, leakage.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from . import bf16_mac, block_minifloat as bm, fast, neuroflix as nf, pe_array
from .bfp import FB12, FB16, FB24, MODE_NAMES, mag_bits
from .training.precision import CONFIG_MODES, PASS_OPERANDS
from .workloads import Gemm

ROWS = COLS = 4  # the array every cycle model is evaluated on (each design's default)
FB_BLOCK, FAST_GROUP, BM_BLOCK = 16, fast.GROUP, 48

# --- the energy table ------------------------------------------------------------------------------------
HOROWITZ = {  # pJ per operation, 45 nm, 0.9 V (Horowitz, ISSCC 2014, "Computing's energy problem")
    "int_add": {8: 0.03, 16: 0.05, 32: 0.1},
    "int_mul": {8: 0.2, 32: 3.1},
    "fp16_add": 0.4, "fp32_add": 0.9, "fp16_mul": 1.1, "fp32_mul": 3.7,
    "sram_8kb_per_64b": 10.0,
}
SRAM_PJ_PER_BIT = HOROWITZ["sram_8kb_per_64b"] / 64


def int_add_pj(width: float) -> float:
    """Integer add energy by width: piecewise linear through the table's 8/16/32-bit points (0 at 0 bits),
    proportional to the width beyond 32 bits."""
    pts = [(0, 0.0)] + sorted(HOROWITZ["int_add"].items())
    if width >= pts[-1][0]:
        return pts[-1][1] * width / pts[-1][0]
    for (w0, e0), (w1, e1) in zip(pts, pts[1:]):
        if width <= w1:
            return e0 + (e1 - e0) * (width - w0) / (w1 - w0)
    raise AssertionError


def int_mul_pj(wa: int, wb: int) -> float:
    """Integer multiply energy ~ the partial-product array, wa x wb bits: 0.2 pJ x wa wb / 64 (the table's
    8 x 8 point; its 32 x 32 point, 3.1 pJ, is 3% below this line)."""
    return HOROWITZ["int_mul"][8] * wa * wb / 64


@dataclass
class Ops:
    """Energy of a GEMM by component (pJ) and the bits it moves."""
    mul: float = 0.0
    add: float = 0.0
    acc: float = 0.0
    mem: float = 0.0

    @property
    def total(self) -> float:
        return self.mul + self.add + self.acc + self.mem

    def __iadd__(self, o: "Ops"):
        self.mul += o.mul
        self.add += o.add
        self.acc += o.acc
        self.mem += o.mem
        return self

    def scaled(self, w: float) -> "Ops":
        return Ops(self.mul * w, self.add * w, self.acc * w, self.mem * w)


def traffic_pj(g: Gemm, bits_a: float, bits_b: float) -> float:
    """Operand reads (A once per column tile, B once per row tile) and binary32 result writes, one instance."""
    bits = (g.m * g.k * math.ceil(g.n / COLS) * bits_a + g.k * g.n * math.ceil(g.m / ROWS) * bits_b
            + g.m * g.n * 32)
    return bits * SRAM_PJ_PER_BIT


# --- design families: cycles and operation energy of one GEMM instance in one mode pair --------------------
@dataclass(frozen=True)
class Family:
    name: str
    cycles: Callable[[Gemm, tuple], int]   # one instance (job) on the 4 x 4 array
    energy: Callable[[Gemm, tuple], Ops]   # one instance
    mode_name: Callable[[tuple], str]


def _fb_cycles(g, mode):
    return pe_array.gemm_cycles(g.m, g.k, g.n, mode[0], mode[1], ROWS, COLS, FB_BLOCK)


def _fb_energy(g, mode):
    wa, wb = mag_bits(mode[0]), mag_bits(mode[1])
    p = g.m * g.k * g.n
    sub = p * (wa // 4) * (wb // 4)  # 4 x 4-bit sub-multiplier products (mm_multiplier), shifts and sums
    terms = g.m * g.n * math.ceil(g.k / FB_BLOCK)  # block terms into fp32_acc
    exp = 10 / FB_BLOCK  # 8-bit shared exponent + 2 flag bits per block
    return Ops(mul=sub * int_mul_pj(4, 4), add=p * int_add_pj(wa + wb + 4), acc=terms * HOROWITZ["fp32_add"],
               mem=traffic_pj(g, wa + 1 + exp, wb + 1 + exp))


def _fast_cycles(g, mode):
    return fast.array_cycles(ROWS, COLS, g.m, g.k, g.n, mode[0], mode[1])


FAST_EXP_BITS = 4  # FastArithmetic's shared exponents


def _fast_energy(g, mode):
    ma, mb = mode
    passes = fast.cycles_per_group(ma, mb)
    sub = g.m * g.k * g.n * passes  # 2 x 2-bit chunk products, one per pass, summed by the pass's tree
    group_passes = g.m * g.n * math.ceil(g.k / FAST_GROUP) * passes  # shifted pass sums into the group sum
    terms = g.m * g.n * math.ceil(g.k / FAST_GROUP)
    exp = FAST_EXP_BITS / FAST_GROUP
    return Ops(mul=sub * int_mul_pj(2, 2), add=sub * int_add_pj(2 + 2 + 4) + group_passes * int_add_pj(ma + mb + 4),
               acc=terms * HOROWITZ["fp32_add"], mem=traffic_pj(g, ma + 1 + exp, mb + 1 + exp))


def _bm_cycles(g, mode):
    return bm.array_cycles(g.m, g.k, g.n, ROWS, COLS, BM_BLOCK)


def _bm_energy(g, mode):
    fa, fb = mode
    p = g.m * g.k * g.n
    terms = g.m * g.n * math.ceil(g.k / BM_BLOCK)
    kul = bm.kulisch_bits(fa, fb, BM_BLOCK)
    return Ops(mul=p * int_mul_pj(fa.m + 1, fb.m + 1),
               add=p * (int_add_pj(max(fa.e, fb.e) + 1) + int_add_pj(kul)),  # exponent add + Kulisch add
               acc=terms * HOROWITZ["fp32_add"],
               mem=traffic_pj(g, fa.bits + 8 / BM_BLOCK, fb.bits + 8 / BM_BLOCK))


def _nf_cycles(g, mode):
    return nf.gemm_cycles(g.m, g.k, g.n, mode[0], mode[1], ROWS, COLS)


def _nf_bits(fmt) -> int:
    if fmt in nf.FIXED_WIDTH:
        return nf.FIXED_WIDTH[fmt]
    e, f = nf.FLOAT_FIELDS[fmt]
    return 1 + e + f


def _nf_energy(g, mode):
    wa, fb = mode
    steps = nf.steps(wa, fb)
    sub = g.m * g.k * g.n * steps  # brick pairs (4 x 4 bits), summed over the beat's G elements per lane
    lane_adds = g.m * g.n * math.ceil(g.k / nf.GROUP) * steps  # the beat's brick sum into its 32-bit lane
    outs = g.m * g.n
    return Ops(mul=sub * int_mul_pj(4, 4), add=sub * int_add_pj(4 + 4 + 3) + lane_adds * int_add_pj(nf.LANE_BITS),
               acc=outs * (nf.LANES * int_add_pj(nf.LANE_BITS) + HOROWITZ["fp32_add"]),  # the merge, once
               mem=traffic_pj(g, _nf_bits(wa), _nf_bits(fb)))


def _bf16_cycles(g, mode):
    return bf16_mac.gemm_cycles(g.m, g.k, g.n, ROWS, COLS, 4)


def _bf16_energy(g, mode):
    p = g.m * g.k * g.n
    # a bfloat16 product rounded to binary32 (the table's FP16 multiply: the nearest entry), then one binary32
    # add per product (the adder tree and the accumulator)
    return Ops(mul=p * HOROWITZ["fp16_mul"], add=0.0, acc=p * HOROWITZ["fp32_add"], mem=traffic_pj(g, 16, 16))


_NF_NAMES = {v: k for k, v in nf.FORMATS.items()}

FAMILIES = {
    "FlexBlock": Family("FlexBlock", _fb_cycles, _fb_energy, lambda m: f"{MODE_NAMES[m[0]]}x{MODE_NAMES[m[1]]}"),
    "FAST": Family("FAST", _fast_cycles, _fast_energy, lambda m: f"m{m[0]}xm{m[1]}"),
    "BM": Family("Block Minifloat", _bm_cycles, _bm_energy, lambda m: f"{m[0].name}x{m[1].name}"),
    "NeuroFlix": Family("NeuroFlix", _nf_cycles, _nf_energy, lambda m: f"{_NF_NAMES[m[0]]}x{_NF_NAMES[m[1]]}"),
    "BF16": Family("bfloat16", _bf16_cycles, _bf16_energy, lambda m: "bf16xbf16"),
}


# --- precision policies: a GEMM -> [(weight, mode pair)] -------------------------------------------------
Policy = Callable[[Gemm], list]


def flexblock_static(config: str) -> Policy:
    """A FlexBlock configuration (training.precision.CONFIG_MODES): the pass's two operand modes."""
    modes = CONFIG_MODES[config]

    def policy(g: Gemm):
        op_a, op_b = PASS_OPERANDS[g.pass_]
        return [(1.0, (modes[op_a], modes[op_b]))]
    return policy


def uniform(mode) -> Policy:
    return lambda g: [(1.0, mode)]


def mixture(weights: list) -> Policy:
    """Every GEMM as the same mixture [(weight, mode pair)] (a dynamic policy's measured occupancy)."""
    return lambda g: list(weights)


def bm_policy(family: str) -> Policy:
    from .block_minifloat import BMArithmetic
    ar = BMArithmetic(family=family, block=BM_BLOCK)
    return lambda g: [(1.0, ar.formats(g.pass_))]


NEUROFLIX_POLICIES = {"FX8/FP16": ("FX8", "FX8", "FP16"), "FX4/E5M2": ("FX4", "FX4", "E5M2")}


def neuroflix_policy(policy: str) -> Policy:
    ar = nf.NeuroFlixArithmetic(*NEUROFLIX_POLICIES[policy])
    return lambda g: [(1.0, ar.mode(g.pass_))]


def bracket(measured: float, costs: dict) -> list:
    """The two-point mixture of uniform modes whose cost matches a measured one: costs {mode: cost of the
    same work in that mode}; returns [(weight, mode)] over the two modes bracketing `measured` (clamped to the
    cheapest / dearest)."""
    items = sorted(costs.items(), key=lambda kv: kv[1])
    if measured <= items[0][1]:
        return [(1.0, items[0][0])]
    if measured >= items[-1][1]:
        return [(1.0, items[-1][0])]
    for (m0, c0), (m1, c1) in zip(items, items[1:]):
        if c0 <= measured <= c1:
            w1 = (measured - c0) / (c1 - c0)
            return [(1.0 - w1, m0), (w1, m1)]
    raise AssertionError


# --- rows ------------------------------------------------------------------------------------------------
@dataclass
class Row:
    label: str                 # the table's row
    family: str                # FAMILIES key
    policy: Policy
    unit: str                  # area row (docs/results/area*.md) of the design's MAC unit
    clock: str                 # timing.json entry of the unit
    train: tuple | None        # (training.json config label, rounding) of its accuracy
    note: str = ""
    baseline: bool = False


@dataclass
class Result:
    row: Row
    workload: str
    cycles: float
    macs: int
    energy: Ops
    modes: dict = field(default_factory=dict)  # mode name -> share of the cycles


def evaluate(row: Row, gemms: list[Gemm], workload: str = "") -> Result:
    """Cycles (4 x 4 array, the family's cycle model), MACs and energy of one training step of `gemms`."""
    fam = FAMILIES[row.family]
    cycles, energy, modes = 0.0, Ops(), {}
    for g in gemms:
        mix = row.policy(g)
        if abs(sum(w for w, _ in mix) - 1.0) > 1e-9:
            raise ValueError(f"{row.label}: policy weights for {g.name} do not sum to 1")
        for w, mode in mix:
            c = w * g.count * fam.cycles(g, mode)
            cycles += c
            energy += fam.energy(g, mode).scaled(w * g.count)
            name = fam.mode_name(mode)
            modes[name] = modes.get(name, 0.0) + c
    return Result(row, workload, cycles, sum(g.macs for g in gemms), energy,
                  {k: v / cycles for k, v in modes.items()})


@dataclass(frozen=True)
class Unit:
    cells: int
    mhz: float


def iso_area_time(cycles: float, unit: Unit, budget_cells: float, same_clock: bool = False) -> float:
    """Seconds (or cycles, same_clock) of `cycles` 4 x 4-array cycles on `budget_cells` of the design's units:
    the 16-unit array's cycles scaled by 16 cells / budget (linear scaling in the number of units)."""
    scaled = cycles * ROWS * COLS * unit.cells / budget_cells
    return scaled if same_clock else scaled / (unit.mhz * 1e6)


def products_per_cycle_per_kcell(res: Result, unit: Unit) -> float:
    return res.macs / res.cycles / (ROWS * COLS * unit.cells / 1000)


def fb_uniform_costs(gemms: list[Gemm], steps: int) -> dict:
    """FlexBlock schedule cycles (models.training.engine's count: no fill) of `steps` steps of `gemms` with
    every operand in one mode: the scale DYN's measured cycles are read against."""
    return {(m, m): steps * sum(g.count * pe_array.gemm_schedule(g.m, g.k, g.n, m, m, ROWS, COLS, FB_BLOCK)
                                for g in gemms) for m in (FB24, FB16, FB12)}


def fast_uniform_costs(gemms: list[Gemm], steps: int) -> dict:
    """FAST array cycles of `steps` steps of `gemms` with every layer at one precision (FastArithmetic.cycles)."""
    return {(p, p): steps * sum(g.count * fast.array_cycles(ROWS, COLS, g.m, g.k, g.n, p, p) for g in gemms)
            for p in fast.PRECISIONS}


def default_rows(dyn_mix: list | None = None, fast_mix: list | None = None) -> list[Row]:
    """The table's rows. dyn_mix / fast_mix: the dynamic policies' mixtures (scripts/compare.py measures them
    from the training runs; default: FB16 / 8-bit, their start and end points)."""
    pe = ("pe (multi-mode)", "pe")
    rows = [Row(f"FlexBlock {c}", "FlexBlock", flexblock_static(c), *pe, (c, "RTZ")) for c in
            ("FB24", "FB16", "FB12", "FB12LG16", "FB12LG24")]
    rows.append(Row("FlexBlock DYN", "FlexBlock", mixture(dyn_mix or [(1.0, (FB16, FB16))]), *pe, ("DYN", "RTZ"),
                    note="dynamic ZSE control: its whole-run mode occupancy on the MLP"))
    rows += [
        Row("Fixed BFP FB16 (one-mode PE)", "FlexBlock", uniform((FB16, FB16)), "pe (FB16 x FB16 only)",
            "pe (FB24 x FB24 only)", ("FB16", "RTZ"), note="FlexBlock locked to FB16 on the constant-folded PE"),
        Row("Fixed BFP FB24 (one-mode PE)", "FlexBlock", uniform((FB24, FB24)), "pe (FB24 x FB24 only)",
            "pe (FB24 x FB24 only)", ("FB24", "RTZ"), note="FlexBlock locked to FB24 on the constant-folded PE"),
        Row("FAST (schedule)", "FAST", mixture(fast_mix or [(1.0, (8, 8))]),
            "fast_mac (multi-mode: 2/4/6/8-bit mantissas, EW=8; 16 / 4 / 1.8 / 1 products per cycle)",
            "fast_mac (FAST fMAC, 8-bit exponents)", ("FAST", "-"),
            note="Fast First, Accurate Second: its whole-run precision occupancy on the MLP"),
        Row("BM8", "BM", bm_policy("BM8"), "bm_mac BM8 (K=48), multi-format", "bm_mac (Block Minifloat BM8, K=16)",
            ("BM BM8", "-")),
        Row("BM6", "BM", bm_policy("BM6"), "bm_mac BM6 (K=48), multi-format", "bm_mac (Block Minifloat BM8, K=16)",
            ("BM BM6", "-")),
        Row("NeuroFlix FX8/FP16", "NeuroFlix", neuroflix_policy("FX8/FP16"),
            "neuroflix_mac (G=8), multi-mode: 1-8 products/cycle", "neuroflix_mac (NeuroFlix, G=8)",
            ("NeuroFlix FX8/FP16", "-")),
        Row("NeuroFlix FX4/E5M2", "NeuroFlix", neuroflix_policy("FX4/E5M2"),
            "neuroflix_mac (G=8), multi-mode: 1-8 products/cycle", "neuroflix_mac (NeuroFlix, G=8)",
            ("NeuroFlix FX4/E5M2", "-")),
        Row("bfloat16", "BF16", uniform(("bf16", "bf16")), "bf16_mac (N=4: 4 products/cycle)",
            "bf16_mac (bfloat16, 4 products/cycle)", ("BF16", "-"), baseline=True),
    ]
    return rows
