"""dw_unit bench layer: depthwise jobs (a cfg beat, the kernel / map / dY block streams), the model-based
scoreboard (models/dw_unit.py on each whole job), coverage and env. A job is one group of K channels of one
H x W map; its blocks are K channels of one pixel (or one kernel tap)."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint

from fbuvm import seeds
from fbuvm.components import CoverageCollector, ItemSequence, Scoreboard, StreamEnv, StreamItem, pack_lanes, unpack_lanes
from models import dw_unit as du
from models.bfp import BFPTensor, bits_float32, mag_bits
from models.fp2bfp import quantize

BLOCK_FIELDS = ["exp", "sign", "mag", "flags"]


def lanes() -> int:
    return int(cocotb.top.K.value)


def w_max() -> int:
    return int(cocotb.top.W_MAX.value)


# --- items ---------------------------------------------------------------------------------------------------
class CfgItem(StreamItem):
    def __init__(self, name, pass_: int, h: int, w: int, mode_a: int, mode_b: int):
        super().__init__(name)
        self.pass_, self.h, self.w, self.mode_a, self.mode_b = pass_, h, w, mode_a, mode_b

    def beat(self):
        return {"pass": self.pass_, "h": self.h, "w": self.w, "mode_a": self.mode_a, "mode_b": self.mode_b}


class BlocksItem(StreamItem):
    """A burst of blocks (one beat each) from a BFPTensor with one block per leading index (raster order)."""

    def __init__(self, name, t: BFPTensor | None):
        super().__init__(name)
        self.rows = [] if t is None else [
            {"exp": int(e), "sign": pack_lanes(s, 1), "mag": pack_lanes(m, 16), "flags": int(f)}
            for e, s, m, f in zip(t.exp.reshape(-1), t.sign.reshape(-1, t.block), t.mag.reshape(-1, t.block),
                                  t.flags.reshape(-1))]

    def beats(self):
        return self.rows

    def __str__(self):
        return f"{self.get_name()}: {len(self.rows)} blocks"


class Job:
    """One job: pass, map H x W, modes, and its tensors (a = X or dY; b = the kernel, or dY for WG). A bad
    configuration has no tensors (the unit takes no data for it)."""

    def __init__(self, name, pass_, h, w, mode_a, mode_b, a=None, b=None):
        self.name, self.pass_, self.h, self.w, self.mode_a, self.mode_b, self.a, self.b = \
            name, pass_, h, w, mode_a, mode_b, a, b

    @property
    def bad(self) -> bool:
        return self.pass_ == 3 or self.h == 0 or self.w == 0 or self.w > w_max()

    def items(self):
        cfg = CfgItem(f"{self.name}.cfg", self.pass_, self.h, self.w, self.mode_a, self.mode_b)
        if self.bad:
            return cfg, None, None, None
        k = BlocksItem(f"{self.name}.k", self.b) if self.pass_ != du.WG else None
        g = BlocksItem(f"{self.name}.g", self.b) if self.pass_ == du.WG else None
        return cfg, k, BlocksItem(f"{self.name}.x", self.a), g

    def __str__(self):
        return (f"job {self.name}: {['FWD', 'BWD', 'WG', 'pass 3'][self.pass_]} {self.h}x{self.w} modes "
                f"{self.mode_a}x{self.mode_b}")


# --- scoreboard ------------------------------------------------------------------------------------------------
def expected_beats(pass_, h, w, mode_a, mode_b, a: BFPTensor, b: BFPTensor) -> list[dict]:
    """The model's result beats of a job, in the unit's order."""
    bits, flags = du.run(pass_, a, b, mode_a, mode_b)
    bits, flags = bits[..., 0, :], flags[..., 0, :]  # the one channel group
    rows = bits.reshape(-1, bits.shape[-1])
    fl = flags.reshape(-1, flags.shape[-1])
    n = len(rows)
    return [{"result": pack_lanes(r, 32), "flags": pack_lanes(f, 2), "last": int(i == n - 1), "error": 0,
             "where": (f"output ({i // w}, {i % w})" if pass_ != du.WG else f"tap {i} (dh, dw) = {du.TAPS[i]}")}
            for i, (r, f) in enumerate(zip(rows, fl))]


ERROR_BEAT = {"result": 0, "flags": 0, "last": 1, "error": 1, "where": "error beat"}


class DwUnitScoreboard(Scoreboard):
    input_ports = ("cfg", "k", "x", "g")

    def build_phase(self):
        super().build_phase()
        self.jobs = 0  # jobs seen (numbered across resets)
        self.job = None

    def reset_model(self):
        self.job = None

    def pending(self):
        j = self.job
        return "" if j is None else f"job #{j['n']} ({j['desc']}) with {len(j['x'])} map, {len(j['k'])} kernel, " \
                                    f"{len(j['g'])} dY blocks"

    def _tensor(self, beats, lead, mode) -> BFPTensor:
        k = lanes()
        n = int(np.prod(lead))
        full = beats + [{"exp": 0, "sign": 0, "mag": 0, "flags": 0}] * (n - len(beats))  # zero-filled (reset)
        exp = np.array([b["exp"] for b in full], np.int64).reshape(*lead, 1)
        sign = np.array([unpack_lanes(b["sign"], 1, k) for b in full], np.uint8).reshape(*lead, 1, k)
        mag = np.array([unpack_lanes(b["mag"], 16, k) for b in full], np.int64).reshape(*lead, 1, k)
        flags = np.array([b["flags"] for b in full], np.uint8).reshape(*lead, 1)
        return BFPTensor(exp, sign, mag, flags, mode)

    def _expect(self, j, complete=True) -> list[dict]:
        a = self._tensor(j["x"], (j["h"], j["w"]), j["mode_a"])
        b = (self._tensor(j["g"], (j["h"], j["w"]), j["mode_b"]) if j["pass"] == du.WG
             else self._tensor(j["k"], (9,), j["mode_b"]))
        out = expected_beats(j["pass"], j["h"], j["w"], j["mode_a"], j["mode_b"], a, b)
        for e in out:
            e.update(job=j["n"], desc=j["desc"], a=a, b=b, pass_=j["pass"], modes=(j["mode_a"], j["mode_b"]))
        return out

    def predict(self, port, txn):
        if port == "cfg":
            if self.job is not None:
                self.fail(f"a cfg beat taken in the middle of job #{self.job['n']}: {txn}")
            p, h, w = int(txn["pass"]), int(txn["h"]), int(txn["w"])
            desc = f"{['FWD', 'BWD', 'WG', 'pass 3'][p]} {h}x{w} modes {txn['mode_a']}x{txn['mode_b']}"
            self.jobs += 1
            if p == 3 or h == 0 or w == 0 or w > w_max():
                return [{**ERROR_BEAT, "job": self.jobs, "desc": desc}]
            self.job = {"n": self.jobs, "pass": p, "h": h, "w": w, "mode_a": int(txn["mode_a"]),
                        "mode_b": int(txn["mode_b"]), "k": [], "x": [], "g": [], "desc": desc}
            return []
        j = self.job
        if j is None:
            self.fail(f"a {port} beat taken with no job: {txn}")
        j[port].append(txn)
        n = j["h"] * j["w"]
        if len(j["x"]) == n and (len(j["g"]) == n if j["pass"] == du.WG else len(j["k"]) == 9):
            self.job = None
            return self._expect(j)
        return []

    def on_dut_reset(self):
        # Results of a job cut by the reset that left before it only depend on the inputs taken so far: an
        # FWD/BWD output leaves once its window is in. Predict them with the rest of the map zero-filled.
        j = getattr(self, "job", None)
        if j is not None and j["pass"] != du.WG and len(j["k"]) == 9 and self.actual:
            self.expected.extend(self._expect(j)[:len(self.actual)])
            self._match()
        super().on_dut_reset()

    def same(self, expected, actual):
        return all(int(expected[f]) == int(actual[f]) for f in ("result", "flags", "last", "error"))

    def describe(self, expected, actual):
        k = lanes()
        text = f"job #{expected['job']} ({expected['desc']}), {expected['where']}:"
        er, ar = unpack_lanes(int(expected["result"]), 32, k), unpack_lanes(int(actual["result"]), 32, k)
        ef, af = unpack_lanes(int(expected["flags"]), 2, k), unpack_lanes(int(actual["flags"]), 2, k)
        for lane in range(k):
            if er[lane] != ar[lane] or ef[lane] != af[lane]:
                text += (f"\n  lane {lane}: expected {er[lane]:08x} ({bits_float32(er[lane])!r}) flags {ef[lane]}, "
                         f"actual {ar[lane]:08x} ({bits_float32(ar[lane])!r}) flags {af[lane]}")
                break
        return text + (f"\n  expected last {expected['last']} error {expected['error']}, actual last "
                       f"{int(actual['last'])} error {int(actual['error'])}")


# --- coverage ----------------------------------------------------------------------------------------------------
def _value_class(bits: int) -> str:
    e, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    return ("nan" if frac else "inf") if e == 255 else ("subnormal" if frac else "zero") if e == 0 else "normal"


@CoverPoint("dw_unit.pass", xf=lambda e: e["pass_"], bins=[0, 1, 2])
@CoverPoint("dw_unit.mode_a", xf=lambda e: e["modes"][0], bins=[0, 1, 2, 3])
@CoverPoint("dw_unit.mode_b", xf=lambda e: e["modes"][1], bins=[0, 1, 2, 3])
@CoverCross("dw_unit.pass_x_modes", items=["dw_unit.pass", "dw_unit.mode_a", "dw_unit.mode_b"])
def _sample_job(e):
    pass


@CoverPoint("dw_unit.result", xf=lambda c: c, bins=["zero", "subnormal", "normal", "inf", "nan"])
def _sample_result(c):
    pass


@CoverPoint("dw_unit.error", xf=lambda e: e, bins=[0, 1])
def _sample_error(e):
    pass


class DwUnitCoverage(CoverageCollector):
    def sample(self, txn):
        _sample_error(txn["error"])
        if txn["error"]:
            return
        if txn["last"]:
            _sample_job(txn)
        for r in unpack_lanes(int(txn["result"]), 32, lanes()):
            _sample_result(_value_class(r))


class DwUnitEnv(StreamEnv):
    inputs = {"cfg": ["pass", "h", "w", "mode_a", "mode_b"], "k": BLOCK_FIELDS, "x": BLOCK_FIELDS,
              "g": BLOCK_FIELDS}
    outputs = {"out": ["result", "flags", "last", "error"]}
    scoreboard_class = DwUnitScoreboard
    coverage_class = DwUnitCoverage

    def build_phase(self):
        super().build_phase()
        self.cfg_edges, self.last_edges = [], []  # handshake edges, for the cycle check
        self.sources["cfg"].subscribe(lambda beat: self.cfg_edges.append(self.clock.cycle))
        self.sinks["out"].subscribe(lambda beat: self.last_edges.append(self.clock.cycle) if beat["last"] else None)


# --- stimulus ------------------------------------------------------------------------------------------------------
KINDS = ("random", "near", "huge", "zero", "fp32")


def random_blocks(rng: np.random.Generator, lead, k: int, mode: int, kind: str = "random") -> BFPTensor:
    """Blocks of a kind: 'random' (any exponent), 'near' (exponents near 127: normal results, cancellation),
    'huge' (exponents near 254: products overflow to Inf, Inf - Inf = NaN), 'zero' (many zero blocks and
    channels), 'fp32' (converted from FP32 data with NaN/Inf/subnormals by models.fp2bfp: flagged blocks).
    Signs canonical, magnitudes within the mode's W (the port's contract)."""
    lead = tuple(lead)
    if kind == "fp32":
        x = (rng.standard_normal((*lead, k)) * 10.0 ** rng.integers(-3, 4, (*lead, 1))).astype(np.float32)
        special = rng.random(x.shape)
        x = np.where(special < 0.02, np.nan, np.where(special < 0.04, -np.inf, x)).astype(np.float32)
        x = np.where(special > 0.97, np.float32(1e-40), x).astype(np.float32)
        q = quantize(x, mode, int(rng.integers(0, 4)), k, int(rng.integers(0, 1 << 16)))
        return BFPTensor(q.exp[..., 0], q.sign[..., 0, :], q.mag[..., 0, :], q.flags[..., 0], mode)
    w = mag_bits(mode)
    exp = {"random": rng.integers(0, 255, lead), "near": rng.integers(118, 137, lead),
           "huge": rng.integers(215, 255, lead), "zero": rng.integers(100, 150, lead)}[kind]
    mag = rng.integers(0, 1 << w, (*lead, k))
    mag = np.where(rng.random((*lead, k)) < 0.1, (1 << w) - 1, mag)
    mag = np.where(rng.random((*lead, k)) < (0.5 if kind == "zero" else 0.1), 0, mag)
    mag = np.where((rng.random(lead) < (0.3 if kind == "zero" else 0.05))[..., None], 0, mag)
    sign = (rng.integers(0, 2, mag.shape) & (mag != 0)).astype(np.uint8)
    flags = np.where(rng.random(lead) < 0.05, rng.integers(1, 4, lead), 0).astype(np.uint8)
    return BFPTensor(exp.astype(np.int64), sign, mag.astype(np.int64), flags, mode)


def make_job(rng: np.random.Generator, name: str, pass_=None, h=None, w=None, mode_a=None, mode_b=None,
             kind=None, max_side: int = 6) -> Job:
    k, wm = lanes(), w_max()
    pass_ = int(rng.integers(0, 3)) if pass_ is None else pass_
    h = int(rng.integers(1, max_side + 1)) if h is None else h
    w = int(rng.integers(1, min(max_side, wm) + 1)) if w is None else w
    mode_a = int(rng.integers(0, 4)) if mode_a is None else mode_a
    mode_b = int(rng.integers(0, 4)) if mode_b is None else mode_b
    kind = str(rng.choice(KINDS)) if kind is None else kind
    job = Job(name, pass_, h, w, mode_a, mode_b)
    if job.bad:
        return job
    job.a = random_blocks(rng, (h, w), k, mode_a, kind)
    job.b = random_blocks(rng, (h, w) if pass_ == du.WG else (9,), k, mode_b, kind)
    return job


async def run_job(env: DwUnitEnv, job: Job) -> None:
    """Send one job: its items are made first and its streams run concurrently (the unit paces them), so a
    reset drops the rest of the job as a whole."""
    await run_jobs_overlapped(env, [job])


async def run_jobs_overlapped(env: DwUnitEnv, jobs: list[Job]) -> None:
    """Jobs with every beat offered as early as the unit can take it: one burst per stream for all the jobs
    (the driver's pause between items must not be measured by the cycle check)."""
    items = [j.items() for j in jobs]
    seqs = []
    for port, idx in (("cfg", 0), ("k", 1), ("x", 2), ("g", 3)):
        mine = [it[idx] for it in items if it[idx] is not None]
        if port != "cfg" and mine:
            merged = BlocksItem(f"{jobs[0].name}..{jobs[-1].name}.{port}", None)
            merged.rows = [r for m in mine for r in m.rows]
            merged.epoch = mine[0].epoch
            mine = [merged]
        if mine:
            seqs.append(cocotb.start_soon(ItemSequence(port, *mine).start(env.seqr[port])))
    for s in seqs:
        await s


async def run_jobs(env: DwUnitEnv, prefix: str, count: int, **kw) -> None:
    rng = seeds.rng(prefix)
    for n in range(count):
        await run_job(env, make_job(rng, f"{prefix}{n}", **kw))
