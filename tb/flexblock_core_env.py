"""flexblock_core bench layer: tensor loads and jobs, the end-to-end scoreboard (FP32 tensors -> models.core,
i.e. models.gemm on the pass's operands), coverage and the env."""
from __future__ import annotations

import functools

import cocotb
import numpy as np
from cocotb.triggers import Event
from cocotb_coverage.coverage import CoverCross, CoverPoint

from fbuvm import seeds
from fbuvm.components import CoverageCollector, ItemSequence, Scoreboard, StreamEnv, StreamItem
from models import bits_float32, float32_bits
from models.bfp import block_words
from models.core import BWD, FWD, G, PASS_NAMES, WG, W, X, bank_words, core_dw, core_gemm, requantize_output
from models.fp2bfp import ROUNDING_NAMES


def dut_params() -> dict:
    top = cocotb.top
    return {p: int(getattr(top, p).value) for p in ("ROWS", "COLS", "K", "DEPTH", "BDEPTH", "SR_BITS", "DW_W_MAX")}


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def stored_shapes(pass_: int, m: int, kdim: int, n: int, conv: bool = False) -> dict:
    """tensor region -> the stored shape a pass reads (spec section 6's table, restated); a conv FWD reads X
    as pixels x C (Kdim = 9 C) and W as 9C x Cout; a conv BWD dY as pixels x Cout (Kdim = 9 Cout) and W as
    9C x Cout (C = N); a conv WG X as pixels x C (M = 9 C) and dY as pixels x Cout (Kdim pixels)."""
    if conv:
        return {BWD: {G: (m, kdim // 9), W: (9 * n, kdim // 9)},
                WG: {X: (kdim, m // 9), G: (kdim, n)}}.get(pass_, {X: (m, kdim // 9), W: (kdim, n)})
    return {FWD: {X: (m, kdim), W: (kdim, n)},
            BWD: {G: (m, kdim), W: (n, kdim)},
            WG: {X: (kdim, m), G: (kdim, n)}}.get(pass_, {})


# The operand regions of each pass (spec section 6): A's, then B's.
OPERAND_REGIONS = {FWD: (X, W), BWD: (G, W), WG: (X, G)}
CAPACITY_CHECKS = ("A region", "B region", "A banks", "B banks")


def capacity(pass_: int, m: int, kdim: int, n: int, p: dict, conv: bool = False, mode_a: int = 0,
             mode_b: int = 0) -> dict:
    """The spec's four capacity checks of a job (pass 0-2, nonzero dimensions): check -> (used, limit). A
    stored operand in its FP32 region: rows * ceil(cols / K) words of DEPTH; a converted one in its BFP
    banks, densely packed: ceil(M / ROWS) * KBLOCKS * wa (A), ceil(N / COLS) * KBLOCKS * wb (B) words of a set's
    3 BDEPTH, w the mode's words per block (models.core.bank_words: FB12 1, FB16 2, FB24 3)."""
    k = p["K"]
    shapes = stored_shapes(pass_, m, kdim, n, conv)
    a, b = (shapes[r] for r in OPERAND_REGIONS[pass_])
    kb = cdiv(kdim, k)
    words = 3 * p["BDEPTH"]
    return {"A region": (a[0] * cdiv(a[1], k), p["DEPTH"]), "B region": (b[0] * cdiv(b[1], k), p["DEPTH"]),
            "A banks": (bank_words(mode_a, cdiv(m, p["ROWS"]) * kb, k), words),
            "B banks": (bank_words(mode_b, cdiv(n, p["COLS"]) * kb, k), words)}


def dw_shapes(pass_: int, h: int, w: int, c: int) -> dict:
    """A depthwise job's stored tensors: the map (X; dY for BWD; both for WG) H*W x C, the kernel W 9 x C."""
    return {FWD: {W: (9, c), X: (h * w, c)}, BWD: {W: (9, c), G: (h * w, c)},
            WG: {X: (h * w, c), G: (h * w, c)}}.get(pass_, {})


def dw_error(job: dict, p: dict) -> bool:
    """The spec's rule for a bad depthwise job (C = Kdim channels stored, group N), restated."""
    h, w, c, grp = job["img_h"], job["img_w"], job["kdim"], job["n"]
    if job["pass"] == 3 or 0 in (h, w, c) or w > p["DW_W_MAX"] or grp >= cdiv(c, p["K"]) or job["out_bfp"]:
        return True
    return any(rows * cdiv(cols, p["K"]) > p["DEPTH"] for rows, cols in dw_shapes(job["pass"], h, w, c).values())


def job_error(job: dict, p: dict) -> bool:
    """The spec's rule for a bad job, restated independently of the RTL."""
    if job.get("dw"):
        return dw_error(job, p)
    m, kdim, n = job["m"], job["kdim"], job["n"]
    if job["pass"] == 3 or 0 in (m, kdim, n):
        return True
    k = p["K"]
    if job["conv"] and (0 in (job["img_h"], job["img_w"])
                        or (m % 9 if job["pass"] == WG else kdim % (9 * k))):  # WG: M = 9 C; FWD/BWD: Kdim = 9 C, K | C
        return True
    return any(used > limit for used, limit in
               capacity(job["pass"], m, kdim, n, p, job["conv"], job["mode_a"], job["mode_b"]).values())


def capacity_edge(check: str, over: bool, p: dict, mode: int = 0) -> tuple[int, int, int, int] | None:
    """The cheapest (pass, M, Kdim, N) whose `check` is exactly at its limit (over=False: the job must be
    accepted) or just past it (over=True: it must get the error beat) while the other three checks fit, with
    both operands in `mode` (the banks' checks count words: FB12 1, FB16 2, FB24 3 per block): each check
    exercised alone. None if the parameters allow no such job (e.g. with ROWS = 2, DEPTH = 160, BDEPTH = 40 A's
    region cannot overflow while A's banks fit). Cost: words loaded + blocks computed."""
    return _capacity_edges(tuple(sorted(p.items())), mode)[check, over]


@functools.lru_cache(maxsize=None)
def _capacity_edges(params: tuple, mode: int = 0) -> dict:
    """Every (check, over) -> capacity_edge, in one sweep. A's checks depend only on (M, Kdim) and B's only on
    (N, Kdim), each nondecreasing: the other side is taken at 1 and the checked side searched (vectorized)
    over M or N, for Kdims at every block boundary and at the region boundaries DEPTH / c."""
    p = dict(params)
    k, depth, bdepth = p["K"], p["DEPTH"], p["BDEPTH"]
    kdims = {k * kb + d for kb in range(0, 3 * bdepth + 2) for d in (0, 1)}
    kdims |= {depth // c + d for c in range(1, 2 * k + 2) for d in (0, 1)}
    # M or N up to where a side's banks overflow in FB12 (3 BDEPTH blocks per bank) or its region does
    sizes = np.arange(1, max(4 * depth, (3 * bdepth + 1) * max(p["ROWS"], p["COLS"])) + 3)
    one = np.ones_like(sizes)
    best: dict = {(c, o): None for c in CAPACITY_CHECKS for o in (False, True)}
    for pass_ in (FWD, BWD, WG):
        for kdim in sorted(v for v in kdims if v > 0):
            limits = {c: lim for c, (_, lim) in capacity(pass_, 1, kdim, 1, p, False, mode, mode).items()}
            for side in "AB":
                m, n = (sizes, one) if side == "A" else (one, sizes)
                cap = {c: np.broadcast_to(u, sizes.shape)
                       for c, (u, _) in capacity(pass_, m, kdim, n, p, False, mode, mode).items()}
                fits = {c: cap[c] <= limits[c] for c in CAPACITY_CHECKS}
                for check in (c for c in CAPACITY_CHECKS if c[0] == side):
                    others = np.all([fits[c] for c in CAPACITY_CHECKS if c != check], axis=0)
                    for over in (False, True):
                        hit = (cap[check] > limits[check]) if over else (cap[check] == limits[check])
                        ok = np.flatnonzero(hit & others)
                        if not ok.size:
                            continue
                        i = int(ok[0])
                        cost = int(cap["A region"][i] + cap["B region"][i]
                                   + cap["A banks"][i] * cdiv(int(n[i]), p["COLS"]))
                        if best[check, over] is None or cost < best[check, over][0]:
                            best[check, over] = (cost, (pass_, int(m[i]), kdim, int(n[i])))
    return {key: v[1] if v else None for key, v in best.items()}


# --- transactions -----------------------------------------------------------------------------------------
class LoadTensor(StreamItem):
    """A tensor (rows x cols float32) into region `buf`, one ld beat per K elements of a row. Lanes beyond the
    last column carry NaN garbage (the core must ignore them)."""

    def __init__(self, name, buf: int, tensor: np.ndarray, k: int):
        super().__init__(name)
        self.buf, self.tensor, self.k = buf, np.asarray(tensor, np.float32), k

    def beats(self):
        rows, cols = self.tensor.shape
        cb = cdiv(cols, self.k)
        padded = np.full((rows, cb * self.k), 0x7FC0DEAD, np.uint32)
        padded[:, :cols] = float32_bits(self.tensor)
        words = padded.reshape(rows, cb, self.k).astype("<u4")
        return [{"buf": self.buf, "row": i, "cblk": j, "cols": cols, "data": int.from_bytes(words[i, j].tobytes(), "little")}
                for i in range(rows) for j in range(cb)]

    def __str__(self):
        return f"{self.get_name()}: region {self.buf} {self.tensor.shape}"


class JobItem(StreamItem):
    def __init__(self, name, pass_: int, m: int, kdim: int, n: int, mode_a: int = 0, mode_b: int = 0,
                 round_a: int = 0, round_b: int = 0, seed: int = 0xACE1, conv: tuple[int, int] | None = None,
                 out_bfp: tuple[int, int] | None = None, dw: tuple[int, int] | None = None):
        """out_bfp = (mode, rounding): the results requantized on chip to BFP blocks along C's rows. dw = (H, W):
        a depthwise job (kdim = C channels stored, n = the channel group; m unused)."""
        super().__init__(name)
        self.fields = {"pass": pass_, "m": m, "kdim": kdim, "n": n, "mode_a": mode_a, "mode_b": mode_b,
                       "round_a": round_a, "round_b": round_b, "seed": seed, "conv": int(conv is not None),
                       "img_h": (conv or dw or (0, 0))[0], "img_w": (conv or dw or (0, 0))[1], "dw": int(dw is not None),
                       "out_bfp": int(out_bfp is not None), "out_mode": out_bfp[0] if out_bfp else 0,
                       "out_round": out_bfp[1] if out_bfp else 0}

    def beat(self):
        return dict(self.fields)


class JobBurst(StreamItem):
    """Several jobs offered back to back (job_valid held): the next is taken as soon as the front is free."""

    def __init__(self, name, *jobs: JobItem):
        super().__init__(name)
        self.jobs = jobs

    def beats(self):
        return [j.beat() for j in self.jobs]




# --- scoreboard -------------------------------------------------------------------------------------------
class CoreScoreboard(Scoreboard):
    """Mirrors the loaded tensors (as matrices, not as the buffer's banks) and predicts each job's tile beats
    from them with models.core.core_gemm (models.gemm on the pass's operands: FP32 in, binary32 out)."""

    input_ports = ("ld", "job")

    def build_phase(self):
        super().build_phase()
        self.p = dut_params()
        self.tensors: dict = {}
        self.note = ""  # what the test is exercising, for the failure message
        self.reset_model()

    def reset_model(self):
        pass  # the RAMs keep their contents over a reset (spec section 6), and so does the mirror

    def predict(self, port, txn):
        if port == "ld":
            self._load(txn)
            return []
        return self._job(txn)

    def _load(self, beat):
        k = self.p["K"]
        cols, cb = beat["cols"], cdiv(beat["cols"], k)
        if beat["buf"] == 3 or cols == 0 or beat["cblk"] >= cb or beat["row"] * cb + beat["cblk"] >= self.p["DEPTH"]:
            return  # dropped (ld_error)
        t = self.tensors.setdefault(beat["buf"], {})
        data = np.frombuffer(beat["data"].to_bytes(4 * k, "little"), "<u4")
        for lane in range(k):
            t[(beat["row"], beat["cblk"] * k + lane, cols)] = int(data[lane])

    def _matrix(self, buf: int, rows: int, cols: int) -> np.ndarray:
        t = self.tensors.get(buf, {})
        try:
            bits = np.array([[t[(i, j, cols)] for j in range(cols)] for i in range(rows)], np.uint32)
        except KeyError as e:
            raise AssertionError(f"bench error: job reads region {buf} element {e} never loaded as {rows}x{cols}")
        return bits_float32(bits)

    def _job(self, job):
        p = self.p
        if job_error(job, p):
            return [{**self.no_block(), "error": 1, "last": 1, "row": 0, "col": 0,
                     "result": np.zeros(p["ROWS"] * p["COLS"], np.uint32),
                     "flags": np.zeros(p["ROWS"] * p["COLS"], np.uint8), "job": job}]
        if job["dw"]:
            return self._dw_job(job)
        m, kdim, n = job["m"], job["kdim"], job["n"]
        shapes = stored_shapes(job["pass"], m, kdim, n, job["conv"])
        mats = {buf: self._matrix(buf, *shape) for buf, shape in shapes.items()}

        def model(j):  # the job's C and flags from the tensors it reads (kept for a self-check's wrong model)
            return core_gemm(j["pass"], mats.get(X), mats.get(W), mats.get(G), j["mode_a"], j["mode_b"],
                             j["round_a"], j["round_b"], j["seed"], p["K"], p["SR_BITS"],
                             conv=(j["img_h"], j["img_w"]) if j["conv"] else None)
        c, flags = model(job)
        self.last_prediction = c
        return self.tiles(job, c, flags, model)

    def _dw_job(self, job):
        """A depthwise job's beats: models.core.core_dw on the stored tensors, each result row (pixel, or tap for
        WG) of K lanes split into ceil(K / (ROWS COLS)) beats of ROWS COLS slots (lanes past K +0)."""
        p = self.p
        h, w, c, grp = job["img_h"], job["img_w"], job["kdim"], job["n"]
        mats = {buf: self._matrix(buf, *shape) for buf, shape in dw_shapes(job["pass"], h, w, c).items()}

        def model(j):
            return core_dw(j["pass"], mats.get(X), mats.get(W), mats.get(G), h, w, grp, j["mode_a"], j["mode_b"],
                           j["round_a"], j["round_b"], j["seed"], p["K"], p["SR_BITS"])
        return self.dw_beats(job, *model(job), model)

    def dw_beats(self, job, bits, flags, model=None) -> list[dict]:
        p = self.p
        slots, k = p["ROWS"] * p["COLS"], p["K"]
        parts = cdiv(k, slots)
        pb = np.zeros((bits.shape[0], parts * slots), np.uint32)
        pf = np.zeros((bits.shape[0], parts * slots), np.uint8)
        pb[:, :k], pf[:, :k] = bits, flags
        out = []
        for r in range(bits.shape[0]):
            for j in range(parts):
                out.append({**self.no_block(), "error": 0, "last": int(r == bits.shape[0] - 1 and j == parts - 1),
                            "row": r, "col": job["n"] * k + j * slots, "result": pb[r, j * slots:(j + 1) * slots],
                            "flags": pf[r, j * slots:(j + 1) * slots], "job": job, "model": model, "index": len(out)})
        return out

    def no_block(self) -> dict:
        k = self.p["K"]
        return {"bfp": 0, "exp": 0, "sign": np.zeros(k, np.uint8), "mag": np.zeros(k, np.uint32), "bflags": 0}

    def tiles(self, job, c, flags, model=None) -> list[dict]:
        """The job's tile beats, row-major over tiles, slots outside M x N zero; or with out_bfp its BFP blocks
        (models.core.requantize_output)."""
        p = self.p
        if job["out_bfp"]:
            blocks = requantize_output(c, job["out_mode"], job["out_round"], job["seed"], p["ROWS"], p["K"],
                                       p["SR_BITS"])
            zeros = {"result": np.zeros(p["ROWS"] * p["COLS"], np.uint32), "flags": np.zeros(p["ROWS"] * p["COLS"], np.uint8)}
            return [{**zeros, "error": 0, "last": int(t == len(blocks) - 1), "row": b["row"], "col": b["col"], "bfp": 1,
                     "exp": b["exp"], "sign": b["sign"], "mag": b["mag"], "bflags": b["flags"], "job": job,
                     "model": model, "index": t} for t, b in enumerate(blocks)]
        m, n = job["m"], job["n"]
        rows, cols = p["ROWS"], p["COLS"]
        mt, nt = cdiv(m, rows), cdiv(n, cols)
        cb = np.zeros((mt * rows, nt * cols), np.uint32)
        cf = np.zeros((mt * rows, nt * cols), np.uint8)
        cb[:m, :n] = float32_bits(c)
        cf[:m, :n] = flags
        out = []
        for i in range(mt):
            for j in range(nt):
                out.append({**self.no_block(), "error": 0, "last": int(i == mt - 1 and j == nt - 1), "row": i * rows, "col": j * cols,
                            "result": cb[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols].ravel(),
                            "flags": cf[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols].ravel(), "job": job,
                            "model": model, "index": len(out)})
        return out

    def same(self, expected, actual):
        return (all(expected[f] == actual[f] for f in ("error", "last", "row", "col", "bfp", "exp", "bflags"))
                and all(np.array_equal(expected[f], actual[f]) for f in ("result", "flags", "sign", "mag")))

    def describe(self, expected, actual):
        job = expected["job"]
        note = f"{self.note}: " if self.note else ""
        lines = [f"{note}job {PASS_NAMES.get(job['pass'], job['pass'])} {job}; tile at ({expected['row']}, {expected['col']})",
                 "  " + ", ".join(f"{f}: expected {expected[f]} actual {actual[f]}"
                                  for f in ("error", "last", "row", "col", "bfp", "exp", "bflags"))]
        if expected["bfp"] or actual["bfp"]:
            lines.append(f"  sign: expected {expected['sign'].tolist()} actual {actual['sign'].tolist()}")
            lines.append(f"  mag:  expected {expected['mag'].tolist()} actual {actual['mag'].tolist()}")
        bad = np.flatnonzero((expected["result"] != actual["result"]) | (expected["flags"] != actual["flags"]))
        for i in bad[:8]:
            if job.get("dw"):  # a depthwise beat: slot i = channel out_col + i of pixel (or tap) out_row
                e, a = expected["result"][i], actual["result"][i]
                lines.append(f"  {'tap' if job['pass'] == WG else 'pixel'} {expected['row']} channel "
                             f"{expected['col'] + int(i)}: expected {e:08x} ({_value(e):.9g}) flags "
                             f"{expected['flags'][i]}  actual {a:08x} ({_value(a):.9g}) flags {actual['flags'][i]}")
                continue
            r, c = divmod(int(i), self.p["COLS"])
            e, a = expected["result"][i], actual["result"][i]
            lines.append(f"  C[{expected['row'] + r}][{expected['col'] + c}]: expected {e:08x} ({_value(e):.9g}) "
                         f"flags {expected['flags'][i]}  actual {a:08x} ({_value(a):.9g}) flags {actual['flags'][i]}")
        return "\n".join(lines)


def _value(bits) -> float:
    return float(np.array([bits], np.uint32).view(np.float32)[0])


# --- coverage ---------------------------------------------------------------------------------------------
@CoverPoint("flexblock_core.pass", xf=lambda job, kind: job["pass"], bins=[FWD, BWD, WG, 3])
@CoverPoint("flexblock_core.mode_pair", xf=lambda job, kind: (job["mode_a"], job["mode_b"]),
            bins=[(a, b) for a in range(3) for b in range(3)])
@CoverPoint("flexblock_core.words_a", xf=lambda job, kind: None if job["dw"] else block_words(job["mode_a"]),
            bins=[1, 2, 3])  # A's bank words per block (dense packing: FB12 1, FB16 2, FB24 3)
@CoverPoint("flexblock_core.words_b", xf=lambda job, kind: None if job["dw"] else block_words(job["mode_b"]),
            bins=[1, 2, 3])
@CoverPoint("flexblock_core.rounding", xf=lambda job, kind: job["round_a"], bins=list(ROUNDING_NAMES))
@CoverPoint("flexblock_core.kind", xf=lambda job, kind: kind, bins=["result", "error"])
@CoverPoint("flexblock_core.layer", xf=lambda job, kind: "dw" if job["dw"] else "conv" if job["conv"] else "fc",
            bins=["fc", "conv", "dw"])
@CoverPoint("flexblock_core.dw_pass", xf=lambda job, kind: job["pass"] if job["dw"] and kind == "result" else None,
            bins=[FWD, BWD, WG])
@CoverPoint("flexblock_core.conv_pass", xf=lambda job, kind: job["pass"] if job["conv"] and kind == "result" else None,
            bins=[FWD, BWD, WG])
@CoverPoint("flexblock_core.output", xf=lambda job, kind: job["out_mode"] if job["out_bfp"] else "binary32",
            bins=["binary32", 0, 1, 2])
@CoverPoint("flexblock_core.output_rounding", xf=lambda job, kind: job["out_round"] if job["out_bfp"] else None,
            bins=list(ROUNDING_NAMES))
@CoverCross("flexblock_core.pass_x_mode_pair", items=["flexblock_core.pass", "flexblock_core.mode_pair"],
            ign_bins=[(3, None)])
@CoverCross("flexblock_core.pass_x_rounding", items=["flexblock_core.pass", "flexblock_core.rounding"],
            ign_bins=[(3, None)])
def _sample(job, kind):
    pass


@CoverPoint("flexblock_core.result_flags", xf=lambda f: f, bins=[0, 1, 2, 3])
def _sample_flags(flags):
    pass


class CoreCoverage(CoverageCollector):
    def sample(self, txn):
        if txn["last"]:  # once per job
            _sample(txn["job"], "error" if txn["error"] else "result")
        for f in set(txn["flags"].tolist()):
            _sample_flags(f)


class CoreEnv(StreamEnv):
    outputs = {"out": ["result", "flags", "row", "col", "last", "error", "bfp", "exp", "sign", "mag", "bflags"]}
    scoreboard_class = CoreScoreboard
    coverage_class = CoreCoverage

    def build_phase(self):
        self.p = dut_params()
        self.inputs = {"ld": ["buf", "row", "cblk", "cols", "data"],
                       "job": ["pass", "m", "kdim", "n", "mode_a", "mode_b", "round_a", "round_b", "seed", "conv",
                               "img_h", "img_w", "out_bfp", "out_mode", "out_round", "dw"]}
        super().build_phase()
        self.lasts = 0
        self.job_edge = self.last_edge = 0
        self.job_edges, self.last_edges = [], []  # every job's take edge and last-beat edge, in order
        self.done = Event()
        self.sinks["out"].subscribe(self._take_out)
        self.sources["job"].subscribe(self._take_job)

    def _take_job(self, beat):
        self.job_edge = self.clock.cycle
        self.job_edges.append(self.job_edge)

    # Handshake times as rising-edge numbers (ClockReset.cycle): the monitors publish a beat at the falling
    # edge after the rising edge that took it.
    def _take_out(self, beat):
        if beat["last"]:
            self.lasts += 1
            self.last_edge = self.clock.cycle
            self.last_edges.append(self.last_edge)
            self.done.set()

    def convert_output(self, beat):
        n = self.p["ROWS"] * self.p["COLS"]
        result = np.frombuffer(beat["result"].to_bytes(4 * n, "little"), "<u4").copy()
        flags = np.array([(beat["flags"] >> (2 * i)) & 3 for i in range(n)], np.uint8)
        k = self.p["K"]
        sign = np.array([(beat["sign"] >> i) & 1 for i in range(k)], np.uint8)
        mag = np.frombuffer(beat["mag"].to_bytes(2 * k, "little"), "<u2").astype(np.uint32)
        return {**beat, "result": result, "flags": flags, "sign": sign, "mag": mag}

    async def load(self, tensors: dict) -> None:
        """Load tensors {region: matrix}."""
        items = [LoadTensor(f"ld{buf}", buf, t, self.p["K"]) for buf, t in tensors.items()]
        await ItemSequence("loads", *items).start(self.seqr["ld"])

    async def run_job(self, job: JobItem) -> int:
        """Send a job and wait for its last beat; returns its cycles (job edge to last-result edge)."""
        before = self.lasts
        await ItemSequence("job", job).start(self.seqr["job"])
        while self.lasts == before:
            self.done.clear()
            await self.clock.within(self.done.wait(), f"job {job.fields}: no last beat", cycles=200_000)
        self.scoreboard.flush()
        return self.last_edge - self.job_edge

    async def run_burst(self, jobs: list) -> tuple[list[int], list[int]]:
        """Offer jobs back to back and wait for all their last beats: (take edges, last-beat edges)."""
        t0, l0 = len(self.job_edges), len(self.last_edges)
        await ItemSequence("burst", JobBurst("burst", *jobs)).start(self.seqr["job"])
        while len(self.last_edges) < l0 + len(jobs):
            self.done.clear()
            await self.clock.within(self.done.wait(), f"burst of {len(jobs)} jobs: a last beat missing",
                                    cycles=2_000_000)
        self.scoreboard.flush()
        return self.job_edges[t0:], self.last_edges[l0:]


def random_tensors(rng: np.random.Generator, pass_: int, m: int, kdim: int, n: int, kind: str = "normal") -> dict:
    """The stored tensors a pass reads, random (kind: normal, or special-nan / -inf / -both / -huge: NaN and/or
    +/-Inf, or huge positive values whose products overflow binary32 to +Inf, with subnormals, zeros and an
    all-zero row mixed in)."""
    out = {}
    variant = kind.partition("-")[2] if kind.startswith("special") else None  # special-nan, -inf, -both, -huge
    for buf, (r, c) in stored_shapes(pass_, m, kdim, n).items():
        t = (rng.standard_normal((r, c)) * np.exp2(rng.integers(-4, 4, (r, 1)))).astype(np.float32)
        if variant:
            pick = rng.random((r, c))
            if variant in ("nan", "both"):
                t[pick < 0.04] = np.nan
            if variant in ("inf", "both"):
                t[(pick >= 0.04) & (pick < 0.07)] = np.inf * np.sign(rng.standard_normal())
            if variant == "huge":
                t[pick < 0.3] = np.float32(2.0 ** 120)
            sub = (pick >= 0.07) & (pick < 0.2)
            t[sub] = bits_float32(rng.integers(1, 1 << 23, sub.sum()).astype(np.uint32))
            t[(pick >= 0.2) & (pick < 0.35)] = 0.0
            if r > 1:
                t[0] = 0.0  # an all-zero row: zero blocks
        out[buf] = t
    return out


__all__ = ["dw_shapes", "dw_error", "CAPACITY_CHECKS", "capacity", "capacity_edge", "CoreEnv", "JobItem", "JobBurst", "LoadTensor", "random_tensors", "stored_shapes", "job_error", "seeds", "cdiv"]
