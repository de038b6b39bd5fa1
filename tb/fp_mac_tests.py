"""fp_mac tests. One alone: `make sim TOPLEVEL=fp_mac TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from fbuvm.components import BurstItem, ItemSequence
from fp_mac_env import FpMacEnv, FpMacScoreboard, ReductionItem, ReductionSequence, fmt, operands
from models import fp_mac as model


class FpMacBase(FlexBlockTest):
    env_class = FpMacEnv
    count = 80
    max_len = 8

    async def body(self):
        await self.run_sequence(ReductionSequence("reductions", seeds.scaled(self.count), self.max_len))


@pyuvm.test()
class RandomReductions(FpMacBase):
    """Reductions of 1..8 pairs: any bit pattern (zero, subnormal, normal, Inf, NaN operands), subnormal
    operands, exponents near the top (products and sums overflowing binary32), normals; bit-exact."""


@pyuvm.test()
class SingleProducts(FpMacBase):
    """Every pair its own reduction: each product's rounding seen alone, one result per cycle."""
    max_len = 1
    count = 150


@pyuvm.test()
class CycleCount(FpMacBase):
    """Jobs streamed at full rate (one pair per cycle, results taken at once): the measured cycles equal
    models.fp_mac.job_cycles (pairs + latency 2), single-pair reductions included (the output FIFO's depth
    must keep one result per cycle)."""

    async def body(self):
        rng = seeds.rng("jobs")
        for n_red, length in ((12, 1), (3, 5), (1, 9), (6, 2)):
            items = [ReductionItem(f"r{r}", *operands(rng, length, "normal")) for r in range(n_red)]
            self.env.timer.start()
            await self.run_sequence(ItemSequence(f"job{n_red}x{length}", BurstItem("job", items)))
            await self.env.drain()
            got = self.env.timer.cycles
            want = model.job_cycles(n_red * length)
            self.logger.info(f"{n_red} reductions x {length} pairs: {got} cycles measured, job_cycles {want}")
            assert got == want, f"{n_red} x {length}: {got} cycles measured, job_cycles says {want}"


@pyuvm.test()
class BackPressure(FpMacBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(FpMacBase):
    max_len = 3
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(FpMacBase):
    """A reset in the middle of reductions: partial sums are dropped, the next reduction starts at +0."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(ReductionSequence("before", seeds.scaled(40))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 120)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(ReductionSequence("after", seeds.scaled(40)))


class _FlushSubnormals(WrongModelScoreboard, FpMacScoreboard):
    """A deliberately wrong model: subnormal A operands read as zero."""

    def corrupt(self, expected):
        e, m = fmt()
        a = expected["a"].copy()
        a[((a >> m) & ((1 << e) - 1)) == 0] &= 1 << (e + m)
        bits, flags = model.mac(a, expected["b"], e, m)
        return {**expected, "result": bits, "flags": flags}


@pyuvm.test()
class ScoreboardCatchesWrongModel(FpMacBase):
    count = 40

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FpMacScoreboard, _FlushSubnormals)
        super().build_phase()
