"""neuroflix_fp2nf tests. One alone: `make sim TOPLEVEL=neuroflix_fp2nf TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard, pack_lanes
from models import neuroflix as model
from neuroflix_fp2nf_env import Fp2NfEnv, Fp2NfScoreboard, ValuesSequence


class Fp2NfBase(FlexBlockTest):
    env_class = Fp2NfEnv
    count = 150
    kinds = ("tensor", "special", "any", "tie")

    async def body(self):
        await self.run_sequence(ValuesSequence("values", seeds.scaled(self.count), self.kinds))


@pyuvm.test()
class RandomValues(Fp2NfBase):
    """Every format (FX4, FX8, E5M2, FP16): tensors at their quantizer's scale, NaN/Inf/zero/subnormal
    inputs, random patterns at random scales (saturation, overflow to Inf, underflow), exact ties."""


@pyuvm.test()
class CornerValues(Fp2NfBase):
    kinds = ("special", "any", "tie")


@pyuvm.test()
class BackPressure(Fp2NfBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(Fp2NfBase):
    count = 50
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(Fp2NfBase):
    """A reset with beats in the FIFO: they are dropped, the stream goes on."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(ValuesSequence("before", seeds.scaled(60))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 100)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(ValuesSequence("after", seeds.scaled(60)))


class _OffByOneScale(WrongModelScoreboard, Fp2NfScoreboard):
    """A deliberately wrong model: the scale read one too high."""

    def corrupt(self, expected):
        y = model.convert(expected["x"].view(np.float32), expected["fmt"], expected["scale"] + 1)
        return {**expected, "elems": y, "y": pack_lanes(y, 16)}


@pyuvm.test()
class ScoreboardCatchesWrongModel(Fp2NfBase):
    count = 50

    def build_phase(self):
        uvm_factory().set_type_override_by_type(Fp2NfScoreboard, _OffByOneScale)
        super().build_phase()
