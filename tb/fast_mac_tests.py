"""fast_mac tests. One alone: `make sim TOPLEVEL=fast_mac TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, ItemSequence, WrongModelScoreboard
from fast_mac_env import (PRECS, FastMacEnv, FastMacScoreboard, JobItem, ReductionSequence, gemm_pairs, params,
                          random_reduction)
from models import fast


class FastMacBase(FlexBlockTest):
    env_class = FastMacEnv
    kinds = ("random", "random", "max", "zero", "subnormal", "overflow", "cancel", "flags")
    max_len = 6
    count = 60
    precs = None

    async def body(self):
        await self.run_sequence(ReductionSequence("reductions", seeds.scaled(self.count), self.max_len,
                                                  self.kinds, self.precs))

    async def send(self, name, pairs):
        """One burst of group pairs (no gaps between them unless the idle pattern inserts some)."""
        await self.run_sequence(ItemSequence(name, JobItem(name, pairs)))




@pyuvm.test()
class RandomReductions(FastMacBase):
    """Reductions of 1..12 group pairs at random precision pairs: random, all-max, zero, subnormal and
    overflowing terms, exact cancellation, operand flags; magnitude bits above m carry garbage."""
    max_len = 12
    count = 100


@pyuvm.test()
class MixedPrecisions(FastMacBase):
    """Every group pair its own precision pair (the precision travels with the group pair)."""
    precs = "mixed"


@pyuvm.test()
class SpecialGroups(FastMacBase):
    """Corner values: terms that overflow binary32 (+Inf, -Inf, Inf - Inf = NaN), subnormal and
    underflowing terms, zero groups, all-max groups (the largest |P|), flags."""
    kinds = ("overflow", "overflow", "subnormal", "zero", "max", "flags")


class CycleCheck(FastMacBase):
    """Base of the cycle tests: no idle gaps, no back-pressure, so every group pair must be taken exactly
    (ma/2)(mb/2) cycles after the previous one within a burst, and a job's last result exactly
    fast.mac_job_cycles after its first group pair (asserted: a promise is a test)."""

    def check_job(self, first: int, njobs_pairs: list[tuple[int, int]], what: str):
        sb = self.env.scoreboard
        acc = sb.accepts[first:]
        for (c0, passes), (c1, _) in zip(acc, acc[1:]):
            assert c1 - c0 == passes, f"{what}: a group pair of {passes} passes took {c1 - c0} cycles"
        want = sum(fast.cycles_per_group(a, b) for a, b in njobs_pairs) + fast.FILL_CYCLES
        got = sb.results[-1] - acc[0][0]
        assert got == want, f"{what}: job took {got} cycles, the cycle model says {want}"
        return got


@pyuvm.test()
class CyclesPerGroup(CycleCheck):
    """Every precision pair: a burst of reductions of 1..4 group pairs; passes and job cycles asserted."""

    async def body(self):
        rng = seeds.rng("cycles")
        g, ew = params()
        for m_a in PRECS:
            for m_b in PRECS:
                pairs = []
                for _ in range(3):
                    pairs += random_reduction(rng, g, ew, int(rng.integers(1, 5)), ("random", "max"), (m_a, m_b))
                await self.env.drain()
                first = len(self.env.scoreboard.accepts)
                await self.send(f"p{m_a}x{m_b}", pairs)
                await self.env.drain()
                got = self.check_job(first, [(m_a, m_b)] * len(pairs), f"{m_a}x{m_b}")
                self.logger.info(f"precision {m_a}x{m_b}: {len(pairs)} group pairs in {got} cycles "
                                 f"({fast.cycles_per_group(m_a, m_b)} per pair + {fast.FILL_CYCLES})")


@pyuvm.test()
class CycleModelGemm(CycleCheck):
    """GEMMs from FP32 (fast.quantize with LFSR stochastic rounding and this DUT's exponent width) run
    output by output on the fMAC: the results equal fast.gemm (the training arithmetic's function) and the
    measured cycles equal fast.array_cycles(1, 1, M, Kdim, N, ma, mb)."""

    async def body(self):
        rng = seeds.rng("gemm")
        g, ew = params()
        for M, K, N, m_a, m_b in [(2, 40, 3, 2, 2), (3, 16, 2, 4, 8), (2, 70, 2, 8, 8), (1, 33, 4, 6, 2)]:
            a = rng.standard_normal((M, K)).astype(np.float32) * np.float32(2.0 ** int(rng.integers(-20, 20)))
            b = rng.standard_normal((K, N)).astype(np.float32)
            seed = int(rng.integers(0, 1 << 16))
            qa = fast.quantize(a, m_a, fast.SR, g, ew, seed=seed)
            qb = fast.quantize(b.T, m_b, fast.SR, g, ew, seed=seed ^ 0xFFFF)
            await self.env.drain()
            first = len(self.env.scoreboard.accepts)
            n_out = len(self.env.scoreboard.results)
            pairs = gemm_pairs(qa, qb)
            await self.send(f"gemm{M}x{K}x{N}", pairs)
            await self.env.drain()
            self.env.scoreboard.flush()
            got = self.check_job(first, [(m_a, m_b)] * len(pairs), f"GEMM {M}x{K}x{N} {m_a}x{m_b}")
            assert got == fast.array_cycles(1, 1, M, K, N, m_a, m_b, g)
            if g == fast.GROUP:
                want, _ = fast.gemm(a, b, m_a, m_b, fast.SR, ew, seed=seed)
                assert len(self.env.scoreboard.results) - n_out == M * N
                # the scoreboard compared every output with the group-by-group model; here the fMAC's
                # results are also compared with the training arithmetic's vectorized GEMM
                got_bits = self.env.scoreboard.out_values[n_out:]
                assert got_bits == want.view(np.uint32).ravel().tolist(), "fast.gemm differs from the fMAC"
            self.logger.info(f"GEMM {M}x{K}x{N} at {m_a}x{m_b}: {got} cycles = fast.array_cycles")


@pyuvm.test()
class BackPressure(FastMacBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(FastMacBase):
    max_len = 2
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(FastMacBase):
    """A reset while group pairs are in the passes and results wait: partial sums are dropped and the next
    reduction starts at +0."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(ReductionSequence("before", seeds.scaled(40))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 150)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(ReductionSequence("after", seeds.scaled(40)))


class _DropLowChunkScoreboard(WrongModelScoreboard, FastMacScoreboard):
    """A deliberately wrong model: an 8-bit A mantissa loses its lowest chunk (a 3-pass fMAC)."""

    def corrupt(self, expected):
        pairs = [dict(gp, a=(gp["a"][0], gp["a"][1], gp["a"][2] & 0xFC, gp["a"][3])) if gp["m_a"] == 8 else gp
                 for gp in expected["pairs"]]
        return self.reduce(pairs)


@pyuvm.test()
class ScoreboardCatchesWrongModel(FastMacBase):
    """The scoreboard, fed the wrong model above, must report a mismatch, and the first one it reports
    must be the first output where the wrong model differs from the right one (fbuvm's
    WrongModelScoreboard); any other failure fails the test."""
    kinds = ("random",)
    precs = (8, 4)

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FastMacScoreboard, _DropLowChunkScoreboard)
        super().build_phase()
