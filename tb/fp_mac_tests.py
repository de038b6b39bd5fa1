"""fp_mac tests. One alone: `make sim TOPLEVEL=fp_mac TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from fp_mac_env import FpMacEnv, FpMacScoreboard, ReductionSequence, fmt
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
