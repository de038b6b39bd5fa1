"""pytest options for the simulation regression: seeds and simulators."""
from __future__ import annotations

import os
import random

import pytest


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None,
                     help="base random seed of the simulation runs (default: a fresh one, printed)")
    parser.addoption("--sims", default="icarus,verilator", help="simulators to run, comma separated")


def pytest_generate_tests(metafunc):
    if "sim" in metafunc.fixturenames:
        metafunc.parametrize("sim", metafunc.config.getoption("--sims").split(","))


def pytest_configure(config):
    seed = config.getoption("--seed")
    if seed is None:
        seed = int(os.environ.get("FLEXBLOCK_SEED", random.SystemRandom().randrange(1, 2**31)))
    config.flexblock_seed = seed


def pytest_report_header(config):
    return f"flexblock simulation base seed: {config.flexblock_seed} (re-run all: make test SEED={config.flexblock_seed})"


@pytest.fixture(scope="session")
def base_seed(request) -> int:
    return request.config.flexblock_seed
