"""pe_array bench layer: operand/config/result transactions, the tile scoreboard, GEMM jobs, coverage."""
from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import Event, FallingEdge, Timer, gather
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, ItemSequence, Scoreboard, StreamEnv, StreamItem
from models import (BFPTensor, Fp2Bfp, bfp_gemm, bits_float32, cycles_per_block, gemm_schedule, mag_bits,
                    mode_code)
from models.fp2bfp import RTZ, SR


def dut_params() -> tuple[int, int, int]:
    top = cocotb.top
    return int(top.ROWS.value), int(top.COLS.value), int(top.K.value)


# --- port packing -----------------------------------------------------------------------------------------
def pack_blocks(exp, sign, mag, flags) -> list[dict]:
    """Blocks (slots, beats[, K]) -> one a/b beat per block column: beat k carries every slot's k-th block;
    one numpy pass for the whole burst."""
    exp, sign, mag, flags = (np.asarray(v) for v in (exp, sign, mag, flags))
    slots, n = exp.shape
    exp_b = np.ascontiguousarray(exp.T, "<u1").tobytes()
    sign_b = np.packbits(sign.astype(np.uint8).swapaxes(0, 1).reshape(n, -1), axis=1, bitorder="little").tobytes()
    mag_b = np.ascontiguousarray(mag.swapaxes(0, 1), "<u2").tobytes()
    flag_v = (flags.T.astype(np.int64) << (2 * np.arange(slots))).sum(axis=1).tolist()
    es, ss, ms = len(exp_b) // n, len(sign_b) // n, len(mag_b) // n
    word = lambda b, size, i: int.from_bytes(b[i * size:(i + 1) * size], "little")
    return [{"exp": word(exp_b, es, i), "sign": word(sign_b, ss, i), "mag": word(mag_b, ms, i), "flags": flag_v[i]}
            for i in range(n)]


def unpack_blocks(beats: list[dict], slots: int, k: int) -> tuple[np.ndarray, ...]:
    """a/b beats -> (exp, sign, mag, flags) of every slot, shape (beats, slots[, K]); one numpy pass."""
    def field(name: str, nbytes: int, dtype: str) -> np.ndarray:
        return np.frombuffer(b"".join(beat[name].to_bytes(nbytes, "little") for beat in beats), dtype)
    n = len(beats)
    exp = field("exp", slots, "<u1").reshape(n, slots).astype(np.int64)
    sign = np.unpackbits(field("sign", (slots * k + 7) // 8, "u1").reshape(n, -1), axis=1,
                         bitorder="little")[:, : slots * k].reshape(n, slots, k)
    mag = field("mag", 2 * slots * k, "<u2").reshape(n, slots, k).astype(np.int64)
    flags = (np.array([beat["flags"] for beat in beats], np.int64)[:, None] >> (2 * np.arange(slots))) & 3
    return exp, sign, mag, flags.astype(np.uint8)


def unpack_results(beat: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    result = np.frombuffer(beat["result"].to_bytes(4 * n, "little"), "<u4").copy()
    flags = np.array([(beat["flags"] >> (2 * i)) & 3 for i in range(n)], np.uint8)
    return result, flags


# --- transactions -----------------------------------------------------------------------------------------
class CfgItem(StreamItem):
    def __init__(self, name, mode_a: int, mode_b: int, kblocks: int):
        super().__init__(name)
        self.mode_a, self.mode_b, self.kblocks = mode_a, mode_b, kblocks

    def beat(self):
        return {"mode_a": self.mode_a, "mode_b": self.mode_b, "kblocks": self.kblocks}


class OperandBurst(StreamItem):
    """The a (or b) beats of a run of blocks: beat k carries the k-th block of every row (column) slot."""

    def __init__(self, name, blocks: BFPTensor):
        super().__init__(name)
        self.blocks = blocks  # (slots, beats, K)

    def beats(self):
        b = self.blocks
        return pack_blocks(b.exp, b.sign, b.mag, b.flags)

    def __str__(self):
        return f"{self.get_name()}: block exps {self.blocks.exp.tolist()}"


# --- scoreboard -------------------------------------------------------------------------------------------
class PeArrayScoreboard(Scoreboard):
    """Groups the taken a and b beats into tiles under the configuration in force, and predicts the
    tiles' results with the model's bfp_gemm, a batch of tiles per call."""

    input_ports = ("cfg", "a", "b")
    batch = 64

    def build_phase(self):
        super().build_phase()
        self.rows, self.cols, self.k = dut_params()
        self.reset_model()

    def reset_model(self):
        self.cfg = {"mode_a": 0, "mode_b": 0, "kblocks": 1}  # the array's reset configuration
        self.pending_blocks = {"a": [], "b": []}

    def pending(self):
        a, b = len(self.pending_blocks["a"]), len(self.pending_blocks["b"])
        return f"{a} A and {b} B block beats of an unfinished tile" if a or b else ""

    def predict(self, port, txn):
        if port == "cfg":
            self.cfg = {**txn, "kblocks": max(1, txn["kblocks"])}
            return []
        self.pending_blocks[port].append(txn)
        kb = self.cfg["kblocks"]
        if len(self.pending_blocks["a"]) < kb or len(self.pending_blocks["b"]) < kb:
            return []
        tile = {"cfg": self.cfg, "a": self.pending_blocks["a"][:kb], "b": self.pending_blocks["b"][:kb]}
        del self.pending_blocks["a"][:kb], self.pending_blocks["b"][:kb]
        return [tile]  # resolved into results by `resolve`, with the rest of its batch

    def resolve(self, tiles):
        out = []
        for _, group in itertools.groupby(tiles, key=lambda tile: id(tile["cfg"])):
            group = list(group)
            cfg = group[0]["cfg"]
            a = self._tensors("a", [tile["a"] for tile in group], cfg["mode_a"])
            b = self._tensors("b", [tile["b"] for tile in group], cfg["mode_b"])
            bits, flags = bfp_gemm(a, b)  # (tiles, ROWS, COLS)
            out += [{"result": bits[i].ravel(), "flags": flags[i].ravel(), "cfg": cfg, "a": a[i], "b": b[i]}
                    for i in range(len(group))]
        return out

    def _tensors(self, side: str, tiles: list[list[dict]], mode: int) -> BFPTensor:
        """Tiles of a (or b) beats -> BFPTensor (tiles, slots, kblocks, K)."""
        slots = self.rows if side == "a" else self.cols
        t, kb = len(tiles), len(tiles[0])
        exp, sign, mag, flags = (v.reshape(t, kb, slots, *v.shape[2:]).swapaxes(1, 2) for v in
                                 unpack_blocks([beat for tile in tiles for beat in tile], slots, self.k))
        return BFPTensor(exp, sign, mag, flags, mode_code(mode))

    def same(self, expected, actual):
        return (np.array_equal(expected["result"], actual["result"])
                and np.array_equal(expected["flags"], actual["flags"]))

    def describe(self, expected, actual):
        bad = np.flatnonzero((expected["result"] != actual["result"]) | (expected["flags"] != actual["flags"]))
        lines = [f"tile config {expected['cfg']}; {len(bad)} of {expected['result'].size} results differ"]
        for i in bad[:8]:
            r, c = divmod(int(i), self.cols)
            e, a = expected["result"][i], actual["result"][i]
            lines.append(f"C[{r}][{c}]: expected {e:08x} ({bits_float32(e)!r}) flags {expected['flags'][i]}"
                         f"  actual {a:08x} ({bits_float32(a)!r}) flags {actual['flags'][i]}")
        lines.append(f"A block exps {expected['a'].exp.tolist()}  B block exps {expected['b'].exp.tolist()}")
        return "\n  ".join(lines)


# --- the step schedule: a cycle-exact timing reference, checked on the pins -------------------------------
class StepSchedule:
    """The spec's timing of the array (docs/spec.md section 4: two-entry operand FIFOs, a block pair loads
    when both FIFOs have one and the array is idle or on its last step; all PEs step in lockstep; a tile's
    last step reserves one of the 5 result entries and is the only step that may wait for one; the result
    is pushed 3 edges after that step and popped by an out handshake), driven by what the pins show: the
    cfg, a, b and out handshakes the passive monitors publish. Edge by edge it computes what the spec allows, and fails on the first edge where the pins disagree:

      - a handshake (cfg, a, b) at an edge where the spec's ready is low (e.g. cfg taken mid-tile);
      - out_valid low where the spec has a result: the DUT lost cycles, i.e. it stalled or idled somewhere
        the stall rule does not allow (not at a tile's last step with every result entry reserved); out_valid
        high where the spec has none (early or spurious): the failure names the cycle, the job and the tile.

    Every stall cycle of the spec's schedule is classified (at a tile's last step, waiting for a result
    entry: the only place the rule allows) and counted per tile, for coverage. The model is advanced
    lazily, when a handshake is published (and at the end), so it costs no simulator call of its own.
    out_valid is compared at every edge: the sink reads it whenever it is high (fbuvm StreamSink.valid_log).
    """

    RESULT_ENTRIES = 5  # LATENCY + 2
    PUSH_EDGES = 3      # from a tile's last step to its result in the FIFO

    def __init__(self, env, k: int, fail):
        self.env, self.k, self.fail = env, k, fail
        self.events: dict[int, dict] = {}  # edge -> {"cfg": beat, "a": 1, "b": 1, "out": 1}
        self.valid_log = env.sinks["out"].valid_log = collections.deque()
        self.job = "(none)"
        self.tiles_done = 0
        self.stalls: list[tuple[str, int, int]] = []  # (job, tile, stall cycles) of every popped tile
        self.reset(edge=0)

    def reset(self, edge: int) -> None:
        self.edge = edge  # the last edge simulated
        self.mode = (0, 0)
        self.kblocks = 1
        self.active, self.step, self.block_idx = False, 0, 0
        self.a_stored = self.b_stored = 0
        self.credits = self.stored = 0
        self.pushes: collections.deque = collections.deque()  # edges of the pushes to come
        self.tiles: collections.deque = collections.deque()  # (job, tile, stalls) reserved, in order
        self.current_stalls = 0

    def begin(self, job: str) -> None:
        """A job starts: tiles whose last step comes from now on are its tiles, in failure messages."""
        self.run_until(self.env.clock.cycle - 1)
        self.job = job

    # --- observation ---
    def observe(self, port: str, beat: dict | None = None) -> None:
        """A handshake the monitors published at this falling edge: taken at edge `clock.cycle`."""
        edge = self.env.clock.cycle
        self.run_until(edge - 1)
        if edge <= self.edge:  # a bench bug, not a DUT bug: the schedule must see every handshake
            raise AssertionError(f"StepSchedule: a {port} handshake at edge {edge} after that edge was checked")
        self.events.setdefault(edge, {})[port] = beat if beat is not None else 1

    def on_dut_reset(self) -> None:
        """At the falling edge rst_n goes low: the edge before ran normally; then the reset state."""
        edge = self.env.clock.cycle
        self.run_until(edge)
        in_flight = ("results_pending" if self.credits else "tile_running" if self.active or self.block_idx
                     else "operands_queued" if self.a_stored or self.b_stored else "idle")
        sample_reset(in_flight)
        self.events.clear()
        self.valid_log.clear()  # a beat offered at the edge the reset meets is dropped
        self.reset(edge)

    # --- the spec's schedule, one rising edge at a time ---
    def run_until(self, last: int) -> None:
        while self.edge < last:
            self.edge += 1
            self._edge(self.edge, self.events.pop(self.edge, {}))

    def _edge(self, e: int, ev: dict) -> None:
        steps = cycles_per_block(mode_code(self.mode[0]), mode_code(self.mode[1]), self.k)
        a_q, b_q = self.a_stored > 0, self.b_stored > 0
        step_last = self.step == steps - 1
        tile_last = self.block_idx == self.kblocks - 1
        stall = self.active and step_last and tile_last and self.credits >= self.RESULT_ENTRIES
        advance = self.active and not stall
        load = a_q and b_q and (not self.active or (step_last and advance))
        cfg_ready = not self.active and not a_q and not b_q and self.block_idx == 0
        out_valid = self.stored > 0
        where = lambda: (f"cycle {e} (job {self.job}, tile #{self.tiles_done + len(self.tiles)} since reset, "
                         f"block pair {self.block_idx}, step {self.step} of {steps})")
        for port, ready in (("cfg", cfg_ready), ("a", self.a_stored < 2), ("b", self.b_stored < 2)):
            if port in ev and not ready:
                self.fail(f"pe_array schedule: {port} beat taken at {where()}, where the spec's {port}_ready is low")
        popped = "out" in ev
        while self.valid_log and self.valid_log[0] < e:
            self.valid_log.popleft()  # offered during a reset
        dut_valid = bool(self.valid_log) and self.valid_log[0] == e
        if dut_valid:
            self.valid_log.popleft()
        if dut_valid and not out_valid:
            self.fail(f"pe_array schedule: a result offered on out at {where()}, before the spec has one (early or "
                      f"spurious)")
        if out_valid and not dut_valid:
            job, tile, _ = self.tiles[0]
            refused = "".join(f"; {p}_ready low since cycle {s.refused_since}" for p, s in self.env.sources.items()
                              if s.refused_since is not None)
            self.fail(f"pe_array schedule: at {where()} the spec has tile #{tile}'s result (job {job}) on out, "
                      f"but the DUT offers none: it lost cycles, stalling or idling where the stall rule (a "
                      f"tile's last step, all {self.RESULT_ENTRIES} result entries reserved) does not allow"
                      f"{refused}")
        if stall:
            self.current_stalls += 1
        # the edge
        accept = advance and step_last and tile_last
        if accept:
            self.tiles.append((self.job, self.tiles_done + len(self.tiles), self.current_stalls))
            self.current_stalls = 0
            self.pushes.append(e + self.PUSH_EDGES)
        if "cfg" in ev:
            beat = ev["cfg"]
            sample_transition(self.mode, (beat["mode_a"], beat["mode_b"]))
            self.mode = (beat["mode_a"], beat["mode_b"])
            self.kblocks = max(1, beat["kblocks"])
        self.a_stored += ("a" in ev) - load
        self.b_stored += ("b" in ev) - load
        if load:
            self.active, self.step = True, 0
        elif advance:
            if step_last:
                self.active = False
            self.step += 1
        if advance and step_last:
            self.block_idx = 0 if tile_last else self.block_idx + 1
        push = bool(self.pushes) and self.pushes[0] == e
        if push:
            self.pushes.popleft()
        self.credits += accept - popped
        self.stored += push - popped
        if popped:
            job, tile, stalls = self.tiles.popleft()
            self.tiles_done += 1
            self.stalls.append((job, tile, stalls))
            sample_stalls("none" if stalls == 0 else "tile_last_step")


# --- coverage ---------------------------------------------------------------------------------------------
MODE_PAIRS = [(a, b) for a in range(3) for b in range(3)]


@CoverPoint("pe_array.stalls_per_tile", xf=lambda kind: kind, bins=["none", "tile_last_step"])
def sample_stalls(kind):
    """Stall cycles a tile went through in the spec's schedule (any other stall fails the StepSchedule)."""


@CoverPoint("pe_array.mode_transition", xf=lambda prev, new: (*prev, *new),
            bins=[(*p, *n) for p in MODE_PAIRS for n in MODE_PAIRS])
def _sample_transition(prev, new):
    pass


def sample_transition(prev, new):
    """A configuration taken: the mode pair before and after (the reserved code 3 counted as FB24)."""
    _sample_transition(tuple(mode_code(m) for m in prev), tuple(mode_code(m) for m in new))


@CoverPoint("pe_array.reset_in_flight", xf=lambda state: state,
            bins=["idle", "operands_queued", "tile_running", "results_pending"])
def sample_reset(state):
    """What the array held when a reset came (read from the spec's schedule of the pins)."""


@CoverPoint("pe_array.mode_pair", xf=lambda cfg, kind, flags: (cfg["mode_a"], cfg["mode_b"]), bins=MODE_PAIRS)
@CoverPoint("pe_array.tile_kind", xf=lambda cfg, kind, flags: kind, bins=["single_block", "multi_block"])
@CoverPoint("pe_array.flags", xf=lambda cfg, kind, flags: flags, bins=[0, 1, 2, 3])
@CoverCross("pe_array.mode_pair_x_tile_kind", items=["pe_array.mode_pair", "pe_array.tile_kind"])
def _sample_tile(cfg, kind, flags):
    pass


@CoverPoint("pe_array.cfg_mode_a", xf=lambda a, b, k: a, bins=[0, 1, 2, 3])
@CoverPoint("pe_array.cfg_mode_b", xf=lambda a, b, k: b, bins=[0, 1, 2, 3])
@CoverPoint("pe_array.cfg_kblocks", xf=lambda a, b, k: "zero" if k == 0 else "one" if k == 1 else
            "few" if k <= 8 else "many", bins=["zero", "one", "few", "many"])
def _sample_cfg(mode_a, mode_b, kblocks):
    """Every configuration the array took (read from its pins), reserved mode code 3 and kblocks 0 included."""


@CoverPoint("pe_array.cfg_protocol", xf=lambda event: event,
            bins=["held_off_busy", "held_off_queued", "reset_config", "back_to_back_change"])
def sample_cfg_event(event):
    """Configuration protocol events a test observed (tb/pe_array_tests.py)."""


class PeArrayCoverage(CoverageCollector):
    def sample(self, txn):
        cfg = txn["cfg"]
        kind = "single_block" if cfg["kblocks"] == 1 else "multi_block"
        for f in set(txn["flags"].tolist()):
            _sample_tile(cfg, kind, f)


class PeArrayEnv(StreamEnv):
    outputs = {"out": ["result", "flags"]}
    scoreboard_class = PeArrayScoreboard
    coverage_class = PeArrayCoverage

    def build_phase(self):
        self.rows, self.cols, self.k = dut_params()
        self.inputs = {"cfg": ["mode_a", "mode_b", "kblocks"], "a": ["exp", "sign", "mag", "flags"],
                       "b": ["exp", "sign", "mag", "flags"]}
        super().build_phase()
        self.results: list[dict] = []
        self.new_result = Event()
        self.sinks["out"].subscribe(self._take_result)
        self.sources["cfg"].subscribe(self._take_cfg)
        self.cfg_edge = self.result_edge = 0
        self.schedule = StepSchedule(self, self.k, lambda message: self.scoreboard.fail(message))
        for port in ("cfg", "a", "b"):
            self.sources[port].subscribe(lambda beat, port=port: self.schedule.observe(port, beat))
        self.sinks["out"].subscribe(lambda beat: self.schedule.observe("out"))
        self.clock.on_reset(self.schedule.on_dut_reset)

    # The step schedule is advanced by handshakes, so a DUT that locks up (no handshake moves) would be
    # judged only by the 10,000-cycle lock-up watchdog, with a message that names a refused ready, not what
    # stalled. A check every CHECK_EVERY cycles lets the schedule name it within that many cycles: the first
    # edge where the spec has a result the DUT does not offer (two wake-ups per CHECK_EVERY cycles: cheap).
    CHECK_EVERY = 256

    def start_bfms(self) -> None:
        super().start_bfms()
        cocotb.start_soon(self._check_schedule())

    async def _check_schedule(self) -> None:
        while True:
            await Timer(self.CHECK_EVERY * self.clock.period_ns, "ns")
            await FallingEdge(self.clock.clk)  # every handshake of the edges before this one is published
            self.schedule.run_until(self.clock.cycle - 1)

    async def wait_result(self, what: str) -> None:
        """Wait for the next tile result; a lock-up fails, but the step schedule speaks first: it knows the
        cycle the DUT's result was due (the schedule is otherwise advanced only by handshakes)."""
        self.new_result.clear()
        try:
            await self.clock.within(self.new_result.wait(), what)
        except AssertionError:
            self.schedule.run_until(self.clock.cycle - 1)
            raise

    async def drain(self, timeout_cycles: int = 10000) -> None:
        await super().drain(timeout_cycles)
        self.schedule.run_until(self.clock.cycle - 1)  # every edge so far checked against the spec's schedule

    # Handshake times as rising-edge numbers (ClockReset.cycle): the monitors publish a beat at the falling
    # edge after the rising edge that took it.
    def _take_cfg(self, beat: dict) -> None:
        self.cfg_edge = self.clock.cycle
        _sample_cfg(beat["mode_a"], beat["mode_b"], beat["kblocks"])

    def _take_result(self, beat: dict) -> None:
        self.results.append(beat)
        self.result_edge = self.clock.cycle
        self.new_result.set()

    def convert_output(self, beat):
        result, flags = unpack_results(beat, self.rows * self.cols)
        return {"result": result, "flags": flags}


# --- GEMM jobs --------------------------------------------------------------------------------------------
@dataclass
class GemmJob:
    """C = A x B on the array: A (M x Kdim) and B (Kdim x N) FP32 masters quantized by the model, tiled
    into ROWS x COLS output tiles; Kdim is zero-padded to whole blocks, M and N to whole tiles."""

    name: str
    a: np.ndarray
    b: np.ndarray
    mode_a: int
    mode_b: int
    rounding: int = RTZ
    qa: BFPTensor | None = None
    qb: BFPTensor | None = None
    useful_ops: int = 0
    tiles: list = field(default_factory=list)

    def padded(self, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """A and B^T zero-padded to whole tiles (M to ROWS, N to COLS); Kdim is padded by the quantizer."""
        m, kdim = self.a.shape
        n = self.b.shape[1]
        a = np.zeros((-(-m // rows) * rows, kdim), np.float32)
        a[:m] = self.a
        bt = np.zeros((-(-n // cols) * cols, kdim), np.float32)
        bt[:n] = self.b.T
        return a, bt

    def quantized(self, qa: BFPTensor, qb: BFPTensor, rows: int, cols: int) -> None:
        m, kdim = self.a.shape
        n = self.b.shape[1]
        self.qa, self.qb = qa, qb
        na, nb = mag_bits(self.mode_a) // 4, mag_bits(self.mode_b) // 4
        self.useful_ops = m * n * kdim * na * nb
        self.tiles = [(i, j) for i in range(qa.exp.shape[0] // rows) for j in range(qb.exp.shape[0] // cols)]

    def quantize(self, quantizer: Fp2Bfp, rows: int, cols: int):
        a, bt = self.padded(rows, cols)
        self.quantized(quantizer(a, self.mode_a, self.rounding), quantizer(bt, self.mode_b, self.rounding),
                       rows, cols)

    @property
    def kblocks(self) -> int:
        return self.qa.exp.shape[1]


def quantize_jobs(jobs: list[GemmJob], quantizer: Fp2Bfp, rows: int, cols: int) -> None:
    """GemmJob.quantize for many jobs with one model call per (mode, rounding): RTZ, RNE and RNA convert
    every block on its own, so the blocks of all the jobs' operands (each zero-padded to whole blocks, as
    the quantizer pads) can go through in one stack. SR operands are converted one by one, in job order,
    after the others (their random bits follow the quantizer's block count)."""
    k = quantizer.block
    groups: dict[tuple[int, int], list] = {}
    sr = []
    for job in jobs:
        for side, x, mode in zip("ab", job.padded(rows, cols), (job.mode_a, job.mode_b)):
            if job.rounding == SR:
                sr.append((job, side, x, mode))
                continue
            kb = -(-x.shape[1] // k)
            blocks = np.zeros((x.shape[0], kb * k), np.float32)
            blocks[:, :x.shape[1]] = x
            groups.setdefault((mode, job.rounding), []).append((job, side, x.shape[0], blocks.reshape(-1, k)))
    out: dict[tuple[int, str], BFPTensor] = {}
    for (mode, rounding), parts in groups.items():
        q = quantizer(np.concatenate([p[3] for p in parts]), mode, rounding)  # exp (n, 1), mag (n, 1, K)
        lo = 0
        for job, side, m, blocks in parts:  # m: the operand's rows
            hi = lo + blocks.shape[0]
            out[id(job), side] = BFPTensor(q.exp[lo:hi].reshape(m, -1), q.sign[lo:hi].reshape(m, -1, k),
                                           q.mag[lo:hi].reshape(m, -1, k), q.flags[lo:hi].reshape(m, -1), mode)
            lo = hi
    for job, side, x, mode in sr:
        out[id(job), side] = quantizer(x, mode, SR)
    for job in jobs:
        job.quantized(out[id(job), "a"], out[id(job), "b"], rows, cols)


class OperandSequence(uvm_sequence):
    """The a (or b) beats of a job's tiles, in tile order, as one burst."""

    def __init__(self, name, job: GemmJob, side: str, slots: int):
        super().__init__(name)
        self.job, self.side, self.slots = job, side, slots

    async def body(self):
        q = self.job.qa if self.side == "a" else self.job.qb
        tiles = [q[lo:lo + self.slots] for lo in
                 ((i if self.side == "a" else j) * self.slots for i, j in self.job.tiles)]
        # one burst: every tile's KBLOCKS beats, back to back
        item = OperandBurst(f"{self.side}_{self.job.name}", BFPTensor(
            *(np.concatenate([getattr(t, f) for t in tiles], axis=1) for f in ("exp", "sign", "mag", "flags")),
            q.mode))
        await self.start_item(item)
        await self.finish_item(item)


async def run_job(env: PeArrayEnv, job: GemmJob, quantizer: Fp2Bfp, configure: bool = True,
                  cfg_kblocks: int | None = None) -> int:
    """Configure the array (unless `configure` is False: the operands then rely on the configuration in
    force), stream the job's operands and wait for every tile. `cfg_kblocks` overrides the tile length sent
    (0 must act as 1). Returns the job's cycles: from the rising edge that takes its configuration to the
    one that takes its last result."""
    job.quantize(quantizer, env.rows, env.cols)
    env.schedule.begin(job.name)
    first = len(env.results)
    if configure:
        cfg = CfgItem("cfg", job.mode_a, job.mode_b, job.kblocks if cfg_kblocks is None else cfg_kblocks)
        await ItemSequence("cfg", cfg).start(env.seqr["cfg"])
    streams = [cocotb.start_soon(OperandSequence(f"{side}_ops", job, side, slots).start(env.seqr[side]))
               for side, slots in (("a", env.rows), ("b", env.cols))]
    try:
        await gather(*streams)
    finally:  # a cancelled job (reset mid-tile) stops feeding its operands
        for stream in streams:
            stream.cancel()
    while len(env.results) < first + len(job.tiles):
        env.new_result.clear()
        await env.wait_result(f"job {job.name}: no tile result")
    env.scoreboard.flush()  # every tile of the job checked before it returns
    return env.result_edge - env.cfg_edge




def assemble(env: PeArrayEnv, job: GemmJob, beats: list[dict]) -> np.ndarray:
    """The job's C (M x N, float32) from its tile beats."""
    m, n = job.a.shape[0], job.b.shape[1]
    c = np.zeros((len({i for i, _ in job.tiles}) * env.rows, len({j for _, j in job.tiles}) * env.cols),
                 np.uint32)
    for (i, j), beat in zip(job.tiles, beats):
        result, _ = unpack_results(beat, env.rows * env.cols)
        c[i * env.rows:(i + 1) * env.rows, j * env.cols:(j + 1) * env.cols] = result.reshape(env.rows, env.cols)
    return bits_float32(c[:m, :n])


def utilization(job: GemmJob, cycles: int, rows: int, cols: int) -> float:
    return job.useful_ops / (16 * rows * cols * cycles)


def ideal_cycles(job: GemmJob, rows: int, cols: int, k: int) -> int:
    """The job's schedule (models.gemm_schedule): cycles the sub-multipliers work, padding included."""
    return gemm_schedule(job.a.shape[0], job.a.shape[1], job.b.shape[1], job.mode_a, job.mode_b, rows, cols, k)


def conv_layer_gemms(rng: np.random.Generator, n=1, cin=4, cout=8, hw=4) -> dict[str, tuple]:
    """The three GEMMs of a 3x3 conv layer (stride 1, pad 1) via im2col, and of an FC layer."""
    x = rng.standard_normal((n, cin, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((cout, cin, 3, 3)) * 0.2).astype(np.float32)
    dy = (rng.standard_normal((n * hw * hw, cout)) * 0.05).astype(np.float32)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, i:i + hw, j:j + hw] for i in range(3) for j in range(3)], axis=2)
    x_col = cols.transpose(0, 3, 4, 1, 2).reshape(n * hw * hw, cin * 9)  # (NHW, Cin*9)
    w_col = w.reshape(cout, cin * 9).T                                    # (Cin*9, Cout)
    return {"conv_fwd": (x_col, w_col), "conv_bwd": (dy, w_col.T), "conv_wg": (x_col.T, dy)}


def fc_layer_gemms(rng: np.random.Generator, batch=8, fin=40, fout=12) -> dict[str, tuple]:
    x = rng.standard_normal((batch, fin)).astype(np.float32)
    w = (rng.standard_normal((fin, fout)) * 0.1).astype(np.float32)
    dy = (rng.standard_normal((batch, fout)) * 0.05).astype(np.float32)
    return {"fc_fwd": (x, w), "fc_bwd": (dy, w.T), "fc_wg": (x.T, dy)}


# Real training GEMMs at their full reduction lengths (LayerTiles in both pe_array benches): a job's
# steady state depends only on Kdim; M and N only set how many tiles there are.
REAL_LAYERS = {
    "conv3_x": {"fwd": 1152, "bwd": 128, "wg": 784},  # ResNet-18 conv3_x 128->128, 28x28, batch 1 (im2col)
    "xfmr_fc": {"fwd": 512, "bwd": 2048, "wg": 128},  # Transformer FC 512->2048, 128 tokens
}


__all__ = ["GemmJob", "PeArrayEnv", "run_job", "assemble", "utilization", "conv_layer_gemms",
           "fc_layer_gemms", "REAL_LAYERS", "seeds"]
