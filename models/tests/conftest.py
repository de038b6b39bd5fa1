"""Seeds for the model tests.

Numpy-seeded tests draw from `rng`, a generator seeded by (model seed, test id). The model seed is the
session's seed (root conftest.py: `--seed N`, $FLEXBLOCK_SEED or a fresh one, printed in the header and the
summary with the command that re-runs it; `make test SEED=N` and `make test-model SEED=N` re-run these tests
too), unless `--model-seed N` / $MODEL_SEED override it. A failing test's captured setup output names the
command that re-runs it alone. Hypothesis tests print their own reproduction (`--hypothesis-seed`,
print_blob).
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest


@pytest.fixture
def model_seed(request) -> int:
    seed = request.config.model_seed
    print(f"model seed {seed} (re-run: {request.config.flexblock_rerun([request.node.nodeid])})")
    return seed


@pytest.fixture
def rng(request, model_seed) -> np.random.Generator:
    """A generator private to this test: seeded by the model seed and the test's id."""
    return np.random.default_rng([model_seed, zlib.crc32(request.node.nodeid.encode())])
