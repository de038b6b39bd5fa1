"""flexblock_core CapacityLimits' shape search (flexblock_core_env.capacity_edge), without a simulator: each
shape puts exactly the named capacity check at its limit (or one past it) and keeps the other three within
theirs, so the job is accepted (or rejected) by that check alone; job_error agrees. Per mode: the BFP banks
count words of dense blocks (FB12 1, FB16 2, FB24 3 per block, 3 BDEPTH words per set), so their edges move
with the mode (FB12 holds 3x as many blocks as FB24)."""
from __future__ import annotations

import pytest

from flexblock_core_env import CAPACITY_CHECKS, JobItem, capacity, capacity_edge, cdiv, job_error
from test_rtl import CONFIGS

DEFAULT = {"ROWS": 4, "COLS": 4, "K": 16, "DEPTH": 256, "BDEPTH": 128}
PARAMS = [{**DEFAULT, **params} for dut, params in CONFIGS if dut == "flexblock_core"]
WORDS = {0: 3, 1: 2, 2: 1}  # bank words per block of FB24, FB16, FB12 (spec section 6, restated)


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"DEPTH{p['DEPTH']}-BDEPTH{p['BDEPTH']}-{p['ROWS']}x{p['COLS']}")
@pytest.mark.parametrize("check", CAPACITY_CHECKS)
@pytest.mark.parametrize("over", [False, True], ids=["exact", "over"])
@pytest.mark.parametrize("mode", [0, 1, 2], ids=["FB24", "FB16", "FB12"])
def test_each_check_alone(p, check, over, mode):
    edge = capacity_edge(check, over, p, mode)
    if edge is None:
        # only where the parameters make it impossible: with ROWS = 2, DEPTH = 160, BDEPTH = 40 an A region
        # cannot overflow while A's banks (and B) fit in FB24 (3 words per block)
        assert (p["DEPTH"], check, over, mode) == (160, "A region", True, 0)
        return
    pass_, m, kdim, n = edge
    cap = capacity(pass_, m, kdim, n, p, False, mode, mode)
    used, limit = cap[check]
    assert used > limit if over else used == limit
    assert all(u <= lim for c, (u, lim) in cap.items() if c != check)
    assert job_error(JobItem("", pass_, m, kdim, n, mode, mode).fields, p) == over
    if over:  # the cheapest: one less along the grown dimension fits
        shrunk = (m - 1, kdim, n) if check.startswith("A") and m > 1 else (m, kdim, n - 1) if n > 1 else (m, kdim - 1, n)
        assert not job_error(JobItem("", pass_, *shrunk, mode, mode).fields, p)
    if check.endswith("banks"):  # the banks' limit restated: ceil(side / lanes) * KBLOCKS blocks of w words, 3 BDEPTH
        side, lanes = (m, p["ROWS"]) if check.startswith("A") else (n, p["COLS"])
        blocks = cdiv(side, lanes) * cdiv(kdim, p["K"])
        assert (blocks * WORDS[mode] > 3 * p["BDEPTH"]) == over
        if not over:  # exactly full: the last block's last word is the set's last
            assert blocks * WORDS[mode] == 3 * p["BDEPTH"]


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"DEPTH{p['DEPTH']}-BDEPTH{p['BDEPTH']}-{p['ROWS']}x{p['COLS']}")
def test_fb12_holds_three_times_fb24(p):
    """The job that fills A's banks in FB12 holds 3 BDEPTH blocks per bank; in FB24 it is rejected."""
    pass_, m, kdim, n = capacity_edge("A banks", False, p, 2)
    assert cdiv(m, p["ROWS"]) * cdiv(kdim, p["K"]) == 3 * p["BDEPTH"]
    assert not job_error(JobItem("", pass_, m, kdim, n, 2, 2).fields, p)
    assert job_error(JobItem("", pass_, m, kdim, n, 0, 2).fields, p)
