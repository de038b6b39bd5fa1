"""Smoke test of scripts/train_bn.py (the BN-variant CNN of docs/spec.md LN.6) in `make test`: its quick mode
(seed 0, 2 epochs of 384 training images, batch 16; a few seconds) runs end to end for FP32 BN, range BN and
LightNorm, writes its report, and every variant learns: the training loss falls from the first epoch to the
second and the test accuracy (450 images) ends well above chance (10 %)."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _train_bn():
    spec = importlib.util.spec_from_file_location("train_bn", ROOT / "scripts/train_bn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_train_bn_quick_learns(tmp_path):
    from threadpoolctl import threadpool_limits  # numpy is loaded already: the script's env setting is too late
    out = tmp_path / "training_bn_quick"
    with threadpool_limits(1):                   # small matrices: one BLAS thread, as scripts/train_bn.py
        assert _train_bn().main(["--quick", "--out", str(out)]) == 0
    data = json.loads(Path(f"{out}.json").read_text())
    assert data["meta"]["epochs"] == 2 and data["meta"]["train_subset"] == 384
    kinds = [r["bn"] for r in data["runs"]]
    assert kinds == ["fp32", "range", "lightnorm"]
    for r in data["runs"]:
        assert len(r["loss"]) == 2 and len(r["acc"]) == 3 and all(math.isfinite(v) for v in r["loss"] + r["acc"])
        assert r["loss"][1] < r["loss"][0], f"{r['bn']}: training loss did not fall: {r['loss']}"
        # chance is 0.10; on 450 test images a guessing network stays below 0.16 (4 sigma)
        assert r["acc"][-1] > 0.2, f"{r['bn']}: test accuracy {r['acc'][-1]:.3f} is not above chance"
    assert "| lightnorm |" in Path(f"{out}.md").read_text()
