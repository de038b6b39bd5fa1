"""Bus functional models: the only code that touches DUT signals.

Conventions (docs/spec.md section 5): streams are `<prefix>_valid`, `<prefix>_ready` and `<prefix>_<field>`;
`ready` never depends combinationally on `valid`. Everything is driven and sampled at the falling edge of
`clk`, which behaves identically on Icarus and Verilator: a `ready` read at a falling edge is the value the
next rising edge will see, so a source knows at that falling edge whether its beat will be taken.

Speed: Python, not the simulator, limits a cocotb bench, so nothing here wakes up every cycle unless it has
to. One coroutine per clock (StreamScheduler) moves the beats of every stream, input and output, at the
falling edges; when no stream needs the next cycle (sources refused by `ready`, sinks offered nothing) it
sleeps until one of those signals rises (they only change after a rising clock edge) and resumes at the
next falling edge, cycle-exact as if it had polled. The cycle count is derived from the simulation time.

Monitors are passive: what a stream publishes is read from the DUT's pins, never taken from the driver.
At every falling edge the scheduler serves, each stream samples valid, ready, its fields and its sideband
pins as they stand for the coming rising edge (nothing changes them between the falling edge and that
rising edge: the drivers write at falling edges and every ready is a register output); at the next falling
edge, that rising edge having passed out of reset, a sampled valid && ready beat is published: the beat
the DUT took, in the cycle it took it.
"""
from __future__ import annotations

import collections
from typing import Callable

import cocotb
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import Event, FallingEdge, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time

Beat = dict  # field name -> int

_resets = 0  # resets so far in this simulation: transactions made before the latest one are stale


def reset_epoch() -> int:
    return _resets


class ClockReset:
    """Clock generation, reset, cycle counting, and reset notifications for the other BFMs."""

    def __init__(self, dut, period_ns: int = 10):
        self.dut = dut
        self.clk = dut.clk
        self.rst_n = dut.rst_n
        self.period_ns = period_ns
        self.in_reset = True
        self._on_reset: list[Callable[[], None]] = []
        self.streams = StreamScheduler(self)

    def start(self) -> None:
        cocotb.start_soon(Clock(self.clk, self.period_ns, "ns", impl="gpi").start())  # toggled in C, not Python
        self.streams.start()

    @property
    def cycle(self) -> int:
        """Rising edges so far (the clock starts with one at time 0)."""
        return int(get_sim_time("ps")) // (1000 * self.period_ns) + 1

    def on_reset(self, callback: Callable[[], None]) -> None:
        self._on_reset.append(callback)

    async def reset(self, cycles: int = 3) -> None:
        """Hold rst_n low for `cycles` rising edges; everything in flight is dropped."""
        global _resets
        await FallingEdge(self.clk)
        _resets += 1
        self.in_reset = True
        self.rst_n.value = 0
        for callback in self._on_reset:
            callback()
        for _ in range(cycles):
            await FallingEdge(self.clk)
        self.rst_n.value = 1
        self.in_reset = False

    # A handshake that waits longer than this is a lock-up: the test fails instead of hanging.
    STALL_CYCLES = 10_000

    async def within(self, trigger, what: str, cycles: int = STALL_CYCLES):
        """Await `trigger`, failing the test if it takes more than `cycles` clock cycles."""
        try:
            return await with_timeout(trigger, cycles * self.period_ns, "ns")
        except SimTimeoutError:
            raise AssertionError(f"lock-up: {what} for {cycles} cycles") from None

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await FallingEdge(self.clk)


class _Stream:
    def __init__(self, dut, prefix: str, fields: list[str], clock: ClockReset, sideband: list[str] = ()):
        self.clock = clock
        self.clk = clock.clk
        self.valid = getattr(dut, f"{prefix}_valid")
        self.ready = getattr(dut, f"{prefix}_ready")
        self.fields = {f: getattr(dut, f"{prefix}_{f}") for f in fields}
        # pins outside the stream's prefix that travel with its beats (e.g. a seed strobe)
        self.sideband = {f: getattr(dut, f) for f in sideband}
        self.prefix = prefix
        self.beats = 0
        self.gap: Callable[[], bool] = lambda: False
        self._subscribers: list[Callable[[Beat], None]] = []
        self._driven: dict = {}  # id(handle) -> the value last written
        self._sampled: Beat | None = None  # a valid && ready beat seen at the last falling edge
        self._sampled_at = None  # the time step it was seen
        clock.on_reset(self._forget)

    def subscribe(self, callback: Callable[[Beat], None]) -> None:
        """Call `callback(beat)` synchronously for every beat that moves (so a reset in the same step
        cannot reorder it against a scoreboard flush)."""
        self._subscribers.append(callback)

    def _drive(self, handle, value: int, immediate: bool = True) -> None:
        """Write a signal only when its value changes (every write costs a simulator call). At a falling
        edge the write is immediate rather than in cocotb's ReadWrite phase (which costs one more simulator
        callback per cycle): nothing samples it before the next rising edge, and no output read in the same
        step depends on it combinationally (docs/spec.md section 5: every ready is registered). The initial
        value is a normal write (Icarus would overwrite an immediate one with its time-0 X)."""
        key = id(handle)  # a cocotb handle hashes in Python: slow on this hot path
        if self._driven.get(key) != value:
            handle.value = Immediate(value) if immediate else value
            self._driven[key] = value

    # --- the passive monitor (see the module docstring) ---
    def sample(self) -> None:
        """At a falling edge, after the drivers: a beat the coming rising edge will take, read from the pins."""
        if self.clock.in_reset or not (self.valid.value and self.ready.value):
            return
        self._sampled = {n: int(h.value) for n, h in (*self.fields.items(), *self.sideband.items())}
        self._sampled_at = get_sim_time("step")

    def confirm(self) -> None:
        """At the next falling edge, before the drivers: the rising edge in between took the sampled beat."""
        beat, self._sampled = self._sampled, None
        if beat is not None:
            self.beats += 1
            for callback in self._subscribers:
                callback(beat)

    def _forget(self) -> None:
        """A reset. A beat sampled at this falling edge meets the reset at its rising edge: nothing is taken.
        A beat sampled at the falling edge before was taken by the rising edge in between (out of reset),
        and the reset came at this falling edge before the scheduler confirmed it: publish it now, before
        the reset's other callbacks (the scoreboard's) run, as if confirmed in order."""
        if self._sampled is not None and self._sampled_at != get_sim_time("step"):
            self.confirm()
        self._sampled = None


class StreamSource(_Stream):
    """Drives a valid/ready input stream. `send_burst` drives beats back to back (valid stays high between
    them) and returns once all are taken (True) or a reset dropped the rest (False). `gap()` inserts idle
    cycles before a beat (valid low). The beats are moved by the clock's StreamScheduler, not by the caller."""

    def __init__(self, dut, prefix: str, fields: list[str], clock: ClockReset, sideband: list[str] = ()):
        super().__init__(dut, prefix, fields, clock, sideband)
        self.burst: collections.deque | None = None  # (beat, strobe) pairs not yet offered
        self.on_bus: tuple | None = None  # the (beat, strobe) offered, valid high
        self.will_take = False  # ready seen with the beat on the bus: the next rising edge takes it
        self.refused_since: int | None = None  # cycle since which ready has refused the beat on the bus
        self._done = Event()
        self._ok = False
        self._drive(self.valid, 0, immediate=False)
        clock.on_reset(self._abort)

    async def send(self, beat: Beat, strobe: dict | None = None) -> bool:
        """Drive one beat until taken. `strobe` ({handle name on the DUT: value}) is driven only in the cycle
        the beat is taken (a sideband that must coincide with the handshake) and published with the beat."""
        return await self.send_burst([beat], [strobe])

    async def send_burst(self, beats: list[Beat], strobes: list | None = None) -> bool:
        if not beats:
            return True
        self.burst = collections.deque(zip(beats, strobes or [None] * len(beats)))
        self._done.clear()
        self.clock.streams.add(self)
        await self._done.wait()
        return self._ok

    @property
    def waiting_on(self):
        """The signal whose rise this source waits for (its ready, refusing the beat on the bus), or None
        if it needs the next falling edge."""
        return self.ready if self.on_bus is not None and not self.will_take else None

    def tick(self) -> None:
        """At a falling edge: retire the beat the last rising edge took, offer the next, sample ready."""
        if self.on_bus is not None and self.will_take:
            self._set_strobe(self.on_bus[1], on=False)
            self.on_bus = None
        if self.on_bus is None:
            if not self.burst:
                self._drive(self.valid, 0)
                self._finish(True)
                return
            if self.clock.in_reset or self.gap():
                self._drive(self.valid, 0)
                return
            self.on_bus = self.burst.popleft()
            for name, value in self.on_bus[0].items():
                self._drive(self.fields[name], value)
            self._drive(self.valid, 1)
        self.will_take = bool(self.ready.value)  # registered: what the coming rising edge sees
        if self.will_take:
            self._set_strobe(self.on_bus[1], on=True)
            self.refused_since = None
        elif self.refused_since is None:
            self.refused_since = self.clock.cycle

    def _set_strobe(self, strobe: dict | None, on: bool) -> None:
        for name, value in (strobe or {}).items():
            getattr(self.clock.dut, name).value = Immediate(value if on else 0)  # the monitor reads it back

    def _abort(self) -> None:
        """A reset: the beat on the bus and the rest of the burst are dropped."""
        self._drive(self.valid, 0)
        if self.on_bus is not None and self.will_take:
            self._set_strobe(self.on_bus[1], on=False)
        self.on_bus, self.will_take, self.refused_since = None, False, None
        if self.burst is not None:
            self._finish(False)

    def _finish(self, ok: bool) -> None:
        self.burst = None
        self._ok = ok
        self._done.set()


class StreamScheduler:
    """Moves the beats of every input stream with a burst in progress and of every output stream, all in
    one coroutine per clock: one wake-up per cycle for all streams together, instead of one per stream.
    When no stream needs the next cycle (every source refused by `ready`, every sink offered nothing) it
    sleeps until one of those signals rises (they change only after a rising clock edge), a burst joins or
    a reset comes, and resumes at the next falling edge, cycle-exact as if polling. A watchdog fails the
    test if a source stays refused for ClockReset.STALL_CYCLES (a lock-up).

    The rises are caught by one persistent watcher task per signal, not by a `First` over the signals
    (which would create and cancel a task per signal at every sleep: the costlier path)."""

    def __init__(self, clock: ClockReset):
        self.clock = clock
        self.sources: list[StreamSource] = []  # with a burst in progress
        self.sinks: list[StreamSink] = []
        self._wake = Event()
        self._asleep_on: set = set()  # the signals whose rise ends the current sleep
        self._watched: set = set()
        self._tick_time = None  # the falling edge last serviced (sim steps)
        clock.on_reset(self._wake.set)

    def start(self) -> None:
        cocotb.start_soon(self._run())
        cocotb.start_soon(self._watchdog())

    def add(self, source: StreamSource) -> None:
        if source not in self.sources:
            self.sources.append(source)
        if self._tick_time == get_sim_time("step"):
            source.tick()  # joins at the falling edge just serviced: offer its first beat now, not a cycle late
            source.sample()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self.sources = [s for s in self.sources if s.burst is not None]
            waits = {p.waiting_on for p in (*self.sources, *self.sinks)}
            if None not in waits:
                for signal in waits - self._watched:
                    self._watched.add(signal)
                    cocotb.start_soon(self._watch(signal))
                self._wake.clear()
                self._asleep_on = waits
                await self._wake.wait()
                self._asleep_on = set()
            await FallingEdge(self.clock.clk)
            self._tick_time = get_sim_time("step")
            parties = (*self.sources, *self.sinks)
            for party in parties:
                party.confirm()
            for party in parties:
                party.tick()
            for party in parties:
                party.sample()

    async def _watch(self, signal) -> None:
        while True:
            await RisingEdge(signal)
            if signal in self._asleep_on:
                self._wake.set()

    async def _watchdog(self) -> None:
        """Checks every STALL_CYCLES (one timer, not one per stall: the stall path stays cheap)."""
        limit = self.clock.STALL_CYCLES
        while True:
            await Timer(limit * self.clock.period_ns, "ns")
            for s in self.sources:
                if s.refused_since is not None and self.clock.cycle - s.refused_since >= limit:
                    raise AssertionError(f"lock-up: {s.prefix}_ready stayed low for {limit} cycles")


class StreamSink(_Stream):
    """Drives `ready` of an output stream with a back-pressure pattern (`gap()` True = stall); its monitor
    publishes every beat taken. Served by the clock's StreamScheduler once started."""

    def __init__(self, dut, prefix: str, fields: list[str], clock: ClockReset):
        super().__init__(dut, prefix, fields, clock)
        self._drive(self.ready, 0, immediate=False)
        self.stalled_cycles = 0
        self.waiting_on = self.valid  # the signal whose rise it waits for, or None: needs the next cycle
        # The rising edges at which the DUT offered a beat (valid high), read from the pin at the falling edge
        # before each (the scheduler serves every falling edge while valid is high), for a checker that
        # needs valid at every edge, taken or not (a timing reference model); None: not recorded.
        self.valid_log: collections.deque | None = None

    def start(self) -> None:
        self.clock.streams.sinks.append(self)

    def tick(self) -> None:
        """At a falling edge: take (or stall) the beat offered."""
        if self.clock.in_reset:
            self._drive(self.ready, 0)
        if self.clock.in_reset or not self.valid.value:
            # Nothing to take: ready does not matter until valid rises (after a rising edge).
            self.waiting_on = None if self.valid.value else self.valid
            return
        self.waiting_on = None
        if self.valid_log is not None:
            self.valid_log.append(self.clock.cycle + 1)
        ready = not self.gap()
        self._drive(self.ready, int(ready))
        if not ready:
            self.stalled_cycles += 1


class Strobe:
    """One-cycle sideband pulses (e.g. a seed load): `pulse({name: value})` drives the signals for one
    cycle from a falling edge, then returns them to 0, and publishes the values."""

    def __init__(self, clock: ClockReset, names: list[str]):
        self.clock = clock
        self.handles = {n: getattr(clock.dut, n) for n in names}
        for h in self.handles.values():
            h.value = 0
        self._subscribers: list[Callable[[Beat], None]] = []

    def subscribe(self, callback: Callable[[Beat], None]) -> None:
        self._subscribers.append(callback)

    async def pulse(self, values: Beat) -> None:
        """Drive `values` for one cycle; publish what the pins held at the rising edge in between (read
        back from the DUT), unless a reset came first."""
        await FallingEdge(self.clock.clk)
        for n, v in values.items():
            self.handles[n].value = Immediate(v)
        seen = None if self.clock.in_reset else {n: int(h.value) for n, h in self.handles.items()}
        epoch = reset_epoch()
        await FallingEdge(self.clock.clk)
        for h in self.handles.values():
            h.value = Immediate(0)  # before a beat offered at this edge samples its sideband
        if seen is not None and epoch == reset_epoch() and not self.clock.in_reset:
            for callback in self._subscribers:
                callback(seen)
