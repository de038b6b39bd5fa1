"""Command-line options and the seed of the whole test suite. They live here, at the root, because pytest
registers options only from the conftest files it loads before parsing the command line (the root one always).

    --seed N        the session's seed (default: $FLEXBLOCK_SEED, else a fresh one, printed): the base seed of
                    every simulation run and, unless overridden, the seed of the numpy-seeded model tests,
                    so one `make test SEED=N` (or `... pytest ... --seed=N`) re-runs both
    --sims LIST     simulators, comma separated (default icarus,verilator)
    --runs N        seeds per DUT x simulator x parameter set (the full regression uses several)
    --shard I/N     run only the I-th of N interleaved slices of the collected tests (for a CI matrix)
    --model-seed N  override the model tests' seed (default: $MODEL_SEED, else the session's seed); the
                    Hypothesis tests draw from it too (unless --hypothesis-seed is given)

The header and the summary print the one command that re-runs the session with the same seeds: the make
target that started it ($FLEXBLOCK_RERUN, set by the Makefile) with SEED=N, else the same pytest command line
through the venv's Python with --seed=N.
"""
from __future__ import annotations

import os
import random
import shlex

import pytest


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None,
                     help="the session's seed: simulation base seed and model-test seed (default: a fresh one)")
    parser.addoption("--sims", default="icarus,verilator", help="simulators to run, comma separated")
    parser.addoption("--runs", type=int, default=1, help="seeds per DUT x simulator x parameter set")
    parser.addoption("--shard", default=None, metavar="I/N", help="run only shard I of N (1-based)")
    parser.addoption("--model-seed", type=int, default=None,
                     help="override the model tests' seed (default: $MODEL_SEED, else the session's --seed)")


@pytest.hookimpl(tryfirst=True)  # before the sub-directories' conftests, which use the seeds
def pytest_configure(config):
    config.flexblock_rerun = lambda args=None: rerun_command(config, args)  # for the sub-directories' conftests
    workerinput = getattr(config, "workerinput", None)  # pytest-xdist worker: the controller's choice
    if workerinput is not None and "flexblock_seed" in workerinput:
        config.flexblock_seed = int(workerinput["flexblock_seed"])
        config.model_seed = int(workerinput["model_seed"])
        _seed_hypothesis(config)
        return
    seed = config.getoption("--seed")
    if seed is None:
        seed = int(os.environ.get("FLEXBLOCK_SEED") or random.SystemRandom().randrange(1, 2**31))
    config.flexblock_seed = seed
    model = config.getoption("--model-seed")
    if model is None:
        model = int(os.environ.get("MODEL_SEED") or seed)
    config.model_seed = model
    _seed_hypothesis(config)


def _seed_hypothesis(config) -> None:
    """Hypothesis draws its examples from the model seed (unless --hypothesis-seed is given), so re-running
    a session with its seed re-runs the Hypothesis model tests with the same examples too."""
    if config.getoption("hypothesis_seed", None) is None:
        try:
            from hypothesis import core, settings
        except ImportError:
            return
        core.global_force_seed = config.model_seed
        # Hypothesis loads its "ci" profile when $CI is set, and its derandomize=True ignores the seed: every
        # seed would draw the same examples there. Keep that profile's other settings, draw from the seed.
        if settings.default.derandomize:
            settings.register_profile("flexblock-seeded", parent=settings.default, derandomize=False)
            settings.load_profile("flexblock-seeded")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):  # pytest-xdist: the workers take the controller's seeds
    node.workerinput["flexblock_seed"] = node.config.flexblock_seed
    node.workerinput["model_seed"] = node.config.model_seed


def rerun_command(config, args: list[str] | None = None) -> str:
    """The command that re-runs the session (or, with `args`, those pytest arguments) with the same seeds."""
    seed, model = config.flexblock_seed, config.model_seed
    make = os.environ.get("FLEXBLOCK_RERUN")
    if make and args is None:
        return f"{make} SEED={seed}" + (f" MODEL_SEED={model}" if model != seed else "")
    if args is None:
        args = list(config.invocation_params.args)
    kept, skip = [], False
    for a in args:  # drop the old seed options
        if skip:
            skip = False
        elif a in ("--seed", "--model-seed"):
            skip = True
        elif not a.startswith(("--seed=", "--model-seed=")):
            kept.append(a)
    kept.append(f"--seed={seed}")
    if model != seed:
        kept.append(f"--model-seed={model}")
    return ".venv/bin/python -m pytest " + " ".join(shlex.quote(a) for a in kept)


def pytest_report_header(config):
    model = "" if config.model_seed == config.flexblock_seed else f", model tests {config.model_seed}"
    return f"flexblock seed: {config.flexblock_seed}{model} (re-run: {rerun_command(config)})"


def pytest_terminal_summary(terminalreporter, config):
    terminalreporter.write_line(f"flexblock seed {config.flexblock_seed} (simulations and model tests); "
                                f"re-run: {rerun_command(config)}")
