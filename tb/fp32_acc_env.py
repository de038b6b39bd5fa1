"""fp32_acc bench layer: block-sum terms, reductions, the model-based scoreboard, coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, JobTimer, Scoreboard, StreamEnv, StreamItem
from models import accumulate, bits_float32, term_fp32

X_MIN, X_MAX = -284, 254  # the exponents a block product can have (spec section 3)


def p_width() -> int:
    return int(cocotb.top.PW.value)


class TermItem(StreamItem):
    """One block dot product P with its LSB exponent X, the operand flags, and whether it ends a reduction."""

    def __init__(self, name, p: int, x: int, flags: int = 0, last: bool = False):
        super().__init__(name)
        self.p, self.x, self.flags, self.last = int(p), int(x), int(flags), bool(last)

    def beat(self):
        pw = p_width()
        return {"p": self.p & ((1 << pw) - 1), "x": self.x & 0x7FF, "flags": self.flags, "last": int(self.last)}

    def __str__(self):
        return f"term P={self.p} X={self.x} flags={self.flags} last={self.last}"


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


class Fp32AccScoreboard(Scoreboard):
    def reset_model(self):
        self.terms = []

    def pending(self):
        return f"a reduction of {len(self.terms)} terms with no last term" if self.terms else ""

    def predict(self, port, txn):
        self.terms.append((_signed(txn["p"], p_width()), _signed(txn["x"], 11), txn["flags"]))
        if not txn["last"]:
            return []
        p, x, f = (np.array(v) for v in zip(*self.terms))
        bits, flags = accumulate(term_fp32(p, x)[:, None], f[:, None])
        terms, self.terms = self.terms, []
        return [{"result": int(bits[0]), "flags": int(flags[0]), "terms": terms}]

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        terms = "\n    ".join(f"P={p} X={x} flags={f} -> term {float(term_fp32(p, x))!r}"
                              for p, x, f in expected["terms"][:20])
        return (f"reduction of {len(expected['terms'])} terms:\n    {terms}\n  "
                f"expected {expected['result']:08x} ({bits_float32(expected['result'])!r}) flags {expected['flags']}"
                f"\n  actual   {actual['result']:08x} ({bits_float32(actual['result'])!r}) flags {actual['flags']}")


def value_class(bits: int) -> str:
    e, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if e == 255:
        return "nan" if frac else "inf"
    if e == 0:
        return "subnormal" if frac else "zero"
    return "normal"


@CoverPoint("fp32_acc.result", xf=lambda r, n, f: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
@CoverPoint("fp32_acc.length", xf=lambda r, n, f: n, bins=["one", "few", "many"])
@CoverPoint("fp32_acc.flags", xf=lambda r, n, f: f, bins=[0, 1, 2, 3])
@CoverCross("fp32_acc.result_x_length", items=["fp32_acc.result", "fp32_acc.length"],
            ign_bins=[("nan", "one")])
def _sample_reduction(result, length, flags):
    pass


@CoverPoint("fp32_acc.term", xf=lambda t: t, bins=["zero", "subnormal", "normal", "inf"])
def _sample_term(term_class):
    pass


class Fp32AccCoverage(CoverageCollector):
    def sample(self, txn):
        n = len(txn["terms"])
        _sample_reduction(value_class(txn["result"]), "one" if n == 1 else "few" if n < 8 else "many",
                          txn["flags"])
        for p, x, _ in txn["terms"]:
            _sample_term(value_class(int(term_fp32(p, x).view(np.uint32))))


class Fp32AccEnv(StreamEnv):
    inputs = {"in": ["p", "x", "flags", "last"]}
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = Fp32AccScoreboard
    coverage_class = Fp32AccCoverage

    def build_phase(self):
        super().build_phase()
        self.timer = JobTimer(self.clock, self.sources["in"], self.sinks["out"])


# --- stimulus ---------------------------------------------------------------------------------------------
def random_term(rng: np.random.Generator, pw: int, kind: str, base: int = 0) -> tuple[int, int]:
    """A (P, X) pair of a kind: 'random' (full ranges), 'normal' (results in binary32's normal range),
    'tie' (P has exactly one bit too many: a rounding tie), 'subnormal' (result near 2^-126),
    'overflow' (beyond binary32), 'zero', 'near' (value within a few binades of 2^base)."""
    if kind == "zero":
        return 0, int(rng.integers(X_MIN, X_MAX + 1))
    bits = int(rng.integers(1, pw))
    p = int(rng.integers(1 << (bits - 1), 1 << bits)) if bits > 1 else 1
    if kind == "tie" and pw > 26:
        p = (int(rng.integers(1 << 23, 1 << 24)) << 1 | 1) << int(rng.integers(0, pw - 26))
        bits = p.bit_length()
    sign = -1 if rng.random() < 0.5 else 1
    if kind == "random":
        x = int(rng.integers(X_MIN, X_MAX + 1))
    elif kind in ("normal", "tie"):
        x = int(rng.integers(-100, 60)) - bits
    elif kind == "subnormal":
        x = -126 - bits + int(rng.integers(-26, 3))
    elif kind == "overflow":
        x = 128 - bits + int(rng.integers(0, 3))
    elif kind == "near":
        x = base - bits + int(rng.integers(-3, 4))
    else:
        raise ValueError(kind)
    return sign * p, max(X_MIN, min(X_MAX, x))


# The value exponents an exponent sweep visits: subnormal terms, every normal binade, overflow.
SWEEP_EXPONENTS = range(-152, 130)


class ReductionSequence(uvm_sequence):
    """`count` reductions of 1..max_len terms, each term of a kind drawn from `kinds`; some reductions
    cancel exactly (a term and its negation) and some carry operand flags. With `sweep`, reduction r
    centres its 'near' terms on 2^SWEEP_EXPONENTS[r % len]: every exponent field meets its neighbours in
    aligned additions (carries, cancellation, the hidden bit of every exponent)."""

    def __init__(self, name, count=100, max_len=20, kinds=("normal", "random", "tie", "subnormal", "zero"),
                 sweep=False):
        super().__init__(name)
        self.count, self.max_len, self.kinds, self.sweep = count, max_len, kinds, sweep

    async def body(self):
        rng = seeds.rng(self.get_name())
        pw = p_width()
        for r in range(self.count):
            n = int(rng.integers(1, self.max_len + 1))
            base = SWEEP_EXPONENTS[r % len(SWEEP_EXPONENTS)] if self.sweep else 0
            terms = [random_term(rng, pw, str(rng.choice(self.kinds)), base) for _ in range(n)]
            if n > 1 and rng.random() < 0.15:
                terms[-1] = (-terms[0][0], terms[0][1])  # exact cancellation
            for i, (p, x) in enumerate(terms):
                flags = int(rng.integers(0, 4)) if rng.random() < 0.05 else 0
                item = TermItem(f"r{r}t{i}", p, x, flags, i == n - 1)
                await self.start_item(item)
                await self.finish_item(item)


# --- rounding-boundary stimulus -----------------------------------------------------------------------
def _around(tie: int, depth: int, every_depth: bool = True) -> list[int]:
    """`tie` (an integer whose lowest `depth` + 1 bits are 10...0: exactly half way), one unit below and
    above it, and (`every_depth`) +/- 2^j for every j < depth: the deciding bit at every depth below the
    half bit."""
    js = range(depth) if every_depth else ()
    return sorted({tie, tie - 1, tie + 1, *(tie + s * (1 << j) for j in js for s in (-1, 1))})


def term_boundaries(rng: np.random.Generator, pw: int) -> list[list[tuple[int, int]]]:
    """Single-term reductions around the term rounding's boundaries, t = fp32(P * 2^X) (binary32: 24
    significant bits, subnormal LSB 2^-149, largest finite (2^24 - 1) 2^104): for every width of P past 24
    bits, P half way between two binary32 neighbours, one unit of P below and above, and the deciding bit
    at every depth; in the normal range, at the saturation point (rounding up to 2^128 gives Inf) and at
    the subnormal range's flush-to-zero point (half of 2^-149) and its top (half an LSB below 2^-126)."""
    out = []
    for bits in range(25, pw):  # |P| of this many bits: bits - 24 of them rounded off
        depth = bits - 25        # bits below the half bit
        for m, x in ((int(rng.integers(1 << 23, 1 << 24)), int(rng.integers(-100, 60)) - bits),  # normal
                     ((1 << 24) - 1, 128 - bits)):                                                 # saturation
            out += [(p, x) for p in _around((m << 1 | 1) << depth, depth, bits == pw - 1)]
    for n in (0, 1, int(rng.integers(2, (1 << 23) - 1)), (1 << 23) - 1):  # subnormal results: n LSBs + half
        top = pw - 2 - (n << 1 | 1).bit_length()  # the deepest half bit P's width allows
        for depth in range(0, top + 1):
            out += [(p, -150 - depth) for p in _around((n << 1 | 1) << depth, depth, depth == top) if p > 0]
    sign = rng.choice([-1, 1], len(out))
    return [[(int(s) * p, x)] for s, (p, x) in zip(sign, out)]


def sum_boundaries(rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """Two-term reductions around the sum rounding's boundaries, acc = fp32(t1 + t2), both terms exact
    binary32 values (P a 24-bit significand): t1 = m 2^e, t2 half an ulp of t1 (2^(e-1)), one binary32 ulp
    of t2 below and above it, and the deciding bit at every depth below the half bit; of both signs (a
    subtraction rounds too) with m random, a power of two (the binade below is finer) and 2^24 - 1 at the
    top exponent (rounding up saturates to Inf)."""
    out = []
    for m, e in ((int(rng.integers(1 << 23, 1 << 24)), int(rng.integers(-100, 80))),
                 (1 << 23, int(rng.integers(-100, 80))),
                 ((1 << 24) - 1, 104)):
        half = 1 << 23  # t2 = half * 2^(e - 24) = 2^(e - 1)
        for p2 in _around(half, 23):
            s1, s2 = (int(v) for v in rng.choice([-1, 1], 2))
            out.append([(s1 * m, e), (s2 * p2, e - 24)])
    return out


class BoundarySequence(uvm_sequence):
    """Every term_boundaries and sum_boundaries reduction, in random order."""

    async def body(self):
        rng = seeds.rng(self.get_name())
        reds = term_boundaries(rng, p_width()) + sum_boundaries(rng)
        for r in rng.permutation(len(reds)):
            terms = reds[r]
            for i, (p, x) in enumerate(terms):
                item = TermItem(f"edge{r}t{i}", p, max(X_MIN, min(X_MAX, x)), 0, i == len(terms) - 1)
                await self.start_item(item)
                await self.finish_item(item)
