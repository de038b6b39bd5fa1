"""Seeds for the model tests.

Numpy-seeded tests draw from `rng`, a generator seeded by (model seed, test id). The model seed is
`--model-seed N`, else $MODEL_SEED, else the regression's `--seed` / $FLEXBLOCK_SEED (so `make test SEED=n`
re-runs these too), else a fresh one; under pytest-xdist the workers take the controller's. It is printed in the
report header, the terminal summary and every failing test's captured setup output. Hypothesis tests print their own reproduction (`--hypothesis-seed`, print_blob).
"""
from __future__ import annotations

import os
import random
import zlib

import numpy as np
import pytest


def _choose_seed(config) -> int:
    for value in (config.getoption("--model-seed"), os.environ.get("MODEL_SEED"),
                  config.getoption("seed", default=None), os.environ.get("FLEXBLOCK_SEED")):
        if value not in (None, ""):
            return int(value)
    return random.SystemRandom().randrange(1, 2**31)


def pytest_configure(config):
    workerinput = getattr(config, "workerinput", None)  # pytest-xdist worker: take the controller's seed
    if workerinput is not None and "model_seed" in workerinput:
        config.model_seed = int(workerinput["model_seed"])
    else:
        config.model_seed = _choose_seed(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["model_seed"] = node.config.model_seed


def pytest_report_header(config):
    return f"flexblock model seed: {config.model_seed} (re-run: pytest models --model-seed {config.model_seed})"


def pytest_collection_modifyitems(config, items):
    config._model_tests_collected = any("rng" in getattr(i, "fixturenames", ()) for i in items)


def pytest_terminal_summary(terminalreporter, config):
    if getattr(config, "_model_tests_collected", False):
        terminalreporter.write_line(f"flexblock model seed: {config.model_seed} "
                                    f"(re-run: pytest models --model-seed {config.model_seed})")


@pytest.fixture
def model_seed(request) -> int:
    seed = request.config.model_seed
    print(f"model seed {seed} (re-run: pytest '{request.node.nodeid}' --model-seed {seed})")
    return seed


@pytest.fixture
def rng(request, model_seed) -> np.random.Generator:
    """A generator private to this test: seeded by the model seed and the test's id."""
    return np.random.default_rng([model_seed, zlib.crc32(request.node.nodeid.encode())])
