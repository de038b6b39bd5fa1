"""Smoke tests of the training library (models/training, behind scripts/train.py): the training loop's GEMMs are the model's GEMMs bit for bit (and replay as
pe_array_env.GemmJob would quantize them), training at FB24 learns, the cycle estimate and the dynamic
precision rule do what they say. A few seconds."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import models as fb
from models import training as T
from models.training.data import digits

EXPECTED = ["L0.fp", "L1.fp", "L2.fp", "L2.bp", "L2.wg", "L1.bp", "L1.wg", "L0.wg"]


@pytest.mark.parametrize("rounding", ["RTZ", "SR"])
def test_training_gemms_are_model_gemms(rounding):
    gemms = T.training_gemms(n_batches=1, config="FB12LG16", rounding=rounding, seed=3)
    assert [g.name for g in gemms] == EXPECTED
    modes = {g.name: (g.mode_a, g.mode_b) for g in gemms}
    assert modes["L1.fp"] == (fb.FB12, fb.FB12) and modes["L1.bp"] == (fb.FB16, fb.FB16)
    assert modes["L1.wg"] == (fb.FB12, fb.FB12)
    for g in gemms:
        name, a, b, mode_a, mode_b, rnd = g  # the 6-tuple a replay unpacks
        assert a.dtype == b.dtype == np.float32 and a.shape[1] == b.shape[0]
        assert rnd == fb.rounding_code(rounding)
        c, flags = fb.gemm(a, b, mode_a, mode_b, rnd, block=g.block, quantizer=fb.Fp2Bfp(g.block, g.seed))
        assert np.array_equal(c.view(np.uint32), g.c.view(np.uint32)), name
        assert not flags.any()
        # as tb/pe_array_env.GemmJob quantizes: M and N zero-padded to whole 4x4 tiles, one quantizer, A first
        q = fb.Fp2Bfp(g.block, g.seed)
        m, n = a.shape[0], b.shape[1]
        ap = np.zeros((-(-m // 4) * 4, a.shape[1]), np.float32)
        ap[:m] = a
        bt = np.zeros((-(-n // 4) * 4, a.shape[1]), np.float32)
        bt[:n] = b.T
        bits, _ = fb.bfp_gemm(q(ap, mode_a, rnd), q(bt, mode_b, rnd))
        assert np.array_equal(bits[:m, :n], g.c.view(np.uint32)), f"{name}: tile padding changes the replay"
    assert T.replay_tiles(gemms) == 496


def test_training_gemm_operands_are_the_networks():
    """The first forward GEMM multiplies a batch of training images by the initial FP32 weights."""
    gemms = T.training_gemms(n_batches=2, config="FB24", seed=5)
    assert len(gemms) == 2 * len(EXPECTED)
    xtr = digits()[0]
    w0 = T.init_params(T.TrainConfig().sizes, np.random.default_rng(5))[0][0]
    first = gemms[0]
    assert np.array_equal(first.b, w0)
    assert all((xtr == row).all(axis=1).any() for row in first.a)
    # the first layer's weight gradient is H0^T x dZ1 with H0 the same batch
    assert np.array_equal(gemms[7].a, first.a.T)


def test_fb24_training_learns():
    cfg = T.TrainConfig()
    xtr, ytr = digits()[:2]
    params = T.init_params(cfg.sizes, np.random.default_rng(0))
    vel = [[np.zeros_like(w), np.zeros_like(b)] for w, b in params]
    eng = T.Engine(T.FlexBlockArithmetic("FB24", "RTZ", cfg), 0, cfg)
    x, y = xtr[:32], ytr[:32]
    losses = [T.train_step(params, vel, x, y, eng, cfg) for _ in range(12)]
    assert np.all(np.diff(losses) < 0) and losses[-1] < 0.75 * losses[0], losses
    assert all(np.isfinite(losses))
    r = T.run("FB24", "RTZ", 0, replace(cfg, epochs=2))
    assert r["loss"][1] < r["loss"][0] and r["acc"][-1] > 0.8


def test_cycle_estimate():
    cfg = T.TrainConfig(epochs=1)
    n = 3  # steps
    for config, rel in (("FB24", 1.0), ("FB16", 1 / 4), ("FB12", 1 / 16)):
        r = T.run(config, "RTZ", 0, cfg, n_steps=n)
        assert r["cycles"] == pytest.approx(rel * r["fb24_cycles"])
    # FB12LG16: FP and WG in FB12 (1 cycle per block pair), BP in FB16 x FB16 (4)
    r = T.run("FB12LG16", "RTZ", 0, cfg, n_steps=1)
    per = {g: -(-m // 4) * -(-n // 4) * -(-k // 16) * 16 for g, (m, k, n) in {
        "L0.fp": (32, 64, 32), "L1.fp": (32, 32, 32), "L2.fp": (32, 32, 10), "L2.bp": (32, 10, 32),
        "L1.bp": (32, 32, 32), "L2.wg": (32, 32, 10), "L1.wg": (32, 32, 32), "L0.wg": (64, 32, 32)}.items()}
    assert r["fb24_cycles"] == sum(per.values())
    bp = per["L2.bp"] + per["L1.bp"]
    assert r["cycles"] == (sum(per.values()) - bp) // 16 + bp // 4


def test_dynamic_rule():
    cfg = T.TrainConfig(zse_lo=0.2, zse_hi=0.5, dyn_start=fb.FB16)
    d = T.DynamicPrecision(2, cfg)
    d.update({(0, "fp.act"): 0.1, (0, "fp.w"): 0.6, (1, "wg.err"): 0.3})
    assert d.modes[0]["fp.act"] == fb.FB12 and d.modes[0]["fp.w"] == fb.FB24 and d.modes[1]["wg.err"] == fb.FB16
    d.update({(0, "fp.act"): 0.0, (0, "fp.w"): 0.9})  # saturates at the ends
    assert d.modes[0]["fp.act"] == fb.FB12 and d.modes[0]["fp.w"] == fb.FB24
    assert len(d.history) == 3
