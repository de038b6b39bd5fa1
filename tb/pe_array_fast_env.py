"""pe_array bench at simulator speed: pyuvm above SystemVerilog transactors (tb/sv/pe_array_harness.sv).

The per-cycle work (driving operand beats, idle gaps, back-pressure, taking results, watching the pins) is
done by the harness in SystemVerilog; Python wakes once per batch of GEMM jobs:
  sequence  -> a HarnessBatch item (jobs, quantized by the model; the LFSR seed and idle/back-pressure rates)
  driver    writes the batch's files (job table, A row panels, B column panels) and toggles `req`
  monitor   on `ack`, reads the harness's records (the pins): every configuration taken with its cycle and
            the operand beats taken before it, the beats taken, every result with its cycle; publishes them
  scoreboard checks the records against what the driver sent and every tile, bit-exactly, against the
            model's bfp_gemm; the first mismatch fails with its tile, expected, actual and the seed.
The per-cycle benches (tb/pe_array_tests.py) keep the protocol tests that need cycle control (config while
busy, reset mid-tile, configuration corners)."""
from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, FallingEdge, RisingEdge, SimTimeoutError, with_timeout
from pyuvm import (uvm_analysis_port, uvm_driver, uvm_env, uvm_monitor, uvm_sequence, uvm_sequence_item,
                   uvm_sequencer, uvm_subscriber, uvm_test)

from fbuvm import seeds
from fbuvm.components import ScoreboardError, write_stats
from models import ARRAY_FILL, BFPTensor, Fp2Bfp, bfp_gemm, bits_float32
from pe_array_env import GemmJob, _sample_tile, ideal_cycles, quantize_jobs, utilization


def harness_params() -> dict[str, int]:
    top = cocotb.top
    return {p: int(getattr(top, p).value) for p in ("ROWS", "COLS", "K", "A_DEPTH", "B_DEPTH", "OUT_DEPTH",
                                                     "JOB_DEPTH")}


# --- the harness's file formats (tb/sv/pe_array_harness.sv header) ----------------------------------------
def by_slot(v: np.ndarray, slots: int) -> np.ndarray:
    """(M, kblocks, ...) -> (slots, M / slots * kblocks, ...): panel p's block k is beat p * kblocks + k."""
    m, kb = v.shape[:2]
    return v.reshape(m // slots, slots, kb, *v.shape[2:]).swapaxes(0, 1).reshape(slots, m // slots * kb, *v.shape[2:])


def operand_lines(tensors: list[BFPTensor], slots: int) -> list[str]:
    """The panels of `slots` rows of each tensor (M, kblocks, K), one after the other -> one hex word per
    beat: pe_array's beat {exp, sign, mag, flags} with flags zero-extended to whole bytes (so every field
    is whole bytes and the words come out of one numpy pass)."""
    if not tensors:
        return []
    exp, sign, mag, flags = (np.concatenate([by_slot(np.asarray(getattr(q, f)), slots) for q in tensors], axis=1)
                             for f in ("exp", "sign", "mag", "flags"))
    n = exp.shape[1]
    # msb first: slot slots-1 (element K-1) first, as in the beat's bit order
    e = exp.T[:, ::-1].astype(np.uint8)
    sg = np.packbits(sign.swapaxes(0, 1).reshape(n, -1)[:, ::-1].astype(np.uint8), axis=1)
    m = mag.swapaxes(0, 1).reshape(n, -1)[:, ::-1].astype(">u2").view(np.uint8)
    fb = (2 * slots + 7) // 8
    fv = (flags.T.astype(np.uint64) << (2 * np.arange(slots, dtype=np.uint64))).sum(axis=1)
    f = fv.astype(">u8").view(np.uint8).reshape(n, 8)[:, 8 - fb:]
    words = np.ascontiguousarray(np.concatenate([e, sg, m, f], axis=1)).tobytes().hex()
    w = len(words) // n
    return [words[i:i + w] for i in range(0, len(words), w)]


@dataclass
class Piece:
    """A job's rows of tiles [i0, i1) as the harness runs it: configured (only the job's first piece), its
    panels at a_base / b_base of the batch's memories."""
    job: GemmJob
    i0: int
    i1: int
    configure: bool
    a_base: int = 0
    b_base: int = 0
    tiles_j: int = 0  # tiles per row of tiles (the job's B panels)

    def __post_init__(self):
        self.tiles_j = self.job.tiles[-1][1] + 1  # job.tiles: (i, j), i-major

    @property
    def tiles(self) -> int:
        return (self.i1 - self.i0) * self.tiles_j

    @property
    def beats(self) -> int:
        return self.tiles * self.job.kblocks


class HarnessBatch(uvm_sequence_item):
    """Jobs the harness runs in one go, and the flow it runs them with (reported)."""

    def __init__(self, name, pieces: list[Piece], seed: int, idle_thr: int, bp_thr: int):
        super().__init__(name)
        self.pieces, self.seed, self.idle_thr, self.bp_thr = pieces, seed, idle_thr, bp_thr
        self.index = -1
        self.error: ScoreboardError | None = None  # the scoreboard's, raised in the test by the sequence
        self.a_lines: list[str] = []
        self.b_lines: list[str] = []
        self.job_lines: list[str] = []
        self._expected: list | None = None

    def expected(self, rows: int, cols: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The model's tiles of every piece (expected_tiles), computed once per batch: the scoreboard checks
        against them, and with FLEXBLOCK_KEEP_STIM the driver writes them for the ceiling bench."""
        if self._expected is None:
            self._expected = [expected_tiles(p, rows, cols) for p in self.pieces]
        return self._expected

    def layout(self, rows: int, cols: int) -> None:
        """The batch's files: the A and B panels of every piece (a job's B panels once, shared by its pieces)."""
        b_base_of: dict[int, int] = {}
        a_parts, b_parts, a_n, b_n = [], [], 0, 0
        for p in self.pieces:
            job = p.job
            p.a_base = a_n
            a_parts.append(job.qa[p.i0 * rows:p.i1 * rows])
            a_n += p.beats // p.tiles_j
            if id(job) not in b_base_of:
                b_base_of[id(job)] = b_n
                b_parts.append(job.qb)
                b_n += p.tiles_j * job.kblocks
            p.b_base = b_base_of[id(job)]
        self.a_lines = operand_lines(a_parts, rows)
        self.b_lines = operand_lines(b_parts, cols)
        for p in self.pieces:
            job = p.job
            kb = job.kblocks
            word = ((((int(p.configure) << 2 | job.mode_a) << 2 | job.mode_b) << 16 | kb) << 16 | kb)
            word = (((word << 16 | (p.i1 - p.i0)) << 16 | p.tiles_j) << 32 | p.a_base) << 32 | p.b_base
            self.job_lines.append(f"{word:x}")

    @property
    def tiles(self) -> int:
        return sum(p.tiles for p in self.pieces)

    def __str__(self):
        return (f"batch {self.index}: {len(self.pieces)} jobs, {self.tiles} tiles, seed {self.seed:#x}, "
                f"idle {self.idle_thr}/256, back-pressure {self.bp_thr}/256")


@dataclass
class BatchRecord:
    """What the harness's pin monitor and sink saw during one batch."""
    batch: HarnessBatch
    cfgs: list[dict] = field(default_factory=list)   # {edge, a_before, mode_a, mode_b, kblocks}
    a_taken: int = 0
    b_taken: int = 0
    edges: np.ndarray | None = None    # (tiles,) rising edge that took each result
    results: np.ndarray | None = None  # (tiles, ROWS*COLS) binary32 bits
    flags: np.ndarray | None = None    # (tiles, ROWS*COLS)
    stray: int = 0                     # results taken between batches so far (the harness's n_stray)


def read_hex(path: Path) -> list[int]:
    words = []
    for line in path.read_text().splitlines():
        line = line.split("//", 1)[0].strip()  # Icarus writes an address comment first
        if not line or line.startswith("@"):
            continue
        try:
            words.append(int(line, 16))
        except ValueError:
            raise ScoreboardError(f"{path.name}: an X/Z value in the harness's records: {line[:80]}") from None
    return words


def read_words(path: Path, bits: int) -> np.ndarray:
    """A $writememh file of `bits`-bit words -> (words, bytes) uint8, each word big-endian, right-aligned."""
    nbytes = -(-bits // 8)
    lines = (line.split("//", 1)[0].strip() for line in path.read_text().splitlines())
    text = "".join(line.rjust(2 * nbytes, "0") for line in lines if line and not line.startswith("@"))
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        bad = next(line for line in path.read_text().splitlines() if any(c in line.lower() for c in "xz?"))
        raise ScoreboardError(f"{path.name}: an X/Z value in the harness's records: {bad[:80]}") from None
    return np.frombuffer(raw, np.uint8).reshape(-1, nbytes)


def unpack_records(words: np.ndarray, rc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """out words {edge[32], out_flags, out_result} (read_words) -> (edges (n,), results (n, rc) binary32
    bits, flags (n, rc)); element e's result sits at bits 32e of out_result, its flags at bits 2e."""
    n = words.shape[0]
    results = np.ascontiguousarray(words[:, words.shape[1] - 4 * rc:]).view(">u4")[:, ::-1].astype(np.uint32)
    head = np.unpackbits(words[:, :words.shape[1] - 4 * rc], axis=1)[:, -(32 + 2 * rc):]  # {edge, flags}, msb first
    flags = (2 * head[:, 32::2] + head[:, 33::2])[:, ::-1].astype(np.uint8)
    edges = head[:, :32].astype(np.int64) @ (np.int64(1) << np.arange(31, -1, -1, dtype=np.int64))
    return edges.reshape(n), results.reshape(n, rc), flags.reshape(n, rc)


def result_lines(bits: np.ndarray, flags: np.ndarray) -> list[str]:
    """(tiles, ROWS*COLS) results and flags -> {out_flags, out_result} words in hex, the harness's layout
    (element e's flags at bits 2e, its result at bits 32e), one numpy pass."""
    t, rc = bits.shape
    f = np.concatenate([np.zeros((t, (-rc) % 4), np.uint8), flags[:, ::-1].astype(np.uint8)], axis=1)
    f = f.reshape(t, -1, 4)
    fb = (f[..., 0] << 6) | (f[..., 1] << 4) | (f[..., 2] << 2) | f[..., 3]
    rb = np.ascontiguousarray(bits[:, ::-1]).astype(">u4").view(np.uint8).reshape(t, -1)
    text = np.concatenate([fb.astype(np.uint8), rb], axis=1).tobytes().hex()
    w, skip = len(text) // t, len(text) // t - -(-34 * rc // 4)  # skip: the flags' padding digits
    return [text[i + skip:i + w] for i in range(0, len(text), w)]


class StimFiles:
    """Where the driver writes batches and the harness writes its records: <simulator's cwd>/stim. With
    FLEXBLOCK_KEEP_STIM=1 every batch stays, with its expected results and lengths, for the ceiling bench."""

    count = 0  # batches so far in this simulation (every test's): b<count> names the next one

    def __init__(self):
        self.dir = Path(os.getcwd()) / "stim"
        self.dir.mkdir(exist_ok=True)
        self.keep = os.environ.get("FLEXBLOCK_KEEP_STIM") == "1"

    def path(self, index: int, kind: str) -> Path:
        return self.dir / f"b{index}.{kind}.hex"

    def remove(self, index: int) -> None:
        if not self.keep:
            for kind in ("job", "a", "b", "out", "cfg"):
                self.path(index, kind).unlink(missing_ok=True)


# --- agent ------------------------------------------------------------------------------------------------
class HarnessDriver(uvm_driver):
    """Hands each batch to the SystemVerilog source: its files, its counts and flow, one `req` toggle; the
    item is done when the monitor has published the batch's records."""

    def connect(self, dut, files: StimFiles, published: Event, params: dict, sent: list, requested: Event):
        self.dut, self.files, self.published, self.params, self.sent = dut, files, published, params, sent
        self.requested = requested

    async def run_phase(self):
        dut, p = self.dut, self.params
        while True:
            batch = await self.seq_item_port.get_next_item()
            batch.index = StimFiles.count
            StimFiles.count += 1
            batch.layout(p["ROWS"], p["COLS"])
            if (len(batch.a_lines) > p["A_DEPTH"] or len(batch.b_lines) > p["B_DEPTH"]
                    or batch.tiles > p["OUT_DEPTH"] or len(batch.pieces) > p["JOB_DEPTH"]):
                raise ValueError(f"{batch} does not fit the harness's memories {p}")
            for kind, lines in (("job", batch.job_lines), ("a", batch.a_lines), ("b", batch.b_lines)):
                self.files.path(batch.index, kind).write_text("\n".join(lines) + "\n")
            if self.files.keep:  # for the no-Python ceiling bench: lengths, flow and the model's results
                self.files.path(batch.index, "len").write_text("\n".join(f"{v:x}" for v in (
                    len(batch.job_lines), len(batch.a_lines), len(batch.b_lines), batch.tiles, batch.seed,
                    batch.idle_thr, batch.bp_thr)) + "\n")
                exp = batch.expected(p["ROWS"], p["COLS"])
                self.files.path(batch.index, "exp").write_text("\n".join(result_lines(
                    np.concatenate([e[0] for e in exp]), np.concatenate([e[1] for e in exp]))) + "\n")
            await FallingEdge(dut.clk)
            dut.batch.value = batch.index
            dut.n_jobs.value = len(batch.job_lines)
            dut.n_a.value = len(batch.a_lines)
            dut.n_b.value = len(batch.b_lines)
            dut.seed.value = batch.seed
            dut.idle_thr.value = batch.idle_thr
            dut.bp_thr.value = batch.bp_thr
            self.published.clear()
            batch.req = 1 - int(dut.req.value)
            dut.req.value = batch.req
            self.sent.append(batch)  # the monitor pairs the harness's records with it
            self.requested.set()
            # a lock-up must fail, not hang: far more cycles than the batch can need at the slowest flow
            # at most K/16 * 16 steps per block pair (FB24 x FB24): 50x that covers the slowest flow
            budget = 50 * sum(pc.beats for pc in batch.pieces) * p["K"] + 20_000
            try:
                await with_timeout(self.published.wait(), budget * 10, "ns")
            except SimTimeoutError:
                raise ScoreboardError(f"{batch}: no end of batch within {budget} cycles (a lock-up?); "
                                      f"results taken so far {int(dut.n_out.value)} of {batch.tiles}; seed "
                                      f"{seeds.run_seed()}") from None
            self.seq_item_port.item_done()


class HarnessMonitor(uvm_monitor):
    """Passive: wakes on `ack` and reads what the harness's pin monitor and sink recorded for the batch."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    def connect(self, dut, files: StimFiles, published: Event, params: dict, sent: list, requested: Event):
        self.dut, self.files, self.published, self.params, self.sent = dut, files, published, params, sent
        self.requested = requested

    async def run_phase(self):
        dut, rc = self.dut, self.params["ROWS"] * self.params["COLS"]
        while True:
            while not self.sent:  # the driver toggled req for the oldest batch sent: wait for ack to follow
                await self.requested.wait()
                self.requested.clear()
            batch = self.sent.pop(0)
            await (RisingEdge(dut.ack) if batch.req else FallingEdge(dut.ack))
            rec = BatchRecord(batch, a_taken=int(dut.a_taken.value), b_taken=int(dut.b_taken.value),
                              stray=int(dut.n_stray.value))
            n_out, n_cfg = int(dut.n_out.value), int(dut.n_cfg.value)
            words = (read_words(self.files.path(batch.index, "out"), 32 + 34 * rc) if n_out
                     else np.zeros((0, -(-(32 + 34 * rc) // 8)), np.uint8))
            rec.edges, rec.results, rec.flags = unpack_records(words, rc)
            for w in (read_hex(self.files.path(batch.index, "cfg")) if n_cfg else []):
                rec.cfgs.append({"edge": w >> 52, "a_before": (w >> 20) & 0xFFFFFFFF, "mode_a": (w >> 18) & 3,
                                 "mode_b": (w >> 16) & 3, "kblocks": w & 0xFFFF})
            self.files.remove(batch.index)
            try:  # the scoreboard checks as it is written; its verdict goes back to the test with the batch
                self.ap.write(rec)
            except ScoreboardError as e:
                batch.error = e
            self.published.set()


def expected_tiles(piece: Piece, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's tiles of a piece, in the harness's order (i-major, j-minor): (tiles, ROWS*COLS) binary32
    bits and flags."""
    job = piece.job
    bits, flags = bfp_gemm(job.qa[piece.i0 * rows:piece.i1 * rows], job.qb)
    ti, tj = piece.i1 - piece.i0, piece.tiles_j
    tile = lambda v: v.reshape(ti, rows, tj, cols).swapaxes(1, 2).reshape(ti * tj, rows * cols)
    return tile(bits), tile(flags)


# --- scoreboard -------------------------------------------------------------------------------------------
class HarnessScoreboard(uvm_subscriber):
    """Checks each batch's records: the configurations the pins show taken (fields, and how many operand
    beats came before each: a configuration applies to the operands after it), the operand beats taken, the
    number of results, and every tile's result and flags bit-exactly against the model's bfp_gemm of the
    operands taken. In-order; the first mismatch fails with the output number, tile, expected, actual, seed."""

    def build_phase(self):
        self.checked = 0
        self.jobs_checked = 0
        self.cycles: dict[int, int] = {}  # id(job) -> cycles from its configuration to its last result
        self.started: dict[int, int] = {}  # id(job) -> rising edge that took its configuration
        self.split: set[int] = set()       # jobs run over more than one batch

    def fail(self, message: str) -> None:
        text = (f"{self.get_full_name()}: {message}\n  seed: {seeds.run_seed()}\n"
                f"  re-run: {seeds.rerun_command(os.environ.get('FLEXBLOCK_TESTCASE'))}")
        self.logger.error(text)
        raise ScoreboardError(text)

    def expected(self, piece: Piece, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        return expected_tiles(piece, rows, cols)

    def expected_pieces(self, batch: HarnessBatch, rows: int, cols: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The model's tiles of every piece of the batch (expected_tiles)."""
        return batch.expected(rows, cols)

    def write(self, rec: BatchRecord):
        batch = rec.batch
        rows, cols = cocotb.top.ROWS.value, cocotb.top.COLS.value
        rows, cols = int(rows), int(cols)
        if rec.stray:
            self.fail(f"{batch}: {rec.stray} results were taken between batches, when no tile was in flight")
        beats = sum(p.beats for p in batch.pieces)
        if rec.a_taken != beats or rec.b_taken != beats:
            self.fail(f"{batch}: the pins show {rec.a_taken} A and {rec.b_taken} B beats taken, {beats} sent")
        configured = [p for p in batch.pieces if p.configure]
        if len(rec.cfgs) != len(configured):
            self.fail(f"{batch}: {len(rec.cfgs)} configurations taken, {len(configured)} sent")
        if len(rec.results) != batch.tiles:
            self.fail(f"{batch}: {len(rec.results)} results taken, {batch.tiles} expected")
        before, c, t = 0, 0, 0
        seen = set()  # coverage: each (mode pair, tile kind, flags) the batch's tiles hit, sampled once
        for p, (bits, flags) in zip(batch.pieces, self.expected_pieces(batch, rows, cols)):
            job = p.job
            if p.configure:
                got, want = rec.cfgs[c], {"a_before": before, "mode_a": job.mode_a, "mode_b": job.mode_b,
                                          "kblocks": job.kblocks}
                if any(got[k] != v for k, v in want.items()):
                    self.fail(f"{batch}, job {job.name}: configuration taken {got}, sent {want} (a_before: operand "
                              f"beats taken before it)")
                self.started[id(job)], c = got["edge"], c + 1
            got_bits, got_flags = rec.results[t:t + p.tiles], rec.flags[t:t + p.tiles]
            bad = np.flatnonzero(((bits != got_bits) | (flags != got_flags)).any(axis=1))
            if bad.size:
                n = int(bad[0])
                i, j = divmod(n, p.tiles_j)
                diff = np.flatnonzero((bits[n] != got_bits[n]) | (flags[n] != got_flags[n]))
                lines = [f"mismatch on output #{self.checked + n}: batch {batch.index}, job {job.name} "
                         f"(modes {job.mode_a} x {job.mode_b}, {job.kblocks} blocks), tile ({p.i0 + i}, {j}); "
                         f"{diff.size} of {rows * cols} results differ"]
                for e in diff[:8]:
                    r, cc = divmod(int(e), cols)
                    lines.append(f"C[{r}][{cc}]: expected {bits[n][e]:08x} ({bits_float32(bits[n][e])!r}) flags "
                                 f"{flags[n][e]}  actual {got_bits[n][e]:08x} ({bits_float32(got_bits[n][e])!r}) "
                                 f"flags {got_flags[n][e]}")
                self.fail("\n  ".join(lines))
            kind = "single_block" if job.kblocks == 1 else "multi_block"
            for f in np.flatnonzero(np.bincount(flags.ravel(), minlength=4)).tolist():  # (np.unique: slow import)
                seen.add((job.mode_a, job.mode_b, kind, f))
            self.checked += p.tiles
            t += p.tiles
            before += p.beats
            if not (p.configure and p.i1 * rows >= job.qa.exp.shape[0]):  # not the whole job in this piece
                self.split.add(id(job))
            if p.i1 * rows >= job.qa.exp.shape[0]:  # the job's last tile
                self.cycles[id(job)] = int(rec.edges[t - 1]) - self.started[id(job)]
            self.jobs_checked += 1
        for ma, mb, kind, f in sorted(seen):
            _sample_tile({"mode_a": ma, "mode_b": mb}, kind, f)

    def check_phase(self):
        if self.checked == 0:
            self.fail("no output was checked")
        stray = int(cocotb.top.n_stray.value)  # after the test's quiet window
        if stray:
            self.fail(f"{stray} results were taken between batches or after the last one")

    def report_phase(self):
        self.logger.info(f"{self.checked} tiles checked, all bit-exact")
        write_stats({"checked": self.checked})


class WrongExponentScoreboard(HarnessScoreboard):
    """A deliberately wrong model (B's nonzero exponents one too large): must fail on the first tile it
    gets wrong."""

    def expected(self, piece, rows, cols):
        job = piece.job
        b = job.qb
        wrong = GemmJob(job.name, job.a, job.b, job.mode_a, job.mode_b,
                        qa=job.qa, qb=BFPTensor(b.exp + (b.exp > 0), b.sign, b.mag, b.flags, b.mode))
        wrong.tiles = job.tiles
        return super().expected(Piece(wrong, piece.i0, piece.i1, piece.configure), rows, cols)

    def expected_pieces(self, batch, rows, cols):
        return [self.expected(p, rows, cols) for p in batch.pieces]

    def check_phase(self):
        pass  # the test checks that the first mismatch was caught, on the right tile


class HarnessEnv(uvm_env):
    scoreboard_class = HarnessScoreboard

    def build_phase(self):
        self.dut = cocotb.top
        self.params = harness_params()
        self.rows, self.cols, self.k = self.params["ROWS"], self.params["COLS"], self.params["K"]
        self.seqr = uvm_sequencer("seqr", self)
        self.driver = HarnessDriver("driver", self)
        self.monitor = HarnessMonitor("monitor", self)
        self.scoreboard = self.scoreboard_class.create("scoreboard", self)

    def connect_phase(self):
        files, published = StimFiles(), Event()
        self.files = files
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        sent: list[HarnessBatch] = []
        requested = Event()
        self.driver.connect(self.dut, files, published, self.params, sent, requested)
        self.monitor.connect(self.dut, files, published, self.params, sent, requested)
        self.monitor.ap.connect(self.scoreboard.analysis_export)

    async def reset(self):
        dut = self.dut
        await FallingEdge(dut.clk)
        for name in ("req", "batch", "n_jobs", "n_a", "n_b", "seed", "idle_thr", "bp_thr"):
            getattr(dut, name).value = 0
        dut.rst_n.value = 0
        for _ in range(3):
            await FallingEdge(dut.clk)
        dut.rst_n.value = 1


class JobsSequence(uvm_sequence):
    """Jobs -> batches that fit the harness: jobs are packed whole while they fit; a job larger than the
    memories is cut into rows of tiles (pieces; only the first is configured, the rest follow on)."""

    def __init__(self, name, jobs: list[GemmJob], quantizer: Fp2Bfp, params: dict, seed: int, idle_thr: int,
                 bp_thr: int):
        super().__init__(name)
        self.jobs, self.quantizer, self.p = jobs, quantizer, params
        self.seed, self.idle_thr, self.bp_thr = seed, idle_thr, bp_thr

    async def body(self):
        p = self.p
        rows, cols = p["ROWS"], p["COLS"]
        pieces: list[Piece] = []
        used = {"a": 0, "b": 0, "tiles": 0}

        async def send():
            if pieces:
                item = HarnessBatch("batch", list(pieces), self.seed, self.idle_thr, self.bp_thr)
                await self.start_item(item)
                await self.finish_item(item)
                if item.error:
                    raise item.error
                pieces.clear()
                used.update(a=0, b=0, tiles=0)

        # every job's operands at once: one model call per (mode, rounding), not two per job
        quantize_jobs([job for job in self.jobs if job.qa is None], self.quantizer, rows, cols)
        for job in self.jobs:
            kb, ti = job.kblocks, job.qa.exp.shape[0] // rows
            tj = job.qb.exp.shape[0] // cols
            if tj * kb > p["B_DEPTH"] or tj > p["OUT_DEPTH"] or kb > p["A_DEPTH"]:
                raise ValueError(f"job {job.name}: one row of tiles does not fit the harness {p}")
            i = 0
            while i < ti:
                room_rows = min((p["A_DEPTH"] - used["a"]) // kb, (p["OUT_DEPTH"] - used["tiles"]) // tj)
                if used["b"] + tj * kb > p["B_DEPTH"] or len(pieces) == p["JOB_DEPTH"] or room_rows < 1:
                    await send()
                    continue
                n = min(room_rows, ti - i)
                pieces.append(Piece(job, i, i + n, configure=i == 0))
                used["a"] += n * kb
                used["tiles"] += n * tj
                if i == 0:
                    used["b"] += tj * kb
                i += n
        await send()


class HarnessTest(uvm_test):
    """Base of the fast tests: clock, reset, `body()`, the cycle and utilization report. Class attributes
    `idle_thr` / `bp_thr` (/256) set the SV-side flow; the LFSR seed comes from the test's seed."""

    env_class = HarnessEnv
    idle_thr = 0
    bp_thr = 0

    def build_phase(self):
        self.env = self.env_class("env", self)

    def start_of_simulation_phase(self):
        self.quantizer = Fp2Bfp(block=self.env.k, seed=seeds.run_seed() & 0xFFFF)
        self.flow_seed = int(seeds.rng("harness-flow").integers(1, 2**32))
        self.report: list[tuple] = []
        self.logger.info(f"seed {seeds.run_seed()}; SV flow: LFSR seed {self.flow_seed:#010x}, idle "
                         f"{self.idle_thr}/256, back-pressure {self.bp_thr}/256; re-run with: "
                         f"{seeds.rerun_command(os.environ.get('FLEXBLOCK_TESTCASE') or type(self).__name__)}")

    async def run_phase(self):
        self.raise_objection()
        cocotb.start_soon(Clock(self.env.dut.clk, 10, "ns", impl="gpi").start())
        await self.env.reset()
        gc.freeze()  # the start-up heap (cocotb, pyuvm, numpy, models: ~50k objects) leaves the collector's scans
        cpu = time.process_time()  # simulator + Python: they share this process
        await self.body()
        await ClockCycles(self.env.dut.clk, 32)  # quiet window: a late, spurious result fails check_phase
        # scripts/bench_sim.py reads this line: the test's CPU seconds (wall time is noisy on a shared machine)
        self.logger.info(f"BENCH_CPU_S {time.process_time() - cpu:.4f}")
        self.drop_objection()

    async def run_jobs(self, jobs: list[GemmJob], check_cycles: bool = True) -> None:
        """Run the jobs through the harness (every tile checked by the scoreboard against the model's GEMM of
        the job's quantized operands) and, with no idle gaps or back-pressure, check the cycles of every job
        run in one batch against the cycle model (docs/spec.md section 4: schedule + ARRAY_FILL). A job split
        over batches also waits for the batch hand-overs (the array drains at each): reported, not checked."""
        env = self.env
        await JobsSequence("jobs", jobs, self.quantizer, env.params, self.flow_seed, self.idle_thr,
                           self.bp_thr).start(env.seqr)
        rows, cols, k = env.rows, env.cols, env.k
        for job in jobs:
            cycles = env.scoreboard.cycles.get(id(job))
            ideal = ideal_cycles(job, rows, cols, k)
            split = id(job) in env.scoreboard.split
            if check_cycles and not split and not (self.idle_thr or self.bp_thr):
                if cycles != ideal + ARRAY_FILL:
                    env.scoreboard.fail(f"job {job.name} ({job.mode_a} x {job.mode_b}, {job.a.shape} x "
                                        f"{job.b.shape[1]}): took {cycles} cycles, the cycle model says "
                                        f"{ideal + ARRAY_FILL} (schedule + {ARRAY_FILL})")
            self.report.append((job.name + ("*" if split else ""), job.mode_a, job.mode_b, job.a.shape,
                                job.b.shape[1], cycles, ideal, utilization(job, cycles, rows, cols)))

    def report_phase(self):
        if not self.report:
            return
        lines = [f"{'job':12} {'A':>2} {'B':>2} {'M x K':>11} {'N':>5} {'cycles':>8} {'ideal':>8} {'util':>6}"]
        for name, ma, mb, shape, n, cyc, ideal, util in self.report:
            lines.append(f"{name:12} {ma:>2} {mb:>2} {shape[0]:>5}x{shape[1]:<5} {n:>5} {cyc:>8} "
                         f"{ideal:>8} {util:>6.1%}")
        self.logger.info("jobs (cycles: configuration taken -> last result taken; *: run over several batches, the "
                         "array drains at each hand-over)\n"
                         + "\n".join(lines))
        write_stats({"cycles": sum(r[5] for r in self.report), "jobs": len(self.report)})

    async def body(self):
        raise NotImplementedError


__all__ = ["HarnessTest", "HarnessScoreboard", "WrongExponentScoreboard", "GemmJob"]
