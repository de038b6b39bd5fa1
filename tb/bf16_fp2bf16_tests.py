"""bf16_fp2bf16 tests. One alone: `make sim TOPLEVEL=bf16_fp2bf16 TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from bf16_fp2bf16_env import Fp2Bf16Env, Fp2Bf16Scoreboard, ValuesSequence
from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard, pack_lanes


class Fp2Bf16Base(FlexBlockTest):
    env_class = Fp2Bf16Env
    count = 200
    kinds = ("any", "tie", "near_max", "subnormal", "special")

    async def body(self):
        await self.run_sequence(ValuesSequence("values", seeds.scaled(self.count), self.kinds))


@pyuvm.test()
class RandomValues(Fp2Bf16Base):
    """Any binary32 pattern, exact ties, values rounding to Inf or to the largest bfloat16, subnormals,
    NaN / Inf / zeros: every element bit-exact with models.bf16_mac.to_bf16."""


@pyuvm.test()
class CornerValues(Fp2Bf16Base):
    kinds = ("tie", "near_max", "subnormal", "special")


@pyuvm.test()
class BackPressure(Fp2Bf16Base):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(Fp2Bf16Base):
    count = 60
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(Fp2Bf16Base):
    """A reset with beats in the FIFO: they are dropped, the stream goes on."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(ValuesSequence("before", seeds.scaled(80))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 100)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(ValuesSequence("after", seeds.scaled(80)))


class _Truncate(WrongModelScoreboard, Fp2Bf16Scoreboard):
    """A deliberately wrong model: truncation (the top 16 bits) instead of nearest even."""

    def corrupt(self, expected):
        y = np.where((expected["x"] & 0x7FFFFFFF) > 0x7F800000, 0x7FC0, expected["x"] >> 16).astype(np.uint16)
        return {**expected, "elems": y, "y": pack_lanes(y, 16)}


@pyuvm.test()
class ScoreboardCatchesWrongModel(Fp2Bf16Base):
    count = 60

    def build_phase(self):
        uvm_factory().set_type_override_by_type(Fp2Bf16Scoreboard, _Truncate)
        super().build_phase()
