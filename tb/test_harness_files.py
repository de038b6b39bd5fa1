"""The pe_array_harness bench's Python side without a simulator (tb/pe_array_fast_env.py): the batched
quantization gives exactly GemmJob.quantize's blocks, and the result records the harness writes
($writememh: {edge, out_flags, out_result}) and the ceiling reads ({out_flags, out_result}) round-trip
through the vectorized readers / writers, checked against Python-integer packing of the same fields."""
from __future__ import annotations

import numpy as np
import pytest

from models import FB12, FB16, FB24, Fp2Bfp
from models.fp2bfp import RNA, RNE, RTZ, SR
from pe_array_env import GemmJob, quantize_jobs
from pe_array_fast_env import read_words, result_lines, unpack_records


def _jobs(rng, n, roundings):
    jobs = []
    for i in range(n):
        m, kdim, cols = (int(v) for v in rng.integers(1, [12, 70, 12]))
        a = (rng.standard_normal((m, kdim)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
        b = (rng.standard_normal((kdim, cols)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
        if i % 4 == 0:
            a[0, 0], b[-1, 0] = np.nan, -np.inf
        jobs.append(GemmJob(f"j{i}", a, b, int(rng.choice([FB24, FB16, FB12])), int(rng.choice([FB24, FB16, FB12])),
                            int(rng.choice(roundings))))
    return jobs


def test_quantize_jobs_equals_one_call_per_operand():
    rng = np.random.default_rng(7)
    batched = _jobs(rng, 40, [RTZ, RNE, RNA])
    single = [GemmJob(j.name, j.a, j.b, j.mode_a, j.mode_b, j.rounding) for j in batched]
    quantize_jobs(batched, Fp2Bfp(16, seed=3), 4, 4)
    q = Fp2Bfp(16, seed=3)
    for x, y in zip(batched, single):
        y.quantize(q, 4, 4)
        for side in ("qa", "qb"):
            for f in ("exp", "sign", "mag", "flags"):
                u, v = getattr(getattr(x, side), f), getattr(getattr(y, side), f)
                assert u.shape == v.shape and np.array_equal(u, v), (x.name, side, f)
            assert getattr(x, side).mode == getattr(y, side).mode
        assert x.tiles == y.tiles and x.useful_ops == y.useful_ops


def test_quantize_jobs_sr_operands_one_by_one_in_job_order():
    """SR operands are converted after the others, in job order: the same as converting them alone with a
    quantizer that has already converted the other operands' blocks."""
    rng = np.random.default_rng(8)
    jobs = _jobs(rng, 12, [RTZ, SR])
    quantize_jobs(jobs, Fp2Bfp(16, seed=9), 4, 4)
    q = Fp2Bfp(16, seed=9)
    others = [j for j in jobs if j.rounding != SR]
    q.blocks_done = sum(int(np.prod(getattr(j, s).exp.shape)) for j in others for s in ("qa", "qb"))
    for j in jobs:
        if j.rounding == SR:
            a, bt = j.padded(4, 4)
            for side, x, mode in (("qa", a, j.mode_a), ("qb", bt, j.mode_b)):
                want = q(x, mode, SR)
                assert np.array_equal(getattr(j, side).mag, want.mag) and np.array_equal(getattr(j, side).exp, want.exp)


@pytest.mark.parametrize("rc", [16, 1, 2, 3, 6, 64])
def test_result_records_round_trip(tmp_path, rc):
    rng = np.random.default_rng(rc)
    t = 9
    bits = rng.integers(0, 2**32, (t, rc), dtype=np.uint64).astype(np.uint32)
    flags = rng.integers(0, 4, (t, rc)).astype(np.uint8)
    edges = rng.integers(0, 2**32, t)
    lines = result_lines(bits, flags)
    for line, f, row in zip(lines, flags, bits):  # the ceiling's exp words: {flags, result}, element e at 2e / 32e
        word = sum(int(v) << (2 * e) for e, v in enumerate(f)) << (32 * rc)
        word |= sum(int(v) << (32 * e) for e, v in enumerate(row))
        assert int(line, 16) == word and len(line) == -(-34 * rc // 4)
    # the harness's out file as Icarus writes it (an address comment first), the edge on top
    width = -(-(32 + 34 * rc) // 4)
    out = tmp_path / "b0.out.hex"
    out.write_text("// 0x00000000\n" + "\n".join(f"{(int(e) << (34 * rc)) | int(line, 16):0{width}x}"
                                                 for e, line in zip(edges, lines)) + "\n")
    got_edges, got_bits, got_flags = unpack_records(read_words(out, 32 + 34 * rc), rc)
    assert np.array_equal(got_edges, edges) and np.array_equal(got_bits, bits) and np.array_equal(got_flags, flags)


def test_x_in_the_records_fails(tmp_path):
    from fbuvm.components import ScoreboardError
    out = tmp_path / "b0.out.hex"
    out.write_text("0" * 143 + "x\n")
    with pytest.raises(ScoreboardError, match="X/Z"):
        read_words(out, 32 + 34 * 16)
