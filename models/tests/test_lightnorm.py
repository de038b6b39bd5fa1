"""models.lightnorm against the independent exact oracle (lightnorm_oracle.py, oracle.py)."""
from __future__ import annotations

import numpy as np
import pytest

from models import lightnorm as ln
from models.bfp import MAG_PORT_BITS  # noqa: F401  (the port layout the RTL bench packs)

from . import oracle
from .lightnorm_oracle import Format

FORMATS = {"1-5-4": (ln.FP10, Format(5, 4)), "1-6-3": (ln.FP10G, Format(6, 3))}
ALL10 = np.arange(1 << 10, dtype=np.int64)


def finite_patterns(fmt):
    return ALL10[ln.is_finite(ALL10, fmt)]


@pytest.mark.parametrize("name", FORMATS)
def test_decode_encode_round_trip(name):
    fmt, ofmt = FORMATS[name]
    fin = finite_patterns(fmt)
    vals = ln.decode(fin, fmt)
    for b, v in zip(fin.tolist(), vals.tolist()):
        assert v == float(ofmt.value(b))
    back = ln.encode(vals, fmt)
    # -0 encodes as +0 (every zero is +0); everything else comes back bit for bit
    assert (np.where(fin == fmt.sign_bit, 0, fin) == back).all()


@pytest.mark.parametrize("name", FORMATS)
def test_encode_rtz(name, rng):
    fmt, ofmt = FORMATS[name]
    x = np.concatenate([rng.standard_normal(3000) * 10.0 ** rng.integers(-12, 12, 3000),
                        [0.0, -0.0, 1e30, -1e30, 2.0 ** -40, np.inf, -np.inf, np.nan]]).astype(np.float32)
    got = ln.encode(x, fmt)
    for xv, g in zip(x.tolist(), got.tolist()):
        if np.isnan(xv):
            assert ofmt.value(g) == "nan"
        elif np.isinf(xv):
            assert ofmt.value(g) == ("+inf" if xv > 0 else "-inf")
        else:
            from fractions import Fraction
            assert g == ofmt.rtz(Fraction(xv)), (xv, g)


@pytest.mark.parametrize("op", ["add", "mul"])
def test_ops_against_oracle(op, rng):
    fmt, ofmt = FORMATS["1-5-4"]
    fin = finite_patterns(fmt)
    a = rng.choice(fin, 6000)
    b = rng.choice(fin, 6000)
    got = getattr(ln, op)(a, b, fmt)
    for x, y, g in zip(a.tolist(), b.tolist(), got.tolist()):
        va, vb = ofmt.value(x), ofmt.value(y)
        assert g == ofmt.rtz(va + vb if op == "add" else va * vb), (op, x, y, g)


def test_recip_exhaustive():
    fmt, ofmt = FORMATS["1-5-4"]
    fin = finite_patterns(fmt)
    got = ln.recip(fin, fmt)
    for x, g in zip(fin.tolist(), got.tolist()):
        v = ofmt.value(x)
        assert g == (ofmt.rtz(1 / v) if v != 0 else ofmt.rtz(ofmt.largest())), (x, g)


def test_chunk_starts():
    for n in range(1, 70):
        st = ln.chunk_starts(n).tolist()
        want = sorted({j * n // 8 for j in range(8)})
        assert st == want
        assert len(st) == min(n, 8)


# --- the whole unit ------------------------------------------------------------------------------------
def oracle_unit(x1, x2, gamma, beta, c, eps, mode):
    """The oracle's BFP groups (one per position) for an (n, 8) job."""
    _, ofmt = FORMATS["1-5-4"]
    cols = []
    for ch in range(x1.shape[1]):
        outs, _ = __import__("models.tests.lightnorm_oracle", fromlist=["channel"]).channel(
            x1[:, ch].tolist(), x2[:, ch].tolist(), int(gamma[ch]), int(beta[ch]), int(c), int(eps), ofmt)
        cols.append([oracle.CANONICAL_NAN if o == "nan" else oracle.round_f32(o) for o in outs])
    rows = list(zip(*cols)) if cols else []
    return [oracle.quantize_block(list(r), mode, oracle.RTZ) for r in rows]


def check_unit(x1, gamma, beta, c, eps, mode, x2=None):
    x2 = x1 if x2 is None else x2
    got, _ = ln.forward(x1, gamma, beta, c, eps, mode, x2)
    want = oracle_unit(x1, x2, gamma, beta, c, eps, mode)
    assert len(want) == got.exp.shape[0]
    for i, blk in enumerate(want):
        assert int(got.exp[i, 0]) == blk.exp, (i, blk)
        assert got.mag[i, 0].tolist() == blk.mag, (i, blk)
        assert got.sign[i, 0].tolist() == blk.sign, (i, blk)
        assert int(got.flags[i, 0]) == blk.flags, (i, blk)


def fp(x):
    return ln.encode(np.asarray(x, np.float64))


def random_job(rng, n, scale=1.0, offset=0.0):
    x = rng.standard_normal((n, 8)) * scale * 10.0 ** rng.integers(-2, 2, 8) + offset
    gamma = fp(rng.uniform(0.25, 2.0, 8) * rng.choice([-1, 1], 8))
    beta = fp(rng.standard_normal(8))
    return fp(x), gamma, beta, fp(ln.range_constant(n)), fp(1e-3)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 13, 16, 37, 100, 257])
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_unit_random(n, mode, rng):
    """Chunk sizes that do and do not divide n, n below the chunk count, every mode."""
    check_unit(*random_job(rng, n), mode)


def test_unit_corners(rng):
    n = 45
    x, gamma, beta, c, eps = random_job(rng, n)
    x[:, 0] = fp(3.25)                     # a constant channel
    x[:, 1] = 0                            # a channel of zeros
    x[:, 2] = fp(rng.choice([-60000.0, 60000.0], n))   # the largest range the format holds
    x[:, 3] = fp(rng.standard_normal(n) * 2.0 ** -16)  # subnormal values
    x[5, 4] = fp(np.nan)                   # NaN poisons its channel
    x[9, 5] = fp(np.inf)                   # so does Inf
    x[:, 6] = fp(rng.standard_normal(n) * 1e4 + 3e4)   # huge offset, saturating intermediates
    for e in (eps, fp(0.0)):               # eps = 0: a constant channel has a zero denominator
        for m in (0, 1, 2):
            check_unit(x, gamma, beta, c, e, m)


def test_unit_bad_parameters(rng):
    x, gamma, beta, c, eps = random_job(rng, 20)
    gamma[1] = fp(np.nan)
    beta[2] = fp(-np.inf)
    check_unit(x, gamma, beta, c, eps, 1)
    check_unit(x, gamma, beta, fp(np.inf), eps, 1)   # a non-finite shared constant poisons every channel


def test_unit_pass2_differs(rng):
    """Pass 2 re-streams the data: a NaN there is NaN for that element only."""
    x, gamma, beta, c, eps = random_job(rng, 30)
    x2 = x.copy()
    x2[3, 2] = fp(np.nan)
    x2[7, 4] = fp(-np.inf)
    x2[8] = fp(rng.standard_normal(8))
    check_unit(x, gamma, beta, c, eps, 0, x2)


def test_constant_channel_is_beta(rng):
    """A constant channel normalizes to exactly beta, for eps > 0 and eps = 0 alike."""
    x = np.full((24, 8), fp(1.5), np.int64)
    beta = fp(rng.standard_normal(8))
    for eps in (fp(1e-3), fp(0.0)):
        st = ln.statistics(x, fp(np.ones(8)), beta, fp(0.1), eps)
        z, nan = ln.normalize(x, st, beta)
        assert not nan.any()
        assert (z == np.where(beta == ln.FP10.sign_bit, 0, beta)).all()


# --- backward pass: the derivation against finite differences -------------------------------------------
def test_range_bn_backward_matches_finite_differences(rng):
    n, ch = 29, 3
    x = rng.standard_normal((n, ch))
    gamma, beta = rng.uniform(0.5, 2, ch), rng.standard_normal(ch)
    dy = rng.standard_normal((n, ch))
    _, cache = ln.range_bn_float(x, gamma, beta, eps=1e-3)
    dx, dg, db = ln.range_bn_backward(dy, cache)
    h = 1e-6

    def loss(xx, gg=gamma, bb=beta):
        return float((ln.range_bn_float(xx, gg, bb, eps=1e-3)[0] * dy).sum())
    num = np.zeros_like(x)
    for i in range(n):
        for j in range(ch):
            e = np.zeros_like(x)
            e[i, j] = h
            num[i, j] = (loss(x + e) - loss(x - e)) / (2 * h)
    assert np.allclose(dx, num, rtol=1e-5, atol=1e-7)
    ng = np.array([(loss(x, gamma + h * np.eye(ch)[j]) - loss(x, gamma - h * np.eye(ch)[j])) / (2 * h)
                   for j in range(ch)])
    nb = np.array([(loss(x, gamma, beta + h * np.eye(ch)[j]) - loss(x, gamma, beta - h * np.eye(ch)[j])) / (2 * h)
                   for j in range(ch)])
    assert np.allclose(dg, ng, rtol=1e-5) and np.allclose(db, nb, rtol=1e-5)


def test_bn_backward_matches_finite_differences(rng):
    n, ch = 17, 2
    x = rng.standard_normal((n, ch))
    gamma, beta = rng.uniform(0.5, 2, ch), rng.standard_normal(ch)
    dy = rng.standard_normal((n, ch))
    dx, _, _ = ln.bn_backward(dy, ln.bn_fp32_float(x, gamma, beta)[1])
    h = 1e-6
    num = np.zeros_like(x)
    for i in range(n):
        for j in range(ch):
            e = np.zeros_like(x)
            e[i, j] = h
            num[i, j] = (float((ln.bn_fp32_float(x + e, gamma, beta)[0] * dy).sum())
                         - float((ln.bn_fp32_float(x - e, gamma, beta)[0] * dy).sum())) / (2 * h)
    assert np.allclose(dx, num, rtol=1e-5, atol=1e-7)


def test_traffic():
    """Bytes per pass from the element sizes: 3 passes each, fp10 reads and BFP writes for LightNorm."""
    n, c = 32 * 16 * 16, 64
    f = ln.traffic_bytes(n, c, "fp32")
    g = ln.traffic_bytes(n, c, "lightnorm", mode_bits=8)
    assert f["total"] == 12 * n * c
    assert g["total"] == n * c * (2 * 10 / 8 + (8 + 8 * 9) / 64)


# --- the FP32 BN baseline against binary32 rounding done with Fractions (oracle.round_f32) -----------------
def _oracle_bn_fp32(col1, col2, gamma, beta, inv_n, eps):
    """One channel, from the spec's operation order, every step rounded by oracle.round_f32 (finite only)."""
    from fractions import Fraction
    from math import isqrt
    v = oracle.f32_value
    r = oracle.round_f32
    s1 = s2 = 0
    for b in col1:
        s1 = r(v(s1) + v(b))
        s2 = r(v(s2) + v(r(v(b) * v(b))))
    mean = r(v(s1) * v(inv_n))
    ex2 = r(v(s2) * v(inv_n))
    var = r(v(ex2) - v(r(v(mean) * v(mean))))
    if v(var) < 0:
        var = 0
    den = v(r(v(var) + v(eps)))
    assert den > 0
    k = 200
    root = Fraction(isqrt((den * (1 << (2 * k))).__floor__()), 1 << k)  # floor at 2^-200: never on a tie
    sq = r(root)
    rstd = r(1 / v(sq))
    a = r(v(gamma) * v(rstd))
    out = []
    for b in col2:
        t = r(v(b) - v(mean))
        p = r(v(t) * v(a))
        out.append(r(v(p) + v(beta)))
    return out


def test_bn_fp32_against_oracle(rng):
    for n in (1, 5, 16, 33):
        x = (rng.standard_normal((n, 8)) * 10.0 ** rng.integers(-3, 3, 8) + rng.standard_normal(8)).astype(np.float32)
        x[:, 0] = np.float32(2.5)                        # constant channel: var = 0, rstd = 1/sqrt(eps)
        gamma = rng.uniform(0.5, 2, 8).astype(np.float32)
        beta = rng.standard_normal(8).astype(np.float32)
        bits = lambda a: np.asarray(a, np.float32).view(np.uint32)  # noqa: E731
        inv_n, eps = int(bits(np.float32(1 / n))), int(bits(np.float32(1e-5)))
        got = ln.bn_fp32_forward(bits(x), bits(gamma), bits(beta), inv_n, eps)
        for ch in range(8):
            want = _oracle_bn_fp32(bits(x[:, ch]).tolist(), bits(x[:, ch]).tolist(), int(bits(gamma)[ch]),
                                   int(bits(beta)[ch]), inv_n, eps)
            assert got[:, ch].tolist() == want, (n, ch)


def test_bn_fp32_specials():
    """IEEE behaviour, NaNs canonical: eps = 0 on a constant channel (0 * Inf = NaN), NaN / Inf inputs."""
    bits = lambda a: np.asarray(a, np.float32).view(np.uint32)  # noqa: E731
    x = np.ones((4, 8), np.float32)
    x[1, 1] = np.nan
    x[2, 2] = np.inf
    y = ln.bn_fp32_forward(bits(x), bits(np.ones(8)), bits(np.zeros(8)), int(bits(np.float32(0.25))), 0)
    assert (y == ln.CANONICAL_NAN).all()  # channel 0 etc.: rstd = Inf, 0 * Inf; channels 1, 2: NaN stats
