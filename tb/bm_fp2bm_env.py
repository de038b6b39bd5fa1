"""bm_fp2bm bench layer: FP32 blocks to convert, the model-based scoreboard, coverage and env. The seed
strobe, its driver and the word packing are fp2bfp's (tb/fp2bfp_env.py)."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import ConfigDB, uvm_sequence

from fbuvm import seeds
from fbuvm.bfm import Strobe
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem
from fp2bfp_env import Fp2BfpDriver, SeedItem, pack_words, random_block, unpack_words
from models import bits_float32, float32_bits
from models import block_minifloat as bm


def dut_params() -> tuple[int, bm.Minifloat, bm.Minifloat]:
    top = cocotb.top
    p = lambda n: int(getattr(top, n).value)
    return p("K"), bm.Minifloat(p("EX"), p("MX")), bm.Minifloat(p("EG"), p("MG"))


class BmBlockItem(StreamItem):
    """One FP32 block to convert; `seed_with` loads that seed in the cycle the block is taken."""

    def __init__(self, name, words: np.ndarray, fmt: int, sr: int, seed_with: int | None = None):
        super().__init__(name)
        self.words, self.fmt, self.sr, self.seed_with = np.asarray(words, np.uint32), fmt, sr, seed_with

    def beat(self) -> dict:
        return {"data": pack_words(self.words), "fmt": self.fmt, "sr": self.sr}

    def __str__(self):
        return f"block fmt={self.fmt} sr={self.sr} data=[{', '.join(f'{w:08x}' for w in self.words)}]"


def predict_block(model: bm.BlockMinifloat, txn: dict) -> dict:
    k, fx, fg = dut_params()
    words = unpack_words(txn["data"], k)
    q = model(bits_float32(words), fg if txn["fmt"] else fx, bm.SR if txn["sr"] else bm.RNE)
    elems = 0
    for i, c in enumerate(q.codes()[0].tolist()):
        elems |= int(c) << (fx.bits * i)
    return {"se": int(q.se[0]) & 0xFF, "elems": elems, "flags": int(q.flags[0]), "fmt": int(txn["fmt"]),
            "input": txn}


class BmFp2BmScoreboard(Scoreboard):
    input_ports = ("in", "seed")

    def build_phase(self):
        super().build_phase()
        self.reset_model()

    def reset_model(self):
        cdb = lambda key: int(ConfigDB().get(self, "", key))
        self.model = bm.BlockMinifloat(dut_params()[0], cdb("SR_SEED"), cdb("SR_BITS"))

    def predict(self, port, txn):
        if port == "seed":
            self.model.load_seed(txn["seed"])
            return []
        out = predict_block(self.model, txn)
        if txn.get("seed_load"):
            self.model.load_seed(txn["seed"])
        return [out]

    def same(self, expected, actual):
        return all(expected[f] == actual[f] for f in actual)

    def describe(self, expected, actual):
        k, fx, _ = dut_params()
        data = unpack_words(expected["input"]["data"], k)
        lines = [f"input block: fmt={expected['input']['fmt']} sr={expected['input']['sr']} "
                 f"data=[{', '.join(f'{w:08x}' for w in data)}]"]
        for f in ("se", "flags", "fmt"):
            lines.append(f"{f}: expected {expected[f]} actual {actual[f]}")
        mask = (1 << fx.bits) - 1
        ee = [(expected["elems"] >> (fx.bits * i)) & mask for i in range(k)]
        ae = [(actual["elems"] >> (fx.bits * i)) & mask for i in range(k)]
        bad = [i for i in range(k) if ee[i] != ae[i]]
        lines.append(f"elements {bad} differ: expected {[ee[i] for i in bad]} actual {[ae[i] for i in bad]}")
        return "\n  ".join(lines)


# --- corner classes, for coverage -----------------------------------------------------------------------
CORNERS = ("normal", "zero_block", "nan", "inf", "subnormal32", "tiny_max", "saturate", "flush", "minifloat_sub")


def block_corners(words: np.ndarray, q: bm.BMTensor) -> set[str]:
    """What a block exercises, from its input words and the converted block."""
    e, frac = (words >> 23) & 0xFF, words & 0x7FFFFF
    out = set()
    if not (words & 0x7FFFFFFF).any():
        out.add("zero_block")
    if ((e == 255) & (frac != 0)).any():
        out.add("nan")
    if ((e == 255) & (frac == 0)).any():
        out.add("inf")
    if ((e == 0) & (frac != 0)).any():
        out.add("subnormal32")
    finite_nonzero = (e < 255) & ((words & 0x7FFFFFFF) != 0)
    if finite_nonzero.any() and q.se[0] == -128 and not (e == 255).any():
        out.add("tiny_max")
    top = (1 << (q.fmt.bits - 1)) - 1
    mag = q.codes()[0] & top
    if (mag == top).any() and not (e == 255).any():
        out.add("saturate")
    if (finite_nonzero & (mag == 0)).any():
        out.add("flush")
    if ((q.expf[0] == 0) & (q.man[0] != 0)).any():
        out.add("minifloat_sub")
    return out or {"normal"}


@CoverPoint("bm_fp2bm.fmt", xf=lambda f, r, c, fl: f, bins=[0, 1])
@CoverPoint("bm_fp2bm.sr", xf=lambda f, r, c, fl: r, bins=[0, 1])
@CoverPoint("bm_fp2bm.corner", xf=lambda f, r, c, fl: c, bins=list(CORNERS))
@CoverPoint("bm_fp2bm.flags", xf=lambda f, r, c, fl: fl, bins=[0, 1, 2, 3])
@CoverCross("bm_fp2bm.fmt_x_sr_x_corner", items=["bm_fp2bm.fmt", "bm_fp2bm.sr", "bm_fp2bm.corner"])
def _sample_block(fmt, sr, corner, flags):
    pass


class BmFp2BmCoverage(CoverageCollector):
    def sample(self, txn):
        k, fx, fg = dut_params()
        words = unpack_words(txn["input"]["data"], k)
        fmt = fg if txn["fmt"] else fx
        q = bm.BMTensor.from_codes(np.array([[(txn["elems"] >> (fx.bits * i)) & ((1 << fx.bits) - 1)
                                              for i in range(k)]]),
                                   [bm_signed(txn["se"])], [txn["flags"]], fmt)
        for corner in block_corners(words, q):
            _sample_block(txn["fmt"], txn["input"]["sr"], corner, txn["flags"])


def bm_signed(se: int) -> int:
    return se - 256 if se & 0x80 else se


class BmFp2BmEnv(StreamEnv):
    inputs = {"in": ["data", "fmt", "sr"]}
    sidebands = {"in": ["seed_load", "seed"]}  # a seed load may coincide with a block (read from the pins)
    outputs = {"out": ["se", "elems", "flags", "fmt"]}
    scoreboard_class = BmFp2BmScoreboard
    coverage_class = BmFp2BmCoverage

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
def corner_block(rng: np.random.Generator, k: int, kind: str, fmt: bm.Minifloat) -> np.ndarray:
    """A block of one corner class (CORNERS), as binary32 words."""
    words = random_block(rng, k)
    if kind == "zero_block":
        return np.where(rng.random(k) < 0.5, 0x80000000, 0).astype(np.uint32)
    if kind == "nan":
        words[rng.integers(0, k, rng.integers(1, k + 1))] = 0x7FC00000 | int(rng.integers(0, 1 << 22))
        if rng.random() < 0.3:
            words[:] = 0x7F800001 + rng.integers(0, 1 << 22, k).astype(np.uint32)  # all NaN
    elif kind == "inf":
        words[rng.integers(0, k)] = rng.choice([0x7F800000, 0xFF800000])
        if rng.random() < 0.3:
            words[rng.integers(0, k)] = 0xFFC00000
    elif kind == "subnormal32":
        words = rng.integers(1, 1 << 23, k).astype(np.uint32) | (rng.integers(0, 2, k).astype(np.uint32) << 31)
    elif kind == "tiny_max":  # max at or below 2^-127 (se = -127, -128, or clamped to -128 from below)
        top = int(rng.integers(-135, -126))
        vals = np.ldexp(rng.uniform(1, 2, k), top - rng.integers(0, 12, k)) * rng.choice([-1, 1], k)
        words = float32_bits(vals.astype(np.float32))
    elif kind in ("tie", "saturate"):  # exact RNE ties on the block's grid; the max rounding past the top
        se = int(rng.integers(-100, 100))
        offset = se - fmt.emax
        t = rng.integers(fmt.emin, fmt.emax + 1, k)  # emin: the subnormal range
        j = rng.integers(0, (1 << fmt.m) - 1, k)
        lsb = np.where(t > fmt.emin, t - fmt.m, fmt.emin + 1 - fmt.m)
        base = np.where(t > fmt.emin, np.ldexp(1.0, np.maximum(t, fmt.emin + 1)), 0.0)
        vals = base + np.ldexp(j + 0.5, lsb)
        vals[0] = 2.0 ** fmt.emax * (2 - 2.0 ** -(fmt.m + 2)) if kind == "saturate" else 2.0 ** fmt.emax
        words = float32_bits((np.ldexp(vals, offset) * rng.choice([-1, 1], k)).astype(np.float32))
    elif kind == "spread":  # one large element, the rest far below: minifloat subnormals and flushes
        vals = np.ldexp(rng.uniform(1, 2, k), int(rng.integers(-60, 60)) - rng.integers(0, 14, k))
        words = float32_bits((vals * rng.choice([-1, 1], k)).astype(np.float32))
    elif kind != "random":
        raise ValueError(kind)
    return words


KINDS = ("random", "zero_block", "nan", "inf", "subnormal32", "tiny_max", "tie", "saturate", "spread")


class BmBlockSequence(uvm_sequence):
    """`count` blocks; format, rounding and kind drawn per block; a seed load every `seed_every` blocks
    (between blocks or in the cycle a block is taken)."""

    def __init__(self, name, count=100, kinds=KINDS, srs=(0, 1), seed_every=0):
        super().__init__(name)
        self.count, self.kinds, self.srs, self.seed_every = count, kinds, srs, seed_every

    async def body(self):
        rng = seeds.rng(self.get_name())
        k, fx, fg = dut_params()
        for i in range(self.count):
            fmt = int(rng.integers(0, 2))
            sr = int(rng.choice(self.srs))
            words = corner_block(rng, k, str(rng.choice(self.kinds)), fg if fmt else fx)
            if self.seed_every and i % self.seed_every == self.seed_every - 1:
                if rng.random() < 0.5:
                    await self._send(SeedItem("seed", int(rng.integers(0, 1 << 16))))
                else:
                    await self._send(BmBlockItem(f"b{i}", words, fmt, sr, int(rng.integers(0, 1 << 16))))
                    continue
            await self._send(BmBlockItem(f"b{i}", words, fmt, sr))

    async def _send(self, item):
        await self.start_item(item)
        await self.finish_item(item)
