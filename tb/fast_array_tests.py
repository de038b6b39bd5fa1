"""fast_array tests. One alone: `make sim TOPLEVEL=fast_array TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, ItemSequence, WrongModelScoreboard
from fast_array_env import FastArrayEnv, FastArrayScoreboard, GemmJob, GemmSequence, params, quantize_job, random_operands
from models import fast


class FastArrayBase(FlexBlockTest):
    env_class = FastArrayEnv
    count = 20

    async def body(self):
        await self.run_sequence(GemmSequence("gemms", seeds.scaled(self.count)))




@pyuvm.test()
class RandomGemms(FastArrayBase):
    """GEMMs from FP32 (some with NaN, Inf, subnormals, zeros, overflowing values) at random precision
    pairs and shapes (M, N not multiples of the array: padded tiles; Kdim not a multiple of G)."""


@pyuvm.test()
class CycleModel(FastArrayBase):
    """No idle gaps, no back-pressure: every job takes exactly fast.array_cycles(ROWS, COLS, M, Kdim, N,
    ma, mb) cycles from the edge that takes its first beat to the one that takes its last tile (asserted),
    and its results equal fast.gemm (the training arithmetic's vectorized GEMM)."""

    async def body(self):
        rng = seeds.rng("cycles")
        rows, cols, g, ew = params()
        sb = self.env.scoreboard
        for j, (m_a, m_b) in enumerate([(2, 2), (4, 4), (8, 8), (2, 8), (6, 4)]):
            m, n, kdim = int(rng.integers(1, 2 * rows + 2)), int(rng.integers(1, 2 * cols + 2)), int(rng.integers(1, 4 * g))
            a, b = random_operands(rng, m, kdim, n, specials=False)
            qa, qb, seed = quantize_job(rng, a, b, m_a, m_b, g, ew)
            await self.env.drain()
            first, n_out = len(sb.accepts), len(sb.results)
            job = GemmJob(f"job{j}", qa, qb)
            await self.run_sequence(ItemSequence(f"job{j}", job))
            await self.env.drain()
            sb.flush()
            got = sb.results[-1] - sb.accepts[first]
            want = fast.array_cycles(rows, cols, m, kdim, n, m_a, m_b, g)
            assert len(sb.results) - n_out == job.tiles
            assert got == want, f"job {m}x{kdim}x{n} at {m_a}x{m_b}: {got} cycles, array_cycles says {want}"
            if g == fast.GROUP:
                c, _ = fast.gemm(a, b, m_a, m_b, fast.SR, ew, seed=seed)
                self.check_results(c.view(np.uint32), n_out, m, n)
            self.logger.info(f"{rows}x{cols} array, GEMM {m}x{kdim}x{n} at {m_a}x{m_b} bits: {got} cycles "
                             f"= fast.array_cycles")

    def check_results(self, c_bits, n_out, m, n):
        """The scoreboard compared every tile with the per-output model; also compare with fast.gemm."""
        rows, cols, _, _ = params()
        tiles = self.env.scoreboard.out_values[n_out:]
        t = 0
        for r0 in range(0, m, rows):
            for c0 in range(0, n, cols):
                for r in range(rows):
                    for c in range(cols):
                        if r0 + r < m and c0 + c < n:
                            got = (tiles[t] >> (32 * (r * cols + c))) & 0xFFFFFFFF
                            assert got == int(c_bits[r0 + r, c0 + c]), (r0 + r, c0 + c)
                t += 1


@pyuvm.test()
class BackPressure(FastArrayBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(FastArrayBase):
    count = 4
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(FastArrayBase):
    """A reset in the middle of a job: tiles in progress are dropped, the next job starts clean."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(GemmSequence("before", seeds.scaled(4))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 120)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(GemmSequence("after", seeds.scaled(4)))


class _DropLowChunkScoreboard(WrongModelScoreboard, FastArrayScoreboard):
    """A deliberately wrong model: 8-bit A mantissas lose their lowest chunk (fbuvm's self-check: the test
    passes only if the scoreboard's first mismatch is the first tile where the two models disagree)."""

    def group_pair(self, beat, a, b):
        gp = super().group_pair(beat, a, b)
        if getattr(self, "_wrong", False) and gp["m_a"] == 8:
            gp["a"] = (a[0], a[1], a[2] & 0xFC, a[3])
        return gp

    def corrupt(self, expected):
        self._wrong = True
        try:
            return self.reduce(expected["beats"])
        finally:
            self._wrong = False


@pyuvm.test()
class ScoreboardCatchesWrongModel(FastArrayBase):
    def build_phase(self):
        uvm_factory().set_type_override_by_type(FastArrayScoreboard, _DropLowChunkScoreboard)
        super().build_phase()

    async def body(self):
        rng = seeds.rng("wrong")
        rows, cols, g, ew = params()
        for j in range(3):  # some precision pairs the wrong model gets right, then 8 x 8
            m_a = (2, 4, 8)[j]
            a, b = random_operands(rng, rows, 2 * g, cols, specials=False)
            qa, qb, _ = quantize_job(rng, a, b, m_a, 8, g, ew)
            await self.run_sequence(ItemSequence(f"wrong{j}", GemmJob(f"wrong{j}", qa, qb)))
