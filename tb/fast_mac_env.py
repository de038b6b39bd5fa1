"""fast_mac bench layer: group pairs, reductions/jobs, the model-based scoreboard, coverage and env."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem
from models import accumulate, bits_float32, fast, term_fp32

PRECS = fast.PRECISIONS


def params() -> tuple[int, int]:
    """(G, EW) of the DUT."""
    return int(cocotb.top.G.value), int(cocotb.top.EW.value)


class GroupPair:
    """One group pair as the port sees it: raw 8-bit magnitude slots (bits at and above m are don't-care)."""

    def __init__(self, m_a, m_b, base_a, code_a, sign_a, mag_a, flags_a, base_b, code_b, sign_b, mag_b, flags_b,
                 last=False, kind="random"):
        self.m_a, self.m_b = int(m_a), int(m_b)
        self.a = (int(base_a), int(code_a), np.asarray(sign_a, np.int64), np.asarray(mag_a, np.int64), int(flags_a))
        self.b = (int(base_b), int(code_b), np.asarray(sign_b, np.int64), np.asarray(mag_b, np.int64), int(flags_b))
        self.last, self.kind = bool(last), kind

    def beat(self) -> dict:
        def side(x, s):
            base, code, sign, mag, flags = x
            return {f"{s}_base": base, f"{s}_exp": code, f"{s}_sign": int(np.dot(sign, 1 << np.arange(len(sign)))),
                    f"{s}_mag": int.from_bytes(mag.astype(np.uint8).tobytes(), "little"), f"{s}_flags": flags}
        return {"prec_a": fast.prec_code(self.m_a), "prec_b": fast.prec_code(self.m_b), **side(self.a, "a"),
                **side(self.b, "b"), "last": int(self.last)}


def decode_beat(beat: dict, g: int) -> dict:
    """A port beat -> the model's view of the group pair."""
    def side(s):
        sign = (beat[f"{s}_sign"] >> np.arange(g)) & 1
        mag = np.frombuffer(beat[f"{s}_mag"].to_bytes(g, "little"), np.uint8).astype(np.int64)
        return beat[f"{s}_base"] + beat[f"{s}_exp"], sign, mag, beat[f"{s}_flags"]
    return {"m_a": 2 * beat["prec_a"] + 2, "m_b": 2 * beat["prec_b"] + 2, "a": side("a"), "b": side("b"),
            "last": bool(beat["last"]), "cycle": beat["cycle"]}


class JobItem(StreamItem):
    """A burst of group pairs (one or many reductions), sent back to back."""

    def __init__(self, name, pairs: list[GroupPair]):
        super().__init__(name)
        self.pairs = pairs

    def beats(self):
        return [p.beat() for p in self.pairs]

    def __str__(self):
        return f"{self.get_name()}: {len(self.pairs)} group pairs"


def group_term(gp: dict) -> tuple[int, int, float]:
    """(P, X, term) of a decoded group pair: the chunk-serial product of the model."""
    ea, sa, ma, _ = gp["a"]
    eb, sb, mb, _ = gp["b"]
    p = int(fast.group_dot(sa, ma, sb, mb, gp["m_a"], gp["m_b"]))
    x = int(fast.term_exponent(ea, eb, gp["m_a"], gp["m_b"]))
    return p, x, term_fp32(p, x)


class FastMacScoreboard(Scoreboard):
    def reset_model(self):
        self.pairs = []
        self.accepts = []  # (rising edge that took the pair, its passes)
        self.results = []  # rising edge that took each result
        self.out_values = []  # each result's bits, as taken

    def build_phase(self):
        super().build_phase()
        self.reset_model()

    def pending(self) -> str:
        return f"{len(self.pairs)} group pairs of a reduction without its last" if self.pairs else ""

    def predict(self, port, txn):
        gp = decode_beat(txn, params()[0])
        self.accepts.append((gp["cycle"], fast.cycles_per_group(gp["m_a"], gp["m_b"])))
        self.pairs.append(gp)
        if not gp["last"]:
            return []
        pairs, self.pairs = self.pairs, []
        return [self.reduce(pairs)]

    def reduce(self, pairs: list[dict]) -> dict:
        terms = [group_term(gp) for gp in pairs]
        flags = np.array([gp["a"][3] | gp["b"][3] for gp in pairs])
        bits, f = accumulate(np.array([t for _, _, t in terms], np.float32)[:, None], flags[:, None])
        return {"result": int(bits[0]), "flags": int(f[0]), "pairs": pairs, "terms": terms}

    def write_output(self, actual) -> None:
        self.results.append(actual["cycle"])
        self.out_values.append(actual["result"])
        super().write_output(actual)

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        lines = "\n    ".join(f"m {gp['m_a']}x{gp['m_b']} Ea={gp['a'][0]} Eb={gp['b'][0]} flags={gp['a'][3]}|{gp['b'][3]}"
                              f" -> P={p} X={x} term {float(t)!r}"
                              for gp, (p, x, t) in list(zip(expected["pairs"], expected["terms"]))[:20])
        return (f"reduction of {len(expected['pairs'])} group pairs:\n    {lines}\n  "
                f"expected {expected['result']:08x} ({bits_float32(expected['result'])!r}) flags {expected['flags']}"
                f"\n  actual   {actual['result']:08x} ({bits_float32(actual['result'])!r}) flags {actual['flags']}")


def value_class(bits: int) -> str:
    e, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if e == 255:
        return "nan" if frac else "inf"
    if e == 0:
        return "subnormal" if frac else "zero"
    return "normal"


PREC_PAIRS = [(a, b) for a in PRECS for b in PRECS]


PAIR_KINDS = ["random", "max", "zero", "subnormal", "overflow", "flags"]


def pair_kind(gp: dict, p: int, term) -> str:
    """The corner class of a checked group pair, from what the port carried and the model's term."""
    if gp["a"][3] or gp["b"][3]:
        return "flags"
    if p == 0:
        return "zero"
    cls = value_class(int(np.float32(term).view(np.uint32)))
    if cls == "inf":
        return "overflow"
    if cls == "subnormal":
        return "subnormal"
    top_a, top_b = (1 << gp["m_a"]) - 1, (1 << gp["m_b"]) - 1
    if np.all(gp["a"][2] & top_a == top_a) and np.all(gp["b"][2] & top_b == top_b):
        return "max"
    return "random"


@CoverPoint("fast_mac.prec_pair", xf=lambda pp, k: pp, bins=PREC_PAIRS)
@CoverPoint("fast_mac.group_kind", xf=lambda pp, k: k, bins=PAIR_KINDS)
@CoverCross("fast_mac.prec_x_kind", items=["fast_mac.prec_pair", "fast_mac.group_kind"],
            ign_bins=[(pp, k) for pp in PREC_PAIRS for k in ("subnormal", "overflow", "flags")])
def _sample_pair(prec_pair, kind):
    pass


@CoverPoint("fast_mac.result", xf=lambda r, n, f: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
@CoverPoint("fast_mac.length", xf=lambda r, n, f: n, bins=["one", "few", "many"])
@CoverPoint("fast_mac.flags", xf=lambda r, n, f: f, bins=[0, 1, 2, 3])
def _sample_reduction(result, length, flags):
    pass


class FastMacCoverage(CoverageCollector):
    def sample(self, txn):
        n = len(txn["pairs"])
        _sample_reduction(value_class(txn["result"]), "one" if n == 1 else "few" if n < 8 else "many", txn["flags"])
        for gp, (p, _, t) in zip(txn["pairs"], txn["terms"]):
            _sample_pair((gp["m_a"], gp["m_b"]), pair_kind(gp, p, t))


class FastMacEnv(StreamEnv):
    inputs = {"in": ["prec_a", "prec_b", "a_base", "a_exp", "a_sign", "a_mag", "a_flags",
                     "b_base", "b_exp", "b_sign", "b_mag", "b_flags", "last"]}
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = FastMacScoreboard
    coverage_class = FastMacCoverage

    # Every stream's monitor publishes a beat at the falling edge after the rising edge that took it, and
    # `cycle` counts rising edges: the number of the taking edge.
    def convert_input(self, port, beat):
        return {**beat, "cycle": self.clock.cycle}

    def convert_output(self, beat):
        return {**beat, "cycle": self.clock.cycle}


# --- stimulus ---------------------------------------------------------------------------------------------
KINDS = ("random", "max", "zero", "subnormal", "overflow", "cancel", "flags")


def random_pair(rng: np.random.Generator, g: int, ew: int, kind: str, m_a: int, m_b: int,
                garbage: bool = True) -> GroupPair:
    """A group pair of a kind. Codes and bases cover the exponent range; magnitude bits above m are random
    garbage (the fMAC must ignore them) unless `garbage` is off."""
    emax = (1 << ew) - 1

    def mags(m, top=False):
        v = np.full(g, (1 << m) - 1) if top else rng.integers(0, 1 << m, g)
        junk = rng.integers(0, 256, g) & ~((1 << m) - 1) if garbage else 0
        return v | junk

    def exps():
        base = 0 if (ew == 8 and rng.random() < 0.7) else int(rng.integers(0, 256))
        code = int(rng.integers(0, emax + 1))
        return base, code

    (ba, ca), (bb, cb) = exps(), exps()
    sa, sb = rng.integers(0, 2, g), rng.integers(0, 2, g)
    ma, mb = mags(m_a), mags(m_b)
    fa = fb = 0
    if kind == "max":
        ma, mb = mags(m_a, True), mags(m_b, True)
        sa = np.full(g, int(rng.integers(0, 2)))
        sb = np.zeros(g, np.int64)
    elif kind == "zero":
        ma = ma & ~((1 << m_a) - 1)  # only garbage above m: the group is zero
    elif kind in ("subnormal", "overflow"):
        # Ea + Eb so that the term lands near 2^-126 (subnormal) or past 2^128 (log2 |term| ~ Ea + Eb - 251)
        target = int(rng.integers(-150, -124)) if kind == "subnormal" else int(rng.integers(122, 140))
        total = target + 251
        ea = total // 2
        eb = total - ea

        def split(e):  # E = base + code with code < 2^EW, base < 256
            code = int(rng.integers(max(0, e - 255), min(emax, e) + 1))
            return e - code, code
        (ba, ca), (bb, cb) = split(ea), split(eb)
    elif kind == "flags":
        fa, fb = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    return GroupPair(m_a, m_b, ba, ca, sa, ma, fa, bb, cb, sb, mb, fb, kind=kind)


def negated(gp: GroupPair) -> GroupPair:
    """The same group pair with A's signs flipped (where the magnitude chunks are nonzero): cancels gp."""
    base, code, sign, mag, flags = gp.a
    b = gp.b
    return GroupPair(gp.m_a, gp.m_b, base, code, 1 - sign, mag, flags, *b, kind="cancel")


def random_reduction(rng, g, ew, n, kinds=KINDS, precs=None) -> list[GroupPair]:
    """n group pairs (one reduction); precision pair fixed per reduction (as a layer's GEMM has it) unless
    `precs` is 'mixed' (every group pair its own)."""
    m_a, m_b = (int(rng.choice(PRECS)), int(rng.choice(PRECS))) if precs is None or precs == "mixed" else precs
    pairs = []
    for _ in range(n):
        if precs == "mixed":
            m_a, m_b = int(rng.choice(PRECS)), int(rng.choice(PRECS))
        kind = str(rng.choice(kinds))
        if kind == "cancel" and pairs:
            pairs.append(negated(pairs[-1]))
        else:
            pairs.append(random_pair(rng, g, ew, "random" if kind == "cancel" else kind, m_a, m_b))
    pairs[-1].last = True
    return pairs


class ReductionSequence(uvm_sequence):
    """`count` reductions of 1..max_len group pairs, `per_item` reductions per burst."""

    def __init__(self, name, count=60, max_len=6, kinds=KINDS, precs=None, per_item=4):
        super().__init__(name)
        self.count, self.max_len, self.kinds, self.precs, self.per_item = count, max_len, kinds, precs, per_item

    async def body(self):
        rng = seeds.rng(self.get_name())
        g, ew = params()
        for r in range(0, self.count, self.per_item):
            pairs = []
            for _ in range(min(self.per_item, self.count - r)):
                pairs += random_reduction(rng, g, ew, int(rng.integers(1, self.max_len + 1)), self.kinds, self.precs)
            item = JobItem(f"r{r}", pairs)
            await self.start_item(item)
            await self.finish_item(item)


def gemm_pairs(qa: fast.FastTensor, qb: fast.FastTensor) -> list[GroupPair]:
    """The group pairs of C = A B (qa: M x ng groups of A's rows, qb: N x ng of B's columns), output by
    output in row-major order, each a reduction over its ng groups."""
    pairs = []
    M, ng = qa.code.shape
    N = qb.code.shape[0]
    for i in range(M):
        for j in range(N):
            for k in range(ng):
                pairs.append(GroupPair(qa.m, qb.m, qa.base, qa.code[i, k], qa.sign[i, k], qa.mag[i, k], qa.flags[i, k],
                                       qb.base, qb.code[j, k], qb.sign[j, k], qb.mag[j, k], qb.flags[j, k],
                                       last=k == ng - 1))
    return pairs
