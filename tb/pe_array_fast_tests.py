"""pe_array tests at simulator speed: the DUT inside SystemVerilog transactors (tb/sv/pe_array_harness.sv),
pyuvm above them (tb/pe_array_fast_env.py); Python wakes once per batch of jobs. `make sim
TOPLEVEL=pe_array_harness [SIM=verilator]`. The same jobs as the per-cycle bench's (tb/pe_array_tests.py),
every tile checked bit-exactly, plus (make regress, Verilator) a whole ResNet-18 layer, forward, backward
and weight-gradient."""
from __future__ import annotations

import os

import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import ScoreboardError
from models import FB12, FB16, FB24
from models.fp2bfp import RNA, RNE, RTZ, SR
from pe_array_env import REAL_LAYERS, conv_layer_gemms, fc_layer_gemms
from pe_array_fast_env import GemmJob, HarnessScoreboard, HarnessTest, Piece, WrongExponentScoreboard

MODES = (FB24, FB16, FB12)
ALL_PAIRS = [(a, b) for a in MODES for b in MODES]
VERILATOR = os.environ.get("FLEXBLOCK_SIM") == "verilator"


def job(name, a, b, mode_a, mode_b, rounding=RTZ) -> GemmJob:
    return GemmJob(name, np.asarray(a, np.float32), np.asarray(b, np.float32), mode_a, mode_b, rounding)


# ~7,300 cycles: ~25 s on Icarus (the simulator's own speed), so there only when named
@pyuvm.test(skip=not VERILATOR and os.environ.get("FLEXBLOCK_TESTCASE") != "TrainingPasses")
class TrainingPasses(HarnessTest):
    """Forward, backward and weight-gradient GEMMs of a 3x3 conv layer (im2col) and an FC layer for all 9
    mode pairs (the per-cycle bench's TrainingPasses, same jobs): one batch, cycles checked per job."""

    async def body(self):
        rng = seeds.rng("training")
        gemms = {**conv_layer_gemms(rng), **fc_layer_gemms(rng)}
        await self.run_jobs([job(name, a, b, ma, mb) for ma, mb in ALL_PAIRS for name, (a, b) in gemms.items()])


@pyuvm.test()
class RandomTiles(HarnessTest):
    """Random shapes, modes and rounding; idle gaps on both operand streams (25%) and back-pressure on the
    results (50%) from the harness's LFSRs."""
    idle_thr, bp_thr = 64, 128

    async def body(self):
        rng = seeds.rng("random-tiles")
        jobs = []
        for i in range(seeds.scaled(24 if VERILATOR else 6)):
            m, kdim, n = (int(v) for v in rng.integers(1, [10, 70, 10]))
            a = (rng.standard_normal((m, kdim)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
            b = (rng.standard_normal((kdim, n)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
            jobs.append(job(f"rand{i}", a, b, int(rng.choice(MODES)), int(rng.choice(MODES)),
                            int(rng.choice([RTZ, RNE, RNA, SR]))))
        await self.run_jobs(jobs)


@pyuvm.test()
class HeavyBackPressure(HarnessTest):
    """Results stalled 80% of the time while operands stream at full rate (FB12 x FB12: a block per cycle)."""
    bp_thr = 205

    async def body(self):
        rng = seeds.rng("heavy")
        a, b = fc_layer_gemms(rng)["fc_fwd"]
        await self.run_jobs([job("fc_fwd", a, b, FB12, FB12), job("fc_fwd", a, b, FB24, FB16)])


@pyuvm.test()
class SpecialOperands(HarnessTest):
    """NaN, +/-Inf, subnormal operands, binary32 overflow (+Inf + -Inf = NaN), underflow, zeros."""
    idle_thr = 32

    async def body(self):
        rng = seeds.rng("special")
        m, kdim, n = 4, 40, 4
        a = rng.standard_normal((m, kdim)).astype(np.float32)
        b = rng.standard_normal((kdim, n)).astype(np.float32)
        a[0, 3], a[1, 20] = np.nan, np.inf
        b[5, 2], b[33, 3] = -np.inf, np.nan
        big = np.full((m, kdim), 3e38, np.float32)
        big[:, 1::2] *= -1
        tiny = (rng.standard_normal((m, kdim)) * 1e-38).astype(np.float32)
        await self.run_jobs([job("nan_inf", a, b, FB16, FB16), job("overflow", big, np.abs(big.T), FB24, FB12),
                             job("subnormal", tiny, tiny.T, FB24, FB24),
                             job("underflow", tiny * 1e-5, tiny.T, FB12, FB16),
                             job("zeros", np.zeros((m, kdim), np.float32), b, FB12, FB12)])


# The real-layer jobs (pe_array_env.REAL_LAYERS) with enough tiles for 256 block pairs per job. ~79k cycles:
# Verilator only unless named (TESTCASE=LayerTiles).
@pyuvm.test(skip=not VERILATOR and os.environ.get("FLEXBLOCK_TESTCASE") != "LayerTiles")
class LayerTiles(HarnessTest):
    """Steady state on real layers for every mode pair (the per-cycle bench's LayerTiles job set)."""
    block_pairs = 256

    async def body(self):
        rng = seeds.rng("layers")
        rows, cols, k = self.env.rows, self.env.cols, self.env.k
        jobs = []
        for mode_a, mode_b in ALL_PAIRS:
            for layer, passes in REAL_LAYERS.items():
                for pass_, kdim in passes.items():
                    tiles = -(-self.block_pairs // -(-kdim // k))
                    a = np.maximum(rng.standard_normal((rows, kdim)), 0).astype(np.float32)
                    b = (rng.standard_normal((kdim, tiles * cols)) * 0.05).astype(np.float32)
                    jobs.append(job(f"{layer}_{pass_}", a, b, mode_a, mode_b))
        await self.run_jobs(jobs)


def resnet18_conv3_layer(rng: np.random.Generator, batch: int = 1) -> dict[str, tuple]:
    """The three training GEMMs of a whole ResNet-18 conv3_x layer (3x3, 128 -> 128 channels, 28 x 28,
    stride 1, pad 1) via im2col, batch `batch`: FWD Y = X_col W (784 x 1152 x 128), BWD dX_col = dY W^T
    (784 x 128 x 1152), WG dW = X_col^T dY (1152 x 784 x 128)."""
    c, hw = 128, 28
    x = np.maximum(rng.standard_normal((batch, c, hw, hw)), 0).astype(np.float32)  # post-ReLU activations
    w = (rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
    dy = (rng.standard_normal((batch * hw * hw, c)) * 1e-3).astype(np.float32)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, i:i + hw, j:j + hw] for i in range(3) for j in range(3)], axis=2)
    x_col = np.ascontiguousarray(cols.transpose(0, 3, 4, 1, 2).reshape(batch * hw * hw, c * 9))
    w_col = np.ascontiguousarray(w.reshape(c, c * 9).T)
    return {"fwd": (x_col, w_col), "bwd": (dy, np.ascontiguousarray(w_col.T)),
            "wg": (np.ascontiguousarray(x_col.T), dy)}


# ~2.3 M cycles (FWD FB12 x FB12, BWD FB16 x FB12, WG FB12 x FB16: FlexBlock's FB12LG16 training modes):
# the full regression (FLEXBLOCK_SCALE > 1), on Verilator, default 4 x 4 array; TESTCASE=ResNet18Layer runs
# it anywhere.
@pyuvm.test(skip=os.environ.get("FLEXBLOCK_TESTCASE") != "ResNet18Layer"
            and not (VERILATOR and float(os.environ.get("FLEXBLOCK_SCALE", "1")) > 1
                     and not os.environ.get("FLEXBLOCK_PARAMS")))
class ResNet18Layer(HarnessTest):
    """A whole ResNet-18 conv3_x layer through the RTL: the forward, backward and weight-gradient GEMMs,
    every one of their ~72,000 output tiles checked bit-exactly against the model."""

    async def body(self):
        gemms = resnet18_conv3_layer(seeds.rng("resnet18"))
        modes = {"fwd": (FB12, FB12), "bwd": (FB16, FB12), "wg": (FB12, FB16)}
        for name, (a, b) in gemms.items():
            await self.run_jobs([job(f"conv3_{name}", a, b, *modes[name])])


@pyuvm.test()
class ScoreboardCatchesWrongModel(HarnessTest):
    """The scoreboard must catch a model with B's exponents off by one, on the first tile it gets wrong."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(HarnessScoreboard, WrongExponentScoreboard)
        super().build_phase()

    async def body(self):
        rng = seeds.rng("wrong")
        a, b = fc_layer_gemms(rng)["fc_fwd"]
        j = job("fc_fwd", a, b, FB16, FB16)
        j.quantize(self.quantizer, self.env.rows, self.env.cols)
        # the first tile where the right and the wrong model differ
        sb, rows, cols = self.env.scoreboard, self.env.rows, self.env.cols
        whole = Piece(j, 0, j.qa.exp.shape[0] // rows, True)
        right = HarnessScoreboard.expected(sb, whole, rows, cols)
        wrong = sb.expected(whole, rows, cols)
        first = int(np.flatnonzero((right[0] != wrong[0]).any(axis=1))[0])
        try:
            await self.run_jobs([j])
        except ScoreboardError as e:
            if not str(e).split("mismatch on output #", 1)[-1].startswith(f"{first}:"):
                raise ScoreboardError(f"self-check: the scoreboard failed, but not on output #{first}, the first "
                                      f"the wrong model gets wrong:\n{e}") from None
            self.logger.info(f"caught (expected): output #{first}")
            return
        raise ScoreboardError(f"self-check: the wrong model went uncaught (it differs first on output #{first})")
