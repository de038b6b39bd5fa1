"""fast_array bench layer: GEMM jobs cut into ROWS x COLS output tiles, the scoreboard (the fMAC model per
output), coverage and env. The group-pair model and the GEMM data come from fast_mac_env / models.fast."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem, pack_lanes, unpack_lanes
from fast_mac_env import PREC_PAIRS, group_term, value_class
from models import accumulate, fast


def params() -> tuple[int, int, int, int]:
    """(ROWS, COLS, G, EW) of the DUT."""
    t = cocotb.top
    return int(t.ROWS.value), int(t.COLS.value), int(t.G.value), int(t.EW.value)


class GemmJob(StreamItem):
    """C = A B on the array: qa (M, ng) groups of A's rows, qb (N, ng) of B's columns, as tiles of ROWS x COLS
    outputs (M and N padded with zero groups), row-major over tiles, each tile ng beats."""

    def __init__(self, name, qa: fast.FastTensor, qb: fast.FastTensor):
        super().__init__(name)
        self.qa, self.qb = qa, qb
        rows, cols, _, _ = params()
        self.M, self.ng = qa.code.shape
        self.N = qb.code.shape[0]
        self.tiles = -(-self.M // rows) * -(-self.N // cols)

    def _side(self, q: fast.FastTensor, idx: list[int], k: int, s: str, g: int, ew: int) -> dict:
        def pick(arr, i, fill):
            return arr[i, k] if i is not None else fill
        code = [pick(q.code, i, 0) for i in idx]
        sign = [pick(q.sign, i, np.zeros(g, np.int64)) for i in idx]
        mag = [pick(q.mag, i, np.zeros(g, np.int64)) for i in idx]
        flags = [pick(q.flags, i, 0) for i in idx]
        return {f"{s}_base": pack_lanes([q.base] * len(idx), 8), f"{s}_exp": pack_lanes(code, ew),
                f"{s}_sign": pack_lanes([pack_lanes(x, 1) for x in sign], g),
                f"{s}_mag": pack_lanes([pack_lanes(x, 8) for x in mag], 8 * g), f"{s}_flags": pack_lanes(flags, 2)}

    def beats(self):
        rows, cols, g, ew = params()
        out = []
        for r0 in range(0, self.M, rows):
            ri = [r if r < self.M else None for r in range(r0, r0 + rows)]
            for c0 in range(0, self.N, cols):
                ci = [c if c < self.N else None for c in range(c0, c0 + cols)]
                for k in range(self.ng):
                    out.append({"prec_a": fast.prec_code(self.qa.m), "prec_b": fast.prec_code(self.qb.m),
                                **self._side(self.qa, ri, k, "a", g, ew), **self._side(self.qb, ci, k, "b", g, ew),
                                "last": int(k == self.ng - 1)})
        return out

    def __str__(self):
        return f"{self.get_name()}: {self.M}x{self.ng * 16}x{self.N} at {self.qa.m}x{self.qb.m} bits"


def decode_groups(beat: dict, s: str, n: int, g: int, ew: int) -> list[tuple]:
    """The n groups of one side of a beat: (E, sign, mag, flags) each."""
    base, code, flags = (unpack_lanes(beat[f"{s}_{f}"], bits, n) for f, bits in (("base", 8), ("exp", ew), ("flags", 2)))
    signs, mags = unpack_lanes(beat[f"{s}_sign"], g, n), unpack_lanes(beat[f"{s}_mag"], 8 * g, n)
    return [(base[i] + code[i], np.array(unpack_lanes(signs[i], 1, g), np.int64),
             np.array(unpack_lanes(mags[i], 8, g), np.int64), flags[i]) for i in range(n)]


class FastArrayScoreboard(Scoreboard):
    def build_phase(self):
        super().build_phase()
        self.reset_model()

    def reset_model(self):
        self.tile = []  # the beats of the tile in progress
        self.accepts, self.results = [], []  # rising edges of beats taken and results taken
        self.out_values = []  # every tile's result bits, as taken

    def pending(self) -> str:
        return f"{len(self.tile)} beats of a tile without its last" if self.tile else ""

    def predict(self, port, txn):
        self.accepts.append(txn["cycle"])
        self.tile.append(txn)
        if not txn["last"]:
            return []
        beats, self.tile = self.tile, []
        return [self.reduce(beats)]

    def group_pair(self, beat, a, b) -> dict:
        return {"m_a": 2 * beat["prec_a"] + 2, "m_b": 2 * beat["prec_b"] + 2, "a": a, "b": b}

    def reduce(self, beats: list[dict]) -> dict:
        rows, cols, g, ew = params()
        results, flags = [], []
        sides = [(decode_groups(bt, "a", rows, g, ew), decode_groups(bt, "b", cols, g, ew)) for bt in beats]
        for r in range(rows):
            for c in range(cols):
                pairs = [self.group_pair(bt, a[r], b[c]) for bt, (a, b) in zip(beats, sides)]
                terms = [group_term(gp)[2] for gp in pairs]
                f = np.array([gp["a"][3] | gp["b"][3] for gp in pairs])
                bits, fl = accumulate(np.array(terms, np.float32)[:, None], f[:, None])
                results.append(int(bits[0]))
                flags.append(int(fl[0]))
        return {"result": pack_lanes(results, 32), "flags": pack_lanes(flags, 2), "values": results, "flag_list": flags,
                "prec": (2 * beats[0]["prec_a"] + 2, 2 * beats[0]["prec_b"] + 2), "length": len(beats),
                "beats": beats}

    def write_output(self, actual) -> None:
        self.results.append(actual["cycle"])
        self.out_values.append(actual["result"])
        super().write_output(actual)

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        rows, cols, _, _ = params()
        got = unpack_lanes(actual["result"], 32, rows * cols)
        bad = [(s // cols, s % cols, f"{e:08x}", f"{a:08x}") for s, (e, a) in enumerate(zip(expected["values"], got))
               if e != a]
        return (f"tile of {expected['length']} group pairs at {expected['prec'][0]}x{expected['prec'][1]} bits: "
                f"outputs (row, col, expected, actual) that differ: {bad}\n  expected flags {expected['flag_list']}"
                f"\n  actual flags {unpack_lanes(actual['flags'], 2, rows * cols)}")


@CoverPoint("fast_array.prec_pair", xf=lambda pp, r, n: pp, bins=PREC_PAIRS)
@CoverPoint("fast_array.result", xf=lambda pp, r, n: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
@CoverPoint("fast_array.length", xf=lambda pp, r, n: n, bins=["one", "many"])
def _sample_tile(prec_pair, result, length):
    pass


class FastArrayCoverage(CoverageCollector):
    def sample(self, txn):
        for v in txn["values"]:
            _sample_tile(txn["prec"], value_class(v), "one" if txn["length"] == 1 else "many")


class FastArrayEnv(StreamEnv):
    inputs = {"in": ["prec_a", "prec_b", "a_base", "a_exp", "a_sign", "a_mag", "a_flags",
                     "b_base", "b_exp", "b_sign", "b_mag", "b_flags", "last"]}
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = FastArrayScoreboard
    coverage_class = FastArrayCoverage

    def convert_input(self, port, beat):  # the taking edge's number (see fast_mac_env)
        return {**beat, "cycle": self.clock.cycle}

    def convert_output(self, beat):
        return {**beat, "cycle": self.clock.cycle}


# --- stimulus ---------------------------------------------------------------------------------------------
def random_operands(rng: np.random.Generator, m: int, kdim: int, n: int, specials: bool) -> tuple[np.ndarray, np.ndarray]:
    """FP32 A (m x kdim) and B (kdim x n): Gaussian at random scales; with `specials` some NaN, +/-Inf,
    subnormals, zeros, and huge values whose products overflow binary32."""
    a = (rng.standard_normal((m, kdim)) * 2.0 ** rng.integers(-30, 30)).astype(np.float32)
    b = (rng.standard_normal((kdim, n)) * 2.0 ** rng.integers(-30, 30)).astype(np.float32)
    if specials:
        for x in (a, b):
            flat = x.reshape(-1)
            k = max(1, flat.size // 20)
            pos = rng.integers(0, flat.size, k)
            flat[pos] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, 1e-40, 3e38, -3e38], np.float32), k)
    return a, b


def quantize_job(rng, a, b, m_a, m_b, g, ew):
    seed = int(rng.integers(0, 1 << 16))
    qa = fast.quantize(a, m_a, fast.SR, g, ew, seed=seed)
    qb = fast.quantize(b.T, m_b, fast.SR, g, ew, seed=seed ^ 0xFFFF)
    return qa, qb, seed


class GemmSequence(uvm_sequence):
    """`count` GEMM jobs of random shape (M, N up to 2.5 tiles, Kdim up to 5 groups), precision pair and data."""

    def __init__(self, name, count=8, specials=True):
        super().__init__(name)
        self.count, self.specials = count, specials

    async def body(self):
        rng = seeds.rng(self.get_name())
        rows, cols, g, ew = params()
        for j in range(self.count):
            m, n = int(rng.integers(1, 2 * rows + 2)), int(rng.integers(1, 2 * cols + 2))
            kdim = int(rng.integers(1, 5 * g + 1))
            m_a, m_b = (int(v) for v in rng.choice(fast.PRECISIONS, 2))
            a, b = random_operands(rng, m, kdim, n, self.specials and rng.random() < 0.5)
            qa, qb, _ = quantize_job(rng, a, b, m_a, m_b, g, ew)
            item = GemmJob(f"job{j}", qa, qb)
            await self.start_item(item)
            await self.finish_item(item)
