"""range_bn_bwd tests. One alone: `make sim TOPLEVEL=range_bn_bwd TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from models import range_bn_bwd as rb
from range_bn_bwd_env import (G, RangeBnBwdEnv, RangeBnBwdScoreboard, make_job, run_job, run_jobs,
                              run_jobs_overlapped, top_nw)


class RangeBnBwdBase(FlexBlockTest):
    env_class = RangeBnBwdEnv
    kinds = ("random",)
    count = 5

    async def body(self):
        await run_jobs(self.env, "jobs", seeds.scaled(self.count), self.kinds)


@pyuvm.test()
class RandomJobs(RangeBnBwdBase):
    """Jobs of n = 1..48 values per channel (chunks that do and do not divide n, n below the chunk count),
    lanes of different scales and offsets, gradients of different scales."""


@pyuvm.test()
class CornerChannels(RangeBnBwdBase):
    """Constant and zero channels (+0 and -0 tie), full-range channels, subnormal x and dy, saturating dy,
    NaN x and Inf dy in pass B1 (the channel is NaN), bad parameters (NaN gamma, Inf c or eps, eps = 0) and
    pass-B2 gradients that differ from pass B1's (NaN/Inf there: that dx only)."""
    kinds = ("corner", "params", "restream")
    count = 7


@pyuvm.test()
class EmptyAndLongJobs(RangeBnBwdBase):
    """An empty job (n = 0: the configuration only), then a long corner job (n = 120) between short ones."""

    async def body(self):
        rng = seeds.rng("long")
        empty = make_job(rng, "empty", n=1)
        empty.x = empty.dy = empty.dy2 = np.zeros((0, G), np.int64)
        await run_job(self.env, empty)
        await run_job(self.env, make_job(rng, "short", n=3))
        await run_job(self.env, make_job(rng, "long", "corner", n=120))
        await run_job(self.env, make_job(rng, "after", n=9))


@pyuvm.test()
class BackPressure(RangeBnBwdBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(RangeBnBwdBase):
    idle, backpressure = "none", "heavy"
    count = 4


@pyuvm.test()
class ResetMidStream(RangeBnBwdBase):
    """A reset in the middle of a job (pass B1, between the passes or pass B2): the job is dropped, the
    next one starts clean."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(run_jobs(self.env, "before", seeds.scaled(5)))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 300)))
        await self.env.clock.reset()
        await task  # the job cut by the reset is dropped whole (its items are stale), the rest run
        await run_jobs(self.env, "after", seeds.scaled(3))


@pyuvm.test()
class CycleModel(RangeBnBwdBase):
    """Jobs back to back with no idle input and no back-pressure: the cycles from one job's configuration
    beat taken to the next one's equal models.range_bn_bwd.range_bn_bwd_cycles (1 + 2n + 67 + NW), the
    gradient beat leaves 1 + n + 67 + NW cycles after the configuration (at the end of the between phase)
    and the last dx RANGE_BN_BWD_DRAIN cycles after the job's cycles."""

    async def body(self):
        rng, nw = seeds.rng("cycles"), top_nw()
        jobs = [make_job(rng, f"c{k}", n=n) for k, n in enumerate((1, 7, 8, 13, 48, 2, 9))]
        self.env.cfg_edges.clear()
        self.env.out_edges.clear()
        await run_jobs_overlapped(self.env, jobs)
        await self.env.drain()
        cfg, out = self.env.cfg_edges, self.env.out_edges
        assert len(cfg) == len(jobs) and len(out) == sum(j.n + 1 for j in jobs), (len(cfg), len(out))
        grads = [e for e, g in out if g]
        assert len(grads) == len(jobs), grads
        for k, j in enumerate(jobs):
            measured = (cfg[k + 1] if k + 1 < len(jobs) else out[-1][0] - rb.RANGE_BN_BWD_DRAIN) - cfg[k]
            want = rb.range_bn_bwd_cycles(j.n, G, nw)
            self.logger.info(f"job {j.name} (n={j.n}, NW={nw}): {measured} cycles measured, cycle model {want}; "
                             f"gradient beat after {grads[k] - cfg[k]}")
            assert measured == want, f"job {j.name} (n={j.n}, NW={nw}): measured {measured} cycles, model {want}"
            assert grads[k] - cfg[k] == 1 + j.n + 67 + nw, (j.name, grads[k] - cfg[k])


class _NoCorrectionScoreboard(WrongModelScoreboard, RangeBnBwdScoreboard):
    """A deliberately wrong model: the range correction at the chunk extremes is dropped (dx = v there),
    i.e. the standard-BN mistake of ignoring ds/dx."""

    def corrupt(self, expected):
        if expected["grad"]:
            return expected
        b = expected["bst"]
        sel = rb.extreme_sign(expected["n"], b, np.array([expected["index"]]))[0]
        if not sel.any():
            return expected
        plain = rb.BwdStats(**{**b.__dict__, "corr": np.zeros_like(b.corr)})
        dx = rb.pass2(expected["dy"][None, :], plain, expected["n"], np.array([expected["index"]]))[0]
        from range_bn_bwd_env import pack
        return {**expected, "data": pack(dx)}


@pyuvm.test()
class ScoreboardCatchesWrongModel(RangeBnBwdBase):
    """The scoreboard must catch a model that drops the range correction, on the first output it gets
    wrong."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(RangeBnBwdScoreboard, _NoCorrectionScoreboard)
        super().build_phase()
