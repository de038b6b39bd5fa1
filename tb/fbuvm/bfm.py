"""Bus functional models: the only code that touches DUT signals.

Conventions (docs/spec.md section 5): streams are `<prefix>_valid`, `<prefix>_ready` and `<prefix>_<field>`;
`ready` never depends combinationally on `valid`. Everything is driven and sampled at the falling edge of
`clk`, which behaves identically on Icarus and Verilator: a `ready` read at a falling edge is the value the
next rising edge will see, so a source knows at that falling edge whether its beat will be taken.

Speed: Python, not the simulator, limits a cocotb bench, so nothing here wakes up every cycle unless it has
to. A source waiting for `ready`, or a sink with nothing offered, sleeps until that signal rises (it can
only change after a rising clock edge) and resumes at the next falling edge, cycle-exact as if it had
polled; the cycle count is derived from the simulation time.
"""
from __future__ import annotations

from typing import Callable

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, SimTimeoutError, with_timeout
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

    def start(self) -> None:
        cocotb.start_soon(Clock(self.clk, self.period_ns, "ns", impl="gpi").start())  # toggled in C, not Python

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
    def __init__(self, dut, prefix: str, fields: list[str], clock: ClockReset):
        self.clock = clock
        self.clk = clock.clk
        self.valid = getattr(dut, f"{prefix}_valid")
        self.ready = getattr(dut, f"{prefix}_ready")
        self.fields = {f: getattr(dut, f"{prefix}_{f}") for f in fields}
        self.prefix = prefix
        self.beats = 0
        self.gap: Callable[[], bool] = lambda: False
        self._subscribers: list[Callable[[Beat], None]] = []

    def subscribe(self, callback: Callable[[Beat], None]) -> None:
        """Call `callback(beat)` synchronously for every beat that moves (so a reset in the same step
        cannot reorder it against a scoreboard flush)."""
        self._subscribers.append(callback)

    def _publish(self, beat: Beat) -> None:
        self.beats += 1
        for callback in self._subscribers:
            callback(beat)

    def _at_falling_edge(self) -> bool:
        return get_sim_time("step") == getattr(self, "_fall_time", None)

    async def _falling(self) -> None:
        await FallingEdge(self.clk)
        self._fall_time = get_sim_time("step")


class StreamSource(_Stream):
    """Drives a valid/ready input stream. `send` returns once the beat is taken (True) or dropped by a
    reset (False). `gap()` inserts idle cycles before a beat (valid low)."""

    def __init__(self, dut, prefix: str, fields: list[str], clock: ClockReset):
        super().__init__(dut, prefix, fields, clock)
        self._dropped = False
        self._driven: Beat = {}  # what the fields hold: a field is written only when its value changes
        self.valid.value = 0
        clock.on_reset(self._drop)

    def _drop(self) -> None:
        self._dropped = True
        self.valid.value = 0

    async def send(self, beat: Beat, strobe: dict | None = None, more: bool = False) -> bool:
        """Drive `beat` until taken. `strobe` ({handle name on the DUT: value}) is driven only in the cycle
        the beat is taken (a sideband that must coincide with the handshake) and published with the beat.
        `more`: another beat follows at once (a burst), so valid stays high."""
        epoch = _resets
        if not self._at_falling_edge():
            await self._falling()
        while self.clock.in_reset or self.gap():
            self.valid.value = 0
            await self._falling()
            if _resets != epoch:
                return False  # a reset before the beat was offered: it is stale, never driven
        self._dropped = False  # from here a reset drops the offered beat
        for name, value in beat.items():
            if self._driven.get(name) != value:
                self.fields[name].value = value
                self._driven[name] = value
        self.valid.value = 1
        while True:
            taken = bool(self.ready.value)  # registered: what the coming rising edge sees
            if not taken:
                # Sleep until ready rises (a reset makes every ready rise again), resume at a falling edge.
                await self.clock.within(RisingEdge(self.ready), f"{self.prefix}_ready stayed low")
                await self._falling()
                if self._dropped:
                    return False
                continue
            if taken and strobe:
                for name, value in strobe.items():
                    getattr(self.clock.dut, name).value = value
            await self._falling()
            if taken and strobe:
                for name in strobe:
                    getattr(self.clock.dut, name).value = 0
            if self._dropped:
                return False
            if taken:
                if not more:
                    self.valid.value = 0
                self._publish({**beat, **(strobe or {})})
                return True


class StreamSink(_Stream):
    """Drives `ready` of an output stream with a back-pressure pattern (`gap()` True = stall) and publishes
    every beat taken."""

    def __init__(self, dut, prefix: str, fields: list[str], clock: ClockReset):
        super().__init__(dut, prefix, fields, clock)
        self.ready.value = 0
        self.stalled_cycles = 0

    def start(self) -> None:
        cocotb.start_soon(self._run())

    async def _run(self) -> None:
        while True:
            await self._falling()
            if self.clock.in_reset:
                self.ready.value = 0
                continue
            if not self.valid.value:
                # Nothing offered: ready does not matter until valid rises (after a rising edge).
                await RisingEdge(self.valid)
                continue
            ready = not self.gap()
            self.ready.value = int(ready)
            if self.valid.value:
                if ready:
                    self._publish({n: int(h.value) for n, h in self.fields.items()})
                else:
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
        await FallingEdge(self.clock.clk)
        for n, v in values.items():
            self.handles[n].value = v
        await FallingEdge(self.clock.clk)
        for h in self.handles.values():
            h.value = 0
        if not self.clock.in_reset:
            for callback in self._subscribers:
                callback(values)
