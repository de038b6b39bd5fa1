"""dw_unit tests. One alone: `make sim TOPLEVEL=dw_unit TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations

import itertools

import cocotb
import pyuvm
from pyuvm import uvm_factory

from dw_unit_env import (DwUnitEnv, DwUnitScoreboard, Job, expected_beats, make_job, run_job, run_jobs,
                         run_jobs_overlapped, w_max)
from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from models import dw_unit as du


class DwUnitBase(FlexBlockTest):
    env_class = DwUnitEnv
    count = 12
    kw: dict = {}

    async def body(self):
        await run_jobs(self.env, "jobs", seeds.scaled(self.count), **self.kw)


@pyuvm.test()
class RandomJobs(DwUnitBase):
    """FWD, BWD and WG jobs on random maps of 1..6 x 1..6 (border taps, 1 x W, H x 1, 1 x 1), random mode
    pairs (reserved 3 included) and block kinds."""


@pyuvm.test()
class EveryModePair(DwUnitBase):
    """Every pass x every mode pair (4 x 4 codes, reserved 3 as FB24) on one 3 x 4 map shape (2 x 2 in the
    quick regression)."""

    async def body(self):
        rng = seeds.rng("pairs")
        h, w = (2, 2) if seeds.quick() else (3, 4)
        for p, ma, mb in itertools.product((du.FWD, du.BWD, du.WG), range(4), range(4)):
            await run_job(self.env, make_job(rng, f"p{p}m{ma}{mb}", p, h, min(w, w_max()), ma, mb, "near"))


@pyuvm.test()
class SpecialValues(DwUnitBase):
    """Products that overflow binary32 (Inf terms, Inf - Inf = NaN), zero blocks and channels, flagged blocks
    and blocks converted from FP32 with NaN / Inf / subnormals."""

    async def body(self):
        rng = seeds.rng("special")
        for n, (kind, p) in enumerate(itertools.product(("huge", "zero", "fp32"), (du.FWD, du.BWD, du.WG))):
            await run_job(self.env, make_job(rng, f"s{n}", p, kind=kind))


@pyuvm.test()
class MapShapes(DwUnitBase):
    """1 x 1, 1 x W, H x 1, the widest row the line buffer holds (W = W_MAX) and a tall map (rows wrap the
    4 line-buffer slots many times), in every pass (W = W_MAX in one pass, drawn, in the quick regression)."""

    async def body(self):
        rng = seeds.rng("shapes")
        wm = w_max()
        wide = int(rng.integers(0, 3))
        for n, ((h, w), p) in enumerate(itertools.product(((1, 1), (1, min(5, wm)), (5, 1), (2, wm), (11, 2)),
                                                          (du.FWD, du.BWD, du.WG))):
            if seeds.quick() and w == wm and wm > 8 and p != wide:
                continue
            await run_job(self.env, make_job(rng, f"shape{n}", p, h, w))


@pyuvm.test()
class BadConfigurations(DwUnitBase):
    """Pass code 3, H = 0, W = 0 and W > W_MAX give one error beat each and take no data; good jobs around them
    run normally."""

    async def body(self):
        rng = seeds.rng("bad")
        wm = w_max()
        bad = [Job("pass3", 3, 2, 2, 0, 0), Job("h0", du.FWD, 0, 3, 1, 1), Job("w0", du.WG, 3, 0, 0, 2),
               Job("wide", du.BWD, 2, wm + 1, 2, 2), Job("huge_w", du.FWD, 1, 0xFFFF, 0, 0)]
        for n, j in enumerate(bad):
            await run_job(self.env, make_job(rng, f"good{n}", max_side=3))
            await run_job(self.env, j)
        await run_job(self.env, make_job(rng, "after", max_side=3))


@pyuvm.test()
class BackPressure(DwUnitBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(DwUnitBase):
    idle, backpressure = "none", "heavy"
    count = 8


@pyuvm.test()
class ResetMidStream(DwUnitBase):
    """A reset in the middle of a job (kernel load, map streaming, taps, WG read-out): the job is dropped
    (results that left before the reset are checked), the next one starts with an empty line buffer."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(run_jobs(self.env, "before", seeds.scaled(6)))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(20, 400)))
        await self.env.clock.reset()
        await task
        await run_jobs(self.env, "after", seeds.scaled(4))


@pyuvm.test()
class CycleModel(DwUnitBase):
    """Jobs back to back with no idle input and no back-pressure: every job's cycles, from its cfg beat taken
    to its last result taken (on the pins), equal models.dw_unit.job_cycles exactly, and the cycles to the next
    job's cfg beat models.dw_unit.stream_period (bad jobs included)."""

    async def body(self):
        rng = seeds.rng("cycles")
        wm = w_max()
        shapes = [(1, 1), (1, 2), (2, 1), (3, 3), (4, min(7, wm)), (6, 2)]
        if not seeds.quick():  # longer jobs (MapShapes has the widest row in the quick regression)
            shapes += [(5, min(9, wm)), (2, wm)]
        jobs = [make_job(rng, f"c{n}", p, h, w) for n, ((h, w), p) in
                enumerate(itertools.product(shapes, (du.FWD, du.BWD, du.WG)))]
        jobs.insert(5, Job("bad", 3, 2, 2, 0, 0))
        await check_cycles(self, jobs)


async def check_cycles(test, jobs) -> list[int]:
    env = test.env
    env.cfg_edges.clear()
    env.last_edges.clear()
    await run_jobs_overlapped(env, jobs)
    await env.drain()
    cfg, last = env.cfg_edges, env.last_edges
    assert len(cfg) == len(jobs) == len(last), (len(cfg), len(last), len(jobs))
    measured = []
    for n, (j, c, e) in enumerate(zip(jobs, cfg, last)):
        p = j.pass_ if not j.bad else 3
        want = du.job_cycles(p, j.h, j.w)
        test.logger.info(f"{j}: {e - c} cycles measured, cycle model {want}")
        assert e - c == want, f"{j}: measured {e - c} cycles (cfg taken at edge {c}, last result at {e}), model {want}"
        if n + 1 < len(jobs):  # the next job's cfg beat: the stream period
            period = cfg[n + 1] - c
            assert period == du.stream_period(p, j.h, j.w), \
                f"{j}: next cfg taken {period} cycles after its own, stream_period {du.stream_period(p, j.h, j.w)}"
        measured.append((e - c, cfg[n + 1] - c if n + 1 < len(jobs) else None))
    return measured


class _UnturnedKernelScoreboard(WrongModelScoreboard, DwUnitScoreboard):
    """A deliberately wrong model: BWD with the kernel not turned by 180 degrees (the FWD walk on dY)."""

    def corrupt(self, expected):
        if expected.get("pass_") != du.BWD:
            return expected
        cache = self.__dict__.setdefault("_wrong", {})
        if expected["job"] not in cache:
            h, w = expected["a"].exp.shape[:2]
            cache[expected["job"]] = {e["where"]: e for e in
                                      expected_beats(du.FWD, h, w, *expected["modes"], expected["a"], expected["b"])}
        i = cache[expected["job"]][expected["where"]]
        return {**expected, "result": i["result"], "flags": i["flags"]}

    def check_phase(self):
        super().check_phase()  # caught, and on exactly the first output the wrong model gets wrong
        # ... and the message says where: the job, the output pixel, the first lane that differs, both values
        for part in ("job #", "BWD", "output (", "lane ", "expected ", "actual "):
            if part not in self.caught:
                super(WrongModelScoreboard, self).fail(f"self-check: the mismatch message lacks {part!r}:\n{self.caught}")


@pyuvm.test()
class ScoreboardCatchesWrongModel(DwUnitBase):
    """The scoreboard must catch a BWD whose kernel is not turned by 180 degrees, on the first output it
    gets wrong (WrongModelScoreboard checks the failure is that mismatch and nothing else)."""
    kw = {"pass_": du.BWD}
    count = 4

    def build_phase(self):
        uvm_factory().set_type_override_by_type(DwUnitScoreboard, _UnturnedKernelScoreboard)
        super().build_phase()


# MobileNetV2's stride-1 depthwise map sizes, and the rows of each map a report job covers (whole maps but
# the two largest: a job's cycles grow with its rows; the cycle model gives the whole map beside)
LAYER_ROWS = {112: 16, 56: 56, 28: 28, 14: 14, 7: 7}
REPORT_PAIRS = ((0, 0), (1, 1), (2, 2))


@pyuvm.test()
class LayerUtilization(DwUnitBase):
    """One channel group per job on MobileNetV2's stride-1 depthwise maps, FWD / BWD / WG, jobs back to back:
    every job's cycles (cfg taken to last result taken, on the pins) equal models.dw_unit.job_cycles and the
    cycles to the next job's cfg beat models.dw_unit.stream_period, every
    result is checked, and the figures go to the stats file for scripts/dw_report.py. With
    FLEXBLOCK_DW_REPORT=full (Verilator, W_MAX >= 112): maps 112 (16 rows), 56, 28, 14, 7 x the passes x
    FB24 x FB24, FB16 x FB16, FB12 x FB12; otherwise 4 rows of the 7-wide map (or the widest the build holds)
    in three mode pairs (one, drawn, in the quick regression)."""
    budget_ms = 20  # the full report runs ~0.5 M cycles
    report_env = "FLEXBLOCK_DW_REPORT"
    report_stall_cycles = 1_000_000   # a later job's dY (or map) waits on its stream while long jobs run

    async def body(self):
        from fbuvm.components import write_stats
        rng = seeds.rng("layers")
        full = self.full_report
        wm = w_max()
        if full:
            assert wm >= 112, f"the report needs W_MAX >= 112 (this build: {wm})"
            shapes = [(rows, size) for size, rows in LAYER_ROWS.items()]
        else:
            shapes = [(4, min(7, wm))]
        pairs = REPORT_PAIRS if full or not seeds.quick() else (REPORT_PAIRS[int(rng.integers(0, 3))],)
        jobs = [make_job(rng, f"{h}x{w}.{du.PASS_NAMES[p]}.{a}{b}", p, h, w, a, b, "near")
                for h, w in shapes for p in (du.FWD, du.BWD, du.WG) for a, b in pairs]
        # a last 1 x 1 job, so that every job above has a next cfg beat: its stream period is measured too
        measured = await check_cycles(self, jobs + [make_job(rng, "end", du.FWD, 1, 1)])
        write_stats({"dw_unit_layers": [
            {"h": j.h, "w": j.w, "pass": j.pass_, "modes": [j.mode_a, j.mode_b], "cycles": c, "period": t,
             "products": du.valid_taps(j.h, j.w)} for j, (c, t) in zip(jobs, measured)]})
