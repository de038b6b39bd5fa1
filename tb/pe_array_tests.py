"""pe_array tests. `make sim TOPLEVEL=pe_array` runs them all; one alone with TESTCASE=<name>.

Every tile is checked bit-exactly by the scoreboard against the model's bfp_gemm; every job's assembled
C is also checked against the model's end-to-end gemm (quantize the FP32 masters, multiply), and each job
reports its cycles and utilization (useful sub-multiplier operations / (16 x ROWS x COLS x cycles))."""
from __future__ import annotations

import os

import cocotb
from cocotb.triggers import gather
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, ItemSequence, WrongModelScoreboard, write_stats
from models import ARRAY_FILL, FB12, FB16, FB24, BFPTensor, Fp2Bfp, bfp_gemm
from models.bfp import MODE_NAMES
from models.fp2bfp import RNA, RNE, ROUNDING_NAMES, RTZ, SR
from pe_array_env import (CfgItem, GemmJob, OperandSequence, PeArrayEnv, PeArrayScoreboard, assemble,
                          REAL_LAYERS, conv_layer_gemms, fc_layer_gemms, ideal_cycles, run_job, sample_cfg_event,
                          utilization)

MODES = (FB24, FB16, FB12)


def mode_name(code: int) -> str:
    return MODE_NAMES.get(code, f"code{code}")  # the reserved code 3 multiplies as FB24
ALL_PAIRS = [(a, b) for a in MODES for b in MODES]


class PeArrayBase(FlexBlockTest):
    env_class = PeArrayEnv

    def start_of_simulation_phase(self):
        super().start_of_simulation_phase()
        self.quantizer = Fp2Bfp(block=self.env.k, seed=seeds.run_seed() & 0xFFFF)
        self.report = []

    async def job(self, name, a, b, mode_a, mode_b, rounding=RTZ, **run_kw) -> np.ndarray:
        """Run C = A x B on the array, check the assembled C against the model's GEMM, return it. `run_kw`
        goes to run_job (configure=False, cfg_kblocks=...)."""
        job = GemmJob(name, np.asarray(a, np.float32), np.asarray(b, np.float32), mode_a, mode_b, rounding)
        first = len(self.env.results)
        cycles = await run_job(self.env, job, self.quantizer, **run_kw)
        got = assemble(self.env, job, self.env.results[first:])
        bits, _ = bfp_gemm(job.qa, job.qb)
        want = bits.view(np.float32)[: job.a.shape[0], : job.b.shape[1]]
        if not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
            self.env.scoreboard.fail(f"job {name}: assembled C differs from the model's GEMM")
        rows, cols = self.env.rows, self.env.cols
        if run_kw.get("configure", True):
            self.check_cycles(job, cycles)
        self.report.append((name, mode_name(mode_a), mode_name(mode_b), ROUNDING_NAMES[rounding],
                            job.a.shape, job.b.shape[1], cycles, ideal_cycles(job, rows, cols, self.env.k),
                            utilization(job, cycles, rows, cols)))
        return got

    def check_cycles(self, job: GemmJob, cycles: int) -> None:
        """The throughput promise (docs/spec.md section 4): with the operands at full rate and the results
        taken at once, a job takes exactly its schedule plus ARRAY_FILL cycles. A lost cycle fails."""
        if self.idle != "none" or self.backpressure != "none":
            return
        want = ideal_cycles(job, self.env.rows, self.env.cols, self.env.k) + ARRAY_FILL
        if cycles != want:
            self.env.scoreboard.fail(
                f"job {job.name} ({mode_name(job.mode_a)} x {mode_name(job.mode_b)}, {job.a.shape[0]}x"
                f"{job.a.shape[1]} x {job.b.shape[1]}, {len(job.tiles)} tiles of {job.kblocks} block pairs): "
                f"took {cycles} cycles, the cycle model says {want} (schedule + {ARRAY_FILL})")

    def report_phase(self):
        if not self.report:
            return
        lines = [f"{'job':12} {'A':5} {'B':5} {'rnd':4} {'M x K':>9} {'N':>4} {'cycles':>7} {'ideal':>6} "
                 f"{'util':>6} {'busy':>6}"]
        for name, ma, mb, rnd, shape, n, cyc, ideal, util in self.report:
            lines.append(f"{name:12} {ma:5} {mb:5} {rnd:4} {shape[0]:>4}x{shape[1]:<4} {n:>4} {cyc:>7} "
                         f"{ideal:>6} {util:>6.1%} {ideal / cyc:>6.1%}")
        self.logger.info("cycles and utilization (util: useful sub-multiplier operations / (16 x PEs x cycles); "
                         "busy: cycles the padded schedule needs / cycles taken)\n" + "\n".join(lines))
        write_stats({"cycles": sum(r[6] for r in self.report),
                     "jobs": [dict(zip(("job", "mode_a", "mode_b", "rounding", "m", "kdim", "n", "cycles",
                                        "ideal", "util"), (r[0], r[1], r[2], r[3], *r[4], *r[5:])))
                              for r in self.report]})


@pyuvm.test()
class TrainingPasses(PeArrayBase):
    """Forward, backward and weight-gradient GEMMs of a 3x3 conv layer (im2col) and an FC layer, for all
    9 operand-mode pairs (3 in the quick regression, seeds.quick), with FlexBlock's truncation."""

    async def body(self):
        rng = seeds.rng("training")
        gemms = {**conv_layer_gemms(rng), **fc_layer_gemms(rng)}
        # the quick regression: three pairs that put every mode on both sides (ModeSwitches runs all 9); on
        # Icarus (~300 cycles/s) one of them, by the seed
        pairs = [(FB24, FB16), (FB16, FB12), (FB12, FB24)] if seeds.quick() else ALL_PAIRS
        if seeds.quick() and os.environ.get("FLEXBLOCK_SIM") == "icarus":
            pairs = [pairs[int(rng.integers(len(pairs)))]]
        for mode_a, mode_b in pairs:
            for name, (a, b) in gemms.items():
                await self.job(name, a, b, mode_a, mode_b)


@pyuvm.test()
class RoundingModes(PeArrayBase):
    """Operands re-blocked from FP32 with every rounding mode (stochastic rounding from the model's LFSRs)."""

    async def body(self):
        rng = seeds.rng("rounding")
        a, b = conv_layer_gemms(rng)["conv_fwd"]
        for rounding in (RTZ, RNE, RNA, SR):
            for mode_a, mode_b in ((FB16, FB12), (FB12, FB24)):
                await self.job("conv_fwd", a, b, mode_a, mode_b, rounding)


@pyuvm.test()
class RandomTiles(PeArrayBase):
    """Random shapes (Kdim rarely a multiple of the block), random modes, idle gaps on both operand streams
    and back-pressure on the results."""
    idle, backpressure = "random", "bursty"

    async def body(self):
        rng = seeds.rng("random-tiles")
        for i in range(seeds.scaled(12)):
            m, kdim, n = (int(v) for v in rng.integers(1, [10, 70, 10]))
            a = (rng.standard_normal((m, kdim)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
            b = (rng.standard_normal((kdim, n)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
            await self.job(f"rand{i}", a, b, int(rng.choice(MODES)), int(rng.choice(MODES)),
                           int(rng.choice([RTZ, RNE, RNA, SR])))


@pyuvm.test()
class HeavyBackPressure(PeArrayBase):
    """Results stalled 80% of the time while operands stream at full rate (FB12 x FB12: one block per cycle)."""
    backpressure = "heavy"

    async def body(self):
        rng = seeds.rng("heavy")
        a, b = fc_layer_gemms(rng)["fc_fwd"]
        await self.job("fc_fwd", a, b, FB12, FB12)
        await self.job("fc_fwd", a, b, FB24, FB16)


@pyuvm.test()
class StallRule(PeArrayBase):
    """Short tiles of few steps (FB16 x FB12: 2 steps per block pair; FB24 x FB12: 4) at full operand rate
    under bursty back-pressure, so the 5 result entries fill and drain again and again: the step schedule
    (PeArrayEnv.schedule) checks the array waits only at a tile's last step (an array that stops at an
    earlier step resumes later, and its results come a cycle or more late). The back-pressure is bursty with
    long stalls: out_ready low for 12-20 offered results (enough to reserve all 5 entries), then high for
    3-10."""
    backpressure = "bursty"

    async def body(self):
        rng = seeds.rng("stall-rule")
        rows, cols, k = self.env.rows, self.env.cols, self.env.k
        burst = {"left": 0, "stall": False}

        def long_bursts() -> bool:
            if burst["left"] == 0:
                burst["stall"] = not burst["stall"]
                burst["left"] = int(rng.integers(12, 21) if burst["stall"] else rng.integers(3, 11))
            burst["left"] -= 1
            return burst["stall"]
        self.env.sinks["out"].gap = long_bursts
        for (mode_a, mode_b), blocks in (((FB16, FB12), 1), ((FB24, FB12), 2), ((FB16, FB16), 1)):
            a = rng.standard_normal((6 * rows, blocks * k)).astype(np.float32)
            b = rng.standard_normal((blocks * k, 4 * cols)).astype(np.float32)
            await self.job(f"stall_{MODE_NAMES[mode_a]}x{MODE_NAMES[mode_b]}", a, b, mode_a, mode_b)


@pyuvm.test()
class SpecialOperands(PeArrayBase):
    """NaN, +/-Inf and subnormal operands, products that overflow binary32, Inf - Inf = NaN, tiny products
    that underflow to subnormals or zero."""

    async def body(self):
        rng = seeds.rng("special")
        m, kdim, n = 4, 40, 4
        a = rng.standard_normal((m, kdim)).astype(np.float32)
        b = rng.standard_normal((kdim, n)).astype(np.float32)
        a[0, 3], a[1, 20] = np.nan, np.inf
        b[5, 2], b[33, 3] = -np.inf, np.nan
        await self.job("nan_inf", a, b, FB16, FB16)
        big = np.full((m, kdim), 3e38, np.float32)
        big[:, 1::2] *= -1                       # terms of both signs overflow: +Inf + -Inf = NaN
        await self.job("overflow", big, np.abs(big.T), FB24, FB12)
        tiny = (rng.standard_normal((m, kdim)) * 1e-38).astype(np.float32)
        await self.job("subnormal", tiny, tiny.T, FB24, FB24)
        await self.job("underflow", tiny * 1e-5, tiny.T, FB12, FB16)
        await self.job("zeros", np.zeros((m, kdim), np.float32), b, FB12, FB12)


@pyuvm.test()
class ResetMidTile(PeArrayBase):
    """Resets while tiles are in flight (three: in long tiles, among short ones with results waiting, early
    in a job), with random idle gaps and back-pressure: everything in flight is dropped, and the array (and
    its configuration, back to FB24 x FB24, one block) restarts clean (the step schedule checks every edge
    after each reset against the reset state)."""
    idle, backpressure = "random", "random"

    async def body(self):
        rng = seeds.rng("reset")
        a, b = conv_layer_gemms(rng)["conv_fwd"]
        # three resets: deep in long tiles, among short tiles with results waiting, and early in a job
        for modes, (lo, hi) in (((FB24, FB24), (30, 150)), ((FB12, FB12), (10, 40)), ((FB16, FB12), (2, 8))):
            task = cocotb.start_soon(self.job("conv_fwd", a, b, *modes))
            await self.env.clock.cycles(int(rng.integers(lo, hi)))
            task.cancel()  # the job's stimulus stops; what it had queued is stale after the reset
            await self.env.clock.reset()
            self.report.clear()
        await self.job("conv_fwd", a, b, FB16, FB12)


@pyuvm.test()
class ConfigCorners(PeArrayBase):
    """The configuration rules of docs/spec.md section 4: operands after a reset with no configuration use
    the reset one (FB24 x FB24, one block per tile); cfg_kblocks = 0 acts as 1; the reserved mode code 3
    multiplies as FB24 on either operand; back-to-back jobs change the mode pair every time."""

    async def body(self):
        rng = seeds.rng("cfg-corners")
        rows, cols, k = self.env.rows, self.env.cols, self.env.k
        def operands(kdim):
            return (rng.standard_normal((rows + 1, kdim)).astype(np.float32),
                    rng.standard_normal((kdim, cols + 1)).astype(np.float32))
        await self.job("after_reset", *operands(k), FB24, FB24, configure=False)
        sample_cfg_event("reset_config")
        await self.job("kblocks_0", *operands(k - 3), FB16, FB12, cfg_kblocks=0)
        for ma, mb in ((3, FB12), (FB16, 3), (3, 3), (FB12, 3)):
            await self.job(f"mode{ma}x{mb}", *operands(2 * k + 5), ma, mb)
            sample_cfg_event("back_to_back_change")


@pyuvm.test()
class ConfigWhileBusy(PeArrayBase):
    """A configuration offered while a job's tiles run and its operands wait in the FIFOs is held off
    (cfg_ready low) until the array is idle, and then applies to the next job's operands only: the
    scoreboard forms tiles with each configuration in the order the DUT took them, so an array that took
    it early would pair the first job's blocks with the second job's tile length and modes."""

    async def body(self):
        rng = seeds.rng("cfg-busy")
        env, rows, cols = self.env, self.env.rows, self.env.cols
        pairs = [(a, b) for a in MODES for b in MODES]
        for i in range(seeds.scaled(4)):
            (ma1, mb1), (ma2, mb2) = (pairs[j] for j in rng.choice(len(pairs), 2, replace=False))
            kd1, kd2 = (int(v) for v in rng.integers(17, 80, 2))
            jobs = [GemmJob(f"busy{i}_{n}", rng.standard_normal((2 * rows, kd)).astype(np.float32),
                            rng.standard_normal((kd, 2 * cols)).astype(np.float32), ma, mb)
                    for n, (kd, ma, mb) in enumerate(((kd1, ma1, mb1), (kd2, ma2, mb2)))]
            first = len(env.results)
            for job in jobs:
                job.quantize(self.quantizer, rows, cols)
            env.schedule.begin(jobs[0].name)
            await ItemSequence("cfg", CfgItem("cfg1", ma1, mb1, jobs[0].kblocks)).start(env.seqr["cfg"])
            ops = [cocotb.start_soon(OperandSequence(f"{side}1", jobs[0], side, n).start(env.seqr[side]))
                   for side, n in (("a", rows), ("b", cols))]
            await env.clock.cycles(2)  # the first operands are in the FIFOs, the first tile starts
            offered = env.clock.cycle
            await ItemSequence("cfg", CfgItem("cfg2", ma2, mb2, jobs[1].kblocks)).start(env.seqr["cfg"])
            held = env.cfg_edge - offered
            await gather(*ops)
            must_wait = ideal_cycles(jobs[0], rows, cols, env.k) - 3  # the first job's steps, less the 2 waited
            if held < must_wait:
                env.scoreboard.fail(f"job busy{i}: the second configuration was taken {held} cycles after it "
                                    f"was offered, before the first job's {must_wait + 3} steps had run")
            sample_cfg_event("held_off_busy")
            sample_cfg_event("held_off_queued")
            env.schedule.begin(jobs[1].name)
            await gather(*[cocotb.start_soon(OperandSequence(f"{side}2", jobs[1], side, n).start(env.seqr[side]))
                           for side, n in (("a", rows), ("b", cols))])
            while len(env.results) < first + len(jobs[0].tiles) + len(jobs[1].tiles):
                await env.wait_result(f"job busy{i}: no tile result")
            env.scoreboard.flush()
            got0 = assemble(env, jobs[0], env.results[first:first + len(jobs[0].tiles)])
            got1 = assemble(env, jobs[1], env.results[first + len(jobs[0].tiles):])
            for job, got in zip(jobs, (got0, got1)):
                bits, _ = bfp_gemm(job.qa, job.qb)
                want = bits.view(np.float32)[: job.a.shape[0], : job.b.shape[1]]
                if not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
                    env.scoreboard.fail(f"job {job.name}: assembled C differs from the model's GEMM")


# ~39k cycles: ~2 s on Verilator, minutes on Icarus (still runs there when named: TESTCASE=LayerTiles). The
# quick regression runs it on the non-default arrays only: on the default 4 x 4 array pe_array_harness's
# LayerTiles runs the same jobs (all 256 block pairs), every tile and every job's cycles checked.
@pyuvm.test(skip=os.environ.get("FLEXBLOCK_SIM") == "icarus" or (seeds.quick() and not os.environ.get("FLEXBLOCK_PARAMS")))
class LayerTiles(PeArrayBase):
    """Steady state on real layers, for every mode pair: output tiles of the forward, backward and
    weight-gradient GEMMs of a ResNet-18 conv layer and a Transformer FC layer at their full reduction
    lengths, enough tiles for 256 block pairs per job, so a job's ARRAY_FILL (6) cycles weigh little, as in
    a real layer's thousands of tiles (scripts/cycle_model.py turns the job table into the README's table)."""
    block_pairs = 256

    async def body(self):
        if seeds.quick():
            self.block_pairs = 64  # the quick regression: the same jobs, a quarter of the tiles
        rng = seeds.rng("layers")
        rows, cols, k = self.env.rows, self.env.cols, self.env.k
        for mode_a, mode_b in ALL_PAIRS:
            for layer, passes in REAL_LAYERS.items():
                for pass_, kdim in passes.items():
                    tiles = -(-self.block_pairs // -(-kdim // k))
                    a = np.maximum(rng.standard_normal((rows, kdim)), 0).astype(np.float32)  # ReLU outputs
                    b = (rng.standard_normal((kdim, tiles * cols)) * 0.05).astype(np.float32)
                    await self.job(f"{layer}_{pass_}", a, b, mode_a, mode_b)


# the training blocks by 16; make regress only: in the quick regression flexblock_core's TrainingStep puts the
# same training step's GEMMs through the core (and so through this array), bit for bit
@pyuvm.test(skip=int(cocotb.top.K.value) != 16 or seeds.quick())
class TrainingReplay(PeArrayBase):
    """The first training step of scripts/train.py (digits MLP, FB12LG16: FB12 forward and weight-gradient
    operands, FB16 back-propagated errors, FlexBlock's truncation) replayed on the array: every GEMM the
    training ran gives, bit for bit, the binary32 C the training used. The operands are the real training's,
    so this test (only) loads the digits data set: scikit-learn is imported here, by models.training.data."""

    async def body(self):
        from models.training import training_gemms
        assert self.env.k == 16, "TrainingReplay needs K = 16: the training blocks by 16"
        for gemm in training_gemms(n_batches=1, config="FB12LG16", rounding="RTZ", seed=0, batch=16):
            got = await self.job(*gemm)
            if not np.array_equal(got.view(np.uint32), gemm.c.view(np.uint32)):
                self.env.scoreboard.fail(f"training GEMM {gemm.name}: the array's C differs from the C the "
                                         f"training used")


@pyuvm.test()
class ModeSwitches(PeArrayBase):
    """Every mode pair after every other one (all 81 ordered switches, FB12 x FB12 first, straight after
    reset), one- and two-block tiles, idle gaps on the operands, some operands NaN or Inf: what a tile leaves
    in the step counter, the sequencers and the flags must not leak into the next configuration. (Found by
    scripts/mutate.py: a PE that takes a block sum while the array idles and the leftover step count looks
    like a last step, e.g. after reset in FB12 x FB12 or after FB12 x FB12 in FB16 x FB12, went unnoticed.)"""
    idle = "random"

    async def body(self):
        rng = seeds.rng("mode-switch")
        rows, cols, k = self.env.rows, self.env.cols, self.env.k
        pairs = ALL_PAIRS[::-1]  # (FB12, FB12) first
        for prev in pairs:
            for nxt in pairs:
                for mode_a, mode_b in (prev, nxt):
                    kdim = int(rng.integers(1, 2 * k + 1))
                    a = (rng.standard_normal((rows, kdim)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
                    b = rng.standard_normal((kdim, cols)).astype(np.float32)
                    if rng.random() < 0.25:
                        a[rng.integers(rows), rng.integers(kdim)] = rng.choice([np.nan, np.inf, -np.inf])
                    await self.job(f"{MODE_NAMES[mode_a]}x{MODE_NAMES[mode_b]}", a, b, mode_a, mode_b)


class _WrongExponentScoreboard(WrongModelScoreboard, PeArrayScoreboard):
    """A deliberately wrong model: B's nonzero exponents one too large."""

    def corrupt(self, expected):
        a, b = expected["a"], expected["b"]
        b = BFPTensor(b.exp + (b.exp > 0), b.sign, b.mag, b.flags, b.mode)
        bits, flags = bfp_gemm(a, b)
        return {**expected, "result": bits.ravel(), "flags": flags.ravel()}


@pyuvm.test()
class ScoreboardCatchesWrongModel(PeArrayBase):
    """The scoreboard must catch a model with B's exponents off by one, on the first tile it gets wrong."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(PeArrayScoreboard, _WrongExponentScoreboard)
        super().build_phase()

    async def body(self):
        rng = seeds.rng("wrong")
        a, b = fc_layer_gemms(rng)["fc_fwd"]
        await self.job("fc_fwd", a, b, FB16, FB16)
