"""range_bn bench layer: LightNorm jobs (configuration + two passes) in every input format (fp10, FP32, BFP),
the model-based scoreboard, coverage and env. The model is models/lightnorm.py (`from_fp32` / `from_bfp` on
every data beat, `statistics` after pass 1, `normalize` + the BFP conversion per pass-2 beat)."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint

from fbuvm import seeds
from fbuvm.components import (CoverageCollector, ItemSequence, RowsItem, StreamEnv, StreamItem, TwoPassScoreboard,
                               pack_lanes, unpack_lanes)
from models import lightnorm as ln
from models.bfp import BFPTensor, mag_bits
from models.fp2bfp import RTZ, quantize

G = ln.LANES
IN_BITS = 256   # in_data: the widest beat (8 x binary32)


def pack(values) -> int:
    return pack_lanes(values, 10)


def unpack(word: int, width: int = 10, count: int = G) -> np.ndarray:
    return np.array(unpack_lanes(int(word), width, count), np.int64)


def fp(x) -> np.ndarray:
    return ln.encode(np.asarray(x, np.float64))


# --- the in_data beat of each input format (docs/spec.md LN.4a) ---------------------------------------------
def bfp_word(exp: int, sign, mag, flags: int) -> int:
    """One BFP block on in_data: mag [127:0] (16-bit slots), sign [135:128], exp [143:136], flags [145:144]."""
    return pack_lanes(mag, 16) | pack_lanes(sign, 1) << 128 | (int(exp) & 0xFF) << 136 | (int(flags) & 3) << 144


def beat_words(x, fmt: int) -> list[int]:
    """A pass's values in input format `fmt` (fp10 bits (n, 8), binary32 bits (n, 8) or a BFPTensor of
    (n, 1) blocks) -> the in_data words."""
    code = ln.fmt_code(fmt)
    if code == ln.IN_BFP:
        return [bfp_word(x.exp[i, 0], x.sign[i, 0], x.mag[i, 0], x.flags[i, 0]) for i in range(x.exp.shape[0])]
    return [pack_lanes(r, 32 if code == ln.IN_FP32 else 10) for r in np.asarray(x).tolist()]


def word_to_unit(word: int, fmt: int, in_mode: int) -> np.ndarray:
    """What the unit makes of an in_data word: the 8 fp10 values (the model's conversion)."""
    code = ln.fmt_code(fmt)
    if code == ln.IN_FP32:
        return ln.from_fp32(np.array(unpack_lanes(word, 32, G), np.uint32))
    if code == ln.IN_BFP:
        q = BFPTensor(np.array([[word >> 136 & 0xFF]]), np.array([[unpack_lanes(word >> 128, 1, G)]]),
                      np.array([[unpack_lanes(word, 16, G)]]), np.array([[word >> 144 & 3]]), in_mode)
        return ln.from_bfp(q)[0]
    return unpack(word)


class Job:
    """One channel group's job: pass-1 values x1 (n rows), pass-2 values x2, in input format `fmt` (BFP in
    `in_mode`), parameters (fp10 bits)."""

    def __init__(self, name, x1, gamma, beta, c, eps, mode, x2=None, fmt: int = ln.IN_FP10, in_mode: int = 0):
        self.name, self.fmt, self.in_mode = name, int(fmt), int(in_mode)
        self.words1 = beat_words(x1, fmt)
        self.words2 = self.words1 if x2 is None else beat_words(x2, fmt)
        self.gamma, self.beta = np.asarray(gamma, np.int64), np.asarray(beta, np.int64)
        self.c, self.eps, self.mode = int(c), int(eps), int(mode)

    @property
    def n(self) -> int:
        return len(self.words1)

    def rows(self, which: int) -> list[list[int]]:
        """Pass `which`'s beats as RowsItem rows (one whole in_data word each)."""
        return [[w] for w in (self.words1 if which == 1 else self.words2)]


class CfgItem(StreamItem):
    def __init__(self, name, job: Job):
        super().__init__(name)
        self.job = job

    def beat(self):
        j = self.job
        return {"n": j.n, "c": j.c, "eps": j.eps, "gamma": pack(j.gamma), "beta": pack(j.beta), "mode": j.mode,
                "fmt": j.fmt, "in_mode": j.in_mode}

    def __str__(self):
        return (f"cfg {self.job.name}: n={self.job.n} mode={self.job.mode} "
                f"fmt={ln.IN_FORMAT_NAMES[ln.fmt_code(self.job.fmt)]}({self.job.fmt}) in_mode={self.job.in_mode}")


# --- scoreboard ------------------------------------------------------------------------------------------
class RangeBnScoreboard(TwoPassScoreboard):
    def open_job(self, cfg):
        return {"c": int(cfg["c"]), "eps": int(cfg["eps"]), "gamma": unpack(cfg["gamma"]),
                "beta": unpack(cfg["beta"]), "mode": int(cfg["mode"]), "fmt": int(cfg["fmt"]),
                "in_mode": int(cfg["in_mode"]), "x1": [], "stats": None}

    def pass1(self, j, txn, last):
        j["x1"].append(word_to_unit(int(txn["data"]), j["fmt"], j["in_mode"]))
        if last:
            j["stats"] = ln.statistics(np.array(j["x1"]), j["gamma"], j["beta"], j["c"], j["eps"])
        return []

    def pass2(self, j, txn, index):
        word = int(txn["data"])
        row, st = word_to_unit(word, j["fmt"], j["in_mode"]), j["stats"]
        z, nan = ln.normalize(row[None, :], st, j["beta"])
        q = quantize(ln.to_float32(z, nan), j["mode"], RTZ, block=G)
        sign = pack_lanes(q.sign[0, 0].tolist(), 1)
        mag = pack_lanes(q.mag[0, 0].tolist(), 16)
        return [{"exp": int(q.exp[0, 0]), "sign": sign, "mag": mag, "flags": int(q.flags[0, 0]), "mode": j["mode"],
                 "index": index, "n": j["n"], "x": row, "z": z[0], "nan": nan[0], "word": word,
                 "fmt": ln.fmt_code(j["fmt"]), "fmt_code": j["fmt"], "in_mode": j["in_mode"],
                 "mean": st.mean, "a": st.a, "poison": st.poison, "stats": st, "beta": j["beta"]}]

    FIELDS = ("exp", "sign", "mag", "flags", "mode")

    def same(self, expected, actual):
        return all(expected[f] == int(actual[f]) for f in self.FIELDS)

    def describe(self, expected, actual):
        e = expected
        lanes = "\n    ".join(
            f"ch{i}: x={ln.decode(e['x'][i])!r:>10} mean={ln.decode(e['mean'][i])!r} a={ln.decode(e['a'][i])!r} "
            f"poison={bool(e['poison'][i])} -> z={'NaN' if e['nan'][i] else repr(float(ln.decode(e['z'][i])))}"
            for i in range(G))
        want = " ".join(f"{f}={e[f]:#x}" for f in self.FIELDS)
        got = " ".join(f"{f}={int(actual[f]):#x}" for f in self.FIELDS)
        return (f"pass-2 beat {e['index']} of a job with n={e['n']}, input format "
                f"{ln.IN_FORMAT_NAMES[e['fmt']]} (cfg_fmt {e['fmt_code']}, in_mode {e['in_mode']}), "
                f"in_data {e['word']:#x} (x below: as converted to fp10):\n    {lanes}\n"
                f"  expected {want}\n  actual   {got}")


# --- coverage --------------------------------------------------------------------------------------------
def n_class(n: int) -> str:
    return "n<=8" if n <= G else ("divides" if n % ln.CHUNKS == 0 else "not_divides")


def out_class(e) -> str:
    if e["nan"].any():
        return "nan"
    if e["mag"] == 0:
        return "zero"
    return "value"


def in_class(e) -> str:
    """The beat's most special input element, per format: fp10 special/finite; FP32 nan_inf > saturate
    (beyond 63488) > flush (nonzero, converts to +0: binary32 subnormals, values below 2^-18) > finite;
    BFP flagged > zero_block > saturate > flush > finite."""
    word, x, fmt = e["word"], e["x"], e["fmt"]
    if fmt == ln.IN_FP10:
        return "special" if (~ln.is_finite(x)).any() else "finite"
    if fmt == ln.IN_FP32:
        f = np.array(unpack_lanes(word, 32, G), np.uint32)
        if ((f >> 23 & 0xFF) == 0xFF).any():
            return "nan_inf"
        if (np.abs(f.view(np.float32)) > 63488.0).any():
            return "saturate"
        if (((f & 0x7FFFFFFF) != 0) & (x == 0)).any():
            return "flush"
        return "finite"
    mag = np.array(unpack_lanes(word, 16, G)) & ((1 << mag_bits(e["in_mode"])) - 1)
    if word >> 144 & 3:
        return "flagged"
    if (mag == 0).all():
        return "zero_block"
    if (x == ln.FP10.max_finite).any():
        return "saturate"
    return "flush" if ((mag != 0) & (x == 0)).any() else "finite"


@CoverPoint("range_bn.fmt", xf=lambda e: e["fmt_code"], bins=[0, 1, 2, 3])
@CoverPoint("range_bn.in_fp10", xf=lambda e: in_class(e) if e["fmt"] == ln.IN_FP10 else None,
            bins=["finite", "special"])
@CoverPoint("range_bn.in_fp32", xf=lambda e: in_class(e) if e["fmt"] == ln.IN_FP32 else None,
            bins=["finite", "flush", "saturate", "nan_inf"])
@CoverPoint("range_bn.in_bfp", xf=lambda e: in_class(e) if e["fmt"] == ln.IN_BFP else None,
            bins=["finite", "zero_block", "flush", "saturate", "flagged"])
@CoverPoint("range_bn.in_bfp_mode", xf=lambda e: e["in_mode"] if e["fmt"] == ln.IN_BFP else None, bins=[0, 1, 2, 3])
@CoverPoint("range_bn.n", xf=lambda e: n_class(e["n"]), bins=["n<=8", "divides", "not_divides"])
@CoverPoint("range_bn.mode", xf=lambda e: e["mode"], bins=[0, 1, 2, 3])
@CoverPoint("range_bn.out", xf=lambda e: out_class(e), bins=["nan", "zero", "value"])
@CoverPoint("range_bn.poison", xf=lambda e: bool(e["poison"].any()), bins=[False, True])
@CoverCross("range_bn.n_x_mode", items=["range_bn.n", "range_bn.mode"])
@CoverCross("range_bn.fmt_x_poison", items=["range_bn.fmt", "range_bn.poison"])
def _sample(e):
    pass


class RangeBnCoverage(CoverageCollector):
    def sample(self, txn):
        _sample(txn)


class RangeBnEnv(StreamEnv):
    inputs = {"cfg": ["n", "c", "eps", "gamma", "beta", "mode", "fmt", "in_mode"], "in": ["data"]}
    outputs = {"out": ["exp", "sign", "mag", "flags", "mode"]}
    scoreboard_class = RangeBnScoreboard
    coverage_class = RangeBnCoverage

    def build_phase(self):
        super().build_phase()
        self.cfg_edges, self.out_edges = [], []  # handshake times (rising-edge numbers) for the cycle test
        self.sources["cfg"].subscribe(lambda beat: self.cfg_edges.append(self.clock.cycle))
        self.sinks["out"].subscribe(lambda beat: self.out_edges.append(self.clock.cycle))


# --- stimulus --------------------------------------------------------------------------------------------
N_CHOICES = [1, 2, 3, 5, 7, 8, 9, 12, 13, 16, 17, 24, 29, 37, 48]


FORMATS = (0, 1, 2, 3)   # cfg_fmt: fp10, FP32, BFP, reserved (reads as fp10)


def make_job(rng: np.random.Generator, name: str, kind: str = "random", n: int | None = None,
             modes=(0, 1, 2, 3), fmts=FORMATS) -> Job:
    """A job of a kind in an input format drawn from `fmts`: 'random' (normal data, lanes of different
    scales and offsets), 'corner' (fp10: lanes made constant, zero, full-range, subnormal, NaN, Inf, far
    off zero; FP32 and BFP: see `wide_corners`), 'params' (NaN/Inf gamma, beta or c, eps = 0), 'restream'
    (pass 2 differs from pass 1, with NaN/Inf or a flagged block there)."""
    n = int(rng.choice(N_CHOICES)) if n is None else n
    fmt, in_mode = int(rng.choice(fmts)), int(rng.integers(0, 4))
    x = (rng.standard_normal((n, G)) * 10.0 ** rng.integers(-3, 3, G) + rng.standard_normal(G) * 10.0 **
         rng.integers(-2, 3, G))
    x1 = fp(x)
    gamma = fp(rng.uniform(0.25, 4.0, G) * rng.choice([-1, 1], G))
    beta = fp(rng.standard_normal(G) * 4)
    c, eps = fp(ln.range_constant(n)), fp(float(rng.choice([1e-5, 1e-3, 0.1])))
    x2 = None
    if kind == "corner" and ln.fmt_code(fmt) == ln.IN_FP10:
        for lane in rng.choice(G, int(rng.integers(1, 5)), replace=False):
            what = rng.choice(["const", "zero", "full", "sub", "nan", "inf", "far"])
            col = {"const": lambda: np.full(n, fp(rng.standard_normal() * 100)),
                   "zero": lambda: np.zeros(n, np.int64),
                   "full": lambda: fp(rng.choice([-63488.0, 63488.0, 1e9, -1e9], n)),
                   "sub": lambda: fp(rng.standard_normal(n) * 2.0 ** -16),
                   "nan": lambda: np.where(np.arange(n) == rng.integers(0, n), fp(np.nan), x1[:, lane]),
                   "inf": lambda: np.where(np.arange(n) == rng.integers(0, n), fp(-np.inf), x1[:, lane]),
                   "far": lambda: fp(rng.standard_normal(n) * 50 + 40000)}[str(what)]()
            x1[:, lane] = col
    if kind == "corner" and rng.random() < 0.3:
        eps = 0
    elif kind == "params":
        gamma[rng.integers(0, G)] = fp(np.nan)
        beta[rng.integers(0, G)] = fp(np.inf)
        if rng.random() < 0.3:
            c = fp(np.inf)
        eps = 0
    if ln.fmt_code(fmt) != ln.IN_FP10:
        x1, x2 = wide_input(rng, x, fmt, in_mode, kind)
    elif kind == "restream":
        x2 = x1.copy()
        x2[rng.integers(0, n), rng.integers(0, G)] = fp(np.nan)
        x2[rng.integers(0, n), rng.integers(0, G)] = fp(np.inf)
        x2[rng.integers(0, n)] = fp(rng.standard_normal(G) * 1000)
    return Job(name, x1, gamma, beta, c, eps, int(rng.choice(modes)), x2, fmt, in_mode)


def wide_input(rng: np.random.Generator, x: np.ndarray, fmt: int, in_mode: int, kind: str):
    """Passes 1 and 2 of an FP32 job (binary32 bits) or a BFP job (the GEMM datapath's blocks: fp2bfp RTZ of
    the same data, 8 channels per block, in `in_mode`). Corners, FP32: lanes of binary32 subnormals and
    values below 2^-18 (flush to +0), of -0, beyond 63488 up to 3e38 (saturate), at 63488, a NaN or an Inf
    at one position. BFP: zero blocks (signs set on some), blocks beyond the fp10 range (E up to 255) and
    below its flush point, flagged blocks (invalid/overflow), magnitude bits above W (not read)."""
    n = x.shape[0]
    f = x.astype(np.float32)
    if ln.fmt_code(fmt) == ln.IN_FP32 and kind == "corner":
        # one lane that flushes, one that saturates, 0..3 more of any corner
        whats = [str(rng.choice(["sub32", "flush"])), str(rng.choice(["sat", "max"]))] + [
            str(w) for w in rng.choice(["sub32", "flush", "negzero", "sat", "max", "nan", "inf"], int(rng.integers(0, 4)))]
        for lane, what in zip(rng.choice(G, len(whats), replace=False), whats):
            f[:, lane] = {"sub32": lambda: rng.standard_normal(n) * 1e-40,
                          "flush": lambda: rng.standard_normal(n) * 2.0 ** -19,
                          "negzero": lambda: np.where(rng.random(n) < 0.5, -0.0, f[:, lane]),
                          "sat": lambda: rng.choice([1, -1], n) * 10.0 ** rng.uniform(4.9, 38.5, n),
                          "max": lambda: rng.choice([63488.0, -63488.0, 65535.996, 65536.0], n),
                          "nan": lambda: np.where(np.arange(n) == rng.integers(0, n), np.nan, f[:, lane]),
                          "inf": lambda: np.where(np.arange(n) == rng.integers(0, n), -np.inf, f[:, lane])}[what]()
    if ln.fmt_code(fmt) == ln.IN_FP32:
        b1 = f.view(np.uint32)
        b2 = None
        if kind == "restream":
            b2 = b1.copy()
            b2[rng.integers(0, n), rng.integers(0, G)] = 0x7F800001              # a signalling NaN
            b2[rng.integers(0, n), rng.integers(0, G)] = 0x7F800000
            b2[rng.integers(0, n)] = (rng.standard_normal(G) * 1000).astype(np.float32).view(np.uint32)
        return b1, b2
    q = quantize(f, in_mode, RTZ, block=G)
    exp, sign, mag, flags = q.exp.copy(), q.sign.copy(), q.mag.copy(), q.flags.copy()
    if kind == "corner":
        # every block corner once (as far as n goes), then 0..2 more
        whats = [str(w) for w in rng.permutation(["zero", "sat", "flush", "flag", "junk"])] + [
            str(w) for w in rng.choice(["zero", "sat", "flush", "flag", "junk"], int(rng.integers(0, 3)))]
        for i, what in zip(rng.choice(n, min(n, len(whats)), replace=False), whats):
            if what == "zero":
                mag[i] = 0
                sign[i] = rng.integers(0, 2, G)
            elif what == "sat":
                exp[i] = rng.integers(143, 256)
            elif what == "flush":
                exp[i] = rng.integers(0, 112)
            elif what == "flag":
                flags[i] = rng.integers(1, 4)
            else:
                mag[i] |= rng.integers(0, 1 << 16, G) & ~((1 << mag_bits(in_mode)) - 1)
    x2 = None
    if kind == "restream":
        e2, s2, m2, f2 = exp.copy(), sign.copy(), mag.copy(), flags.copy()
        f2[rng.integers(0, n)] = 1
        k = rng.integers(0, n)
        m2[k] = rng.integers(0, 1 << mag_bits(in_mode), G)
        e2[k] = rng.integers(110, 150)
        x2 = BFPTensor(e2, s2, m2, f2, in_mode)
    return BFPTensor(exp, sign, mag, flags, in_mode), x2


async def run_job(env: RangeBnEnv, job: Job) -> None:
    """Send a job: its items are all made first, so a reset drops the rest of the job as a whole."""
    cfg = CfgItem(f"{job.name}.cfg", job)
    p1, p2 = RowsItem(f"{job.name}.p1", job.rows(1), IN_BITS), RowsItem(f"{job.name}.p2", job.rows(2), IN_BITS)
    await ItemSequence("cfg", cfg).start(env.seqr["cfg"])
    await ItemSequence("data", p1, p2).start(env.seqr["in"])


async def run_jobs_overlapped(env: RangeBnEnv, jobs: list[Job]) -> None:
    """Send jobs with every configuration and data beat offered as early as the unit can take it (the cfg
    and data sequences run concurrently), so the unit, not the bench, sets the pace. Not reset-safe (a
    reset would cut the jobs' items apart): for the cycle test only."""
    cfg = ItemSequence("cfg", *[CfgItem(f"{j.name}.cfg", j) for j in jobs])
    # all data beats in one item: the driver's pause between items (a cycle or two) must not be measured
    data = ItemSequence("data", RowsItem("jobs.data", [r for j in jobs for p in (1, 2) for r in j.rows(p)], IN_BITS))
    task = cocotb.start_soon(cfg.start(env.seqr["cfg"]))
    await data.start(env.seqr["in"])
    await task


async def run_jobs(env: RangeBnEnv, prefix: str, count: int, kinds=("random",), n: int | None = None,
                   modes=(0, 1, 2, 3)) -> None:
    """`count` jobs; job k is of kind kinds[k mod len(kinds)] in input format FORMATS[k mod 4]: with 3 kinds,
    12 jobs make every kind x format pair."""
    rng = seeds.rng(prefix)
    for k in range(count):
        fmt = FORMATS[k % len(FORMATS)]
        await run_job(env, make_job(rng, f"{prefix}{k}", kinds[k % len(kinds)], n, modes, (fmt,)))


def top_nw() -> int:
    return int(cocotb.top.NW.value)
