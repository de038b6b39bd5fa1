"""The simulation regression: every DUT's cocotb tests through cocotb-test, over simulators, the DUT
parameters that matter and `--runs` seeds. A failure prints the one command that re-runs it (same seed,
with waves)."""
from __future__ import annotations

import os
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
    ("pe_array_harness", {}),                  # pe_array in SystemVerilog transactors: Python wakes per batch
    ("pe_array_harness", {"ROWS": 2, "COLS": 3}),  # flags of 2 x 3 slots padded to whole bytes in the files
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
    ("bm_array", {}),                                                               # 2 x 2, BM8, block 16
    ("bm_array", {"ROWS": 3, "COLS": 1, "K": 48, "EX": 2, "MX": 3, "EG": 3, "MG": 2}),  # BM6, block 48
    ("bf16_array", {}),                                                             # 2 x 2, N = 4
    ("bf16_array", {"ROWS": 1, "COLS": 3, "N": 1}),
    ("neuroflix_array", {}),                                                        # 2 x 2, G = 8
    ("neuroflix_array", {"ROWS": 3, "COLS": 1, "G": 3}),
    ("fp_mac", {}),                  # FP8 E4M3 (Block Minifloat's area reference)
    ("fp_mac", {"E": 8, "M": 23}),   # binary32
    ("bf16_fp2bf16", {}),            # FP32 -> bfloat16 RNE, 4 per beat
    ("neuroflix_fp2nf", {}),         # FP32 -> FX4 / FX8 / E5M2 / FP16 with the tensor scale, 8 per beat
    ("range_bn", {}),
    ("bn_fp32", {}),
    ("range_bn_bwd", {}),
    ("dw_unit", {}),                       # 16 lanes, rows up to 112 blocks
    ("dw_unit", {"K": 4, "W_MAX": 5}),     # 4 lanes, a 5-block line-buffer row (W = W_MAX, W > W_MAX)
]


# The quick regression (make test) runs every DUT on both simulators at its default parameters and each other
# parameter set on one simulator: Verilator where Icarus is slow for the DUT, Icarus (no C++ build) elsewhere.
# make regress (FLEXBLOCK_SCALE) runs every parameter set on both.
QUICK_SIM_OF_PARAMETER_SETS = {"pe_array": "verilator"}


def quick_skip(dut: str, params: dict, sim: str) -> bool:
    return bool(params) and sim != QUICK_SIM_OF_PARAMETER_SETS.get(dut, "icarus")


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
    quick_run = not os.environ.get("FLEXBLOCK_SCALE")
    if quick_run and quick_skip(dut, params, sim):
        pytest.skip("make test runs a non-default parameter set on one simulator (test_rtl.quick_skip); "
                    "make regress on both")
    try:
        # the quick regression (make test) runs the short variant of the tests that have one (seeds.quick)
        quick = {"FLEXBLOCK_QUICK": "1"} if quick_run else {}
        runner.run(dut, sim, seed=seed, parameters=params, extra_env=quick)
    except SystemExit as e:
        pytest.fail(f"{dut} {params_text} on {sim} failed: {e}\nre-run: {rerun}", pytrace=False)
