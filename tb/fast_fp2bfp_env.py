"""fast_fp2bfp bench layer: FP32 groups to convert, the model-based scoreboard (models.fast.quantize with the
unit's LFSR state), coverage and env. The driver and seed items are fp2bfp's (same seed strobe)."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import ConfigDB, uvm_sequence

from fbuvm import seeds
from fbuvm.bfm import Strobe
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem
from fp2bfp_env import Fp2BfpDriver, SeedItem, pack_words, random_block, unpack_words
from models import bits_float32, fast, float32_bits

ROUNDINGS = (fast.RTZ, fast.RNE, fast.RNA, fast.SR)


def params() -> tuple[int, int]:
    """(G, EW) of the DUT."""
    return int(cocotb.top.G.value), int(cocotb.top.EW.value)


class GroupItem(StreamItem):
    """One FP32 group to convert at mantissa width m; `seed_with` loads that seed in the cycle it is taken."""

    def __init__(self, name, words, m: int, rounding: int, base: int, seed_with: int | None = None):
        super().__init__(name)
        self.words, self.m, self.rounding, self.base = np.asarray(words, np.uint32), m, rounding, base
        self.seed_with = seed_with

    def beat(self) -> dict:
        return {"data": pack_words(self.words), "prec": fast.prec_code(self.m), "rounding": self.rounding,
                "base": self.base}

    def __str__(self):
        return (f"group m={self.m} rounding={self.rounding} base={self.base} "
                f"data=[{', '.join(f'{w:08x}' for w in self.words)}]")


def group_fields(q, g: int) -> dict:
    """The output fields of a converted group (fast.quantize of one group)."""
    return {"base": q.base, "exp": int(q.code[0]), "flags": int(q.flags[0]),
            "sign": int(np.dot(q.sign[0].astype(np.int64), 1 << np.arange(g))),
            "mag": int.from_bytes(q.mag[0].astype(np.uint8).tobytes(), "little")}


class FastFp2BfpScoreboard(Scoreboard):
    input_ports = ("in", "seed")

    def build_phase(self):
        super().build_phase()
        self.reset_model()

    def reset_model(self):
        self.seed = int(ConfigDB().get(self, "", "SR_SEED"))
        self.done = 0  # groups accepted since the last seed load

    def convert(self, words, m, rounding, base):
        g, ew = params()
        return fast.quantize(bits_float32(words), m, rounding, g, ew, base=None if ew == 8 else base,
                             seed=self.seed, first_group=self.done, sr_bits=int(ConfigDB().get(self, "", "SR_BITS")))

    def predict(self, port, txn):
        if port == "seed":
            self.seed, self.done = txn["seed"], 0
            return []
        g, ew = params()
        words = unpack_words(txn["data"], g)
        m = 2 * txn["prec"] + 2
        q = self.convert(words, m, txn["rounding"], txn["base"])
        sr_state = (self.seed, self.done)  # the LFSR state it converted with (a wrong model's self-check reuses it)
        self.done += 1
        if txn.get("seed_load"):
            self.seed, self.done = txn["seed"], 0
        return [{**group_fields(q, g), "prec": txn["prec"], "input": txn, "m": m, "sr_state": sr_state,
                 "emax": int(fast.group_max_exponent(bits_float32(words))[0])}]

    def same(self, expected, actual):
        return all(expected[f] == actual[f] for f in actual)

    def describe(self, expected, actual):
        g, _ = params()
        inp = expected["input"]
        lines = [f"input group: m={expected['m']} rounding={inp['rounding']} base={inp['base']} "
                 f"data=[{', '.join(f'{w:08x}' for w in unpack_words(inp['data'], g))}]"]
        for f in ("base", "exp", "flags", "prec"):
            lines.append(f"{f}: expected {expected[f]} actual {actual[f]}")
        lines.append(f"sign: expected {expected['sign']:0{g}b} actual {actual['sign']:0{g}b}")
        em = np.frombuffer(expected["mag"].to_bytes(g, "little"), np.uint8)
        am = np.frombuffer(actual["mag"].to_bytes(g, "little"), np.uint8)
        bad = np.flatnonzero(em != am).tolist()
        lines.append(f"mag: elements {bad} differ: expected {em[bad].tolist()} actual {am[bad].tolist()}")
        return "\n  ".join(lines)


# --- coverage ----------------------------------------------------------------------------------------------
CORNERS = ("normal", "zero_group", "nan", "inf", "subnormal", "tie", "saturate", "flush")
CLAMPS = ("none", "down", "up")


def group_corners(words: np.ndarray, m: int, e_grp: int) -> set[str]:
    """The corner classes a group exercises at its (possibly clamped) exponent e_grp."""
    e = (words >> 23) & 0xFF
    frac = words & 0x7FFFFF
    out = set()
    if not (words & 0x7FFFFFFF).any():
        out.add("zero_group")
    if ((e == 255) & (frac != 0)).any():
        out.add("nan")
    if ((e == 255) & (frac == 0)).any():
        out.add("inf")
    if ((e == 0) & (frac != 0)).any():
        out.add("subnormal")
    e_eff = np.where(e == 0, (frac != 0).astype(np.int64), e.astype(np.int64))
    sig = np.where(e == 0, frac, frac | (1 << 23)).astype(np.int64)
    s = np.clip(e_grp - e_eff + 24 - m, 1, 41)
    rem = sig & ((np.int64(1) << s) - 1)
    nonzero = (e < 255) & (sig != 0)
    if (nonzero & (rem == (np.int64(1) << (s - 1)))).any():
        out.add("tie")
    if (nonzero & ((sig >> s) == 0)).any():
        out.add("flush")
    # saturation: the rounding may carry past 2^m - 1 (at or above half an LSB below it), or the 4-bit
    # code clamped the group below this element
    if (nonzero & ((((sig >> s) >= (1 << m) - 1) & (rem >= (np.int64(1) << (s - 1)))) | (e_grp < e_eff))).any():
        out.add("saturate")
    return out or {"normal"}


@CoverPoint("fast_fp2bfp.prec", xf=lambda m, r, c, k, f: m, bins=list(fast.PRECISIONS))
@CoverPoint("fast_fp2bfp.rounding", xf=lambda m, r, c, k, f: r, bins=list(ROUNDINGS))
@CoverPoint("fast_fp2bfp.corner", xf=lambda m, r, c, k, f: c, bins=list(CORNERS))
@CoverPoint("fast_fp2bfp.clamp", xf=lambda m, r, c, k, f: k, bins=list(CLAMPS))
@CoverPoint("fast_fp2bfp.flags", xf=lambda m, r, c, k, f: f, bins=[0, 1, 2, 3])
@CoverCross("fast_fp2bfp.prec_x_rounding_x_corner",
            items=["fast_fp2bfp.prec", "fast_fp2bfp.rounding", "fast_fp2bfp.corner"])
def _sample_group(m, rounding, corner, clamp, flags):
    pass


class FastFp2BfpCoverage(CoverageCollector):
    def sample(self, txn):
        g, ew = params()
        words = unpack_words(txn["input"]["data"], g)
        e_grp = txn["base"] + txn["exp"]
        clamp = "none" if e_grp == txn["emax"] else "down" if e_grp < txn["emax"] else "up"
        if ew == 8:  # no clamping exists: sample the bins a 4-bit unit would call 'none'
            clamp = "none"
        for corner in group_corners(words, txn["m"], e_grp):
            _sample_group(txn["m"], txn["input"]["rounding"], corner, clamp, txn["flags"])


class FastFp2BfpEnv(StreamEnv):
    inputs = {"in": ["data", "prec", "rounding", "base"]}
    sidebands = {"in": ["seed_load", "seed"]}  # a seed load may coincide with a group (read from the pins)
    outputs = {"out": ["base", "exp", "sign", "mag", "flags", "prec"]}
    scoreboard_class = FastFp2BfpScoreboard
    coverage_class = FastFp2BfpCoverage

    def build_phase(self):
        ConfigDB().set(None, "*", "SR_SEED", int(cocotb.top.SR_SEED.value))
        ConfigDB().set(None, "*", "SR_BITS", int(cocotb.top.SR_BITS.value))
        super().build_phase()

    def connect_phase(self):
        super().connect_phase()
        self.seed_strobe.subscribe(self.scoreboard.inlets["seed"].write)

    def make_driver(self, port, source):
        self.seed_strobe = Strobe(self.clock, ["seed_load", "seed"])
        return Fp2BfpDriver(f"{port}_driver", self, source, self.seed_strobe)


# --- stimulus ---------------------------------------------------------------------------------------------
KINDS = ("random", "normal", "zero_group", "nan", "inf", "subnormal", "tie", "saturate", "top", "bottom", "huge_tiny")


def corner_group(rng: np.random.Generator, g: int, kind: str, m: int) -> np.ndarray:
    """A group that hits one corner class at mantissa width m."""
    words = random_block(rng, g)
    if kind == "normal":  # every element in [1, 1.5) x 2^e: no flush, no saturation, (almost) no tie
        e = int(rng.integers(-120, 120))
        vals = np.ldexp(1 + rng.uniform(0, 0.5, g), e)
        vals[0] = np.ldexp(1.1, e)  # (1.25 would be a tie at m = 2)
        return float32_bits((vals * rng.choice([-1, 1], g)).astype(np.float32))
    if kind == "zero_group":
        return np.where(rng.random(g) < 0.5, 0x80000000, 0).astype(np.uint32)
    if kind == "nan":
        words[rng.integers(0, g, rng.integers(1, g + 1))] = 0x7FC00000 | int(rng.integers(0, 1 << 22))
    elif kind == "inf":
        words[rng.integers(0, g)] = rng.choice([0x7F800000, 0xFF800000])
        if rng.random() < 0.3:
            words[rng.integers(0, g)] = 0xFFC00000
    elif kind == "subnormal":
        words = rng.integers(1, 1 << 23, g).astype(np.uint32) | (rng.integers(0, 2, g).astype(np.uint32) << 31)
    elif kind in ("tie", "saturate", "top", "bottom"):
        e = 254 if kind == "top" else 1 if kind == "bottom" else int(rng.integers(2, 254))
        lsb = e - 127 - (m - 1)
        vals = np.ldexp(rng.integers(0, (1 << m) - 1, g) + 0.5, lsb)
        vals[0] = np.ldexp(1.5, e - 127)
        if kind == "saturate":
            vals[1] = np.ldexp((1 << m) - 0.5, lsb)
            vals[2] = np.ldexp((1 << m) - 0.25, lsb)
            vals[3] = np.ldexp((1 << m) - 1 / 512, lsb)
        words = float32_bits((vals * rng.choice([-1, 1], g)).astype(np.float32))
    elif kind == "huge_tiny":
        words[0] = float32_bits(np.float32(np.ldexp(1.0, 100)))[0]
    return words


def pick_base(rng: np.random.Generator, words: np.ndarray, ew: int, clamps: bool) -> int:
    """A per-tensor base for a 4-bit code: usually the one that fits (E_max - 15 .. E_max), with `clamps`
    also far below (the group clamps down and saturates) and above (clamps up, flushes)."""
    emax = int(fast.group_max_exponent(bits_float32(words))[0])
    r = rng.random()
    if not clamps or r < 0.5:
        delta = -int(rng.integers(0, 16))
    elif r < 0.75:
        delta = -int(rng.integers(16, 40))
    else:
        delta = int(rng.integers(1, 30))
    return int(np.clip(emax + delta, 0, 255)) if ew < 8 or rng.random() < 0.5 else int(rng.integers(0, 256))


class GroupSequence(uvm_sequence):
    """`count` groups, each with a precision, rounding, kind and base drawn from the given choices."""

    def __init__(self, name, count=80, precs=fast.PRECISIONS, roundings=ROUNDINGS, kinds=("random",),
                 seed_every=0, clamps=True):
        super().__init__(name)
        self.count, self.precs, self.roundings, self.kinds = count, precs, roundings, kinds
        self.seed_every, self.clamps = seed_every, clamps

    async def body(self):
        rng = seeds.rng(self.get_name())
        g, ew = params()
        for i in range(self.count):
            m = int(rng.choice(self.precs))
            rounding = int(rng.choice(self.roundings))
            kind = str(rng.choice(self.kinds))
            words = random_block(rng, g) if kind == "random" else corner_group(rng, g, kind, m)
            base = pick_base(rng, words, ew, self.clamps)
            seed_with = None
            if self.seed_every and i % self.seed_every == self.seed_every - 1:
                if rng.random() < 0.5:
                    await self._send(SeedItem("seed", int(rng.integers(0, 1 << 16))))
                else:
                    seed_with = int(rng.integers(0, 1 << 16))
            await self._send(GroupItem(f"g{i}", words, m, rounding, base, seed_with))

    async def _send(self, item):
        await self.start_item(item)
        await self.finish_item(item)
