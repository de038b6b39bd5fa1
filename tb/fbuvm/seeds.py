"""Reproducible randomness: one seed per simulation run (cocotb's COCOTB_RANDOM_SEED) and the one command
that re-runs it."""
from __future__ import annotations

import os

import cocotb
import numpy as np


def run_seed() -> int:
    return int(cocotb.RANDOM_SEED)


def rng(stream: str = "") -> np.random.Generator:
    """A numpy Generator derived from the run's seed and a stream name (independent streams per user)."""
    return np.random.default_rng([run_seed(), *stream.encode()])


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
