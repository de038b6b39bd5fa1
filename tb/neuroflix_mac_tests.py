"""neuroflix_mac tests. One alone: `make sim TOPLEVEL=neuroflix_mac TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import os

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from models import neuroflix as model
from neuroflix_mac_env import (FORMAT_NAMES, MODE_PAIRS, JobSequence, NeuroFlixEnv, NeuroFlixScoreboard,
                               ReductionItem, ReductionSequence, group)


class NeuroFlixBase(FlexBlockTest):
    env_class = NeuroFlixEnv
    kinds = ("random", "special", "subnormal", "saturate", "tie", "underflow", "overflow", "tiny_result", "mixed")
    max_len = 6
    count = 150

    async def body(self):
        await self.run_sequence(ReductionSequence("reductions", seeds.scaled(self.count), self.max_len, self.kinds))


@pyuvm.test()
class RandomReductions(NeuroFlixBase):
    """Reductions of 1..6 beats in all 8 mode pairs (FX4/FX8 x FX4/FX8/E5M2/FP16) and every kind: random,
    NaN/Inf/zero gradients, subnormal gradients, saturated magnitudes, binary32 ties, results that underflow
    or overflow binary32 through the scale, subnormal results, modes changing inside a reduction; some cancel exactly."""


@pyuvm.test()
class SingleBeatReductions(NeuroFlixBase):
    """Every beat is its own reduction: back-to-back merges (the lanes cleared under the next step)."""
    max_len = 1
    count = 300


@pyuvm.test()
class CornerOperands(NeuroFlixBase):
    """Only the corner kinds, float gradients only (the fixed x float passes)."""
    kinds = ("special", "subnormal", "saturate", "tie", "underflow", "overflow", "tiny_result")

    async def body(self):
        await self.run_sequence(ReductionSequence("corners", seeds.scaled(self.count), self.max_len, self.kinds,
                                                  modes=[m for m in MODE_PAIRS if m[1] >= 2]))


@pyuvm.test()
class BackPressure(NeuroFlixBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(NeuroFlixBase):
    max_len = 2
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(NeuroFlixBase):
    """A reset in the middle of reductions: lanes, specials and the result FIFO are dropped."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(ReductionSequence("before", seeds.scaled(60))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 200)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(ReductionSequence("after", seeds.scaled(60)))


@pyuvm.test()
class CycleModel(NeuroFlixBase):
    """A GEMM-like job per mode pair (one output element per reduction, as a 1 x 1 array sees it): the
    measured cycles (first operand beat taken -> last result taken) equal models.neuroflix.gemm_cycles, and
    the products per cycle are G / steps."""

    async def body(self):
        g = group()
        for (wa, fmt), (m, kdim, n) in zip(MODE_PAIRS, [(2, 64, 3), (3, 17, 2), (1, 8, 5), (4, 40, 1),
                                                        (2, 33, 2), (1, 96, 2), (3, 9, 3), (2, 24, 2)]):
            beats = -(-kdim // g)
            self.env.timer.start()
            await self.run_sequence(JobSequence(f"job{wa}{fmt}", m * n, beats, wa, fmt))
            await self.env.drain()
            cycles = self.env.timer.cycles
            want = model.gemm_cycles(m, kdim, n, wa, fmt, rows=1, cols=1, group=g)
            rate = m * n * beats * g / (cycles - model.FILL)
            self.logger.info(f"{FORMAT_NAMES[wa]} x {FORMAT_NAMES[fmt]} job {m}x{kdim}x{n}: {cycles} cycles "
                             f"measured, cycle model {want}; {rate:.2f} products/cycle")
            assert cycles == want, f"{FORMAT_NAMES[wa]} x {FORMAT_NAMES[fmt]}: measured {cycles}, model {want}"
            assert rate == model.products_per_cycle(wa, fmt, g)


@pyuvm.test(skip=os.environ.get("FLEXBLOCK_SIM") == "icarus" or int(cocotb.top.G.value) < 8)
class LongReductions(NeuroFlixBase):
    """Reductions of 2^15 + a few beats of near-full-scale FX8 x E5M2 products (Verilator only: ~131k
    cycles each; G >= 8, so that the sum gets there): the merged sum exceeds 2^64, so neuroflix_merge
    narrows it with a sticky bit before the rounder (small perturbations put ones in the bits it drops);
    one positive, one negative (the quick regression: one of them, by the seed)."""
    budget_ms = 12

    async def body(self):
        rng = seeds.rng("long")
        g = group()
        signs = (0x00, 0x80) if not seeds.quick() else (0x80 * int(rng.integers(0, 2)),)
        for r, sign in enumerate(signs):
            t = (1 << 15) + int(rng.integers(1, 8))
            a = np.full((t, g), 0x7F | sign)
            b = np.full((t, g), 0x7B)  # E5M2 57344 (the largest)
            few = rng.integers(0, t, 16)
            b[few, 0] = rng.integers(0, 0x7B, 16)  # small values: low bits for the sticky
            item = ReductionItem(f"long{r}", a, b, np.full(t, 1), np.full(t, 2), np.full(t, int(rng.integers(-80, -20))))
            await self.start_item_on(item)

    async def start_item_on(self, item):
        seqr = self.env.seqr["in"]

        class _One(pyuvm.uvm_sequence):
            async def body(inner):
                await inner.start_item(item)
                await inner.finish_item(item)
        await _One("one").start(seqr)


class _LateScaleScoreboard(WrongModelScoreboard, NeuroFlixScoreboard):
    """A deliberately wrong model: the float lanes' unit off by one (2^-23 instead of 2^-24)."""

    def corrupt(self, expected):
        e = expected
        bits, flags = model.mac(e["a"], e["b"], e["wa"], e["fmt_b"], e["scale"] + (e["fmt_b"][-1] >= 2))
        return {**expected, "result": int(bits), "flags": int(flags)}


@pyuvm.test()
class ScoreboardCatchesWrongModel(NeuroFlixBase):
    """The scoreboard must catch a model with the float lanes' unit off by one, on the first output it gets
    wrong."""
    kinds = ("random",)

    async def body(self):
        await self.run_sequence(ReductionSequence("wrong", 20, 2, self.kinds, modes=[(1, 3)]))

    def build_phase(self):
        uvm_factory().set_type_override_by_type(NeuroFlixScoreboard, _LateScaleScoreboard)
        super().build_phase()
