"""neuroflix_mac bench layer: reductions of fixed x (fixed | float) groups, the model-based scoreboard,
coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import (BurstItem, CoverageCollector, JobTimer, Scoreboard, StreamEnv, StreamItem, pack_lanes,
                              unpack_lanes)
from models import bits_float32
from models import neuroflix as model

FORMAT_NAMES = {0: "FX4", 1: "FX8", 2: "E5M2", 3: "FP16"}
MODE_PAIRS = [(wa, fb) for wa in (0, 1) for fb in (0, 1, 2, 3)]


def group() -> int:
    return int(cocotb.top.G.value)


def pack(values, width: int) -> int:
    return pack_lanes(values, width)


def unpack(word: int, n: int, width: int) -> list[int]:
    return unpack_lanes(word, width, n)


class ReductionItem(StreamItem):
    """One reduction: T beats of G pairs (A bytes, B 16-bit elements), per-beat modes and scales, one burst."""

    def __init__(self, name, a, b, wa, fmt_b, scale):
        super().__init__(name)
        self.a, self.b = a, b                    # (T, G)
        self.wa, self.fmt_b, self.scale = wa, fmt_b, scale  # (T,)

    def beats(self):
        t = len(self.a)
        return [{"a": pack(self.a[i], 8), "b": pack(self.b[i], 16), "wa": int(self.wa[i]),
                 "fmt_b": int(self.fmt_b[i]), "scale": int(self.scale[i]) & 0x3FF, "last": int(i == t - 1)}
                for i in range(t)]

    def __str__(self):
        return f"{self.get_name()}: {len(self.a)} beats"


def _signed10(v: int) -> int:
    return v - 1024 if v & 0x200 else v


class NeuroFlixScoreboard(Scoreboard):
    def reset_model(self):
        self.beats = []

    def model(self, a, b, wa, fmt_b, scale):
        return model.mac(a, b, wa, fmt_b, scale)

    def predict(self, port, txn):
        g = group()
        self.beats.append((unpack(txn["a"], g, 8), unpack(txn["b"], g, 16), txn["wa"], txn["fmt_b"],
                           _signed10(txn["scale"])))
        if not txn["last"]:
            return []
        beats, self.beats = self.beats, []
        a, b, wa, fmt, scale = (np.array(v, np.int64) for v in zip(*beats))
        bits, flags = self.model(a, b, wa, fmt, scale)
        return [{"result": int(bits), "flags": int(flags), "a": a, "b": b, "wa": wa, "fmt_b": fmt, "scale": scale}]

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        beats = "\n    ".join(
            f"{FORMAT_NAMES[int(w)]} x {FORMAT_NAMES[int(f)]} scale {int(s)}: "
            + " ".join(f"{x:02x}*{y:04x}" for x, y in zip(ra, rb))
            for ra, rb, w, f, s in zip(expected["a"][:16].tolist(), expected["b"][:16].tolist(),
                                       expected["wa"], expected["fmt_b"], expected["scale"]))
        return (f"reduction of {len(expected['a'])} beats (A byte * B element):\n    {beats}\n  "
                f"expected {expected['result']:08x} ({bits_float32(expected['result'])!r}) flags {expected['flags']}"
                f"\n  actual   {actual['result']:08x} ({bits_float32(actual['result'])!r}) flags {actual['flags']}")


def f32_class(bits: int) -> str:
    e, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if e == 255:
        return "nan" if frac else "inf"
    return ("subnormal" if frac else "zero") if e == 0 else "normal"


def b_class(bits: int, fmt: int) -> str:
    if fmt < 2:
        return "fixed_max" if bits & (0x7 if fmt == 0 else 0x7F) == (0x7 if fmt == 0 else 0x7F) else (
            "zero" if bits & (0x7 if fmt == 0 else 0x7F) == 0 else "fixed")
    e, f = ((bits >> 10) & 0x1F, bits & 0x3FF) if fmt == 3 else ((bits >> 2) & 0x1F, bits & 0x3)
    if e == 31:
        return "nan" if f else "inf"
    return ("subnormal" if f else "zero") if e == 0 else "normal"


MODE_BINS = [f"{FORMAT_NAMES[wa]}x{FORMAT_NAMES[fb]}" for wa, fb in MODE_PAIRS] + ["mixed"]


@CoverPoint("neuroflix_mac.mode", xf=lambda m, r, n, f: m, bins=MODE_BINS)
@CoverPoint("neuroflix_mac.result", xf=lambda m, r, n, f: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
@CoverPoint("neuroflix_mac.length", xf=lambda m, r, n, f: n, bins=["one", "few", "many"])
@CoverPoint("neuroflix_mac.flags", xf=lambda m, r, n, f: f, bins=[0, 1, 2])
@CoverCross("neuroflix_mac.mode_x_result", items=["neuroflix_mac.mode", "neuroflix_mac.result"],
            ign_bins=[(m, r) for m in MODE_BINS[:8] if m.split("x")[1].startswith("FX") for r in ("inf", "nan")]
            + [("mixed", r) for r in ("zero", "subnormal", "normal", "inf", "nan")])
def _sample_reduction(mode, result, length, flags):
    pass


@CoverPoint("neuroflix_mac.b_operand", xf=lambda c: c,
            bins=["zero", "fixed", "fixed_max", "subnormal", "normal", "inf", "nan"])
def _sample_b(cls):
    pass


@CoverPoint("neuroflix_mac.a_operand", xf=lambda c: c, bins=["zero", "fixed", "max"])
def _sample_a(cls):
    pass


class NeuroFlixCoverage(CoverageCollector):
    def sample(self, txn):
        modes = {(int(w), int(f)) for w, f in zip(txn["wa"], txn["fmt_b"])}
        mode = "mixed" if len(modes) > 1 else "{}x{}".format(*(FORMAT_NAMES[c] for c in modes.pop()))
        n = len(txn["a"])
        _sample_reduction(mode, f32_class(txn["result"]), "one" if n == 1 else "few" if n < 8 else "many",
                          txn["flags"])
        for row_b, row_a, w, f in zip(txn["b"].tolist(), txn["a"].tolist(), txn["wa"], txn["fmt_b"]):
            for cls in {b_class(v, int(f)) for v in row_b}:
                _sample_b(cls)
            top = 0x7F if w else 0x7
            for cls in {"zero" if v & top == 0 else "max" if v & top == top else "fixed" for v in row_a}:
                _sample_a(cls)


class NeuroFlixEnv(StreamEnv):
    inputs = {"in": ["a", "b", "wa", "fmt_b", "scale", "last"]}
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = NeuroFlixScoreboard
    coverage_class = NeuroFlixCoverage

    def build_phase(self):
        super().build_phase()
        self.timer = JobTimer(self.clock, self.sources["in"], self.sinks["out"])


# --- stimulus -----------------------------------------------------------------------------------------------
KINDS = ("random", "special", "subnormal", "saturate", "tie", "underflow", "overflow", "tiny_result", "mixed")


def operand_b(rng, shape, fmt: int, kind: str) -> np.ndarray:
    n = int(np.prod(shape))
    if fmt < 2:
        b = rng.integers(0, 256, n)
        if kind == "saturate":
            b |= 0x7F
        return b.reshape(shape)
    fb = 10 if fmt == 3 else 2
    e = np.clip(15 + rng.integers(-6, 7, n), 1, 30)
    if kind in ("random", "mixed", "underflow", "overflow"):
        e = rng.integers(0, 31, n)
    elif kind == "subnormal":
        e = np.where(rng.random(n) < 0.6, 0, rng.integers(1, 4, n))
    elif kind == "saturate":
        e = np.where(rng.random(n) < 0.6, 30, e)
    f = rng.integers(0, 1 << fb, n)
    if kind == "saturate":
        f = np.where(e == 30, (1 << fb) - 1, f)
    b = (rng.integers(0, 2, n) << (5 + fb)) | (e << fb) | f
    if kind == "special":
        pick = rng.random(n)
        b = np.where(pick < 0.15, b & (1 << (5 + fb)), b)                                       # +/-0
        b = np.where((pick >= 0.15) & (pick < 0.22), (b & (1 << (5 + fb))) | (31 << fb), b)    # +/-Inf
        b = np.where((pick >= 0.22) & (pick < 0.25), (31 << fb) | rng.integers(1, 1 << fb, n), b)  # NaN
    if kind == "tie" and fmt == 3:
        # 2^(k) and 2^(k-24) in one beat: the exact sum is a binary32 tie; sometimes one ulp more
        # (exponent fields k, k - 24, k - 23: half a binary32 ulp of 2^(k-15), and one ulp)
        k = int(rng.integers(25, 31))
        b = np.zeros(n, np.int64)
        b[0::8], b[1::8] = k << 10, (k - 24) << 10
        b[2::8] = np.where(rng.random(len(b[2::8])) < 0.5, (k - 23) << 10, 0)
    return b.reshape(shape)


def operand_a(rng, shape, kind: str) -> np.ndarray:
    n = int(np.prod(shape))
    a = rng.integers(0, 256, n)
    a = np.where(rng.random(n) < 0.1, a & 0x80, a)
    if kind == "saturate":
        a |= 0x7F
    if kind == "tie":
        a = np.ones(n, np.int64)
    return a.reshape(shape)


def reduction(rng, t: int, g: int, wa: int, fmt: int, kind: str):
    """One reduction's operands, modes and scales (arrays over its T beats)."""
    a = operand_a(rng, (t, g), kind)
    b = operand_b(rng, (t, g), fmt, kind)
    wa_v, fmt_v = np.full(t, wa), np.full(t, fmt)
    scale = {"underflow": int(rng.integers(-512, -250)), "overflow": int(rng.integers(180, 512)),
             "tie": 0}.get(kind, int(rng.integers(-40, 41)))
    scale_v = np.full(t, scale)
    if kind == "tiny_result":  # scale the exact sum into binary32's subnormal range (2^-149 .. 2^-126)
        v = int(model.merge(model.lanes_of(a, b, wa, fmt)[0]))
        scale_v = np.full(t, -abs(v).bit_length() - 126 + int(rng.integers(-22, 2)) + (24 if fmt >= 2 else 0))
    if kind == "mixed":  # modes and scales change between the beats of one reduction (defined: last counts)
        wa_v, fmt_v = rng.integers(0, 2, t), rng.integers(0, 4, t)
        scale_v = rng.integers(-40, 41, t)
        b = np.stack([operand_b(rng, (g,), int(f), "random") for f in fmt_v])
    return a, b, wa_v, fmt_v, scale_v


class ReductionSequence(uvm_sequence):
    """`count` reductions of 1..max_len beats, each in a random mode pair and of a kind from `kinds`; some
    cancel exactly."""

    def __init__(self, name, count=100, max_len=6, kinds=KINDS, modes=MODE_PAIRS):
        super().__init__(name)
        self.count, self.max_len, self.kinds, self.modes = count, max_len, kinds, modes

    async def body(self):
        rng = seeds.rng(self.get_name())
        g = group()
        for r in range(self.count):
            t = int(rng.integers(1, self.max_len + 1))
            wa, fmt = self.modes[int(rng.integers(len(self.modes)))]
            a, b, wa_v, fmt_v, scale = reduction(rng, t, g, wa, fmt, str(rng.choice(self.kinds)))
            if t > 1 and rng.random() < 0.1:
                a[-1], b[-1] = a[0] ^ 0x80, b[0]
                wa_v[-1], fmt_v[-1] = wa_v[0], fmt_v[0]
            item = ReductionItem(f"r{r}", a, b, wa_v, fmt_v, scale)
            await self.start_item(item)
            await self.finish_item(item)



class JobSequence(uvm_sequence):
    """One GEMM-like job for the cycle model: `reductions` reductions of `beats` beats in one mode, one burst."""

    def __init__(self, name, reductions: int, beats: int, wa: int, fmt: int):
        super().__init__(name)
        self.reductions, self.n_beats, self.wa, self.fmt = reductions, beats, wa, fmt

    async def body(self):
        rng = seeds.rng(self.get_name())
        items = [ReductionItem(f"r{r}", *reduction(rng, self.n_beats, group(), self.wa, self.fmt, "random"))
                 for r in range(self.reductions)]
        item = BurstItem("job", items)
        await self.start_item(item)
        await self.finish_item(item)
