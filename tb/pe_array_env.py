"""pe_array bench layer: operand/config/result transactions, the tile scoreboard, GEMM jobs, coverage."""
from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import Event, gather
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import uvm_sequence

from fbuvm import seeds
from fbuvm.components import CoverageCollector, Scoreboard, StreamEnv, StreamItem
from models import BFPTensor, Fp2Bfp, bfp_gemm, bits_float32, cycles_per_block, mag_bits, mode_code
from models.fp2bfp import RTZ


def dut_params() -> tuple[int, int, int]:
    top = cocotb.top
    return int(top.ROWS.value), int(top.COLS.value), int(top.K.value)


# --- port packing -----------------------------------------------------------------------------------------
def pack_blocks(exp, sign, mag, flags) -> dict:
    """Blocks for every row (or column) slot -> the fields of an a/b beat."""
    return {
        "exp": int.from_bytes(np.asarray(exp, "<u1").tobytes(), "little"),
        "sign": int.from_bytes(np.packbits(np.asarray(sign, np.uint8).ravel(), bitorder="little").tobytes(),
                               "little"),
        "mag": int.from_bytes(np.asarray(mag, "<u2").tobytes(), "little"),
        "flags": sum(int(f) << (2 * i) for i, f in enumerate(np.asarray(flags).ravel())),
    }


def unpack_blocks(beat: dict, slots: int, k: int) -> tuple[np.ndarray, ...]:
    exp = np.frombuffer(beat["exp"].to_bytes(slots, "little"), "<u1").astype(np.int64)
    sign_bytes = np.frombuffer(beat["sign"].to_bytes((slots * k + 7) // 8, "little"), np.uint8)
    sign = np.unpackbits(sign_bytes, bitorder="little")[: slots * k].reshape(slots, k)
    mag = np.frombuffer(beat["mag"].to_bytes(2 * slots * k, "little"), "<u2").astype(np.int64).reshape(slots, k)
    flags = np.array([(beat["flags"] >> (2 * i)) & 3 for i in range(slots)], np.uint8)
    return exp, sign, mag, flags


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
        return [pack_blocks(b.exp[:, k], b.sign[:, k], b.mag[:, k], b.flags[:, k]) for k in range(b.exp.shape[1])]

    def __str__(self):
        return f"{self.get_name()}: block exps {self.blocks.exp.tolist()}"


# --- scoreboard -------------------------------------------------------------------------------------------
class PeArrayScoreboard(Scoreboard):
    """Groups the taken a and b beats into tiles under the configuration in force, and predicts each
    tile's results with the model's bfp_gemm."""

    input_ports = ("cfg", "a", "b")

    def build_phase(self):
        super().build_phase()
        self.rows, self.cols, self.k = dut_params()
        self.reset_model()

    def reset_model(self):
        self.cfg = {"mode_a": 0, "mode_b": 0, "kblocks": 1}  # the array's reset configuration
        self.pending = {"a": [], "b": []}

    def predict(self, port, txn):
        if port == "cfg":
            self.cfg = {**txn, "kblocks": max(1, txn["kblocks"])}
            return []
        self.pending[port].append(txn)
        kb = self.cfg["kblocks"]
        if len(self.pending["a"]) < kb or len(self.pending["b"]) < kb:
            return []
        a = self._tensor(self.pending["a"][:kb], self.rows, self.cfg["mode_a"])
        b = self._tensor(self.pending["b"][:kb], self.cols, self.cfg["mode_b"])
        del self.pending["a"][:kb], self.pending["b"][:kb]
        bits, flags = bfp_gemm(a, b)
        return [{"result": bits.ravel(), "flags": flags.ravel(), "cfg": dict(self.cfg), "a": a, "b": b}]

    def _tensor(self, beats, slots, mode) -> BFPTensor:
        parts = [unpack_blocks(beat, slots, self.k) for beat in beats]
        stack = [np.stack([p[i] for p in parts], axis=1) for i in range(4)]  # (slots, kb, ...)
        return BFPTensor(stack[0], stack[1], stack[2], stack[3], mode_code(mode))

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


# --- coverage ---------------------------------------------------------------------------------------------
MODE_PAIRS = [(a, b) for a in range(3) for b in range(3)]


@CoverPoint("pe_array.mode_pair", xf=lambda cfg, kind, flags: (cfg["mode_a"], cfg["mode_b"]), bins=MODE_PAIRS)
@CoverPoint("pe_array.tile_kind", xf=lambda cfg, kind, flags: kind, bins=["single_block", "multi_block"])
@CoverPoint("pe_array.flags", xf=lambda cfg, kind, flags: flags, bins=[0, 1, 2, 3])
@CoverCross("pe_array.mode_pair_x_tile_kind", items=["pe_array.mode_pair", "pe_array.tile_kind"])
def _sample_tile(cfg, kind, flags):
    pass


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

    def _take_result(self, beat: dict) -> None:
        self.results.append(beat)
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

    def quantize(self, quantizer: Fp2Bfp, rows: int, cols: int):
        m, kdim = self.a.shape
        n = self.b.shape[1]
        a = np.zeros((-(-m // rows) * rows, kdim), np.float32)
        a[:m] = self.a
        bt = np.zeros((-(-n // cols) * cols, kdim), np.float32)
        bt[:n] = self.b.T
        self.qa = quantizer(a, self.mode_a, self.rounding)
        self.qb = quantizer(bt, self.mode_b, self.rounding)
        na, nb = mag_bits(self.mode_a) // 4, mag_bits(self.mode_b) // 4
        self.useful_ops = m * n * kdim * na * nb
        self.tiles = [(i, j) for i in range(a.shape[0] // rows) for j in range(bt.shape[0] // cols)]

    @property
    def kblocks(self) -> int:
        return self.qa.exp.shape[1]


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


async def run_job(env: PeArrayEnv, job: GemmJob, quantizer: Fp2Bfp) -> int:
    """Configure the array, stream the job's operands and wait for every tile; returns the cycles."""
    job.quantize(quantizer, env.rows, env.cols)
    start = env.clock.cycle
    first = len(env.results)
    cfg = CfgItem("cfg", job.mode_a, job.mode_b, job.kblocks)
    seq = _Single("cfg", cfg)
    await seq.start(env.seqr["cfg"])
    streams = [cocotb.start_soon(OperandSequence(f"{side}_ops", job, side, slots).start(env.seqr[side]))
               for side, slots in (("a", env.rows), ("b", env.cols))]
    try:
        await gather(*streams)
    finally:  # a cancelled job (reset mid-tile) stops feeding its operands
        for stream in streams:
            stream.cancel()
    while len(env.results) < first + len(job.tiles):
        env.new_result.clear()
        await env.clock.within(env.new_result.wait(), f"job {job.name}: no tile result")
    return env.clock.cycle - start


class _Single(uvm_sequence):
    def __init__(self, name, item):
        super().__init__(name)
        self.item = item

    async def body(self):
        await self.start_item(self.item)
        await self.finish_item(self.item)


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
    return len(job.tiles) * job.kblocks * cycles_per_block(job.mode_a, job.mode_b, k)


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


__all__ = ["GemmJob", "PeArrayEnv", "run_job", "assemble", "utilization", "conv_layer_gemms",
           "fc_layer_gemms", "seeds"]
