"""Reproducible randomness. A simulation run has one seed (COCOTB_RANDOM_SEED, always set by tb/runner.py,
which picks and prints one when none is given); cocotb derives each test's own seed from it and the test's
name, and every random stream of a test is drawn from that. `rerun_command` reproduces the run."""
from __future__ import annotations

import os

import cocotb
import numpy as np


def run_seed() -> int:
    """The seed of the whole simulation run: what SEED= on the command line gives back."""
    return int(os.environ.get("COCOTB_RANDOM_SEED", cocotb.RANDOM_SEED))


def scaled(count: int) -> int:
    """A sequence length times the regression's FLEXBLOCK_SCALE (the full regression runs longer)."""
    return max(1, int(count * float(os.environ.get("FLEXBLOCK_SCALE", "1"))))


def quick() -> bool:
    """True in the quick regression (`make test`, tb/test_rtl.py without FLEXBLOCK_SCALE): a test with a
    long variant runs its short one there (the README's time budget); `make sim`, `make regress` and the
    tools that run the benches directly get the full tests."""
    return os.environ.get("FLEXBLOCK_QUICK") == "1"


def rng(stream: str = "") -> np.random.Generator:
    """A numpy Generator from the current test's seed and a stream name (independent streams per user)."""
    return np.random.default_rng([int(cocotb.RANDOM_SEED) % 2**64, *stream.encode()])


def rerun_command(testcase: str | None = None) -> str:
    """The command that reproduces this run exactly, with waves."""
    toplevel = os.environ.get("COCOTB_TOPLEVEL", "?")
    sim = os.environ.get("FLEXBLOCK_SIM", "icarus")
    params = os.environ.get("FLEXBLOCK_PARAMS", "")
    parts = [f"make sim TOPLEVEL={toplevel} SIM={sim} SEED={run_seed()} WAVES=1"]
    if testcase:
        parts.append(f"TESTCASE={testcase}")
    if params:
        parts.append(f'PARAMS="{params}"')
    return " ".join(parts)
