"""pyuvm components shared by every DUT's bench: driver, monitor, scoreboard, coverage, env and base test."""
from __future__ import annotations

import collections
import os
import time
from pathlib import Path
from typing import Callable

import cocotb
import yaml  # noqa: F401  (cocotb-coverage's YAML export imports it: at load time, not inside a test)
from cocotb.triggers import FallingEdge, SimTimeoutError, with_timeout
from pyuvm import (ConfigDB, uvm_analysis_port, uvm_component, uvm_driver, uvm_env, uvm_monitor,
                   uvm_sequence, uvm_sequence_item, uvm_sequencer, uvm_subscriber, uvm_test)

from . import seeds
from .bfm import ClockReset, StreamSink, StreamSource, reset_epoch
from .patterns import make_gap_pattern


class StreamItem(uvm_sequence_item):
    """A transaction on one stream: one beat, or a burst of beats sent back to back (one sequencer handshake
    for many beats keeps Python off the critical path). Subclasses hold the DUT's meaning and say how to
    make a beat (`beat`) or a burst (`beats`). An item made before a DUT reset is stale: the driver drops it
    (a reset flushes the stimulus in flight), and a reset in the middle of a burst drops the rest of it."""

    def __init__(self, name="item"):
        super().__init__(name)
        self.epoch = reset_epoch()

    def beat(self) -> dict:
        raise NotImplementedError

    def beats(self) -> list[dict]:
        return [self.beat()]

    def __str__(self) -> str:
        return f"{self.get_name()}: {self.beat()}"


class BurstItem(StreamItem):
    """Items sent back to back as one burst (a job at full rate: no gap the driver's sequencer could add)."""

    def __init__(self, name, items):
        super().__init__(name)
        self.items = items

    def beats(self):
        return [b for item in self.items for b in item.beats()]


class JobTimer:
    """A job's cycles as a cycle model counts them: from the edge that takes its first input beat to the edge
    that takes its last output beat, read from the pins by the stream BFMs (which publish a beat after the
    edge that took it). `start()` before the job; `cycles` once its last output is taken."""

    def __init__(self, clock, source, sink):
        self.clock, self.first, self.last = clock, None, None
        source.subscribe(self._input)
        sink.subscribe(self._output)

    def start(self) -> None:
        self.first = self.last = None

    def _input(self, beat) -> None:
        if self.first is None:
            self.first = self.clock.cycle

    def _output(self, beat) -> None:
        self.last = self.clock.cycle

    @property
    def cycles(self) -> int:
        assert self.first is not None and self.last is not None, "the job took no input or gave no output"
        return self.last - self.first


def pack_lanes(values, bits: int) -> int:
    """Lane i of a port vector in bits [bits*i + bits-1 : bits*i] (each value masked to its lane)."""
    mask = (1 << bits) - 1
    return sum((int(v) & mask) << (bits * i) for i, v in enumerate(values))


def unpack_lanes(word: int, bits: int, n: int) -> list[int]:
    """The inverse of pack_lanes: n lanes of a port vector."""
    mask = (1 << bits) - 1
    return [(word >> (bits * i)) & mask for i in range(n)]


class RowsItem(StreamItem):
    """A burst: one beat per row, the row's values packed into the `field` lanes (pack_lanes)."""

    def __init__(self, name, rows, bits: int, field: str = "data"):
        super().__init__(name)
        self.rows, self.bits, self.field = rows, bits, field

    def beats(self) -> list[dict]:
        return [{self.field: pack_lanes(r, self.bits)} for r in self.rows]

    def __str__(self) -> str:
        return f"{self.get_name()}: {len(self.rows)} beats"


class ItemSequence(uvm_sequence):
    """A sequence of items made beforehand (a configuration beat, one job's burst): sent in order."""

    def __init__(self, name, *items: StreamItem):
        super().__init__(name)
        self.items = items

    async def body(self):
        for item in self.items:
            await self.start_item(item)
            await self.finish_item(item)


class StreamDriver(uvm_driver):
    """Sends each item's beats through a StreamSource; `item.accepted` is False if a reset dropped them."""

    def __init__(self, name, parent, source: StreamSource):
        super().__init__(name, parent)
        self.source = source

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            item.accepted = item.epoch == reset_epoch() and await self.source.send_burst(item.beats())
            self.seq_item_port.item_done()


class StreamMonitor(uvm_monitor):
    """Publishes on `ap` every beat that moves on a stream, converted to a transaction by `convert`."""

    def __init__(self, name, parent, stream, convert: Callable[[dict], object] = lambda beat: beat):
        super().__init__(name, parent)
        self.ap = uvm_analysis_port("ap", self)
        stream.subscribe(lambda beat: self.ap.write(convert(beat)))


class _Inlet(uvm_subscriber):
    """An analysis export that calls a parent's method: lets one component take several streams."""

    def __init__(self, name, parent, callback):
        super().__init__(name, parent)
        self.callback = callback

    def write(self, txn):
        self.callback(txn)


class ScoreboardError(AssertionError):
    pass


class Scoreboard(uvm_component):
    """In-order checker. Input transactions go to `predict` (the model), which returns the expected
    outputs they cause; every output transaction is compared with the oldest expectation as soon as both exist, and the
    first mismatch stops the test with the transaction, the expected and actual values and the seed.

    Subclasses implement `predict(port, txn) -> list[expected]`, `reset_model()` and may override
    `describe(expected, actual)`."""

    input_ports: tuple[str, ...] = ("in",)

    # A scoreboard whose model is vectorized sets `batch` > 1 and implements `resolve`: outputs paired with
    # their expectations are compared a batch at a time, so the model runs once per batch, not once per
    # output. Batches are compared in order, so the first mismatch is still the one reported, at most
    # `batch` outputs late; `flush()` (a test's sync point), a reset and the end of the test compare at once.
    batch = 1

    def build_phase(self):
        self.expected = collections.deque()
        self.actual = collections.deque()  # outputs seen before their inputs (same clock step)
        self.paired: list[tuple] = []  # (expectation as predicted, output), not compared yet
        self.checked = 0
        self.ap = uvm_analysis_port("ap", self)  # every checked expectation, for coverage
        self.inlets = {p: _Inlet(f"{p}_inlet", self, self._input_writer(p)) for p in self.input_ports}
        self.out_inlet = _Inlet("out_inlet", self, self.write_output)

    def predict(self, port: str, txn) -> list:
        raise NotImplementedError

    def reset_model(self) -> None:
        """Forget the model's state: the DUT was reset."""

    def pending(self) -> str:
        """Inputs the model holds that have not yet made an output (a partial reduction or tile), described;
        empty if none. Work pending when the test ends was never checked: check_phase fails on it."""
        return ""

    def resolve(self, expectations: list) -> list:
        """What `predict` returned -> what `same` compares, for a batch at once (default: the same)."""
        return expectations

    def on_dut_reset(self) -> None:
        self.flush()  # outputs that came before the reset are checked
        if self.actual:  # an output no input caused is an error, reset or not
            self.fail(f"{len(self.actual)} outputs with no expected transaction at a reset; first: {self.actual[0]}")
        self.expected.clear()  # what the DUT was still working on is dropped by the reset (the spec's rule)
        self.reset_model()

    def same(self, expected, actual) -> bool:
        return expected == actual

    def describe(self, expected, actual) -> str:
        return f"expected: {expected}\n  actual:   {actual}"

    def fail(self, message: str) -> None:
        text = (f"{self.get_full_name()}: {message}\n  seed: {seeds.run_seed()}\n"
                f"  re-run: {seeds.rerun_command(os.environ.get('FLEXBLOCK_TESTCASE'))}")
        self.logger.error(text)
        raise ScoreboardError(text)

    def write_output(self, actual) -> None:
        self.actual.append(actual)
        self._match()

    def _input_writer(self, port):
        def write(txn):
            self.expected.extend(self.predict(port, txn))
            self._match()
        return write

    def _match(self) -> None:
        """Pair outputs with expectations in order. An output can be seen in the same clock step as the
        input that causes it (a zero-latency path), so either side may arrive first."""
        while self.expected and self.actual:
            self.paired.append((self.expected.popleft(), self.actual.popleft()))
        if len(self.paired) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Compare every paired output now; the first mismatch fails the test."""
        pairs, self.paired = self.paired, []
        if not pairs:
            return
        for expected, (_, actual) in zip(self.resolve([e for e, _ in pairs]), pairs):
            if not self.same(expected, actual):
                self.fail(f"mismatch on output #{self.checked}\n  {self.describe(expected, actual)}")
            self.checked += 1
            self.ap.write(expected)

    def check_phase(self):
        self.flush()
        if self.actual:
            self.fail(f"{len(self.actual)} outputs with no expected transaction; first: {self.actual[0]}")
        if self.expected:
            self.fail(f"{len(self.expected)} expected outputs never came; first: "
                      f"{self.resolve([self.expected[0]])[0]}")
        if self.checked == 0:
            self.fail("no output was checked")
        left = self.pending()
        if left:
            self.fail(f"inputs left without their output at the end (never checked): {left}")

    def report_phase(self):
        self.logger.info(f"{self.checked} output transactions checked, all bit-exact")
        write_stats({"checked": self.checked})


class TwoPassScoreboard(Scoreboard):
    """The job bookkeeping of a two-pass streaming unit (the batch-norm units): a `cfg` beat opens a job of
    `n`, then `n` pass-1 beats and `n` pass-2 beats arrive on `in`; `n = 0` is a configuration only. A
    subclass says what a job keeps (`open_job(cfg)`), what a pass-1 beat does (`pass1(job, txn, last)`, `last`
    on the n-th) and what a pass-2 beat is expected to give (`pass2(job, txn, index)`)."""

    input_ports = ("cfg", "in")

    def open_job(self, cfg) -> dict:
        raise NotImplementedError

    def pass1(self, job: dict, txn, last: bool) -> list:
        raise NotImplementedError

    def pass2(self, job: dict, txn, index: int) -> list:
        raise NotImplementedError

    def reset_model(self):
        self.job = None

    def pending(self):
        if self.job is None:
            return ""
        return f"a job (n={self.job['n']}) with {self.job['seen']} of {2 * self.job['n']} beats"

    def predict(self, port, txn):
        if port == "cfg":
            if self.job is not None:
                self.fail(f"configuration taken in the middle of a job: {txn}")
            if int(txn["n"]) == 0:
                return []  # an empty job: nothing taken, nothing out (spec)
            self.job = {**self.open_job(txn), "n": int(txn["n"]), "seen": 0}
            return []
        j = self.job
        if j is None:
            self.fail(f"data beat taken with no job configured: {txn}")
        j["seen"] += 1
        if j["seen"] <= j["n"]:
            return self.pass1(j, txn, j["seen"] == j["n"])
        expected = self.pass2(j, txn, j["seen"] - j["n"] - 1)
        if j["seen"] == 2 * j["n"]:
            self.job = None
        return expected


class WrongModelScoreboard(Scoreboard):
    """Mixin for a self-check: put it before a DUT's scoreboard class and implement `corrupt(expected)`, a
    deliberately wrong model as a change of the right expectation. The scoreboard then predicts with the
    wrong model, notes the first output where the right and the wrong model disagree (`first_wrong`), and
    records its first failure instead of raising it (`caught`), so that the test can check the scoreboard
    failed for the right reason: a mismatch, on exactly that output. Any other failure (a lock-up, the
    watchdog) still fails the test."""

    def build_phase(self):
        super().build_phase()
        self.caught: str | None = None
        self.first_wrong: int | None = None
        self._resolved = 0

    def corrupt(self, expected):
        raise NotImplementedError

    def resolve(self, expectations: list) -> list:
        right = super().resolve(expectations)
        wrong = [self.corrupt(e) for e in right]
        for i, (r, w) in enumerate(zip(right, wrong)):
            if self.first_wrong is None and not self.same(r, w):
                self.first_wrong = self._resolved + i
        self._resolved += len(right)
        return wrong

    def fail(self, message: str) -> None:
        if not message.startswith("mismatch"):
            super().fail(message)  # anything but a mismatch is a real failure
        elif self.caught is None:
            self.caught = message
            self.logger.info(f"caught (expected): {message.splitlines()[0]}")

    def check_phase(self):
        self.flush()
        if self.first_wrong is None:
            super().fail("self-check: the stimulus never told the right and the wrong model apart")
        if self.caught is None:
            super().fail(f"self-check: the wrong model went uncaught (it differs first on output #{self.first_wrong})")
        if not self.caught.startswith(f"mismatch on output #{self.first_wrong}\n"):
            super().fail(f"self-check: the scoreboard failed on another output than #{self.first_wrong}, the "
                         f"first the wrong model gets wrong:\n{self.caught}")


def write_stats(fields: dict) -> None:
    """Add this test's figures to the run's stats file (summed up by the regression's summary)."""
    out = os.environ.get("FLEXBLOCK_STATS_DIR")
    if not out:
        return
    import json
    test = uvm_test_name()
    path = Path(out) / f"{os.environ.get('COCOTB_TOPLEVEL', 'dut')}-{test}-{seeds.run_seed()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.loads(path.read_text()) if path.exists() else {
        "dut": os.environ.get("COCOTB_TOPLEVEL"), "test": test, "sim": os.environ.get("FLEXBLOCK_SIM"),
        "params": os.environ.get("FLEXBLOCK_PARAMS", ""), "seed": seeds.run_seed()}
    record.update(fields)
    path.write_text(json.dumps(record))


_flow_points: dict = {}


def sample_flow(dut: str, idle: str, backpressure: str) -> None:
    """Every DUT's flow-control cover points: the idle pattern on its inputs and the back-pressure
    pattern on its output while a checked transaction went through."""
    if dut not in _flow_points:
        from cocotb_coverage.coverage import CoverPoint

        @CoverPoint(f"{dut}.idle", xf=lambda i, b: i, bins=["none", "random"])
        @CoverPoint(f"{dut}.backpressure", xf=lambda i, b: b, bins=["none", "random", "bursty", "heavy"])
        def _sample(idle, backpressure):
            pass
        _flow_points[dut] = _sample
    _flow_points[dut](idle, backpressure)


class CoverageCollector(uvm_subscriber):
    """Samples every checked transaction (the scoreboard's expectation, which carries the inputs that
    caused it) into the DUT's cocotb-coverage points (`sample`), and exports the
    coverage database for merging across a regression (scripts/coverage_report.py)."""

    def sample(self, txn) -> None:
        raise NotImplementedError

    def write(self, txn):
        self.sample(txn)
        sample_flow(os.environ.get("COCOTB_TOPLEVEL", "dut"), *self.get_parent().flow)

    def report_phase(self):
        from cocotb_coverage.coverage import coverage_db
        out = Path(os.environ.get("FLEXBLOCK_COVERAGE_DIR", "."))
        out.mkdir(parents=True, exist_ok=True)
        test = os.environ.get("FLEXBLOCK_TESTCASE") or uvm_test_name()
        name = f"{os.environ.get('COCOTB_TOPLEVEL', 'dut')}-{test}-{seeds.run_seed()}.yml"
        coverage_db.export_to_yaml(str(out / name))


def uvm_test_name() -> str:
    from pyuvm import uvm_root
    return uvm_root().get_child("uvm_test_top").__class__.__name__


class StreamEnv(uvm_env):
    """Clock/reset, one agent (sequencer + driver + monitor) per input stream, a sink + monitor per output
    stream, the DUT's scoreboard and coverage. Subclasses set the class attributes."""

    inputs: dict[str, list[str]] = {}    # stream prefix -> fields
    outputs: dict[str, list[str]] = {}   # stream prefix -> fields (one output stream checked)
    sidebands: dict[str, list[str]] = {}  # stream prefix -> pins outside it that its beats carry
    scoreboard_class = Scoreboard
    coverage_class: type | None = None

    def convert_input(self, port: str, beat: dict):
        return beat

    def convert_output(self, beat: dict):
        return beat

    def build_phase(self):
        dut = cocotb.top
        self.dut = dut
        self.clock = ClockReset(dut)
        self.sources = {p: StreamSource(dut, p, f, self.clock, self.sidebands.get(p, ()))
                        for p, f in self.inputs.items()}
        self.sinks = {p: StreamSink(dut, p, f, self.clock) for p, f in self.outputs.items()}
        self.seqr = {p: uvm_sequencer(f"{p}_seqr", self) for p in self.inputs}
        self.drivers = {p: self.make_driver(p, s) for p, s in self.sources.items()}
        self.in_monitors = {p: StreamMonitor(f"{p}_monitor", self, s, self._input_converter(p))
                            for p, s in self.sources.items()}
        self.out_monitors = {p: StreamMonitor(f"{p}_monitor", self, s, self.convert_output)
                             for p, s in self.sinks.items()}
        self.scoreboard = self.scoreboard_class.create("scoreboard", self)
        self.coverage = self.coverage_class.create("coverage", self) if self.coverage_class else None
        for p, s in self.seqr.items():
            ConfigDB().set(None, "*", f"SEQR_{p}", s)
        self.clock.on_reset(lambda: self.scoreboard.on_dut_reset())

    def make_driver(self, port: str, source: StreamSource):
        return StreamDriver(f"{port}_driver", self, source)

    def _input_converter(self, port):
        return lambda beat: self.convert_input(port, beat)

    def connect_phase(self):
        for p, drv in self.drivers.items():
            drv.seq_item_port.connect(self.seqr[p].seq_item_export)
            self.in_monitors[p].ap.connect(self.scoreboard.inlets[p].analysis_export)
        (out_monitor,) = self.out_monitors.values()
        out_monitor.ap.connect(self.scoreboard.out_inlet.analysis_export)
        if self.coverage:
            self.scoreboard.ap.connect(self.coverage.analysis_export)

    def set_flow(self, idle: str = "none", backpressure: str = "none") -> None:
        """Idle gaps on every input stream, back-pressure on every output stream (patterns.PATTERNS)."""
        self.flow = (idle, backpressure)
        for p, s in self.sources.items():
            s.gap = make_gap_pattern(idle, seeds.rng(f"idle-{p}"))
        for p, s in self.sinks.items():
            s.gap = make_gap_pattern(backpressure, seeds.rng(f"bp-{p}"))

    def start_bfms(self) -> None:
        self.clock.start()
        for s in self.sinks.values():
            s.start()

    # After the last expected output, outputs are watched for this many more cycles: a late, spurious beat
    # then fails check_phase instead of going unseen.
    QUIET_CYCLES = 32

    async def drain(self, timeout_cycles: int = 10000) -> None:
        """Wait until every expected output has come (or the timeout; check_phase then reports it), then a
        quiet window."""
        for _ in range(timeout_cycles):
            if not self.scoreboard.expected:
                break
            await FallingEdge(self.clock.clk)
        await self.clock.cycles(self.QUIET_CYCLES)


class FlexBlockTest(uvm_test):
    """Base test: builds `env_class`, resets the DUT, runs `body()` (sequences), drains, and logs the seed
    and the re-run command first. Variants override `body` or set flow patterns."""

    env_class = StreamEnv
    idle = "none"
    backpressure = "none"

    def build_phase(self):
        self.env = self.env_class("env", self)

    # A report test (scripts/*_report.py) runs its whole table when this variable is "full", else a quick subset.
    report_env: str | None = None
    # The lock-up watchdog's limit in a full report (ClockReset.STALL_CYCLES), for reports whose long jobs hold a
    # stream idle for many thousand cycles; None keeps the regression's limit.
    report_stall_cycles: int | None = None

    @property
    def full_report(self) -> bool:
        return self.report_env is not None and os.environ.get(self.report_env) == "full"

    def start_of_simulation_phase(self):
        self.logger.info(f"seed {seeds.run_seed()}; re-run with: "
                         f"{seeds.rerun_command(os.environ.get('FLEXBLOCK_TESTCASE') or type(self).__name__)}")
        if self.full_report and self.report_stall_cycles:
            self.env.clock.STALL_CYCLES = self.report_stall_cycles

    # Watchdog: a DUT that locks up must fail the test, not hang the regression. Simulated time, generous
    # (the longest test, pe_array 1 x 1 TrainingPasses, runs ~2.1 ms), scaled with the sequences.
    budget_ms = 5

    async def run_phase(self):
        self.raise_objection()
        self.env.start_bfms()
        self.env.set_flow(self.idle, self.backpressure)
        await self.env.clock.reset()
        cpu = time.process_time()  # simulator + Python: they share this process
        try:
            await with_timeout(self.body(), seeds.scaled(self.budget_ms), "ms")
        except SimTimeoutError:
            self.env.scoreboard.flush()  # a mismatch before the lock-up says more than the lock-up
            self.env.scoreboard.fail(f"watchdog: the test did not finish within {seeds.scaled(self.budget_ms)} ms "
                                     f"of simulated time (a lock-up?)")
        await self.env.drain()
        if os.environ.get("FLEXBLOCK_BENCH_CPU") == "1":  # scripts/bench_sim.py: the test's CPU seconds
            self.logger.info(f"BENCH_CPU_S {time.process_time() - cpu:.4f}")
        self.drop_objection()

    async def body(self):
        raise NotImplementedError

    async def run_sequence(self, seq: uvm_sequence, port: str | None = None):
        port = port or next(iter(self.env.seqr))
        await seq.start(self.env.seqr[port])
