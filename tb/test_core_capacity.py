"""flexblock_core CapacityLimits' shape search (flexblock_core_env.capacity_edge), without a simulator: each
shape puts exactly the named capacity check at its limit (or one past it) and keeps the other three within
theirs, so the job is accepted (or rejected) by that check alone; job_error agrees."""
from __future__ import annotations

import pytest

from flexblock_core_env import CAPACITY_CHECKS, JobItem, capacity, capacity_edge, job_error
from test_rtl import CONFIGS

DEFAULT = {"ROWS": 4, "COLS": 4, "K": 16, "DEPTH": 256, "BDEPTH": 128}
PARAMS = [{**DEFAULT, **params} for dut, params in CONFIGS if dut == "flexblock_core"]


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"DEPTH{p['DEPTH']}-BDEPTH{p['BDEPTH']}-{p['ROWS']}x{p['COLS']}")
@pytest.mark.parametrize("check", CAPACITY_CHECKS)
@pytest.mark.parametrize("over", [False, True], ids=["exact", "over"])
def test_each_check_alone(p, check, over):
    edge = capacity_edge(check, over, p)
    if edge is None:
        # only where the parameters make it impossible: with ROWS = 2, DEPTH = 160, BDEPTH = 40 an A region
        # cannot overflow while A's banks (and B) fit
        assert (p["DEPTH"], check, over) == (160, "A region", True)
        return
    pass_, m, kdim, n = edge
    cap = capacity(pass_, m, kdim, n, p)
    used, limit = cap[check]
    assert used > limit if over else used == limit
    assert all(u <= lim for c, (u, lim) in cap.items() if c != check)
    assert job_error(JobItem("", pass_, m, kdim, n).fields, p) == over
    if over:  # the cheapest: one less along the grown dimension fits
        shrunk = (m - 1, kdim, n) if check.startswith("A") and m > 1 else (m, kdim, n - 1) if n > 1 else (m, kdim - 1, n)
        assert not job_error(JobItem("", pass_, *shrunk).fields, p)
