"""The simulation regression: every DUT's cocotb tests through cocotb-test, over simulators, the DUT
parameters that matter and `--runs` seeds. A failure prints the one command that re-runs it (same seed,
with waves)."""
from __future__ import annotations

import zlib

import pytest

import runner

# (DUT, parameters) of the regression; `make regress` runs more seeds, longer sequences (FLEXBLOCK_SCALE).
CONFIGS = [
    ("fp2bfp", {}),
    ("fp2bfp", {"K": 4, "SR_BITS": 3, "SR_SEED": 0x1234}),
    ("fp2bfp", {"K": 12}),  # not a power of two: the max tree's odd levels
    ("fp32_acc", {}),
    ("fast_mac", {}),              # 8-bit shared exponents
    ("fast_mac", {"EW": 4}),       # 4-bit shared exponents above a per-tensor base
    ("fast_fp2bfp", {}),
    ("fast_array", {}),                            # 2 x 2 fMACs
    ("fast_array", {"ROWS": 3, "COLS": 1, "EW": 4}),
    ("fast_fp2bfp", {"EW": 4, "G": 12, "SR_SEED": 0x1234}),  # G not a power of two: the max tree pads
    ("pe_array", {}),
    ("pe_array", {"ROWS": 2, "COLS": 3}),
    ("pe_array", {"ROWS": 1, "COLS": 1, "K": 32}),
    ("flexblock_core", {}),
    ("flexblock_core", {"ROWS": 2, "COLS": 2, "DEPTH": 160, "BDEPTH": 40}),  # small array and buffers
    ("bm_mac", {}),                                             # BM8 (e2m5 / e4m3), block 16
    ("bm_mac", {"K": 48, "EX": 2, "MX": 3, "EG": 3, "MG": 2}),  # BM6 (e2m3 / e3m2), the authors' block 48
    ("bm_fp2bm", {}),                                           # BM8, block 16
    ("bm_fp2bm", {"K": 48, "EX": 2, "MX": 3, "EG": 3, "MG": 2, "SR_BITS": 3, "SR_SEED": 0x1234}),
    ("bf16_mac", {}),
    ("bf16_mac", {"N": 1}),
    ("neuroflix_mac", {}),
    ("neuroflix_mac", {"G": 3}),
    ("range_bn", {}),
    ("bn_fp32", {}),
]


def _id(cfg) -> str:
    dut, params = cfg
    return dut + "".join(f"-{k}{v}" for k, v in params.items())


@pytest.mark.sim
@pytest.mark.parametrize("config", CONFIGS, ids=[_id(c) for c in CONFIGS])
def test_rtl(config, sim, run, base_seed, request):
    dut, params = config
    # a distinct, reproducible seed per DUT x simulator x parameters x run
    seed = (base_seed + zlib.crc32(request.node.callspec.id.encode())) % (2**31)
    params_text = " ".join(f"{k}={v}" for k, v in params.items())
    rerun = (f"make sim TOPLEVEL={dut} SIM={sim} SEED={seed} WAVES=1"
             + (f' PARAMS="{params_text}"' if params else ""))
    print(f"seed {seed}; re-run: {rerun}")
    try:
        runner.run(dut, sim, seed=seed, parameters=params)
    except SystemExit as e:
        pytest.fail(f"{dut} {params_text} on {sim} failed: {e}\nre-run: {rerun}", pytrace=False)
