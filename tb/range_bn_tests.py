"""range_bn tests. One alone: `make sim TOPLEVEL=range_bn TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard, pack_lanes, unpack_lanes
from models import lightnorm as ln
from models.fp2bfp import RTZ, quantize
from range_bn_env import (FORMATS, G, RangeBnEnv, RangeBnScoreboard, make_job, run_job, run_jobs, run_jobs_overlapped,
                          top_nw)


class RangeBnBase(FlexBlockTest):
    env_class = RangeBnEnv
    kinds = ("random",)
    count = 6

    async def body(self):
        await run_jobs(self.env, "jobs", seeds.scaled(self.count), self.kinds)


@pyuvm.test()
class RandomJobs(RangeBnBase):
    """Jobs of n = 1..48 values per channel (chunks that do and do not divide n, n below the chunk count),
    lanes of different scales and offsets, every output mode, every input format (fp10, FP32, BFP in every
    mode, the reserved code)."""


@pyuvm.test()
class CornerChannels(RangeBnBase):
    """Constant channels, zero channels, full-range and saturating channels, subnormal values, NaN and Inf
    in pass 1 (the channel is NaN), bad parameters (NaN gamma, Inf beta, Inf c, eps = 0) and pass-2 data
    that differs from pass 1 (NaN/Inf there: that element only); in FP32 jobs binary32 subnormals, values
    that flush or saturate in the conversion, -0, NaN/Inf; in BFP jobs zero, saturating, flushing and
    flagged blocks and magnitude bits above W."""
    kinds = ("corner", "params", "restream")
    count = 12   # every kind in every input format


@pyuvm.test()
class EmptyAndLongJobs(RangeBnBase):
    """An empty job (n = 0: the configuration only), then a long job (n = 200) between short ones."""

    async def body(self):
        rng = seeds.rng("long")
        empty = make_job(rng, "empty", n=1)
        empty.words1 = empty.words2 = []
        await run_job(self.env, empty)
        await run_job(self.env, make_job(rng, "short", n=3))
        await run_job(self.env, make_job(rng, "long", "corner", n=120))
        await run_job(self.env, make_job(rng, "after", n=9))


@pyuvm.test()
class BackPressure(RangeBnBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(RangeBnBase):
    idle, backpressure = "none", "heavy"
    count = 5


@pyuvm.test()
class ResetMidStream(RangeBnBase):
    """A reset in the middle of a channel (pass 1, between the passes or pass 2): the job is dropped, the
    next one starts clean."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(run_jobs(self.env, "before", seeds.scaled(6)))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 300)))
        await self.env.clock.reset()
        await task  # the job cut by the reset is dropped whole (its items are stale), the rest run
        await run_jobs(self.env, "after", seeds.scaled(3))


@pyuvm.test()
class CycleModel(RangeBnBase):
    """Jobs back to back with no idle input and no back-pressure: the cycles from one job's configuration
    beat taken to the next one's equal models.lightnorm.range_bn_cycles (1 + 2n + 37 + NW) for every job,
    and the last result leaves RANGE_BN_DRAIN cycles after the job's cycles (the README's throughput)."""

    async def body(self):
        rng, nw = seeds.rng("cycles"), top_nw()
        jobs = [make_job(rng, f"c{k}", n=n, fmts=(FORMATS[k % len(FORMATS)],))
                for k, n in enumerate((1, 7, 8, 13, 48, 2, 9))]   # every input format: no cycle added
        self.env.cfg_edges.clear()
        self.env.out_edges.clear()
        await run_jobs_overlapped(self.env, jobs)
        await self.env.drain()
        cfg, out = self.env.cfg_edges, self.env.out_edges
        assert len(cfg) == len(jobs) and len(out) == sum(j.n for j in jobs), (len(cfg), len(out))
        for k, j in enumerate(jobs):
            measured = (cfg[k + 1] if k + 1 < len(jobs) else out[-1] - ln.RANGE_BN_DRAIN) - cfg[k]
            want = ln.range_bn_cycles(j.n, G, nw)
            self.logger.info(f"job {j.name} (n={j.n}, NW={nw}): {measured} cycles measured, cycle model {want}")
            assert measured == want, f"job {j.name} (n={j.n}, NW={nw}): measured {measured} cycles, model {want}"


class _NoInvalidFlagScoreboard(WrongModelScoreboard, RangeBnScoreboard):
    """A deliberately wrong model: NaN outputs (poisoned channels, NaN/Inf values) convert without the
    block's invalid flag."""

    def corrupt(self, expected):
        return {**expected, "flags": expected["flags"] & ~1}


def _fp32_to_fp10_rne(word: int) -> np.ndarray:
    """The wrong model's FP32 conversion: round to nearest (ties to even) instead of toward zero."""
    bits = np.array(unpack_lanes(word, 32, G), np.uint32)
    v = np.abs(bits.view(np.float32).astype(np.float64))
    with np.errstate(all="ignore"):
        e = np.maximum(np.floor(np.log2(np.where(v > 0, v, 1.0))), -14)
        r = np.rint(v / 2.0 ** (e - 4)) * 2.0 ** (e - 4)   # to the nearest fp10 step, ties to even
    right = ln.from_fp32(bits)
    wrong = ln.encode(np.where(np.isfinite(v), r, 0.0))
    wrong = np.where(wrong != 0, wrong | np.where(bits >> 31, ln.FP10.sign_bit, 0), 0)
    return np.where(ln.is_finite(right), wrong, right)


class _RneConversionScoreboard(WrongModelScoreboard, RangeBnScoreboard):
    """A deliberately wrong model: pass-2 FP32 values converted to fp10 rounding to nearest, not toward
    zero (the statistics are right)."""

    def corrupt(self, expected):
        if expected["fmt"] != ln.IN_FP32:
            return expected
        z, nan = ln.normalize(_fp32_to_fp10_rne(expected["word"])[None, :], expected["stats"], expected["beta"])
        q = quantize(ln.to_float32(z, nan), expected["mode"], RTZ, block=G)
        return {**expected, "exp": int(q.exp[0, 0]), "sign": pack_lanes(q.sign[0, 0], 1),
                "mag": pack_lanes(q.mag[0, 0], 16), "flags": int(q.flags[0, 0])}


@pyuvm.test()
class ScoreboardCatchesWrongConversion(RangeBnBase):
    """The scoreboard must catch an input conversion that rounds FP32 to nearest, on the first output it
    gets wrong."""
    count = 4

    def build_phase(self):
        uvm_factory().set_type_override_by_type(RangeBnScoreboard, _RneConversionScoreboard)
        super().build_phase()


@pyuvm.test()
class ScoreboardCatchesWrongModel(RangeBnBase):
    """The scoreboard must catch a model that drops the invalid flag of NaN outputs, on the first output
    it gets wrong."""
    kinds = ("corner", "params")

    def build_phase(self):
        uvm_factory().set_type_override_by_type(RangeBnScoreboard, _NoInvalidFlagScoreboard)
        super().build_phase()
