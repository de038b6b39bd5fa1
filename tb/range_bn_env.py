"""range_bn bench layer: LightNorm jobs (configuration + two passes), the model-based scoreboard, coverage
and env. The model is models/lightnorm.py (`statistics` after pass 1, `normalize` + the BFP conversion per
pass-2 beat)."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint

from fbuvm import seeds
from fbuvm.components import (CoverageCollector, ItemSequence, RowsItem, Scoreboard, StreamEnv, StreamItem,
                               pack_lanes, unpack_lanes)
from models import lightnorm as ln
from models.fp2bfp import RTZ, quantize

G = ln.LANES


def pack(values) -> int:
    return pack_lanes(values, 10)


def unpack(word: int, width: int = 10, count: int = G) -> np.ndarray:
    return np.array(unpack_lanes(int(word), width, count), np.int64)


def fp(x) -> np.ndarray:
    return ln.encode(np.asarray(x, np.float64))


class Job:
    """One channel group's job: pass-1 values x1 (n, 8), pass-2 values x2, parameters (fp10 bits)."""

    def __init__(self, name, x1, gamma, beta, c, eps, mode, x2=None):
        self.name = name
        self.x1 = np.asarray(x1, np.int64)
        self.x2 = self.x1 if x2 is None else np.asarray(x2, np.int64)
        self.gamma, self.beta = np.asarray(gamma, np.int64), np.asarray(beta, np.int64)
        self.c, self.eps, self.mode = int(c), int(eps), int(mode)

    @property
    def n(self) -> int:
        return self.x1.shape[0]


class CfgItem(StreamItem):
    def __init__(self, name, job: Job):
        super().__init__(name)
        self.job = job

    def beat(self):
        j = self.job
        return {"n": j.n, "c": j.c, "eps": j.eps, "gamma": pack(j.gamma), "beta": pack(j.beta), "mode": j.mode}

    def __str__(self):
        return f"cfg {self.job.name}: n={self.job.n} mode={self.job.mode}"


# --- scoreboard ------------------------------------------------------------------------------------------
class RangeBnScoreboard(Scoreboard):
    input_ports = ("cfg", "in")

    def reset_model(self):
        self.job = None

    def pending(self):
        if self.job is None:
            return ""
        return f"a job (n={self.job['n']}) with {self.job['seen']} of {2 * self.job['n']} beats"

    def predict(self, port, txn):
        if port == "cfg":
            if self.job is not None:
                self.fail(f"configuration taken in the middle of a job: {txn}")
            if txn["n"] == 0:
                return []  # an empty job: nothing taken, nothing out (spec)
            self.job = {"n": int(txn["n"]), "c": int(txn["c"]), "eps": int(txn["eps"]),
                        "gamma": unpack(txn["gamma"]), "beta": unpack(txn["beta"]), "mode": int(txn["mode"]),
                        "x1": [], "seen": 0, "stats": None}
            return []
        j = self.job
        if j is None:
            self.fail(f"data beat taken with no job configured: {txn}")
        row = unpack(txn["data"])
        j["seen"] += 1
        if j["seen"] <= j["n"]:
            j["x1"].append(row)
            if j["seen"] == j["n"]:
                j["stats"] = ln.statistics(np.array(j["x1"]), j["gamma"], j["beta"], j["c"], j["eps"])
            return []
        st = j["stats"]
        z, nan = ln.normalize(row[None, :], st, j["beta"])
        q = quantize(ln.to_float32(z, nan), j["mode"], RTZ, block=G)
        sign = pack_lanes(q.sign[0, 0].tolist(), 1)
        mag = pack_lanes(q.mag[0, 0].tolist(), 16)
        index = j["seen"] - j["n"] - 1
        exp = {"exp": int(q.exp[0, 0]), "sign": sign, "mag": mag, "flags": int(q.flags[0, 0]), "mode": j["mode"],
               "index": index, "n": j["n"], "x": row, "z": z[0], "nan": nan[0],
               "mean": st.mean, "a": st.a, "poison": st.poison}
        if j["seen"] == 2 * j["n"]:
            self.job = None
        return [exp]

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
        return (f"pass-2 beat {e['index']} of a job with n={e['n']}:\n    {lanes}\n"
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


@CoverPoint("range_bn.n", xf=lambda e: n_class(e["n"]), bins=["n<=8", "divides", "not_divides"])
@CoverPoint("range_bn.mode", xf=lambda e: e["mode"], bins=[0, 1, 2, 3])
@CoverPoint("range_bn.out", xf=lambda e: out_class(e), bins=["nan", "zero", "value"])
@CoverPoint("range_bn.poison", xf=lambda e: bool(e["poison"].any()), bins=[False, True])
@CoverCross("range_bn.n_x_mode", items=["range_bn.n", "range_bn.mode"])
def _sample(e):
    pass


class RangeBnCoverage(CoverageCollector):
    def sample(self, txn):
        _sample(txn)


class RangeBnEnv(StreamEnv):
    inputs = {"cfg": ["n", "c", "eps", "gamma", "beta", "mode"], "in": ["data"]}
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


def make_job(rng: np.random.Generator, name: str, kind: str = "random", n: int | None = None,
             modes=(0, 1, 2, 3)) -> Job:
    """A job of a kind: 'random' (normal data, lanes of different scales and offsets), 'corner' (lanes
    made constant, zero, full-range, subnormal, NaN, Inf, far off zero), 'params' (NaN/Inf gamma, beta or
    c, eps = 0), 'restream' (pass 2 differs from pass 1, with NaN/Inf there)."""
    n = int(rng.choice(N_CHOICES)) if n is None else n
    x = (rng.standard_normal((n, G)) * 10.0 ** rng.integers(-3, 3, G) + rng.standard_normal(G) * 10.0 **
         rng.integers(-2, 3, G))
    x1 = fp(x)
    gamma = fp(rng.uniform(0.25, 4.0, G) * rng.choice([-1, 1], G))
    beta = fp(rng.standard_normal(G) * 4)
    c, eps = fp(ln.range_constant(n)), fp(float(rng.choice([1e-5, 1e-3, 0.1])))
    x2 = None
    if kind == "corner":
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
        if rng.random() < 0.3:
            eps = 0
    elif kind == "params":
        gamma[rng.integers(0, G)] = fp(np.nan)
        beta[rng.integers(0, G)] = fp(np.inf)
        if rng.random() < 0.3:
            c = fp(np.inf)
        eps = 0
    elif kind == "restream":
        x2 = x1.copy()
        x2[rng.integers(0, n), rng.integers(0, G)] = fp(np.nan)
        x2[rng.integers(0, n), rng.integers(0, G)] = fp(np.inf)
        x2[rng.integers(0, n)] = fp(rng.standard_normal(G) * 1000)
    return Job(name, x1, gamma, beta, c, eps, int(rng.choice(modes)), x2)


async def run_job(env: RangeBnEnv, job: Job) -> None:
    """Send a job: its items are all made first, so a reset drops the rest of the job as a whole."""
    cfg, p1, p2 = CfgItem(f"{job.name}.cfg", job), RowsItem(f"{job.name}.p1", job.x1, 10), RowsItem(f"{job.name}.p2", job.x2, 10)
    await ItemSequence("cfg", cfg).start(env.seqr["cfg"])
    await ItemSequence("data", p1, p2).start(env.seqr["in"])


async def run_jobs_overlapped(env: RangeBnEnv, jobs: list[Job]) -> None:
    """Send jobs with every configuration and data beat offered as early as the unit can take it (the cfg
    and data sequences run concurrently), so the unit, not the bench, sets the pace. Not reset-safe (a
    reset would cut the jobs' items apart): for the cycle test only."""
    cfg = ItemSequence("cfg", *[CfgItem(f"{j.name}.cfg", j) for j in jobs])
    # all data beats in one item: the driver's pause between items (a cycle or two) must not be measured
    data = ItemSequence("data", RowsItem("jobs.data", np.concatenate([x for j in jobs for x in (j.x1, j.x2)]), 10))
    task = cocotb.start_soon(cfg.start(env.seqr["cfg"]))
    await data.start(env.seqr["in"])
    await task


async def run_jobs(env: RangeBnEnv, prefix: str, count: int, kinds=("random",), n: int | None = None,
                   modes=(0, 1, 2, 3)) -> None:
    rng = seeds.rng(prefix)
    for k in range(count):
        await run_job(env, make_job(rng, f"{prefix}{k}", str(rng.choice(kinds)), n, modes))


def top_nw() -> int:
    return int(cocotb.top.NW.value)
