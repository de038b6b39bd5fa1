"""bf16_array bench layer: tiles of bfloat16 groups on an R x C array of bf16_mac, scored with models.bf16_mac
per output (as the bf16_mac bench); the shared array layer is tb/mac_array.py."""
from __future__ import annotations

import cocotb
import numpy as np
from pyuvm import uvm_sequence

from bf16_mac_env import KINDS, ReductionItem, operands, unpack
from fbuvm import seeds
from mac_array import ArrayEnv, ArrayLayout, ArrayScoreboard, TileJob, coverage, dims
from models import bf16_mac as model


def lanes() -> int:
    return int(cocotb.top.N.value)


def layout() -> ArrayLayout:
    n = lanes()
    return ArrayLayout(a={"a": 16 * n}, b={"b": 16 * n}, shared=("last",))


class Bf16ArrayScoreboard(ArrayScoreboard):
    def build_phase(self):
        super().build_phase()
        self.layout = layout()

    def predict_mac(self, beats):
        n = lanes()
        a = np.array([unpack(b["a"], n) for b in beats], np.uint16)
        b = np.array([unpack(x["b"], n) for x in beats], np.uint16)
        bits, flags = model.mac(a, b)
        return int(bits), int(flags)


class Bf16ArrayEnv(ArrayEnv):
    scoreboard_class = Bf16ArrayScoreboard
    coverage_class = coverage("bf16_array")

    def build_phase(self):
        self.layout = layout()
        super().build_phase()


def random_tile(rng, t: int, kinds=KINDS) -> list[list[dict]]:
    """ROWS + COLS sequences of t MAC beats (rows' A groups, columns' B groups), each of a kind."""
    rows, cols = dims()
    n = lanes()
    seqs = []
    for _ in range(rows + cols):
        a, b = operands(rng, (t, n), str(rng.choice(kinds)))
        seqs.append(ReductionItem("r", a, b).beats())  # A's side for a row, B's for a column
    return seqs


def gemm_tiles(a16: np.ndarray, b16: np.ndarray) -> list[list[list[dict]]]:
    """The tiles of C = A B (bfloat16 bits; A m x kdim, B kdim x n) as the array computes it: rows and
    columns beyond the matrix and the reduction axis beyond Kdim padded with zeros, row-major over tiles."""
    rows, cols = dims()
    n_l = lanes()
    m, kdim = a16.shape
    n = b16.shape[1]
    t = -(-kdim // n_l)
    mp, np_ = -(-m // rows) * rows, -(-n // cols) * cols
    ap = np.zeros((mp, t * n_l), np.uint16)
    bp = np.zeros((np_, t * n_l), np.uint16)
    ap[:m, :kdim], bp[:n, :kdim] = a16, b16.T
    tiles = []
    for r0 in range(0, mp, rows):
        for c0 in range(0, np_, cols):
            seqs = [ReductionItem("r", ap[r].reshape(t, n_l), ap[r].reshape(t, n_l)).beats()
                    for r in range(r0, r0 + rows)]
            seqs += [ReductionItem("c", bp[c].reshape(t, n_l), bp[c].reshape(t, n_l)).beats()
                     for c in range(c0, c0 + cols)]
            tiles.append(seqs)
    return tiles


class TileSequence(uvm_sequence):
    """`count` jobs of 1..4 tiles of 1..max_len groups each, every operand kind of the bf16_mac bench."""

    def __init__(self, name, count=10, max_len=6, kinds=KINDS):
        super().__init__(name)
        self.count, self.max_len, self.kinds = count, max_len, kinds

    async def body(self):
        rng = seeds.rng(self.get_name())
        for j in range(self.count):
            tiles = [random_tile(rng, int(rng.integers(1, self.max_len + 1)), self.kinds)
                     for _ in range(int(rng.integers(1, 5)))]
            item = TileJob(f"job{j}", layout(), tiles)
            await self.start_item(item)
            await self.finish_item(item)
