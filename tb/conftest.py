"""The simulation regression's parametrization (simulators, runs), shards and summary. The options
themselves (--seed, --sims, --runs, --shard) and the session's seed are in the root conftest.py."""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict

import pytest

import runner


def pytest_configure(config):
    # the session's seed (config.flexblock_seed) is chosen by the root conftest.py, before this one
    workerinput = getattr(config, "workerinput", None)  # pytest-xdist worker: the controller's stats directory
    if workerinput is not None and "flexblock_stats" in workerinput:
        os.environ["FLEXBLOCK_STATS_DIR"] = workerinput["flexblock_stats"]
        return
    # this session's per-test figures (tb/fbuvm/components.py write_stats), summed up at the end
    config.flexblock_stats = runner.BUILD / "stats" / f"session-{config.flexblock_seed}-{os.getpid()}"
    os.environ["FLEXBLOCK_STATS_DIR"] = str(config.flexblock_stats)
    config.flexblock_start = time.time()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["flexblock_stats"] = str(node.config.flexblock_stats)


def pytest_generate_tests(metafunc):
    if "sim" in metafunc.fixturenames:
        metafunc.parametrize("sim", metafunc.config.getoption("--sims").split(","))
    if "run" in metafunc.fixturenames:
        runs = metafunc.config.getoption("--runs")
        metafunc.parametrize("run", range(runs), ids=[f"run{i}" for i in range(runs)])


@pytest.hookimpl(trylast=True)  # after -k / -m deselection, so the shards split what is actually selected
def pytest_collection_modifyitems(config, items):
    shard = config.getoption("--shard")
    if not shard:
        return
    index, count = (int(v) for v in shard.split("/"))
    if not 1 <= index <= count:
        raise pytest.UsageError(f"--shard {shard}: I must be in 1..N")
    keep = [item for i, item in enumerate(items) if i % count == index - 1]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


@pytest.fixture(scope="session")
def base_seed(request) -> int:
    return request.config.flexblock_seed


def pytest_terminal_summary(terminalreporter, config):
    """Simulation runs, seeds and output transactions checked by the scoreboards, per DUT and simulator."""
    start = getattr(config, "flexblock_start", None)
    stats_dir = getattr(config, "flexblock_stats", None)
    if start is None or not stats_dir.is_dir():
        return
    records = [json.loads(path.read_text()) for path in stats_dir.glob("*.json")]
    if not records:
        return
    table = defaultdict(lambda: {"tests": 0, "checked": 0, "seeds": set()})
    for r in records:
        row = table[(r["dut"], r["sim"], r.get("params", ""))]
        row["tests"] += 1
        row["checked"] += r.get("checked", 0)
        row["seeds"].add(r["seed"])
    write = terminalreporter.write_line
    write("")
    write(f"{'DUT':10} {'sim':10} {'parameters':28} {'tests':>6} {'seeds':>6} {'transactions checked':>21}")
    for (dut, sim, params), row in sorted(table.items()):
        write(f"{dut:10} {sim:10} {params or '-':28} {row['tests']:>6} {len(row['seeds']):>6} {row['checked']:>21}")
    total = sum(r.get("checked", 0) for r in records)
    write(f"{len(records)} simulated tests, {len({r['seed'] for r in records})} seeds, {total} transactions "
          f"checked bit-exactly, {time.time() - start:.0f} s; base seed {config.flexblock_seed}")
