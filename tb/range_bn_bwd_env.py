"""range_bn_bwd bench layer: LightNorm backward jobs (configuration + passes B1 and B2), the model-based
scoreboard, coverage and env. The model is models/range_bn_bwd.py (`statistics` after pass B1, which also
gives the gradient beat, `pass2` per pass-B2 beat)."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint

from fbuvm import seeds
from fbuvm.components import (CoverageCollector, ItemSequence, StreamEnv, StreamItem, TwoPassScoreboard, pack_lanes,
                              unpack_lanes)
from models import lightnorm as ln
from models import range_bn_bwd as rb

G = ln.LANES


def pack(values) -> int:
    return pack_lanes(values, 10)


def unpack(word: int) -> np.ndarray:
    return np.array(unpack_lanes(int(word), 10, G), np.int64)


def fp(x) -> np.ndarray:
    return ln.encode(np.asarray(x, np.float64))


def fg(x) -> np.ndarray:
    return ln.encode(np.asarray(x, np.float64), ln.FP10G)


class Job:
    """One channel group's backward job: x (n, 8) 1-5-4, dy (n, 8) 1-6-3 of pass B1, dy2 of pass B2."""

    def __init__(self, name, x, dy, gamma, c, eps, dy2=None):
        self.name = name
        self.x, self.dy = np.asarray(x, np.int64), np.asarray(dy, np.int64)
        self.dy2 = self.dy if dy2 is None else np.asarray(dy2, np.int64)
        self.gamma = np.asarray(gamma, np.int64)
        self.c, self.eps = int(c), int(eps)

    @property
    def n(self) -> int:
        return self.x.shape[0]


class CfgItem(StreamItem):
    def __init__(self, name, job: Job):
        super().__init__(name)
        self.job = job

    def beat(self):
        j = self.job
        return {"n": j.n, "c": j.c, "eps": j.eps, "gamma": pack(j.gamma)}

    def __str__(self):
        return f"cfg {self.job.name}: n={self.job.n}"


class PassItem(StreamItem):
    """A pass as one burst: pass B1 carries (x, dy), pass B2 dy only (x = 0: the unit does not read it)."""

    def __init__(self, name, x, dy):
        super().__init__(name)
        self.x, self.dy = x, dy

    def beats(self):
        return [{"x": pack(x) if self.x is not None else 0, "dy": pack(d)}
                for x, d in zip(self.x if self.x is not None else [None] * len(self.dy), self.dy)]

    def __str__(self):
        return f"{self.get_name()}: {len(self.dy)} beats"


# --- scoreboard ------------------------------------------------------------------------------------------
class RangeBnBwdScoreboard(TwoPassScoreboard):
    def open_job(self, cfg):
        return {"c": int(cfg["c"]), "eps": int(cfg["eps"]), "gamma": unpack(cfg["gamma"]), "x": [], "dy": [],
                "bst": None}

    def pass1(self, j, txn, last):
        j["x"].append(unpack(txn["x"]))
        j["dy"].append(unpack(txn["dy"]))
        if not last:
            return []
        bst = j["bst"] = rb.statistics(np.array(j["x"]), np.array(j["dy"]), j["gamma"], j["c"], j["eps"])
        return [{"grad": 1, "data": pack(bst.dgamma) | (pack(bst.dbeta) << 80), "n": j["n"], "index": None,
                 "bst": bst, "dy": None, "dx": None}]

    def pass2(self, j, txn, index):
        row = unpack(txn["dy"])
        dx = rb.pass2(row[None, :], j["bst"], j["n"], np.array([index]))[0]
        return [{"grad": 0, "data": pack(dx), "n": j["n"], "index": index, "bst": j["bst"], "dy": row, "dx": dx}]

    FIELDS = ("grad", "data")

    def same(self, expected, actual):
        return all(expected[f] == int(actual[f]) for f in self.FIELDS)

    def describe(self, expected, actual):
        e, b = expected, expected["bst"]
        g = lambda v: ln.decode(v, ln.FP10G)  # noqa: E731
        if e["grad"]:
            what = "the gradient beat"
            lanes = "\n    ".join(
                f"ch{i}: poison={bool(b.poison[i])} D={b.d_sum[i]} P={b.p[i]} s={ln.decode(b.fwd.scale[i])} "
                f"-> dgamma={g(b.dgamma[i])} dbeta={g(b.dbeta[i])}" for i in range(G))
        else:
            what = f"pass-B2 beat {e['index']}"
            sel = rb.extreme_sign(e["n"], b, np.array([e["index"]]))[0]
            lanes = "\n    ".join(
                f"ch{i}: dy={g(e['dy'][i])} md={g(b.md[i])} a={ln.decode(b.fwd.a[i])} corr={g(b.corr[i])} "
                f"extreme={sel[i]:+d} poison={bool(b.poison[i])} -> dx={g(e['dx'][i])}" for i in range(G))
        want = " ".join(f"{f}={e[f]:#x}" for f in self.FIELDS)
        got = " ".join(f"{f}={int(actual[f]):#x}" for f in self.FIELDS)
        return f"{what} of a job with n={e['n']}:\n    {lanes}\n  expected {want}\n  actual   {got}"


# --- coverage --------------------------------------------------------------------------------------------
def n_class(n: int) -> str:
    return "n<=8" if n <= G else ("divides" if n % ln.CHUNKS == 0 else "not_divides")


def out_class(e) -> str:
    if e["grad"]:
        return "grad"
    sel = rb.extreme_sign(e["n"], e["bst"], np.array([e["index"]]))[0]
    if (~ln.is_finite(e["dx"], ln.FP10G)).any():
        return "nan"
    return "extreme" if sel.any() else "interior"


@CoverPoint("range_bn_bwd.n", xf=lambda e: n_class(e["n"]), bins=["n<=8", "divides", "not_divides"])
@CoverPoint("range_bn_bwd.out", xf=lambda e: out_class(e), bins=["grad", "nan", "extreme", "interior"])
@CoverPoint("range_bn_bwd.poison", xf=lambda e: bool(e["bst"].poison.any()), bins=[False, True])
@CoverCross("range_bn_bwd.n_x_out", items=["range_bn_bwd.n", "range_bn_bwd.out"])
def _sample(e):
    pass


class RangeBnBwdCoverage(CoverageCollector):
    def sample(self, txn):
        _sample(txn)


class RangeBnBwdEnv(StreamEnv):
    inputs = {"cfg": ["n", "c", "eps", "gamma"], "in": ["x", "dy"]}
    outputs = {"out": ["grad", "data"]}
    scoreboard_class = RangeBnBwdScoreboard
    coverage_class = RangeBnBwdCoverage

    def build_phase(self):
        super().build_phase()
        self.cfg_edges, self.out_edges = [], []  # handshake times (rising-edge numbers) for the cycle test
        self.sources["cfg"].subscribe(lambda beat: self.cfg_edges.append(self.clock.cycle))
        self.sinks["out"].subscribe(lambda beat: self.out_edges.append((self.clock.cycle, int(beat["grad"]))))


# --- stimulus --------------------------------------------------------------------------------------------
N_CHOICES = [1, 2, 3, 5, 7, 8, 9, 12, 13, 16, 17, 24, 29, 37, 48]


def make_job(rng: np.random.Generator, name: str, kind: str = "random", n: int | None = None) -> Job:
    """A job of a kind: 'random' (lanes of different scales and offsets, gradients of different scales),
    'corner' (lanes made constant, zero, full-range, subnormal, NaN/Inf x or dy, saturating or subnormal
    dy), 'params' (NaN gamma, Inf c or eps, eps = 0), 'restream' (pass B2's dy differs, NaN/Inf there)."""
    n = int(rng.choice(N_CHOICES)) if n is None else n
    x = fp(rng.standard_normal((n, G)) * 10.0 ** rng.integers(-3, 3, G)
           + rng.standard_normal(G) * 10.0 ** rng.integers(-2, 3, G))
    dy = fg(rng.standard_normal((n, G)) * 10.0 ** rng.integers(-5, 2, G))
    gamma = fp(rng.uniform(0.25, 4.0, G) * rng.choice([-1, 1], G))
    c, eps = fp(ln.range_constant(n)), fp(float(rng.choice([1e-5, 1e-3, 0.1])))
    dy2 = None
    if kind == "corner":
        corners = ["const", "zero", "full", "sub", "nan", "inf_dy", "far", "sat_dy", "sub_dy"]
        k = int(rng.integers(5, G + 1))   # 5..8 lanes, each a different corner: every job covers most kinds
        for lane, what in zip(rng.choice(G, k, replace=False), rng.permutation(corners)[:k]):
            what = str(what)
            k = int(rng.integers(0, n))
            if what == "const":
                x[:, lane] = fp(rng.standard_normal() * 100)
            elif what == "zero":
                x[:, lane] = np.where(rng.random(n) < 0.5, ln.FP10.sign_bit, 0)   # +0 and -0: ties
            elif what == "full":
                x[:, lane] = fp(rng.choice([-63488.0, 63488.0, 1e9, -1e9], n))
            elif what == "sub":
                x[:, lane] = fp(rng.standard_normal(n) * 2.0 ** -16)
            elif what == "nan":
                x[k, lane] = fp(np.nan)
            elif what == "inf_dy":
                dy[k, lane] = fg(-np.inf)
            elif what == "far":
                x[:, lane] = fp(rng.standard_normal(n) * 50 + 40000)
            elif what == "sat_dy":
                dy[:, lane] = fg(rng.choice([-1.0, 1.0], n) * 1e10)
            else:
                dy[:, lane] = fg(rng.standard_normal(n) * 2.0 ** -30)   # subnormal and the lowest binades
        if rng.random() < 0.3:
            eps = 0
    elif kind == "params":
        gamma[rng.integers(0, G)] = fp(np.nan)
        if rng.random() < 0.3:
            c = fp(np.inf)
        elif rng.random() < 0.3:
            eps = fp(-np.inf)
        else:
            eps = 0
    elif kind == "restream":
        dy2 = dy.copy()
        dy2[rng.integers(0, n), rng.integers(0, G)] = fg(np.nan)
        dy2[rng.integers(0, n), rng.integers(0, G)] = fg(np.inf)
        dy2[rng.integers(0, n)] = fg(rng.standard_normal(G))
    return Job(name, x, dy, gamma, c, eps, dy2)


def _items(job: Job):
    return (CfgItem(f"{job.name}.cfg", job), PassItem(f"{job.name}.b1", job.x, job.dy),
            PassItem(f"{job.name}.b2", None, job.dy2))


async def run_job(env: RangeBnBwdEnv, job: Job) -> None:
    """Send a job: its items are all made first, so a reset drops the rest of the job as a whole."""
    cfg, b1, b2 = _items(job)
    await ItemSequence("cfg", cfg).start(env.seqr["cfg"])
    await ItemSequence("data", b1, b2).start(env.seqr["in"])


class _Burst(StreamItem):
    def __init__(self, name, beats):
        super().__init__(name)
        self._beats = beats

    def beats(self):
        return self._beats


async def run_jobs_overlapped(env: RangeBnBwdEnv, jobs: list[Job]) -> None:
    """Every configuration and data beat offered as early as the unit can take it (cfg and data sequences
    concurrent, all data beats in one item), so the unit sets the pace. Not reset-safe: for the cycle test."""
    cfg = ItemSequence("cfg", *[CfgItem(f"{j.name}.cfg", j) for j in jobs])
    beats = [b for j in jobs for it in _items(j)[1:] for b in it.beats()]
    data = ItemSequence("data", _Burst("jobs.data", beats))
    task = cocotb.start_soon(cfg.start(env.seqr["cfg"]))
    await data.start(env.seqr["in"])
    await task


async def run_jobs(env: RangeBnBwdEnv, prefix: str, count: int, kinds=("random",), n: int | None = None) -> None:
    rng = seeds.rng(prefix)
    for k in range(count):
        await run_job(env, make_job(rng, f"{prefix}{k}", str(rng.choice(kinds)), n))


def top_nw() -> int:
    return int(cocotb.top.NW.value)
