"""bn_fp32 bench layer: FP32 batch-norm jobs (configuration + two passes), the model-based scoreboard
(models/lightnorm.py `bn_fp32_statistics` / `bn_fp32_normalize`), coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverPoint

from fbuvm import seeds
from fbuvm.components import (CoverageCollector, ItemSequence, RowsItem, StreamEnv, StreamItem, TwoPassScoreboard,
                               pack_lanes, unpack_lanes)
from models import lightnorm as ln

G = ln.LANES


def pack32(values) -> int:
    return pack_lanes(values, 32)


def unpack32(word: int) -> np.ndarray:
    return np.array(unpack_lanes(int(word), 32, G), np.uint32)


def f32bits(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


class Job:
    def __init__(self, name, x1, gamma, beta, eps, x2=None):
        self.name = name
        self.x1 = np.asarray(x1, np.uint32)
        self.x2 = self.x1 if x2 is None else np.asarray(x2, np.uint32)
        self.gamma, self.beta, self.eps = np.asarray(gamma, np.uint32), np.asarray(beta, np.uint32), int(eps)

    @property
    def n(self) -> int:
        return self.x1.shape[0]

    @property
    def inv_n(self) -> int:
        return int(f32bits(np.float32(1.0 / self.n))) if self.n else 0


class CfgItem(StreamItem):
    def __init__(self, name, job: Job):
        super().__init__(name)
        self.job = job

    def beat(self):
        j = self.job
        return {"n": j.n, "inv_n": j.inv_n, "eps": j.eps, "gamma": pack32(j.gamma), "beta": pack32(j.beta)}


class BnFp32Scoreboard(TwoPassScoreboard):
    def open_job(self, cfg):
        return {"inv_n": int(cfg["inv_n"]), "eps": int(cfg["eps"]), "gamma": unpack32(cfg["gamma"]),
                "beta": unpack32(cfg["beta"]), "x1": []}

    def pass1(self, j, txn, last):
        j["x1"].append(unpack32(txn["data"]))
        if last:
            j["stats"] = ln.bn_fp32_statistics(np.array(j["x1"]), j["gamma"], j["inv_n"], j["eps"])
        return []

    def pass2(self, j, txn, index):
        row, st = unpack32(txn["data"]), j["stats"]
        y = ln.bn_fp32_normalize(row[None, :], st, j["beta"])[0]
        return [{"data": pack32(y), "y": y, "x": row, "index": index, "n": j["n"],
                 "mean": st.mean, "rstd": st.rstd, "a": st.a}]

    def same(self, expected, actual):
        return expected["data"] == int(actual["data"])

    def describe(self, expected, actual):
        e = expected
        got = unpack32(int(actual["data"]))
        lanes = "\n    ".join(
            f"ch{i}: x={e['x'][i]:08x} mean={float(e['mean'][i])!r} rstd={float(e['rstd'][i])!r} "
            f"a={float(e['a'][i])!r} -> expected {e['y'][i]:08x} actual {got[i]:08x}" for i in range(G))
        return f"pass-2 beat {e['index']} of a job with n={e['n']}:\n    {lanes}"


def y_class(e) -> str:
    y = e["y"].view(np.float32)
    if np.isnan(y).any():
        return "nan"
    if np.isinf(y).any():
        return "inf"
    return "finite"


@CoverPoint("bn_fp32.out", xf=lambda e: y_class(e), bins=["nan", "inf", "finite"])
@CoverPoint("bn_fp32.n", xf=lambda e: "one" if e["n"] == 1 else "few" if e["n"] < 16 else "many",
            bins=["one", "few", "many"])
def _sample(e):
    pass


class BnFp32Coverage(CoverageCollector):
    def sample(self, txn):
        _sample(txn)


class BnFp32Env(StreamEnv):
    inputs = {"cfg": ["n", "inv_n", "eps", "gamma", "beta"], "in": ["data"]}
    outputs = {"out": ["data"]}
    scoreboard_class = BnFp32Scoreboard
    coverage_class = BnFp32Coverage

    def build_phase(self):
        super().build_phase()
        self.cfg_edges, self.out_edges = [], []  # handshake times (rising-edge numbers) for the cycle test
        self.sources["cfg"].subscribe(lambda beat: self.cfg_edges.append(self.clock.cycle))
        self.sinks["out"].subscribe(lambda beat: self.out_edges.append(self.clock.cycle))


N_CHOICES = [1, 2, 3, 7, 8, 13, 16, 24, 37, 48]


def make_job(rng: np.random.Generator, name: str, kind: str = "random", n: int | None = None) -> Job:
    """'random': normal data at per-lane scales and offsets; 'corner': constant / zero / subnormal /
    overflowing / NaN / Inf lanes, eps = 0 or negative; 'restream': pass 2 differs (NaN, Inf there)."""
    n = int(rng.choice(N_CHOICES)) if n is None else n
    x = (rng.standard_normal((n, G)) * 10.0 ** rng.integers(-4, 4, G) + rng.standard_normal(G) * 10.0 **
         rng.integers(-3, 3, G))
    x1 = f32bits(x.astype(np.float32))
    gamma = f32bits((rng.uniform(0.25, 4.0, G) * rng.choice([-1, 1], G)).astype(np.float32))
    beta = f32bits((rng.standard_normal(G) * 4).astype(np.float32))
    eps = int(f32bits(np.float32(rng.choice([1e-5, 1e-3]))))
    x2 = None
    if kind == "corner":
        for lane in rng.choice(G, int(rng.integers(1, 5)), replace=False):
            what = str(rng.choice(["const", "zero", "sub", "huge", "nan", "inf"]))
            col = x1[:, lane].copy()
            if what == "const":
                col[:] = f32bits(np.float32(rng.standard_normal() * 100))
            elif what == "zero":
                col[:] = 0
            elif what == "sub":
                col = f32bits((rng.standard_normal(n) * 1e-40).astype(np.float32))
            elif what == "huge":
                col = f32bits((rng.standard_normal(n) * 1e30).astype(np.float32))
            elif what == "nan":
                col[rng.integers(0, n)] = 0x7FC00000 | int(rng.integers(0, 1 << 22))
            else:
                col[rng.integers(0, n)] = 0xFF800000
            x1[:, lane] = col
        eps = int(rng.choice([0, eps, int(f32bits(np.float32(-1.0)))]))
    elif kind == "restream":
        x2 = x1.copy()
        x2[rng.integers(0, n), rng.integers(0, G)] = 0x7F800001
        x2[rng.integers(0, n), rng.integers(0, G)] = 0x7F800000
    return Job(name, x1, gamma, beta, eps, x2)


async def run_job(env: BnFp32Env, job: Job) -> None:
    cfg, p1, p2 = CfgItem(f"{job.name}.cfg", job), RowsItem(f"{job.name}.p1", job.x1, 32), RowsItem(f"{job.name}.p2", job.x2, 32)
    await ItemSequence("cfg", cfg).start(env.seqr["cfg"])
    await ItemSequence("data", p1, p2).start(env.seqr["in"])


async def run_jobs_overlapped(env: BnFp32Env, jobs: list[Job]) -> None:
    """Send jobs with every configuration and data beat offered as early as the unit can take it (cfg and
    data sequences concurrent; all data beats in one item, so no driver pause between items is measured).
    Not reset-safe: for the cycle test only."""
    cfg = ItemSequence("cfg", *[CfgItem(f"{j.name}.cfg", j) for j in jobs])
    data = ItemSequence("data", RowsItem("jobs.data", np.concatenate([x for j in jobs for x in (j.x1, j.x2)]), 32))
    task = cocotb.start_soon(cfg.start(env.seqr["cfg"]))
    await data.start(env.seqr["in"])
    await task


async def run_jobs(env: BnFp32Env, prefix: str, count: int, kinds=("random",)) -> None:
    rng = seeds.rng(prefix)
    for k in range(count):
        await run_job(env, make_job(rng, f"{prefix}{k}", str(rng.choice(kinds))))
