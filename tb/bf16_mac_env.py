"""bf16_mac bench layer: reductions of bfloat16 groups, the model-based scoreboard, coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import (BurstItem, CoverageCollector, JobTimer, Scoreboard, StreamEnv, StreamItem, pack_lanes,
                              unpack_lanes)
from models import bits_float32
from models import bf16_mac as model


def lanes() -> int:
    return int(cocotb.top.N.value)


def unpack(word: int, n: int) -> list[int]:
    """One port value -> its N 16-bit patterns, element i at [16i +: 16]."""
    return unpack_lanes(word, 16, n)


class ReductionItem(StreamItem):
    """One reduction: T beats of N bfloat16 pairs, sent as one burst (the last beat has in_last)."""

    def __init__(self, name, a: np.ndarray, b: np.ndarray):
        super().__init__(name)
        self.a, self.b = a, b  # uint16, shape (T, N)

    def beats(self):
        t = len(self.a)
        return [{"a": pack_lanes(self.a[i], 16), "b": pack_lanes(self.b[i], 16), "last": int(i == t - 1)}
                for i in range(t)]

    def __str__(self):
        return f"{self.get_name()}: {len(self.a)} beats"


class Bf16MacScoreboard(Scoreboard):
    def reset_model(self):
        self.beats = []

    def model(self, a, b):
        return model.mac(a, b)

    def predict(self, port, txn):
        n = lanes()
        self.beats.append((unpack(txn["a"], n), unpack(txn["b"], n)))
        if not txn["last"]:
            return []
        a = np.array([x for x, _ in self.beats], np.uint16)
        b = np.array([y for _, y in self.beats], np.uint16)
        self.beats = []
        bits, flags = self.model(a, b)
        return [{"result": int(bits), "flags": int(flags), "a": a, "b": b}]

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        beats = "\n    ".join(" ".join(f"{x:04x}*{y:04x}" for x, y in zip(ra, rb))
                              for ra, rb in zip(expected["a"][:16].tolist(), expected["b"][:16].tolist()))
        return (f"reduction of {len(expected['a'])} beats (a*b per element):\n    {beats}\n  "
                f"expected {expected['result']:08x} ({bits_float32(expected['result'])!r}) flags {expected['flags']}"
                f"\n  actual   {actual['result']:08x} ({bits_float32(actual['result'])!r}) flags {actual['flags']}")


def f32_class(bits: int) -> str:
    e, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if e == 255:
        return "nan" if frac else "inf"
    return ("subnormal" if frac else "zero") if e == 0 else "normal"


def bf16_class(bits: int) -> str:
    return f32_class(int(bits) << 16)


@CoverPoint("bf16_mac.result", xf=lambda r, n, f: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
@CoverPoint("bf16_mac.length", xf=lambda r, n, f: n, bins=["one", "few", "many"])
@CoverPoint("bf16_mac.flags", xf=lambda r, n, f: f, bins=[0, 1, 2, 3])
@CoverCross("bf16_mac.result_x_length", items=["bf16_mac.result", "bf16_mac.length"])
def _sample_reduction(result, length, flags):
    pass


@CoverPoint("bf16_mac.operand", xf=lambda c: c, bins=["zero", "subnormal", "normal", "inf", "nan"])
def _sample_operand(cls):
    pass


@CoverPoint("bf16_mac.product", xf=lambda c: c, bins=["zero", "subnormal", "normal", "inf", "nan"])
def _sample_product(cls):
    pass


class Bf16MacCoverage(CoverageCollector):
    def sample(self, txn):
        n = len(txn["a"])
        _sample_reduction(f32_class(txn["result"]), "one" if n == 1 else "few" if n < 8 else "many",
                          txn["flags"])
        for cls in {bf16_class(v) for v in np.concatenate([txn["a"].ravel(), txn["b"].ravel()])}:
            _sample_operand(cls)
        for cls in {f32_class(int(p)) for p in model.products(txn["a"], txn["b"]).view(np.uint32).ravel()}:
            _sample_product(cls)


class Bf16MacEnv(StreamEnv):
    inputs = {"in": ["a", "b", "last"]}
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = Bf16MacScoreboard
    coverage_class = Bf16MacCoverage

    def build_phase(self):
        super().build_phase()
        self.timer = JobTimer(self.clock, self.sources["in"], self.sinks["out"])


# --- stimulus -----------------------------------------------------------------------------------------------
KINDS = ("normal", "wide", "subnormal", "tiny", "huge", "near_max", "special", "tie", "single", "cancel")


def operands(rng: np.random.Generator, shape, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """bfloat16 operand pairs of a kind: 'normal' (exponents near 1.0), 'wide' (spread over +/-40 binades:
    alignment and rounding), 'subnormal' (subnormal operands and products), 'tiny' (products below binary32's
    normal range), 'huge' (products beyond binary32: overflow to Inf), 'special' (zeros, NaN, Inf mixed in),
    'tie' (1.0 x values 2^0, 2^-24, 1.5*2^-23: binary32 ties in the additions)."""
    n = int(np.prod(shape))

    def pattern(center, spread):
        e = np.clip(center + rng.integers(-spread, spread + 1, n), 1, 254)
        return (rng.integers(0, 2, n) << 15) | (e << 7) | rng.integers(0, 128, n)

    if kind == "normal":
        a, b = pattern(127, 4), pattern(127, 4)
    elif kind == "wide":
        a, b = pattern(127, 40), pattern(127, 40)
    elif kind == "subnormal":  # subnormal a, b such that the products are binary32 normals or subnormals
        a = (rng.integers(0, 2, n) << 15) | rng.integers(1, 128, n)
        b = pattern(150, 45)
        swap = rng.random(n) < 0.5  # either operand subnormal
        a, b = np.where(swap, b, a), np.where(swap, a, b)
    elif kind == "tiny":
        a, b = pattern(40, 20), pattern(40, 20)
    elif kind == "huge":
        a, b = pattern(200, 30), pattern(200, 30)
    elif kind == "near_max":  # each group sum finite, near 2^127: the running sum overflows to Inf by itself
        lanes_log2 = int(np.log2(shape[-1]))
        a = pattern(127 + 63, 0)
        b = (0x8000 if rng.random() < 0.5 else 0) | ((127 + 62 - lanes_log2) << 7) | rng.integers(0, 128, n)
        a &= 0x7FFF
    elif kind == "single":  # one nonzero pair per beat: every product's rounding is seen on its own
        a, b = operands(rng, shape, str(rng.choice(["wide", "subnormal", "tiny", "huge", "special"])))
        a, b = a.reshape(-1, shape[-1]).copy(), b.reshape(-1, shape[-1]).copy()
        keep = rng.integers(0, shape[-1], len(a))
        mask = np.arange(shape[-1])[None, :] != keep[:, None]
        a[mask] &= 0x8000  # +/-0
        return a.reshape(shape), b.reshape(shape)
    elif kind == "cancel":  # adjacent products cancel exactly inside the tree: zeros and their signs
        a, b = pattern(127, 30), pattern(127, 30)
        m = n // 2 * 2  # (with N = 1 the pairs are consecutive beats: they cancel in the running sum)
        pa, pb = a[:m].reshape(-1, 2), b[:m].reshape(-1, 2)
        pa[:, 1], pb[:, 1] = pa[:, 0] ^ 0x8000, pb[:, 0]
        zero = rng.random(len(pa)) < 0.2  # sometimes zero pairs of either sign: -0 + -0 stays -0
        pa[zero] = 0x8000 * (rng.random((int(zero.sum()), 2)) < 0.7)
        a[:m], b[:m] = pa.ravel(), pb.ravel()
    elif kind == "tie":
        e = rng.choice([127, 103, 104], n)
        a = (rng.integers(0, 2, n) << 15) | (e << 7) | np.where(e == 104, 0x40, 0)
        b = np.full(n, 0x3F80)
    elif kind == "special":
        a, b = pattern(127, 10), pattern(127, 10)
        for x in (a, b):
            pick = rng.random(n)
            x[pick < 0.1] &= 0x8000                                                         # +/-0
            x[(pick >= 0.1) & (pick < 0.15)] = (x[(pick >= 0.1) & (pick < 0.15)] & 0x8000) | 0x7F80  # Inf
            m = (pick >= 0.15) & (pick < 0.18)
            x[m] = 0x7F80 | rng.integers(1, 128, int(m.sum())) | (rng.integers(0, 2, int(m.sum())) << 15)  # NaN
    else:
        raise ValueError(kind)
    return a.reshape(shape).astype(np.uint16), b.reshape(shape).astype(np.uint16)


class ReductionSequence(uvm_sequence):
    """`count` reductions of 1..max_len beats, each of one kind drawn from `kinds`; some cancel exactly
    (the last beat is the first one negated)."""

    def __init__(self, name, count=100, max_len=12, kinds=KINDS):
        super().__init__(name)
        self.count, self.max_len, self.kinds = count, max_len, kinds

    async def body(self):
        rng = seeds.rng(self.get_name())
        n = lanes()
        for r in range(self.count):
            t = int(rng.integers(1, self.max_len + 1))
            a, b = operands(rng, (t, n), str(rng.choice(self.kinds)))
            if t > 1 and rng.random() < 0.15:  # exact cancellation: the last beat negates the first
                if rng.random() < 0.5:
                    t = 2
                    a, b = a[:2], b[:2]
                a[-1], b[-1] = a[0] ^ 0x8000, b[0]
            item = ReductionItem(f"r{r}", a, b)
            await self.start_item(item)
            await self.finish_item(item)


class JobSequence(uvm_sequence):
    """One GEMM-like job for the cycle model: `reductions` reductions of `beats` beats, one burst."""

    def __init__(self, name, reductions: int, beats: int):
        super().__init__(name)
        self.reductions, self.n_beats = reductions, beats

    async def body(self):
        rng = seeds.rng(self.get_name())
        a, b = operands(rng, (self.reductions, self.n_beats, lanes()), "normal")
        item = BurstItem("job", [ReductionItem(f"r{r}", a[r], b[r]) for r in range(self.reductions)])
        await self.start_item(item)
        await self.finish_item(item)


