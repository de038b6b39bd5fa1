"""The training library (models/training): runs through the arithmetic interface are bit-identical to the
training loop as it was before the split (train_reference.py, an independent re-statement); FlexBlock's
`gemm` equals the exact oracle and its `cycles` the array's schedule; another arithmetic plugs in by name and
gets its report row; importing the library does not import scikit-learn."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

import models as fb
from models import training as T
from models.training import arithmetics
from models.training.report import build_report

from . import oracle
from .gen import f32
from .train_reference import load_digits_split, ref_run


@pytest.fixture(scope="module")
def data():
    return load_digits_split()


@pytest.mark.parametrize("config,rounding,extra", [
    ("FB12LG16", "RTZ", {}),
    ("DYN", "SR", {"dyn_window": 6}),  # 84 steps: the last step ends a window
    ("DYN", "RNE", {"dyn_window": 5, "fp32_layers": (0,), "zse_lo": 0.3, "zse_hi": 0.5}),
    ("FB16", "RNE", {"fp32_layers": (2,)}),
    ("FP32", "RTZ", {}),
])
def test_run_equals_the_old_loop(config, rounding, extra, data):
    cfg = T.TrainConfig(epochs=2, **extra)
    new = T.run(config, rounding, 4, cfg, data=data)
    old = ref_run(config, rounding, 4, asdict(cfg), data)
    for l, ((w, b), (w0, b0)) in enumerate(zip(new["params"], old["params"])):
        assert np.array_equal(w.view(np.uint32), w0.view(np.uint32)), f"layer {l} weights differ"
        assert np.array_equal(b.view(np.uint32), b0.view(np.uint32)), f"layer {l} biases differ"
    assert new["loss"] == old["loss"] and new["acc"] == old["acc"]
    assert (new["cycles"], new["fb24_cycles"], new["flags"]) == (old["cycles"], old["fb24_cycles"], old["flags"])
    if config == "DYN":
        fp32 = set(cfg.fp32_layers)
        expect = [[None if l in fp32 else m for l, m in enumerate(h)] for h in old["history"]]
        assert new["mode_history"] == expect and len(expect) > 2
        assert new["final_modes"] == expect[-1]
        assert new["last_zse"] == old["zse"]
    else:
        assert new["zse"] == old["zse"]
    assert new["acc"][-1] > 0.5  # it learned something


def _oracle_c(a, b, mode_a, mode_b, rounding, seed, block=16):
    lanes = oracle.LfsrLanes(seed, block, 8) if rounding == oracle.SR else None
    qa = oracle.quantize_rows(a.view(np.uint32).tolist(), mode_a, rounding, block, lanes)
    qb = oracle.quantize_rows(b.T.view(np.uint32).tolist(), mode_b, rounding, block, lanes)
    return np.array(oracle.bfp_gemm(qa, qb, mode_a, mode_b)[0], np.uint32)


@pytest.mark.parametrize("rounding", ["RTZ", "SR"])
def test_flexblock_gemm_equals_oracle(rounding, rng):
    """A small GEMM per pass through FlexBlockArithmetic.gemm (FB12LG16 and DYN) is the oracle's C."""
    cfg = T.TrainConfig()
    for config in ("FB12LG16", "DYN"):
        ar = T.FlexBlockArithmetic(config, rounding, cfg)
        ar.configure(3, 10)
        for pass_, (m, k, n) in (("fp", (5, 37, 3)), ("bp", (4, 10, 6)), ("wg", (7, 33, 2))):
            a = f32(rng.standard_normal((m, k)) * 2.0 ** rng.integers(-8, 8, (m, 1)))
            b = f32(rng.standard_normal((k, n)) * 0.1)
            seed = int(rng.integers(0, 1 << 16))
            c = ar.gemm(a, b, pass_, 1, 0, seed)
            assert c.dtype == np.float32 and c.shape == (m, n)
            mode_a, mode_b = ar.operand_modes(pass_, 1)
            want = _oracle_c(a, b, mode_a, mode_b, fb.rounding_code(rounding), seed)
            assert np.array_equal(c.view(np.uint32), want), f"{config} {pass_} seed {seed}"


def test_flexblock_cycles():
    """cycles = tiles x block pairs x (Wa/4)(Wb/4) on the 4 x 4 array, K = 16, in the modes in force."""
    width = {0: 16, 1: 8, 2: 4}
    ar = T.FlexBlockArithmetic("FB12LG24", "RTZ", T.TrainConfig(fp32_layers=(0,)))
    ar.configure(3, 10)
    for pass_, modes in (("fp", (2, 2)), ("bp", (0, 0)), ("wg", (2, 2))):
        for m, k, n in ((32, 64, 32), (5, 17, 9), (1, 16, 4)):
            tiles = -(-m // 4) * -(-n // 4) * -(-k // 16)
            assert ar.cycles(m, k, n, pass_, 1) == tiles * width[modes[0]] // 4 * width[modes[1]] // 4
            assert ar.cycles(m, k, n, pass_, 0) == tiles * 16  # an FP32 layer counts as FB24 x FB24


class PlainFp32:
    """A toy arithmetic: float32 matmul, 2 cycles per FB24 x FB24 cycle."""
    name = "plain"

    def configure(self, n_layers, n_steps):
        self.configured = (n_layers, n_steps)

    def gemm(self, a, b, pass_, layer, step, seed):
        assert pass_ in T.PASSES and 0 <= layer < 3 and 0 <= step < self.configured[1] + 1
        return a @ b

    def cycles(self, m, kdim, n, pass_, layer):
        return 2 * T.fb24_cycles(m, kdim, n, T.TrainConfig())


def test_another_arithmetic_by_name(data):
    arithmetics.register("plain-test", lambda policy, rounding, cfg: PlainFp32())
    try:
        cfg = T.TrainConfig(epochs=2)
        r = T.run("-", "-", 1, cfg, data=data, arith="plain-test")
        fp32 = T.run("FP32", "RTZ", 1, cfg, data=data)  # FlexBlock's FP32: the same plain matmuls
        assert r["loss"] == fp32["loss"] and r["acc"] == fp32["acc"]
        assert r["cycles"] == 2 * r["fb24_cycles"] == 2 * fp32["fb24_cycles"]
        r["config"], fp32["config"], fp32["rounding"] = "plain-test", "FP32", "-"
        fb24 = T.run("FB24", "RTZ", 1, cfg, data=data)
        report = build_report([fp32, fb24, r], cfg, ["FP32", "FB24", "plain-test"], ["RTZ", "SR"], [1], 1.0, "x")
        row = next(line for line in report.splitlines() if line.startswith("| plain-test |"))
        assert row.split(" | ")[1:] == [f"{100 * r['acc'][-1]:.1f} ± 0.0", "″", "2.000", "0.50x |"], row
        assert "`plain-test`" in report and "FP32 and plain-test use no rounding mode" in report
    finally:
        del arithmetics.REGISTRY["plain-test"]


def test_library_import_does_not_import_sklearn():
    code = ("import sys, models.training, models.training.report; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
