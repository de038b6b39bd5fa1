"""Command-line options of the whole test suite. They live here, at the root, because pytest registers
options only from the conftest files it loads before parsing the command line (the root one always).

    --seed N        base seed of every simulation run (default: a fresh one, printed; `make test SEED=N`)
    --sims LIST     simulators, comma separated (default icarus,verilator)
    --runs N        seeds per DUT x simulator x parameter set (the full regression uses several)
    --shard I/N     run only the I-th of N interleaved slices of the collected tests (for a CI matrix)
    --model-seed N  seed of the numpy-seeded model tests (default: $MODEL_SEED, --seed, or a fresh one)
"""


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None,
                     help="base random seed of the simulation runs (default: a fresh one, printed)")
    parser.addoption("--sims", default="icarus,verilator", help="simulators to run, comma separated")
    parser.addoption("--runs", type=int, default=1, help="seeds per DUT x simulator x parameter set")
    parser.addoption("--shard", default=None, metavar="I/N", help="run only shard I of N (1-based)")
    parser.addoption("--model-seed", type=int, default=None,
                     help="seed of the numpy-seeded model tests (default: $MODEL_SEED, --seed, or a fresh one)")
