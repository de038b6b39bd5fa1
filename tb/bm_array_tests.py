"""bm_array tests. One alone: `make sim TOPLEVEL=bm_array TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import uvm_factory

from bm_array_env import BmArrayEnv, BmArrayScoreboard, TileSequence, layout, random_tile
from bm_mac_env import dut_params
from fbuvm import seeds
from fbuvm.components import FlexBlockTest
from mac_array import TileJob, dims, measure_job, wrong_model
from models import block_minifloat as bm


class BmArrayBase(FlexBlockTest):
    env_class = BmArrayEnv
    count = 12

    async def body(self):
        await self.run_sequence(TileSequence("tiles", seeds.scaled(self.count)))


@pyuvm.test()
class RandomTiles(BmArrayBase):
    """Tiles of 1..5 block pairs of every block kind (random, converted binary32 with NaN/Inf/zero/subnormal,
    zero, subnormal-only, top-code, extreme shared exponents), either A format; every output bit-exact."""


@pyuvm.test()
class CycleModel(BmArrayBase):
    """GEMM jobs (M, N up to 2 tiles and a bit, Kdim up to 4 blocks) at full rate: every job takes exactly
    block_minifloat.array_cycles(M, Kdim, N, ROWS, COLS, K) cycles from the edge that takes its first beat to
    the one that takes its last tile (asserted)."""

    async def body(self):
        rng = seeds.rng("cycles")
        rows, cols = dims()
        k, _, _ = dut_params()
        for j in range(5):
            m, n = int(rng.integers(1, 2 * rows + 2)), int(rng.integers(1, 2 * cols + 2))
            kdim = int(rng.integers(1, 4 * k + 1))
            tiles = -(-m // rows) * -(-n // cols)
            nb = -(-kdim // k)
            job = TileJob(f"gemm{j}", layout(), [random_tile(rng, nb, ("random",)) for _ in range(tiles)])
            got = await measure_job(self, job)
            want = bm.array_cycles(m, kdim, n, rows, cols, k)
            self.logger.info(f"{rows}x{cols} array, GEMM {m}x{kdim}x{n} ({tiles} tiles x {nb} blocks): "
                             f"{got} cycles measured, array_cycles {want}")
            assert got == want, f"GEMM {m}x{kdim}x{n}: {got} cycles measured, array_cycles says {want}"


@pyuvm.test()
class BackPressure(BmArrayBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(BmArrayBase):
    count = 4
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(BmArrayBase):
    """A reset in the middle of a job: tiles in progress are dropped, the next job starts clean."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(TileSequence("before", seeds.scaled(4))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(5, 60)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(TileSequence("after", seeds.scaled(4)))


@pyuvm.test()
class ScoreboardCatchesWrongModel(BmArrayBase):
    """A model that reads A's shared exponent one too high must be caught on the first tile it gets wrong."""
    count = 4

    def build_phase(self):
        wrong = wrong_model(BmArrayScoreboard, lambda b: {**b, "a_se": (b["a_se"] + 1) & 0xFF})
        uvm_factory().set_type_override_by_type(BmArrayScoreboard, wrong)
        super().build_phase()
