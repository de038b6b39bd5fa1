"""bf16_mac tests. One alone: `make sim TOPLEVEL=bf16_mac TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from bf16_mac_env import Bf16MacEnv, Bf16MacScoreboard, JobSequence, ReductionSequence, lanes
from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from models import bf16_mac as model


class Bf16MacBase(FlexBlockTest):
    env_class = Bf16MacEnv
    kinds = ("normal", "wide", "subnormal", "tiny", "huge", "near_max", "special", "tie", "single", "cancel")
    max_len = 12
    count = 120

    async def body(self):
        await self.run_sequence(ReductionSequence("reductions", seeds.scaled(self.count), self.max_len, self.kinds))


@pyuvm.test()
class RandomReductions(Bf16MacBase):
    """Reductions of 1..12 beats of every operand kind: normal, wide exponent spread, subnormal, tiny and
    huge products, NaN/Inf/zero operands, binary32 ties; some cancel exactly."""


@pyuvm.test()
class SingleBeatReductions(Bf16MacBase):
    """Every beat is its own reduction: the full-rate case (one result per cycle)."""
    max_len = 1
    count = 300


@pyuvm.test()
class CornerOperands(Bf16MacBase):
    """Only the corner kinds: NaN (0 x Inf, NaN operands), +/-Inf (Inf operands, overflowing products, a
    running sum overflowing on its own), subnormal operands, products that underflow, ties, one nonzero
    product per beat, exact cancellation (zero signs)."""
    kinds = ("special", "huge", "near_max", "subnormal", "tiny", "tie", "single", "cancel")
    count = 150


@pyuvm.test()
class BackPressure(Bf16MacBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(Bf16MacBase):
    max_len = 3
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(Bf16MacBase):
    """A reset in the middle of reductions: partial sums are dropped and the next reduction starts at +0."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(ReductionSequence("before", seeds.scaled(60))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 150)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(ReductionSequence("after", seeds.scaled(60)))


@pyuvm.test()
class CycleModel(Bf16MacBase):
    """Jobs of back-to-back reductions (one output element each, as a 1 x 1 array sees a GEMM): the measured
    cycles (first operand beat taken -> last result taken) equal models.bf16_mac.gemm_cycles exactly."""

    async def body(self):
        n = lanes()
        for m, kdim, cols in ((1, 64, 1), (3, 40, 2), (4, 4 * n, 4), (2, 1, 5), (5, 7 * n + 1, 3)):
            beats = -(-kdim // n)
            self.env.timer.start()
            await self.run_sequence(JobSequence(f"job{m}x{kdim}x{cols}", m * cols, beats))
            await self.env.drain()
            cycles = self.env.timer.cycles
            want = model.gemm_cycles(m, kdim, cols, rows=1, cols=1, lanes=n)
            self.logger.info(f"job {m}x{kdim}x{cols}: {cycles} cycles measured, cycle model {want}")
            assert cycles == want, f"job {m}x{kdim}x{cols}: measured {cycles} cycles, the cycle model says {want}"


class _FlushSubnormalsScoreboard(WrongModelScoreboard, Bf16MacScoreboard):
    """A deliberately wrong model: subnormal bfloat16 operands flushed to zero."""

    def corrupt(self, expected):
        flush = lambda x: np.where((x & 0x7F80) == 0, x & 0x8000, x).astype(np.uint16)  # noqa: E731
        bits, flags = model.mac(flush(expected["a"]), flush(expected["b"]))
        return {**expected, "result": int(bits), "flags": int(flags)}


@pyuvm.test()
class ScoreboardCatchesWrongModel(Bf16MacBase):
    """The scoreboard must catch a model that flushes subnormal operands, on the first output it gets wrong."""
    kinds = ("subnormal",)
    max_len = 2

    def build_phase(self):
        uvm_factory().set_type_override_by_type(Bf16MacScoreboard, _FlushSubnormalsScoreboard)
        super().build_phase()
