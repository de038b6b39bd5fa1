"""bm_mac bench layer: Block Minifloat block pairs, dot products, the model-based scoreboard, coverage, env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import Event
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem, pack_lanes, unpack_lanes
from models import bits_float32, float32_bits
from models import block_minifloat as bm
from models.pe import accumulate, term_fp32


def dut_params() -> tuple[int, bm.Minifloat, bm.Minifloat]:
    """(K, format X, format G) of the DUT."""
    top = cocotb.top
    p = lambda n: int(getattr(top, n).value)
    return p("K"), bm.Minifloat(p("EX"), p("MX")), bm.Minifloat(p("EG"), p("MG"))


def pack(codes) -> int:
    """K element codes -> one port value, element i at [i*EW +: EW] (EW = 1 + EX + MX = 1 + EG + MG)."""
    return pack_lanes(np.asarray(codes).tolist(), dut_params()[1].bits)


def unpack(value: int, k: int, ew: int) -> np.ndarray:
    return np.array(unpack_lanes(value, ew, k), np.int64)


class BlockPair:
    """One beat's meaning: A's block (format by a_fmt), B's block (format X), flags, `last`, and its kind
    (for coverage)."""

    def __init__(self, a_fmt, a_se, a_codes, a_flags, b_se, b_codes, b_flags, kind="random"):
        self.a_fmt, self.a_se, self.a_codes, self.a_flags = int(a_fmt), int(a_se), a_codes, int(a_flags)
        self.b_se, self.b_codes, self.b_flags, self.kind = int(b_se), b_codes, int(b_flags), kind

    def beat(self, last: bool) -> dict:
        return {"a_fmt": self.a_fmt, "a_se": self.a_se & 0xFF, "a_elems": pack(self.a_codes),
                "a_flags": self.a_flags, "b_se": self.b_se & 0xFF, "b_elems": pack(self.b_codes),
                "b_flags": self.b_flags, "last": int(last)}


class DotItem(StreamItem):
    """Dot products sent as one burst of beats: each one's block pairs, its last with `last`."""

    def __init__(self, name, dots: list[list[BlockPair]]):
        super().__init__(name)
        self.dots = dots

    def beats(self):
        return [p.beat(i == len(d) - 1) for d in self.dots for i, p in enumerate(d)]

    def beat(self):
        return self.beats()[0]

    def __str__(self):
        return f"{self.get_name()}: {len(self.dots)} dot products"


def _signed8(v: int) -> int:
    return v - 256 if v & 0x80 else v


def model_term(beat: dict, k: int, fx: bm.Minifloat, fg: bm.Minifloat) -> tuple[int, int, float]:
    """(P, X, binary32 term) of one beat, from the model (P and X in the model's per-format units)."""
    fa = fg if beat["a_fmt"] else fx
    a = bm.BMTensor.from_codes(unpack(beat["a_elems"], k, fa.bits)[None], [_signed8(beat["a_se"])], [0], fa)
    b = bm.BMTensor.from_codes(unpack(beat["b_elems"], k, fx.bits)[None], [_signed8(beat["b_se"])], [0], fx)
    p, x = bm.block_dot(a, b)
    return int(p[0]), int(x[0]), term_fp32(p, x)[0]


def predict_dot(beats: list[dict]) -> dict:
    """The expected output of one dot product (its beats in order) from the model."""
    k, fx, fg = dut_params()
    terms = [model_term(b, k, fx, fg) for b in beats]
    flags = np.array([b["a_flags"] | b["b_flags"] for b in beats])
    bits, fl = accumulate(np.array([t for *_, t in terms], np.float32)[:, None], flags[:, None])
    return {"result": int(bits[0]), "flags": int(fl[0]), "beats": beats, "terms": terms}


class BmMacScoreboard(Scoreboard):
    def reset_model(self):
        self.beats = []

    def predict(self, port, txn):
        self.beats.append(txn)
        if not txn["last"]:
            return []
        beats, self.beats = self.beats, []
        return [predict_dot(beats)]

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        lines = "\n    ".join(f"fmt_a={b['a_fmt']} se_a={_signed8(b['a_se'])} se_b={_signed8(b['b_se'])} "
                               f"flags={b['a_flags']}|{b['b_flags']} -> P={p} X={x} term {float(t)!r}"
                               for b, (p, x, t) in zip(expected["beats"][:16], expected["terms"]))
        return (f"dot product of {len(expected['beats'])} block pairs:\n    {lines}\n  "
                f"expected {expected['result']:08x} ({bits_float32(expected['result'])!r}) flags {expected['flags']}"
                f"\n  actual   {actual['result']:08x} ({bits_float32(actual['result'])!r}) flags {actual['flags']}")


def value_class(bits: int) -> str:
    e, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if e == 255:
        return "nan" if frac else "inf"
    if e == 0:
        return "subnormal" if frac else "zero"
    return "normal"


BLOCK_KINDS = ["random", "quantized", "zero", "subnormal", "top", "extreme"]
BLOCK_CLASSES = ["zero", "subnormal", "top", "extreme", "mixed"]


def block_class(codes: np.ndarray, se: int, fmt: bm.Minifloat) -> str:
    """What a block is, seen from its fields: all zero, only subnormal codes, all the top magnitude, a
    shared exponent near an end, or anything else."""
    mag = codes & ((1 << (fmt.bits - 1)) - 1)
    if not mag.any():
        return "zero"
    if (mag == (1 << (fmt.bits - 1)) - 1).all():
        return "top"
    if abs(se) >= 100:
        return "extreme"
    if not (mag >> fmt.m).any():
        return "subnormal"
    return "mixed"


@CoverPoint("bm_mac.result", xf=lambda r, n, f: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
@CoverPoint("bm_mac.length", xf=lambda r, n, f: n, bins=["one", "few", "many"])
@CoverPoint("bm_mac.flags", xf=lambda r, n, f: f, bins=[0, 1, 2, 3])
@CoverCross("bm_mac.result_x_length", items=["bm_mac.result", "bm_mac.length"],
            ign_bins=[("nan", "one")])
def _sample_dot(result, length, flags):
    pass


@CoverPoint("bm_mac.a_fmt", xf=lambda f, k: f, bins=[0, 1])
@CoverPoint("bm_mac.block", xf=lambda f, k: k, bins=BLOCK_CLASSES)
@CoverCross("bm_mac.fmt_x_block", items=["bm_mac.a_fmt", "bm_mac.block"])
def _sample_pair(fmt, kind):
    pass


class BmMacCoverage(CoverageCollector):
    def sample(self, txn):
        n = len(txn["beats"])
        _sample_dot(value_class(txn["result"]), "one" if n == 1 else "few" if n < 6 else "many", txn["flags"])
        k, fx, fg = dut_params()
        for b in txn["beats"]:
            fa = fg if b["a_fmt"] else fx
            _sample_pair(b["a_fmt"], block_class(unpack(b["a_elems"], k, fa.bits), _signed8(b["a_se"]), fa))


class BmMacEnv(StreamEnv):
    inputs = {"in": ["a_fmt", "a_se", "a_elems", "a_flags", "b_se", "b_elems", "b_flags", "last"]}
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = BmMacScoreboard
    coverage_class = BmMacCoverage

    def build_phase(self):
        super().build_phase()
        self.beat_edges: list[int] = []
        self.result_edge = 0
        self.results = 0
        self.new_result = Event()
        self.sources["in"].subscribe(self._take_beat)
        self.sinks["out"].subscribe(self._take_result)

    # Handshake times as rising-edge numbers (as tb/pe_array_env.py): the monitors publish a beat at the
    # falling edge after the rising edge that took it.
    def _take_beat(self, beat):
        self.beat_edges.append(self.clock.cycle)

    def _take_result(self, beat):
        self.result_edge = self.clock.cycle
        self.results += 1
        self.new_result.set()


# --- stimulus --------------------------------------------------------------------------------------------
def random_block(rng, fmt: bm.Minifloat, k: int, kind: str) -> tuple[np.ndarray, int, int]:
    """(codes, shared exponent, flags) of one block of a kind."""
    flags = int(rng.integers(0, 4)) if rng.random() < 0.05 else 0
    se = int(rng.integers(-20, 21))
    if kind == "random":
        codes = rng.integers(0, 1 << fmt.bits, k)
    elif kind == "zero":
        codes = rng.choice([0, 1 << (fmt.bits - 1)], k)  # +0 and -0 codes
    elif kind == "subnormal":  # E = 0 only
        codes = rng.integers(0, 1 << fmt.m, k) | (rng.integers(0, 2, k) << (fmt.bits - 1))
    elif kind == "top":  # every element the largest code, one sign: the Kulisch worst case
        codes = np.full(k, ((1 << (fmt.bits - 1)) - 1) | (int(rng.integers(0, 2)) << (fmt.bits - 1)))
    elif kind == "extreme":  # shared exponents at the ends: terms overflow binary32 or go subnormal
        codes = rng.integers(0, 1 << fmt.bits, k)
        se = int(rng.choice([-128, -127, -110, 100, 126, 127]))
    elif kind == "quantized":  # binary32 data with NaN/Inf/zero/subnormals through the model's converter
        x = (rng.standard_normal(k) * 2.0 ** rng.integers(-8, 8, k)).astype(np.float32)
        bits = float32_bits(x).copy()
        sel = rng.random(k)
        bits[sel < 0.1] = 0
        bits[(sel >= 0.1) & (sel < 0.15)] = rng.integers(1, 1 << 23) | 0x80000000
        bits[(sel >= 0.15) & (sel < 0.17)] = 0x7FC00000
        bits[(sel >= 0.17) & (sel < 0.19)] = 0xFF800000
        if rng.random() < 0.2:
            bits[:] = rng.integers(1, 1 << 23, k)  # binary32 subnormals only: shared exponent < -126
        q = bm.quantize(bits.view(np.float32), fmt, int(rng.choice([bm.RNE, bm.SR])), k,
                        int(rng.integers(0, 1 << 16)))
        return q.codes()[0], int(q.se[0]), int(q.flags[0])
    else:
        raise ValueError(kind)
    return np.asarray(codes, np.int64), se, flags


class DotSequence(uvm_sequence):
    """`count` dot products of 1..max_len block pairs; each block's kind drawn from `kinds`, A's format at
    random (or fixed by `a_fmt`); some dot products cancel exactly (a block pair and its negation)."""

    def __init__(self, name, count=60, max_len=8, kinds=tuple(BLOCK_KINDS), a_fmt=None, env=None):
        super().__init__(name)
        self.count, self.max_len, self.kinds, self.a_fmt, self.env = count, max_len, kinds, a_fmt, env

    async def body(self):
        rng = seeds.rng(self.get_name())
        k, fx, fg = dut_params()
        for r in range(self.count):
            n = int(rng.integers(1, self.max_len + 1))
            pairs = []
            for _ in range(n):
                fmt = int(rng.integers(0, 2)) if self.a_fmt is None else self.a_fmt
                kind_a, kind_b = (str(rng.choice(self.kinds)) for _ in range(2))
                a = random_block(rng, fg if fmt else fx, k, kind_a)
                b = random_block(rng, fx, k, kind_b)
                pairs.append(BlockPair(fmt, a[1], a[0], a[2], b[1], b[0], b[2], kind_a))
            if n > 1 and rng.random() < 0.15:
                p0 = pairs[0]
                neg = p0.a_codes ^ (1 << ((fg if p0.a_fmt else fx).bits - 1))
                pairs[-1] = BlockPair(p0.a_fmt, p0.a_se, neg, 0, p0.b_se, p0.b_codes, 0, p0.kind)
            item = DotItem(f"d{r}", [pairs])
            await self.start_item(item)
            await self.finish_item(item)
