"""bf16_array tests. One alone: `make sim TOPLEVEL=bf16_array TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from bf16_array_env import Bf16ArrayEnv, Bf16ArrayScoreboard, TileSequence, gemm_tiles, lanes, layout
from fbuvm import seeds
from fbuvm.components import FlexBlockTest
from mac_array import TileJob, dims, measure_job, wrong_model
from models import bf16_mac as model


class Bf16ArrayBase(FlexBlockTest):
    env_class = Bf16ArrayEnv
    count = 12

    async def body(self):
        await self.run_sequence(TileSequence("tiles", seeds.scaled(self.count)))


@pyuvm.test()
class RandomTiles(Bf16ArrayBase):
    """Tiles of 1..6 groups of every operand kind of the bf16_mac bench (NaN, Inf, zero, subnormal, tiny
    and huge products, a running sum overflowing, ties, exact cancellation); every output bit-exact."""


@pyuvm.test()
class CycleModel(Bf16ArrayBase):
    """GEMMs from FP32 (M, N up to 2 tiles and a bit, Kdim up to 5 groups) at full rate: every job takes
    exactly bf16_mac.gemm_cycles(M, Kdim, N, ROWS, COLS, N) cycles from the edge that takes its first beat to
    the one that takes its last tile (asserted), and its outputs equal models.bf16_mac.gemm (the training
    arithmetic's vectorized GEMM) as well as the per-output scoreboard."""

    async def body(self):
        rng = seeds.rng("cycles")
        rows, cols = dims()
        n_l = lanes()
        sb = self.env.scoreboard
        for j in range(5):
            m, n = int(rng.integers(1, 2 * rows + 2)), int(rng.integers(1, 2 * cols + 2))
            kdim = int(rng.integers(1, 5 * n_l + 1))
            a = (rng.standard_normal((m, kdim)) * 2.0 ** rng.integers(-20, 20)).astype(np.float32)
            b = (rng.standard_normal((kdim, n)) * 2.0 ** rng.integers(-20, 20)).astype(np.float32)
            job = TileJob(f"gemm{j}", layout(), gemm_tiles(model.to_bf16(a), model.to_bf16(b)))
            n_out = len(sb.results)
            got = await measure_job(self, job)
            want = model.gemm_cycles(m, kdim, n, rows, cols, n_l)
            self.logger.info(f"{rows}x{cols} array, GEMM {m}x{kdim}x{n} ({len(job.tiles)} tiles): {got} cycles "
                             f"measured, gemm_cycles {want}")
            assert got == want, f"GEMM {m}x{kdim}x{n}: {got} cycles measured, gemm_cycles says {want}"
            c = model.gemm(a, b, n_l).view(np.uint32)
            tiles = sb.out_values[n_out:]
            k = 0
            for r0 in range(0, m, rows):
                for c0 in range(0, n, cols):
                    for r in range(min(rows, m - r0)):
                        for cc in range(min(cols, n - c0)):
                            got_v = (tiles[k] >> (32 * (r * cols + cc))) & 0xFFFFFFFF
                            assert got_v == int(c[r0 + r, c0 + cc]), (
                                f"C[{r0 + r}][{c0 + cc}] = {got_v:08x}, bf16_mac.gemm says {int(c[r0 + r, c0 + cc]):08x}")
                    k += 1


@pyuvm.test()
class BackPressure(Bf16ArrayBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(Bf16ArrayBase):
    count = 4
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(Bf16ArrayBase):
    """A reset in the middle of a job: tiles in progress are dropped, the next job starts clean."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(TileSequence("before", seeds.scaled(4))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(5, 60)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(TileSequence("after", seeds.scaled(4)))


def _drop_first_element(beat: dict) -> dict:
    return {**beat, "a": beat["a"] & ~0xFFFF}  # A's element 0 read as +0


@pyuvm.test()
class ScoreboardCatchesWrongModel(Bf16ArrayBase):
    """A model that drops A's first element of every group must be caught on the first tile it gets wrong."""
    count = 4

    def build_phase(self):
        uvm_factory().set_type_override_by_type(Bf16ArrayScoreboard,
                                                wrong_model(Bf16ArrayScoreboard, _drop_first_element))
        super().build_phase()
