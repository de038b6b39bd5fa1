"""models.core (the accelerator core's function, docs/spec.md section 6) against the oracle: the three passes
read the stored tensors X, W, G in their orientation, one quantizer converts A's rows and then B's columns with
each operand's own rounding (the SR lanes carried from A to B), exact block products, binary32 accumulation."""
from __future__ import annotations

import numpy as np
import pytest

from models import core

from . import oracle
from .gen import f32, random_bits
from .test_gemm import assert_result


def oracle_job(pass_, x, w, g, mode_a, mode_b, round_a, round_b, seed, block, r=8):
    """The pass's operands written out by hand from the stored tensors (lists of bit patterns), then the
    oracle quantizer (A's rows, then B's columns, one set of LFSR lanes) and the oracle GEMM."""
    if pass_ == core.FWD:      # Y = X . W: rows of X, columns of W
        a_rows, b_cols = x.tolist(), w.T.tolist()
    elif pass_ == core.BWD:    # dX = dY . W^T: rows of dY, columns of W^T = rows of W
        a_rows, b_cols = g.tolist(), w.tolist()
    else:                      # dW = X^T . dY: rows of X^T = columns of X, columns of dY
        a_rows, b_cols = x.T.tolist(), g.T.tolist()
    lanes = oracle.LfsrLanes(seed, block, r)
    qa = oracle.quantize_rows(a_rows, mode_a, round_a, block, lanes, r)
    if round_a != oracle.SR:  # the hardware's lanes step on every block, whatever its rounding
        lanes.skip(sum(len(row) for row in qa))
    qb = oracle.quantize_rows(b_cols, mode_b, round_b, block, lanes, r)
    return oracle.bfp_gemm(qa, qb, mode_a, mode_b)


@pytest.mark.parametrize("pass_", [core.FWD, core.BWD, core.WG])
def test_core_passes_vs_oracle(pass_, rng):
    for trial in range(10):
        block = int(rng.choice([4, 16]))
        m, kdim, n = int(rng.integers(1, 5)), int(rng.integers(1, 40)), int(rng.integers(1, 5))
        shapes = {core.FWD: {"x": (m, kdim), "w": (kdim, n)}, core.BWD: {"g": (m, kdim), "w": (n, kdim)},
                  core.WG: {"x": (kdim, m), "g": (kdim, n)}}[pass_]
        t = {name: random_bits(rng, shape, block) for name, shape in shapes.items()}
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        rounds = [int(v) for v in rng.integers(0, 4, 2)]
        seed = int(rng.integers(0, 1 << 16))
        c, flags = core.core_gemm(pass_, *(f32(t[k]) if k in t else None for k in ("x", "w", "g")), *modes, *rounds,
                                  seed, block)
        assert c.shape == (m, n)
        want = oracle_job(pass_, *(np.asarray(t[k]) if k in t else None for k in ("x", "w", "g")), *modes, *rounds,
                          seed, block)
        assert_result(c.view(np.uint32), flags, *want,
                      f"trial {trial}: pass {core.PASS_NAMES[pass_]} modes {modes} roundings {rounds} K={block}")


def test_reserved_pass():
    with pytest.raises(ValueError):
        core.pass_operands(3, np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)))


def test_core_cycles_parts():
    """The cycle model is the conversion walk, fixed fills, the first block pair's further bank words (the larger
    side's words per block - 1: dense packing) and models.gemm_cycles' schedule + ARRAY_FILL."""
    from models import gemm_cycles
    for dims, modes, extra in [((32, 64, 32), (2, 2), 0), ((5, 36, 2), (0, 1), 2), ((1, 1, 1), (1, 2), 1),
                               ((3, 17, 2), (2, 3), 2)]:
        m, kdim, n = dims
        assert core.core_cycles(*dims, *modes) == (core.CORE_CHECK + core.convert_cycles(*dims) + core.CORE_CONV_FILL
                                                   + core.CORE_CFG + core.CORE_READ + extra + gemm_cycles(*dims, *modes))


def test_core_stream_event_by_event(rng):
    """core_stream against a cycle-by-cycle walk of the two halves written out independently: the front
    takes a job when free, works front_cycles on it, then waits until the back is free; the back is free
    the cycle after it hands out a job's last tile."""
    for trial in range(20):
        jobs = [tuple(int(v) for v in rng.integers(1, 40, 3)) + tuple(int(v) for v in rng.integers(0, 3, 2))
                for _ in range(int(rng.integers(1, 6)))]
        fronts = [core.front_cycles(*j[:3]) for j in jobs]
        backs = [core.back_cycles(*j) for j in jobs]
        takes, lasts = [], []
        cycle, i, front_job, front_left, back_job, back_left, back_free_at = 0, 0, None, 0, None, 0, 0
        while len(lasts) < len(jobs):
            if front_job is None and i < len(jobs):      # take a job
                front_job, front_left = i, fronts[i]
                takes.append(cycle)
                i += 1
            if back_job is not None and back_left == 0:  # last tile taken in this cycle
                lasts.append(cycle)
                back_job, back_free_at = None, cycle + 1
            if front_job is not None and front_left == 0 and back_job is None and cycle >= back_free_at:
                back_job, back_left, front_job = front_job, backs[front_job], None  # handover
                continue                                  # the front may take the next job this cycle
            front_left = max(front_left - 1, 0) if front_job is not None else 0
            back_left = back_left - 1 if back_job is not None else 0
            cycle += 1
        assert core.core_stream(jobs) == (takes, lasts), f"trial {trial}: jobs {jobs}"
        if len(set(jobs)) == 1 and len(jobs) >= 3:
            assert lasts[-1] - lasts[-2] == core.core_period(*jobs[0])


def test_conv_forward_vs_oracle(rng):
    """A 3x3 conv's FWD (stride 1, padding 1) through core_gemm(conv=(H, W)) against the oracle on an im2col
    written out element by element from the NHWC pixels x C tensor (column t * C + c, t = 3 (dh + 1) + dw + 1)."""
    for trial in range(6):
        block = int(rng.choice([4, 16]))
        c = block * int(rng.integers(1, 3))
        h, w, imgs = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        pixels, cout = imgs * h * w - (int(rng.integers(0, h * w)) if trial % 2 else 0), int(rng.integers(1, 4))
        x = random_bits(rng, (pixels, c), block)  # odd trials: a partial last image (missing pixels read +0)
        wt = random_bits(rng, (9 * c, cout), block)
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        rounds = [int(v) for v in rng.integers(0, 4, 2)]
        seed = int(rng.integers(0, 1 << 16))
        got, flags = core.core_gemm(core.FWD, f32(x), f32(wt), None, *modes, *rounds, seed, block, conv=(h, w))
        xl = np.asarray(x).tolist()
        a_rows = []
        for p in range(pixels):
            img, rest = divmod(p, h * w)
            ph, pw = divmod(rest, w)
            row = []
            for dh in (-1, 0, 1):
                for dw in (-1, 0, 1):
                    inside = 0 <= ph + dh < h and 0 <= pw + dw < w and p + dh * w + dw < pixels
                    row += xl[p + dh * w + dw] if inside else [0] * c
            a_rows.append(row)
        want = oracle_job(core.FWD, np.array(a_rows, np.uint32), np.asarray(wt), None, *modes, *rounds, seed, block)
        assert_result(got.view(np.uint32), flags, *want,
                      f"trial {trial}: conv {imgs}x{h}x{w}x{c} -> {cout}, modes {modes} roundings {rounds} K={block}")


def test_requantize_output_vs_oracle(rng):
    """The core's output requantization against the oracle: C's rows cut into K-column blocks (columns >= N
    as +0), converted in the core's order (tile row, column block, row) with one set of LFSR lanes from the
    job's seed; rows >= M are not converted. Specials (NaN, Inf, subnormal) included."""
    for trial in range(8):
        block = int(rng.choice([4, 16]))
        rows = int(rng.choice([1, 2, 4]))
        m, n = int(rng.integers(1, 3 * rows + 2)), int(rng.integers(1, 3 * block + 2))
        bits = random_bits(rng, (m, n), block)
        mode, rounding = int(rng.integers(0, 3)), int(rng.integers(0, 4))
        seed = int(rng.integers(0, 1 << 16))
        got = core.requantize_output(f32(bits), mode, rounding, seed, rows, block)
        lanes = oracle.LfsrLanes(seed, block, 8)
        want = []
        for t0 in range(0, m, rows):
            for j in range(0, n, block):
                for i in range(t0, min(t0 + rows, m)):
                    chunk = [int(b) for b in bits[i, j:j + block]]
                    chunk += [0] * (block - len(chunk))
                    rnd = lanes.next_block()  # the lanes step on every block, whatever the rounding
                    q = oracle.quantize_block(chunk, mode, rounding, rnd if rounding == oracle.SR else None)
                    want.append((i, j, q.exp, q.sign, q.mag, q.flags))
        assert len(got) == len(want), f"trial {trial}: {len(got)} blocks, the oracle has {len(want)}"
        for t, (g, w) in enumerate(zip(got, want)):
            assert (g["row"], g["col"], g["exp"], g["sign"].tolist(), g["mag"].tolist(), g["flags"]) == w, \
                f"trial {trial} ({m}x{n}, mode {mode}, rounding {rounding}, K={block}): block {t}: {g} vs {w}"


def test_conv_backward_vs_oracle(rng):
    """A 3x3 conv's BWD, dX[q, c] = sum over taps (dh, dw) and Cout of dY[q - (dh, dw), co] W[t(dh, dw) C + c,
    co], through core_gemm(BWD, conv=(H, W)) against the oracle on operands written out by hand: A row q,
    column t' Cout + co = dY at q + offset(t') (zero outside the image), B row t' Cout + co, column c =
    W[(8 - t') C + c, co] (offset(8 - t') = -offset(t'))."""
    for trial in range(6):
        block = int(rng.choice([4, 16]))
        cout = block * int(rng.integers(1, 3))
        h, w, imgs = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        pixels, c = imgs * h * w, int(rng.integers(1, 4))
        g = random_bits(rng, (pixels, cout), block)
        wt = random_bits(rng, (9 * c, cout), block)
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        rounds = [int(v) for v in rng.integers(0, 4, 2)]
        seed = int(rng.integers(0, 1 << 16))
        got, flags = core.core_gemm(core.BWD, None, f32(wt), f32(g), *modes, *rounds, seed, block, conv=(h, w))
        gl, wl = np.asarray(g).tolist(), np.asarray(wt).tolist()
        a_rows = []
        for q in range(pixels):
            img, rest = divmod(q, h * w)
            qh, qw = divmod(rest, w)
            row = []
            for dh in (-1, 0, 1):
                for dw in (-1, 0, 1):
                    inside = 0 <= qh + dh < h and 0 <= qw + dw < w
                    row += gl[q + dh * w + dw] if inside else [0] * cout
            a_rows.append(row)
        b_rows = [[wl[(8 - t) * c + ci][co] for ci in range(c)] for t in range(9) for co in range(cout)]
        # oracle_job's FWD takes A's rows and B as stored Kdim x N
        want = oracle_job(core.FWD, np.array(a_rows, np.uint32), np.array(b_rows, np.uint32), None, *modes, *rounds,
                          seed, block)
        assert_result(got.view(np.uint32), flags, *want,
                      f"trial {trial}: conv BWD {imgs}x{h}x{w}, {cout} -> {c}, modes {modes} roundings {rounds} K={block}")


def test_conv_weight_gradient_vs_oracle(rng):
    """A 3x3 conv's WG, dW[t C + c, co] = sum over pixels p of X[p + offset(t), c] dY[p, co] (zero where the
    shifted pixel is outside p's image or past the last stored pixel), through core_gemm(WG, conv=(H, W))
    against the oracle on A = im2col(X)^T written out by hand, row t C + c, one element per pixel. Widths that
    are not multiples of the block, 1 x 1 images, a partial last image (the reduction's blocks straddle image
    rows and images, so the padding differs from lane to lane)."""
    for trial in range(8):
        block = int(rng.choice([4, 16]))
        h, w = [(1, 1), (1, 3), (3, 1), (2, 5)][trial % 4] if trial < 4 else (int(rng.integers(1, 5)), int(rng.integers(1, 7)))
        imgs = int(rng.integers(1, 4))
        pixels = imgs * h * w - (int(rng.integers(0, h * w)) if trial % 2 else 0)  # odd trials: a partial image
        c, cout = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        x = random_bits(rng, (pixels, c), block)
        g = random_bits(rng, (pixels, cout), block)
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        rounds = [int(v) for v in rng.integers(0, 4, 2)]
        seed = int(rng.integers(0, 1 << 16))
        got, flags = core.core_gemm(core.WG, f32(x), None, f32(g), *modes, *rounds, seed, block, conv=(h, w))
        assert got.shape == (9 * c, cout)
        xl = np.asarray(x).tolist()
        a_rows = []
        for dh in (-1, 0, 1):
            for dw in (-1, 0, 1):
                for ci in range(c):
                    row = []
                    for p in range(pixels):
                        ph, pw = divmod(p % (h * w), w)
                        q = p + dh * w + dw
                        inside = 0 <= ph + dh < h and 0 <= pw + dw < w and q < pixels
                        row.append(xl[q][ci] if inside else 0)
                    a_rows.append(row)
        want = oracle_job(core.FWD, np.array(a_rows, np.uint32), np.asarray(g), None, *modes, *rounds, seed, block)
        assert_result(got.view(np.uint32), flags, *want,
                      f"trial {trial}: conv WG {pixels} pixels of {h}x{w}, {c} -> {cout}, modes {modes} "
                      f"roundings {rounds} K={block}")


def _back_edge_by_edge(m, kdim, n, mode_a, mode_b, rows, cols, block, bfp):
    """The back of one job walked edge by edge from the spec's rules (sections 4 and 6), independently of
    models.core's formulas: edge 0 hands the job over; the array's first step ends at edge 4 + f (configuration,
    the first pair's f bank words read one per edge, f = the larger side's words per block: FB12 1, FB16 2, FB24
    3; operand FIFO, sequencer load) and it steps every edge after, except on a tile's last step while
    all 5 result entries are reserved; a tile's last step reserves an entry, its result is pushed 3 edges later
    and can be taken from the next edge; binary32: a result is taken as soon as it can be; BFP: the gather
    takes one when it is not feeding the converter, a group (K / COLS tiles of a tile row, fewer at its end)
    complete sends its rows < M into the converter at the following edges, one per edge, and each block is
    taken 3 edges after its row went in. Returns the edge that takes the job's last beat."""
    from models.bfp import cycles_per_block
    f = max({0: 3, 1: 2, 2: 1}[mode_a], {0: 3, 1: 2, 2: 1}[mode_b])
    per_tile = -(-kdim // block) * cycles_per_block(mode_a, mode_b, block)
    mt, nt, group = -(-m // rows), -(-n // cols), block // cols
    tiles = [(min(rows, m - ti * rows), tj % group == group - 1 or tj == nt - 1)
             for ti in range(mt) for tj in range(nt)]
    done = steps = reserved = taken = 0
    pushes, fifo = [], []       # push edges to come; edges at which waiting results were pushed
    issuing, last = 0, None     # rows left to send into the converter; the last beat's edge
    e = 0
    while last is None or issuing:
        e += 1
        # the array (its state before this edge)
        if e >= 4 + f and done < len(tiles):
            if not (steps == per_tile - 1 and reserved >= 5):
                steps += 1
                if steps == per_tile:
                    steps, done = 0, done + 1
                    reserved_now = 1
                    pushes.append(e + 3)
                else:
                    reserved_now = 0
            else:
                reserved_now = 0
        else:
            reserved_now = 0
        popped = 0
        if issuing:  # a row into the converter
            issuing -= 1
            if issuing == 0 and taken == len(tiles):
                last = e + 3
        elif fifo and fifo[0] < e:  # a tile taken
            fifo.pop(0)
            popped = 1
            r, closes = tiles[taken]
            taken += 1
            if not bfp:
                if taken == len(tiles):
                    last = e
            elif closes:
                issuing = r
        if pushes and pushes[0] == e:
            fifo.append(pushes.pop(0))
        reserved += reserved_now - popped
    return last


def test_back_cycles_edge_by_edge(rng):
    """models.core.back_cycles (binary32) and back_cycles_bfp (requantized results, pe_array's stall rule)
    against the edge-by-edge walk: short tiles (the gather stalls the array), long ones, partial groups and
    tile rows, several array shapes."""
    for trial in range(30):
        rows, cols = [(4, 4), (2, 2), (1, 4), (4, 1), (2, 8)][trial % 5]
        block = int(rng.choice([16, 32]))
        m, kdim, n = int(rng.integers(1, 4 * rows + 2)), int(rng.integers(1, 3 * block)), int(rng.integers(1, 3 * block))
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        for bfp in (False, True):
            want = _back_edge_by_edge(m, kdim, n, *modes, rows, cols, block, bfp)
            got = core.back_cycles(m, kdim, n, *modes, rows, cols, block, out_bfp=bfp)
            assert got == want, f"trial {trial}: {m}x{kdim}x{n} modes {modes} {rows}x{cols} K={block} bfp={bfp}: " \
                                f"model {got}, edge walk {want}"


# --- depthwise jobs (job_dw: the core's feed into dw_unit) --------------------------------------------------
def oracle_dw_feed(pass_, h, w):
    """The core's feed order written out again: FWD / BWD the 9 kernel taps, then the map's pixels; WG X until
    the window of pixel (0, 0) is in (rows 0..1, columns 0..1 of the map, clipped), then dY p and X p + that
    lead, alternately, dY's remaining pixels last."""
    if pass_ != core.WG:
        return [("k", t) for t in range(9)] + [("x", p) for p in range(h * w)]
    lead = (w if h > 1 else 0) + (1 if w > 1 else 0) + 1
    xs, gs, out = list(range(h * w)), list(range(h * w)), []
    out += [("x", xs.pop(0)) for _ in range(lead)]
    while gs:
        out.append(("g", gs.pop(0)))
        if xs:
            out.append(("x", xs.pop(0)))
    return out


@pytest.mark.parametrize("pass_", [core.FWD, core.BWD, core.WG])
def test_core_dw_vs_oracle(pass_, rng):
    """models.core.core_dw against the oracle: the group's K channels of the stored rows (channels >= C as +0)
    converted block by block in the feed order with one set of LFSR lanes (stepping on every block, SR or not),
    then the depthwise oracle sums (models/tests/test_dw_unit.py)."""
    from models import BFPTensor

    from .test_dw_unit import oracle_conv, oracle_wg
    for trial in range(4):
        h, w, c = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 33))
        grp = int(rng.integers(0, -(-c // 16)))
        ma, mb = (int(v) for v in rng.integers(0, 3, 2))
        ra, rb = (int(v) for v in rng.integers(0, 4, 2))
        if trial == 0:
            ra = rb = oracle.SR
        seed = int(rng.integers(0, 1 << 16))
        x, g = random_bits(rng, (h * w, c), 16), random_bits(rng, (h * w, c), 16)
        k = random_bits(rng, (9, c), 16)
        src = {"x": g if pass_ == core.BWD else x, "g": g, "k": k}
        conv = {"x": (ma, ra), "g": (mb, rb), "k": (mb, rb)}
        lanes = oracle.LfsrLanes(seed, 16, 8)
        blocks = {"x": {}, "g": {}, "k": {}}
        for stream, row in oracle_dw_feed(pass_, h, w):
            vals = [int(v) for v in src[stream][row, grp * 16:(grp + 1) * 16]]
            vals += [0] * (16 - len(vals))  # channels past C read +0
            mode, rnd = conv[stream]
            [[blk]] = oracle.quantize_rows([vals], mode, rnd, 16, lanes)
            if rnd != oracle.SR:
                lanes.skip(1)
            blocks[stream][row] = blk

        def tensor(stream, rows, lead, mode):
            bl = [blocks[stream][r] for r in range(rows)]
            return BFPTensor(np.array([b.exp for b in bl]).reshape(*lead, 1),
                             np.array([b.sign for b in bl], np.uint8).reshape(*lead, 1, 16),
                             np.array([b.mag for b in bl]).reshape(*lead, 1, 16),
                             np.array([b.flags for b in bl], np.uint8).reshape(*lead, 1), mode)
        a = tensor("x", h * w, (h, w), ma)
        if pass_ == core.WG:
            want = oracle_wg(a, tensor("g", h * w, (h, w), mb), ma, mb)
        else:
            want = oracle_conv(pass_, a, tensor("k", 9, (9,), mb), ma, mb)
        wb, wf = (v.reshape(-1, 16) for v in want)
        gb, gf = core.core_dw(pass_, f32(x), f32(k), f32(g), h, w, grp, ma, mb, ra, rb, seed)
        assert np.array_equal(gb, wb) and np.array_equal(gf, wf), (pass_, h, w, c, grp, ma, mb, ra, rb, seed)


def test_dw_cycles_domain():
    """dw_cycles: the parts of a 2 x 2 core's results (4 beats per result) add to FWD / BWD (parts - 1) and to WG's
    read-out (9 parts); a 1-wide map's FWD on a 2 x 2 core is outside the model."""
    for pass_ in (core.FWD, core.BWD):
        assert core.dw_cycles(pass_, 3, 3, 2, 2) == core.dw_cycles(pass_, 3, 3) + 3
    assert core.dw_cycles(core.WG, 3, 3, 2, 2) == core.dw_cycles(core.WG, 3, 3) + 27
    assert core.dw_cycles(core.WG, 1, 5, 2, 2) == core.dw_cycles(core.WG, 1, 5) + 27
    with pytest.raises(ValueError):
        core.dw_cycles(core.FWD, 1, 5, 2, 2)
    assert core.dw_period(core.FWD, 7, 7) == core.dw_cycles(core.FWD, 7, 7) + 1
