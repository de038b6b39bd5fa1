"""Flow-control patterns: whether a source idles (valid low) or a sink stalls (ready low) this cycle.

Each pattern is a callable returning True on the cycles it inserts a gap. They draw from a numpy Generator
so a seed reproduces them.
"""
from __future__ import annotations

import numpy as np

PATTERNS = ("none", "random", "bursty", "heavy")


def make_gap_pattern(name: str, rng: np.random.Generator):
    """A gap generator by name: 'none' never gaps; 'random' gaps 30% of cycles; 'bursty' runs of ~8
    cycles on and off; 'heavy' gaps 80% of cycles."""
    if name == "none":
        return lambda: False
    if name == "random":
        return lambda: rng.random() < 0.3
    if name == "heavy":
        return lambda: rng.random() < 0.8
    if name == "bursty":
        state = {"gap": False}

        def bursty():
            if rng.random() < 0.125:
                state["gap"] = not state["gap"]
            return state["gap"]
        return bursty
    raise ValueError(f"unknown gap pattern '{name}'; known: {PATTERNS}")
