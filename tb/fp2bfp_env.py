"""fp2bfp bench layer: transactions, stimulus sequences, model-based scoreboard, coverage and env."""
from __future__ import annotations

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import ConfigDB, uvm_sequence

from fbuvm import seeds
from fbuvm.bfm import Strobe, reset_epoch
from fbuvm.components import (CoverageCollector, Scoreboard, StreamDriver, StreamEnv, StreamItem, pack_lanes,
                               unpack_lanes)
from models import FB12, FB16, FB24, Fp2Bfp, bits_float32, float32_bits, mag_bits, mode_code
from models.fp2bfp import RNA, RNE, ROUNDING_NAMES, RTZ, SR

MODES = (FB24, FB16, FB12)
ROUNDINGS = (RTZ, RNE, RNA, SR)


def block_size() -> int:
    import cocotb
    return int(cocotb.top.K.value)


def pack_words(bits: np.ndarray) -> int:
    """K 32-bit words -> the in_data port integer (element i at bits [32i+31:32i])."""
    return int.from_bytes(np.asarray(bits, "<u4").tobytes(), "little")


def unpack_words(value: int, k: int) -> np.ndarray:
    return np.frombuffer(value.to_bytes(4 * k, "little"), "<u4").copy()


def unpack_fields(value: int, k: int, bits: int) -> np.ndarray:
    return np.array(unpack_lanes(value, bits, k), np.int64)


class BlockItem(StreamItem):
    """One FP32 block to convert. `seed_with` loads that seed in the cycle the block is taken."""

    def __init__(self, name, words: np.ndarray, mode: int, rounding: int, seed_with: int | None = None):
        super().__init__(name)
        self.words = np.asarray(words, np.uint32)
        self.mode = mode
        self.rounding = rounding
        self.seed_with = seed_with

    def beat(self) -> dict:
        return {"data": pack_words(self.words), "mode": self.mode, "rounding": self.rounding}

    def __str__(self):
        vals = ", ".join(f"{w:08x}" for w in self.words)
        return f"block mode={self.mode} rounding={ROUNDING_NAMES[self.rounding]} data=[{vals}]"


class SeedItem(StreamItem):
    """Load a stochastic-rounding seed between blocks."""

    def __init__(self, name, seed: int):
        super().__init__(name)
        self.seed = seed


class Fp2BfpDriver(StreamDriver):
    def __init__(self, name, parent, source, seed_strobe: Strobe):
        super().__init__(name, parent, source)
        self.seed_strobe = seed_strobe

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            if isinstance(item, SeedItem):
                await self.seed_strobe.pulse({"seed_load": 1, "seed": item.seed})
            else:
                strobe = None if item.seed_with is None else {"seed_load": 1, "seed": item.seed_with}
                item.accepted = item.epoch == reset_epoch() and await self.source.send(item.beat(), strobe)
            self.seq_item_port.item_done()


class Fp2BfpScoreboard(Scoreboard):
    input_ports = ("in", "seed")

    def build_phase(self):
        super().build_phase()
        self.reset_model()

    def reset_model(self):
        self.model = Fp2Bfp(block_size(), seed=int(self.cdb_get("SR_SEED")), sr_width=int(self.cdb_get("SR_BITS")))

    def cdb_get(self, key):
        return ConfigDB().get(self, "", key)

    def predict(self, port, txn):
        if port == "seed":
            self.model.load_seed(txn["seed"])
            return []
        k = block_size()
        q = self.model(bits_float32(unpack_words(txn["data"], k)), txn["mode"], txn["rounding"])
        if txn.get("seed_load"):
            self.model.load_seed(txn["seed"])
        sign, mag = q.sign[0], q.mag[0]
        return [{
            # out_mode passes the block's code through unchanged: reserved 3 stays 3 (q.mode is the
            # decoded mode, 0 for it).
            "exp": int(q.exp[0]), "flags": int(q.flags[0]), "mode": int(txn["mode"]),
            "sign": pack_lanes(sign, 1),
            "mag": pack_lanes(mag, 16),
            "input": txn,
        }]

    def same(self, expected, actual):
        return all(expected[f] == actual[f] for f in actual)

    def describe(self, expected, actual):
        k = block_size()
        data = unpack_words(expected["input"]["data"], k)
        lines = [f"input block: mode={expected['input']['mode']} rounding={expected['input']['rounding']} "
                 f"data=[{', '.join(f'{w:08x}' for w in data)}]"]
        for f in ("exp", "flags", "mode"):
            lines.append(f"{f}: expected {expected[f]} actual {actual[f]}")
        lines.append(f"sign: expected {expected['sign']:0{k}b} actual {actual['sign']:0{k}b}")
        em, am = unpack_fields(expected["mag"], k, 16), unpack_fields(actual["mag"], k, 16)
        bad = [i for i in range(k) if em[i] != am[i]]
        lines.append(f"mag: elements {bad} differ: expected {em[bad].tolist()} actual {am[bad].tolist()}")
        return "\n  ".join(lines)


# --- corner classes of an input block, for coverage -----------------------------------------------------
CORNERS = ("normal", "zero_block", "nan", "inf", "subnormal", "tie", "saturate", "flush")


def block_corners(words: np.ndarray, mode: int, rounding: int) -> set[str]:
    """Which corner classes a block exercises: its special values and what its rounding does."""
    w = mag_bits(mode)
    e = (words >> 23) & 0xFF
    frac = words & 0x7FFFFF
    out = set()
    if not (words & 0x7FFFFFFF).any():
        out.add("zero_block")
    if ((e == 255) & (frac != 0)).any():
        out.add("nan")
    if ((e == 255) & (frac == 0)).any():
        out.add("inf")
    if ((e == 0) & (frac != 0)).any():
        out.add("subnormal")
    finite = e < 255
    e_eff = np.where(e == 0, (frac != 0).astype(np.int64), e.astype(np.int64))
    emax = np.where(finite, e_eff, np.where(frac == 0, 254, 0)).max()
    sig = np.where(e == 0, frac, frac | (1 << 23)).astype(np.int64)
    s = np.minimum(emax - e_eff + 24 - w, 41)
    rem = sig & ((np.int64(1) << s) - 1)
    nonzero = finite & (sig != 0)
    if (nonzero & (rem == (np.int64(1) << (s - 1)))).any():
        out.add("tie")
    if (nonzero & ((sig >> s) == 0)).any():
        out.add("flush")
    if (nonzero & ((sig >> s) == (1 << w) - 1) & (rem >= (np.int64(1) << (s - 1)))).any():
        out.add("saturate")
    return out or {"normal"}


class Fp2BfpCoverage(CoverageCollector):
    """modes x rounding x corner classes x flags, sampled on every converted block."""

    def sample(self, txn):
        k = block_size()
        words = unpack_words(txn["input"]["data"], k)
        mode, rounding = txn["input"]["mode"], txn["input"]["rounding"]
        for corner in block_corners(words, mode_code(mode), rounding):
            _sample_block(mode, rounding, corner, txn["flags"])


@CoverPoint("fp2bfp.mode", xf=lambda m, r, c, f: m, bins=[0, 1, 2, 3])
@CoverPoint("fp2bfp.rounding", xf=lambda m, r, c, f: r, bins=list(ROUNDINGS))
@CoverPoint("fp2bfp.corner", xf=lambda m, r, c, f: c, bins=list(CORNERS))
@CoverPoint("fp2bfp.flags", xf=lambda m, r, c, f: f, bins=[0, 1, 2, 3])
@CoverCross("fp2bfp.mode_x_rounding_x_corner", items=["fp2bfp.mode", "fp2bfp.rounding", "fp2bfp.corner"],
            ign_bins=[(3, None, None)])
def _sample_block(mode, rounding, corner, flags):
    pass


class Fp2BfpEnv(StreamEnv):
    inputs = {"in": ["data", "mode", "rounding"]}
    sidebands = {"in": ["seed_load", "seed"]}  # a seed load may coincide with a block (read from the pins)
    outputs = {"out": ["exp", "sign", "mag", "flags", "mode"]}
    scoreboard_class = Fp2BfpScoreboard
    coverage_class = Fp2BfpCoverage

    def build_phase(self):
        import cocotb
        ConfigDB().set(None, "*", "SR_SEED", int(cocotb.top.SR_SEED.value))
        ConfigDB().set(None, "*", "SR_BITS", int(cocotb.top.SR_BITS.value))
        super().build_phase()

    def connect_phase(self):
        super().connect_phase()
        # The scoreboard's inlets exist only after its own build_phase (pyuvm builds top-down).
        self.seed_strobe.subscribe(self.scoreboard.inlets["seed"].write)

    def make_driver(self, port, source):
        self.seed_strobe = Strobe(self.clock, ["seed_load", "seed"])
        return Fp2BfpDriver(f"{port}_driver", self, source, self.seed_strobe)


# --- stimulus ---------------------------------------------------------------------------------------------
def random_block(rng: np.random.Generator, k: int) -> np.ndarray:
    """Random finite values: a random block scale, a random spread of element exponents, random signs."""
    scale = rng.integers(-140, 128)
    spread = rng.choice([0, 2, 8, 30])
    exps = np.clip(scale - rng.integers(0, spread + 1, k), -149, 127)
    vals = np.ldexp(rng.uniform(1, 2, k), exps) * rng.choice([-1, 1], k)
    return float32_bits(vals.astype(np.float32))


def corner_block(rng: np.random.Generator, k: int, kind: str, mode: int) -> np.ndarray:
    """A block that hits one corner class; see CORNERS."""
    w = mag_bits(mode)
    e = int(rng.integers(1, 255)) if kind != "top" else 254
    lsb = e - 127 - (w - 1)
    top = np.ldexp(1.5, e - 127)
    words = random_block(rng, k)
    if kind == "zero_block":
        return np.where(rng.random(k) < 0.5, 0x80000000, 0).astype(np.uint32)
    if kind == "nan":
        words[rng.integers(0, k, rng.integers(1, k + 1))] = 0x7FC00000 | int(rng.integers(0, 1 << 22))
    elif kind == "all_nan":
        words[:] = 0x7F800001 + rng.integers(0, 1 << 22, k).astype(np.uint32)
    elif kind in ("inf", "nan_inf"):
        words[rng.integers(0, k)] = rng.choice([0x7F800000, 0xFF800000])
        if kind == "nan_inf":  # both flags in one block (the NaN may overwrite the Inf when k is small)
            words[rng.integers(0, k)] = 0xFFC00000 | int(rng.integers(0, 1 << 22))
    elif kind == "subnormal":
        words = rng.integers(1, 1 << 23, k).astype(np.uint32) | (rng.integers(0, 2, k).astype(np.uint32) << 31)
    elif kind in ("tie", "saturate", "top", "bottom"):
        if kind == "bottom":
            e, lsb, top = 1, 1 - 127 - (w - 1), np.ldexp(1.5, -126)
        grid = rng.integers(0, (1 << w) - 1, k)
        vals = np.ldexp(grid + 0.5, lsb)
        vals[0] = top
        if kind == "saturate":
            vals[1] = np.ldexp((1 << w) - 0.5, lsb)
            vals[2] = np.ldexp((1 << w) - 0.25, lsb)
        words = float32_bits((vals * rng.choice([-1, 1], k)).astype(np.float32))
    elif kind == "huge_tiny":
        words[0] = float32_bits(np.float32(np.ldexp(1.0, 100)))[0]  # float32_bits returns >= 1-d
    return words


def boundary_values(mode: int, e: int, rng: np.random.Generator) -> np.ndarray:
    """Magnitudes around every rounding boundary of a block with shared exponent `e` (biased) in `mode`, from
    the model's definitions: the block's LSB is 2^(e - 126 - W) (W = models.mag_bits), so the boundaries are
    (n + 1/2) LSB: n = 0 the flush-to-zero point, n = 2^W - 1 the saturation point (rounding up would need
    W + 1 bits), n = 2^W - 2 the last carry, n = 1 and a random n the half an LSB between. Each boundary is
    taken exactly, one binary32 ulp below and above (nextafter), and +/- 2^-j LSB for every depth j below
    the LSB at which the value is still a binary32 number, so the deciding bit sits at every depth,
    including past the 16 fraction bits the converter keeps (its sticky bit). Values that are not exact
    binary32 numbers, or that would raise the block's exponent, are left out."""
    w = mag_bits(mode)
    lsb = np.ldexp(1.0, e - 126 - w)
    top = (1 << w) - 1
    ns = sorted({0, 1, int(rng.integers(2, max(3, top - 1))), max(0, top - 1), top})
    out = []
    for n in ns:
        b = (n + 0.5) * lsb
        f = np.float32(b)
        cands = [b, float(np.nextafter(f, np.float32(0))), float(np.nextafter(f, np.float32(np.inf)))]
        cands += [b + sign * np.ldexp(lsb, -j) for j in range(2, 48) for sign in (-1, 1)]
        out += [v for v in cands if 0 < v < np.ldexp(1.0, e - 126) and float(np.float32(v)) == v]
    return np.array(sorted(set(out)), np.float64)


def boundary_blocks(rng: np.random.Generator, k: int, mode: int, e: int) -> list[np.ndarray]:
    """Blocks that carry every `boundary_values` of (mode, e) once, in random order and signs: element 0 is
    2^(e - 127), which sets the block's exponent to e, the others are the boundary values."""
    vals = boundary_values(mode, e, rng)
    vals = vals[rng.permutation(len(vals))] * rng.choice([-1.0, 1.0], len(vals))
    blocks = []
    for i in range(0, len(vals), k - 1):
        chunk = np.zeros(k, np.float64)
        chunk[0] = np.ldexp(1.0, e - 127)
        chunk[1:1 + len(vals[i:i + k - 1])] = vals[i:i + k - 1]
        blocks.append(float32_bits(chunk.astype(np.float32)))
    return blocks


class BoundarySequence(uvm_sequence):
    """`boundary_blocks` for every mode and rounding, at shared exponents near the bottom (subnormal
    elements), in the middle and at the top of the binary32 range."""

    def __init__(self, name, exps=(1, 127, 254), modes=MODES, roundings=ROUNDINGS):
        super().__init__(name)
        self.exps, self.modes, self.roundings = exps, modes, roundings

    async def body(self):
        rng = seeds.rng(self.get_name())
        k = block_size()
        for mode in self.modes:
            for rounding in self.roundings:
                for e in self.exps:
                    for i, words in enumerate(boundary_blocks(rng, k, mode_code(mode), e)):
                        item = BlockItem(f"edge{mode}{rounding}e{e}b{i}", words, mode, rounding)
                        await self.start_item(item)
                        await self.finish_item(item)


class BlockSequence(uvm_sequence):
    """`count` blocks; each block's mode, rounding and kind drawn from the given choices."""

    def __init__(self, name, count=50, modes=MODES, roundings=ROUNDINGS, kinds=("random",), seed_every=0):
        super().__init__(name)
        self.count, self.modes, self.roundings, self.kinds = count, modes, roundings, kinds
        self.seed_every = seed_every

    async def body(self):
        rng = seeds.rng(self.get_name())
        k = block_size()
        for i in range(self.count):
            mode = int(rng.choice(self.modes))
            rounding = int(rng.choice(self.roundings))
            kind = str(rng.choice(self.kinds))
            words = random_block(rng, k) if kind == "random" else corner_block(rng, k, kind, mode_code(mode))
            if self.seed_every and i % self.seed_every == self.seed_every - 1:
                if rng.random() < 0.5:
                    await self._send(SeedItem("seed", int(rng.integers(0, 1 << 16))))
                else:
                    await self._send(BlockItem(f"b{i}", words, mode, rounding, int(rng.integers(0, 1 << 16))))
                    continue
            await self._send(BlockItem(f"b{i}", words, mode, rounding))

    async def _send(self, item):
        await self.start_item(item)
        await self.finish_item(item)
