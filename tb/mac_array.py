"""Bench layer shared by the compared designs' MAC arrays (bm_array, bf16_array, neuroflix_array): an
R x C output-stationary array of one MAC whose A fields are broadcast along rows (slot r of each A port),
B fields along columns (slot c of each B port) and the remaining fields (modes, scale, `last`) to every MAC,
as rtl/fast_array.sv. A tile is one reduction per MAC.

A design supplies an `ArrayLayout` (which fields are A's, B's, shared, and their slot widths) and its MAC
model as `predict_mac(mac_beats) -> (result bits, flags)`, the same model its MAC bench scores with; the
scoreboard here splits every array beat into the R*C MAC beats and compares the whole tile. The env records
the edges that take beats and results, so that a test can assert the cycle model on a job (`measure_job`).
"""
from __future__ import annotations

from typing import Callable

import cocotb
from cocotb_coverage.coverage import CoverPoint

from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem, WrongModelScoreboard


def dims() -> tuple[int, int]:
    """(ROWS, COLS) of the DUT."""
    return int(cocotb.top.ROWS.value), int(cocotb.top.COLS.value)


def f32_class(bits: int) -> str:
    e, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if e == 255:
        return "nan" if frac else "inf"
    return ("subnormal" if frac else "zero") if e == 0 else "normal"


class ArrayLayout:
    """Where a MAC's input fields sit on the array's ports: `a` and `b` map field -> slot width (A's in slot
    r, B's in slot c), `shared` fields go to every MAC as they are."""

    def __init__(self, a: dict[str, int], b: dict[str, int], shared: tuple[str, ...]):
        self.a, self.b, self.shared = a, b, shared

    @property
    def fields(self) -> list[str]:
        return [*self.a, *self.b, *self.shared]

    def pack(self, rows: list[dict], cols: list[dict]) -> dict:
        """One array beat from one MAC beat per row (its A fields, and the shared fields of row 0's) and
        one per column (its B fields)."""
        beat = {f: rows[0][f] for f in self.shared}
        for f, w in self.a.items():
            beat[f] = sum(int(x[f]) << (w * r) for r, x in enumerate(rows))
        for f, w in self.b.items():
            beat[f] = sum(int(x[f]) << (w * c) for c, x in enumerate(cols))
        return beat

    def split(self, beat: dict, r: int, c: int) -> dict:
        """The MAC beat that MAC (r, c) takes from an array beat."""
        mac = {f: beat[f] for f in self.shared}
        mac.update({f: (beat[f] >> (w * r)) & ((1 << w) - 1) for f, w in self.a.items()})
        mac.update({f: (beat[f] >> (w * c)) & ((1 << w) - 1) for f, w in self.b.items()})
        return mac


class TileJob(StreamItem):
    """Tiles sent back to back as one burst. A tile is ROWS + COLS MAC-beat sequences of one length T (rows
    first: A's fields come from sequence r, B's from sequence ROWS + c, shared fields from sequence 0); its
    last beat has `last`."""

    def __init__(self, name, layout: ArrayLayout, tiles: list[list[list[dict]]]):
        super().__init__(name)
        self.layout, self.tiles = layout, tiles

    def beats(self):
        rows, _ = dims()
        out = []
        for seqs in self.tiles:
            t = len(seqs[0])
            for k in range(t):
                beat = self.layout.pack([s[k] for s in seqs[:rows]], [s[k] for s in seqs[rows:]])
                beat["last"] = int(k == t - 1)
                out.append(beat)
        return out

    def __str__(self):
        return f"{self.get_name()}: {len(self.tiles)} tiles"


class ArrayScoreboard(Scoreboard):
    """Per tile: the MAC model on every (r, c), compared as one output beat. Subclasses set `layout` and
    implement `predict_mac`."""

    layout: ArrayLayout

    def predict_mac(self, beats: list[dict]) -> tuple[int, int]:
        raise NotImplementedError

    def build_phase(self):
        super().build_phase()
        self.accepts, self.results = [], []  # rising edges that took beats / results, over the whole test
        self.out_values: list[int] = []  # every output beat's result field, as taken

    def reset_model(self):
        self.tile = []

    def pending(self) -> str:
        return f"{len(self.tile)} beats of a tile without its last" if self.tile else ""

    def predict(self, port, txn):
        self.accepts.append(txn["cycle"])
        self.tile.append(txn)
        if not txn["last"]:
            return []
        beats, self.tile = self.tile, []
        return [self.reduce(beats)]

    def reduce(self, beats: list[dict], mac_beat: Callable[[dict], dict] = lambda b: b) -> dict:
        rows, cols = dims()
        values, flags = [], []
        for r in range(rows):
            for c in range(cols):
                v, f = self.predict_mac([mac_beat(self.layout.split(b, r, c)) for b in beats])
                values.append(int(v))
                flags.append(int(f))
        return {"result": sum(v << (32 * s) for s, v in enumerate(values)),
                "flags": sum(f << (2 * s) for s, f in enumerate(flags)),
                "values": values, "flag_list": flags, "length": len(beats), "beats": beats}

    def write_output(self, actual) -> None:
        self.results.append(actual["cycle"])
        self.out_values.append(actual["result"])
        super().write_output(actual)

    def same(self, expected, actual):
        return expected["result"] == actual["result"] and expected["flags"] == actual["flags"]

    def describe(self, expected, actual):
        rows, cols = dims()
        n = rows * cols
        got = [(actual["result"] >> (32 * s)) & 0xFFFFFFFF for s in range(n)]
        got_f = [(actual["flags"] >> (2 * s)) & 3 for s in range(n)]
        bad = [(s // cols, s % cols, f"{e:08x}/{ef}", f"{a:08x}/{af}")
               for s, (e, a, ef, af) in enumerate(zip(expected["values"], got, expected["flag_list"], got_f))
               if (e, ef) != (a, af)]
        return (f"tile of {expected['length']} beats: outputs (row, col, expected result/flags, actual) that "
                f"differ: {bad}")


def wrong_model(scoreboard: type, mac_beat: Callable[[dict], dict]) -> type:
    """A deliberately wrong model for the self-check: the right scoreboard with every MAC beat changed by
    `mac_beat` (fbuvm's WrongModelScoreboard: the test passes only if the scoreboard fails on the first
    tile where the two models disagree)."""

    class _Wrong(WrongModelScoreboard, scoreboard):
        def corrupt(self, expected):
            return self.reduce(expected["beats"], mac_beat)

    _Wrong.__name__ = f"Wrong{scoreboard.__name__}"
    return _Wrong


def coverage(dut: str) -> type:
    """Every output's class (zero, subnormal, normal, Inf, NaN) and its tile length (one beat or more)."""

    @CoverPoint(f"{dut}.result", xf=lambda r, n: r, bins=["zero", "subnormal", "normal", "inf", "nan"])
    @CoverPoint(f"{dut}.length", xf=lambda r, n: n, bins=["one", "many"])
    def _sample(result, length):
        pass

    class _Coverage(CoverageCollector):
        def sample(self, txn):
            for v in txn["values"]:
                _sample(f32_class(v), "one" if txn["length"] == 1 else "many")

    return _Coverage


class ArrayEnv(StreamEnv):
    """Subclasses set `layout`, `scoreboard_class` and `coverage_class`."""

    layout: ArrayLayout
    outputs = {"out": ["result", "flags"]}

    def build_phase(self):
        self.inputs = {"in": self.layout.fields}
        super().build_phase()

    def convert_input(self, port, beat):  # the taking edge's number (the monitor publishes it after that edge)
        return {**beat, "cycle": self.clock.cycle}

    def convert_output(self, beat):
        return {**beat, "cycle": self.clock.cycle}


async def measure_job(test, job: TileJob) -> int:
    """Run one job alone (drained before and after) and return its cycles: from the edge that takes its first
    beat to the one that takes its last tile's results. Asserts one output beat per tile."""
    from fbuvm.components import ItemSequence

    sb = test.env.scoreboard
    await test.env.drain()
    first, n_out = len(sb.accepts), len(sb.results)
    await test.run_sequence(ItemSequence(job.get_name(), job))
    await test.env.drain()
    sb.flush()
    assert len(sb.results) - n_out == len(job.tiles), (
        f"{job}: {len(sb.results) - n_out} results for {len(job.tiles)} tiles")
    return sb.results[-1] - sb.accepts[first]
