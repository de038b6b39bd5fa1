"""neuroflix_array tests. One alone: `make sim TOPLEVEL=neuroflix_array TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest
from mac_array import TileJob, dims, measure_job, wrong_model
from models import neuroflix as model
from neuroflix_array_env import NeuroFlixArrayEnv, NeuroFlixArrayScoreboard, TileSequence, layout, random_tile
from neuroflix_mac_env import FORMAT_NAMES, MODE_PAIRS, group


class NeuroFlixArrayBase(FlexBlockTest):
    env_class = NeuroFlixArrayEnv
    count = 10

    async def body(self):
        await self.run_sequence(TileSequence("tiles", seeds.scaled(self.count)))


@pyuvm.test()
class RandomTiles(NeuroFlixArrayBase):
    """Tiles of 1..4 groups in every mode pair (FX4/FX8 x FX4/FX8/E5M2/FP16) and every operand kind of the
    neuroflix_mac bench (NaN, Inf, zero, subnormal, saturating, ties, underflow, overflow); bit-exact."""


@pyuvm.test()
class CycleModel(NeuroFlixArrayBase):
    """A GEMM job per mode pair (M, N up to 2 tiles and a bit, Kdim up to 3 groups) at full rate: every job
    takes exactly neuroflix.gemm_cycles(M, Kdim, N, wa, fmt_b, ROWS, COLS, G) cycles from the edge that
    takes its first beat to the one that takes its last tile (asserted)."""

    async def body(self):
        rng = seeds.rng("cycles")
        rows, cols = dims()
        g = group()
        for wa, fmt in MODE_PAIRS:
            m, n = int(rng.integers(1, 2 * rows + 2)), int(rng.integers(1, 2 * cols + 2))
            kdim = int(rng.integers(1, 3 * g + 1))
            tiles = -(-m // rows) * -(-n // cols)
            beats = -(-kdim // g)
            job = TileJob(f"gemm{wa}{fmt}", layout(), [random_tile(rng, beats, wa, fmt, ("random",))
                                                         for _ in range(tiles)])
            got = await measure_job(self, job)
            want = model.gemm_cycles(m, kdim, n, wa, fmt, rows, cols, g)
            self.logger.info(f"{rows}x{cols} array, {FORMAT_NAMES[wa]} x {FORMAT_NAMES[fmt]} GEMM {m}x{kdim}x{n} "
                             f"({tiles} tiles x {beats} groups): {got} cycles measured, gemm_cycles {want}")
            assert got == want, f"{FORMAT_NAMES[wa]} x {FORMAT_NAMES[fmt]} GEMM {m}x{kdim}x{n}: {got} cycles " \
                                f"measured, gemm_cycles says {want}"


@pyuvm.test()
class BackPressure(NeuroFlixArrayBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(NeuroFlixArrayBase):
    count = 4
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(NeuroFlixArrayBase):
    """A reset in the middle of a job: tiles in progress are dropped, the next job starts clean."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(TileSequence("before", seeds.scaled(4))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(5, 60)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(TileSequence("after", seeds.scaled(4)))


@pyuvm.test()
class ScoreboardCatchesWrongModel(NeuroFlixArrayBase):
    """A model that reads the result scale one too high must be caught on the first tile it gets wrong."""
    count = 4

    def build_phase(self):
        wrong = wrong_model(NeuroFlixArrayScoreboard, lambda b: {**b, "scale": (b["scale"] + 1) & 0x3FF})
        uvm_factory().set_type_override_by_type(NeuroFlixArrayScoreboard, wrong)
        super().build_phase()
