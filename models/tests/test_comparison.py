"""The design comparison's library (models/comparison.py, models/workloads.py) and its script: the workloads are
the GEMMs the networks really run, each row's cycles are its design's cycle model (and its training
arithmetic's), the iso-area and energy arithmetic is what the report says, the dynamic policies' mixtures
reproduce the measured training cycles, and the quick run writes every row."""
from __future__ import annotations

import importlib.util
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from models import bf16_mac, block_minifloat as bm, comparison as cmp, fast, neuroflix as nf, pe_array
from models import workloads as wl
from models.bfp import FB12, FB16, FB24
from models.core import im2col
from models.training import TrainConfig
from models.training.engine import Engine
from models.training.flexblock import FlexBlockArithmetic
from models.training.network import init_params, train_step

ROOT = Path(__file__).resolve().parents[2]


# --- workloads ---------------------------------------------------------------------------------------------
class _Recorder:
    """A training arithmetic that computes in float32 and records every GEMM's (layer, pass, m, k, n)."""
    name = "recorder"

    def __init__(self):
        self.seen = []

    def configure(self, n_layers, n_steps):
        pass

    def gemm(self, a, b, pass_, layer, step, seed):
        self.seen.append((layer, pass_, a.shape[0], a.shape[1], b.shape[1]))
        return a @ b

    def cycles(self, m, kdim, n, pass_, layer):
        return 0


def test_mlp_workload_is_the_training_step():
    """One step of the training loop runs exactly the MLP workload's GEMMs (same layers, passes, shapes)."""
    cfg = TrainConfig()
    rng = np.random.default_rng(1)
    params = init_params(cfg.sizes, rng)
    vel = [[np.zeros_like(w), np.zeros_like(b)] for w, b in params]
    rec = _Recorder()
    eng = Engine(rec, 0, cfg)
    x = rng.standard_normal((cfg.batch, cfg.sizes[0])).astype(np.float32)
    y = rng.integers(0, cfg.sizes[-1], cfg.batch)
    train_step(params, vel, x, y, eng, cfg)
    want = sorted(rec.seen)
    got = sorted((g.layer, g.pass_, g.m, g.k, g.n) for g in wl.mlp(cfg.sizes, cfg.batch))
    assert got == want


def test_conv_forward_dims_are_im2col():
    """A 3x3 conv's FWD GEMM has the shape of models.core.im2col's A (pixels x 9C) times W (9C x Cout)."""
    b = wl._Builder(batch=2)
    b.layer = 1
    b.conv("c", 5, 6, 3, 7, 3)
    fp = next(g for g in b.gemms if g.pass_ == "fp")
    a = im2col(np.zeros((2 * 5 * 6, 3), np.float32), 5, 6)
    assert (fp.m, fp.k, fp.n) == (a.shape[0], a.shape[1], 7)


def test_resnet18_sizes():
    """ResNet-18's known size: about 1.82 G multiply-accumulates per 224 x 224 image forward, 11.68 M conv and
    FC weights (11,689,512 parameters less BN and the FC bias); every pass has the forward's MAC count."""
    g = wl.resnet18(batch=1)
    fwd = sum(x.macs for x in g if x.pass_ == "fp")
    assert 1.80e9 < fwd < 1.84e9
    weights = sum(x.m * x.n for x in g if x.pass_ == "wg")
    bn = 2 * (64 + 4 * 64 + 5 * 128 + 5 * 256 + 5 * 512)  # BN scale and shift per channel (20 BN layers)
    assert weights == 11_689_512 - bn - 1000
    layers = {x.layer for x in g}
    for l in layers:
        macs = {x.pass_: x.macs for x in g if x.layer == l}
        assert len(set(macs.values())) == 1, (l, macs)
    assert not any(x.layer == 0 and x.pass_ == "bp" for x in g)


def test_depthwise_counts_channels():
    g = wl.mobilenetv2_block(batch=1, size=8, cin=4, expand=6, cout=4)
    dw = [x for x in g if x.kind == "dw"]
    assert {(x.pass_, x.m, x.k, x.n, x.count) for x in dw} == {("fp", 64, 9, 1, 24), ("bp", 64, 1, 9, 24),
                                                                 ("wg", 9, 64, 1, 24)}


# --- cycles: the design's cycle model, and its training arithmetic's ---------------------------------------
def _rows():
    return {r.label: r for r in cmp.default_rows(fast_mix=[(1.0, (6, 6))])}


@pytest.mark.parametrize("workload", list(wl.WORKLOADS))
def test_cycles_are_the_cycle_models(workload):
    gemms = wl.WORKLOADS[workload]()
    rows = _rows()
    lg16 = {"fp": (FB12, FB12), "bp": (FB16, FB16), "wg": (FB12, FB12)}  # FB12LG16, written out
    want = {
        "FlexBlock FB12LG16": sum(g.count * pe_array.gemm_cycles(g.m, g.k, g.n, *lg16[g.pass_]) for g in gemms),
        "Fixed BFP FB24 (one-mode PE)": sum(g.count * pe_array.gemm_cycles(g.m, g.k, g.n, FB24, FB24) for g in gemms),
        "FAST (schedule)": sum(g.count * fast.array_cycles(4, 4, g.m, g.k, g.n, 6, 6) for g in gemms),
        "BM8": sum(g.count * bm.array_cycles(g.m, g.k, g.n, 4, 4, 48) for g in gemms),
        "NeuroFlix FX8/FP16": sum(g.count * nf.gemm_cycles(g.m, g.k, g.n, nf.FX8,
                                                           nf.FX8 if g.pass_ == "fp" else nf.FP16) for g in gemms),
        "bfloat16": sum(g.count * bf16_mac.gemm_cycles(g.m, g.k, g.n, 4, 4, 4) for g in gemms),
    }
    for label, cycles in want.items():
        assert cmp.evaluate(rows[label], gemms).cycles == cycles, label


def test_cycles_match_the_training_arithmetics():
    """On the MLP, each static row's cycles equal its training arithmetic's cycles() over the same GEMMs
    (FlexBlock's training count has no array fill: + ARRAY_FILL per job)."""
    from models.training import arithmetics
    cfg = TrainConfig()
    gemms = wl.mlp(cfg.sizes, cfg.batch)
    rows = _rows()
    cases = [("FlexBlock FB12LG24", "flexblock", "FB12LG24", pe_array.ARRAY_FILL),
             ("BM6", "BM", "BM6", 0), ("NeuroFlix FX4/E5M2", "NeuroFlix", "FX4/E5M2", 0), ("bfloat16", "BF16", "-", 0)]
    for label, name, policy, fill in cases:
        ar = arithmetics.create(name, policy, "RTZ" if name == "flexblock" else "-", cfg)
        ar.configure(len(cfg.sizes) - 1, 1)
        if name == "BM":
            assert ar.block == cmp.BM_BLOCK
        want = sum(ar.cycles(g.m, g.k, g.n, g.pass_, g.layer) + fill for g in gemms)
        assert cmp.evaluate(rows[label], gemms).cycles == want, label
    fst = arithmetics.create("FAST", "-", "-", cfg)  # the schedule's state set to 6-bit mantissas everywhere
    fst.configure(len(cfg.sizes) - 1, 1)
    fst.precision = [6] * (len(cfg.sizes) - 1)
    want = sum(fst.cycles(g.m, g.k, g.n, g.pass_, g.layer) for g in gemms)
    assert cmp.evaluate(rows["FAST (schedule)"], gemms).cycles == want


# --- iso-area, mixtures, energy arithmetic ------------------------------------------------------------------
def test_iso_area_arithmetic():
    u = cmp.Unit(cells=500, mhz=100.0)
    # 1000 cycles of 16 units of 500 cells on a 16,000-cell budget: 500 cycles at 100 MHz = 5 us
    assert cmp.iso_area_time(1000, u, 16_000) == pytest.approx(5e-6, rel=1e-12)
    assert cmp.iso_area_time(1000, u, 16_000, same_clock=True) == 500
    big = cmp.Unit(cells=1000, mhz=100.0)
    for budget in (16_000, 1e6):  # twice the cells per unit: half the units, twice the time, at any budget
        assert cmp.iso_area_time(1000, big, budget) == pytest.approx(2 * cmp.iso_area_time(1000, u, budget))
    fast_clk = cmp.Unit(cells=500, mhz=400.0)
    assert cmp.iso_area_time(1000, fast_clk, 16_000) == pytest.approx(cmp.iso_area_time(1000, u, 16_000) / 4)
    res = cmp.Result(None, "", cycles=2000, macs=64_000, energy=cmp.Ops())
    assert cmp.products_per_cycle_per_kcell(res, u) == pytest.approx(float(Fraction(64_000, 2000) / 8))


def test_bracket_reproduces_the_measured_cost():
    costs = {"a": 10, "b": 40, "c": 160}
    assert cmp.bracket(40, costs) in ([(1.0, "b")], [(0.0, "a"), (1.0, "b")])
    mix = cmp.bracket(100, costs)
    assert [m for _, m in mix] == ["b", "c"]
    assert sum(w * costs[m] for w, m in mix) == pytest.approx(100)
    assert sum(w for w, _ in mix) == pytest.approx(1)
    assert cmp.bracket(1, costs) == [(1.0, "a")] and cmp.bracket(1e9, costs) == [(1.0, "c")]


def test_energy_table_and_counts():
    assert [cmp.int_add_pj(w) for w in (8, 16, 32)] == pytest.approx([0.03, 0.05, 0.1])
    assert cmp.int_mul_pj(8, 8) == pytest.approx(0.2)
    assert cmp.int_mul_pj(32, 32) == pytest.approx(3.1, rel=0.04)  # the table's other point
    g = wl.Gemm(0, "t", "fp", 8, 32, 8)
    fb24 = cmp.FAMILIES["FlexBlock"].energy(g, (FB24, FB24))
    fb12 = cmp.FAMILIES["FlexBlock"].energy(g, (FB12, FB12))
    macs = 8 * 32 * 8
    # 16 4x4 sub-products per FB24 product cost what one 16 x 16 multiply costs; FB12 is one sub-product
    assert fb24.mul / macs == pytest.approx(cmp.int_mul_pj(16, 16))
    assert fb12.mul / macs == pytest.approx(cmp.int_mul_pj(4, 4))
    # block terms: 8 x 8 outputs x 2 blocks of 16 into binary32
    assert fb24.acc == pytest.approx(8 * 8 * 2 * 0.9)
    # traffic: A (8 x 32, 16+1 bits + 10/16 per element) read twice (2 column tiles), B twice, C once
    bits = 8 * 32 * 2 * (17 + 10 / 16) * 2 + 8 * 8 * 32
    assert fb24.mem == pytest.approx(bits * 10 / 64)
    bf = cmp.FAMILIES["BF16"].energy(g, ("bf16", "bf16"))
    assert bf.mul + bf.acc == pytest.approx(macs * (1.1 + 0.9))


# --- the script ---------------------------------------------------------------------------------------------
def _script():
    spec = importlib.util.spec_from_file_location("compare_script", ROOT / "scripts" / "compare.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dynamic_mixtures_reproduce_training_cycles():
    script = _script()
    training = json.loads((ROOT / script.TRAINING).read_text())
    dyn, fst, info = script.dynamic_mixes(training)
    for label, mix, fam in (("DYN", dyn, "FlexBlock"), ("FAST", fst, "FAST")):
        costs = info[label]["uniform_cycles"]
        name = cmp.FAMILIES[fam].mode_name
        assert len(mix) == 2  # the measured runs lie strictly between two uniform modes
        assert sum(w * costs[name(m)] for w, m in mix) == pytest.approx(info[label]["measured_cycles"])


def test_quick_writes_every_row(tmp_path):
    script = _script()
    out = tmp_path / "cmp"
    assert script.main(["--quick", "--out", str(out)]) == 0
    md = (tmp_path / "cmp.md").read_text()
    data = json.loads((tmp_path / "cmp.json").read_text())
    rows = cmp.default_rows()
    assert [r["label"] for r in data["rows"]] == [r.label for r in rows]
    table = md.split("## The table")[1].split("\n\n")[1]
    for r in rows:
        assert f"| {r.label} |" in table, r.label
    for r in data["rows"]:
        assert r["accuracy"], r["label"]
        for w, v in r["workloads"].items():
            assert v["cycles_4x4"] > 0 and math.isfinite(v["rel_time_iso_area"]) and v["rel_energy"] > 0
        if r["label"] == "bfloat16":
            assert all(v["rel_time_iso_area"] == 1 and v["rel_energy"] == 1 for v in r["workloads"].values())
    assert (tmp_path / "cmp.png").stat().st_size > 10_000
