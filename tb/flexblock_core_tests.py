"""flexblock_core tests. One alone: `make sim TOPLEVEL=flexblock_core TESTCASE=<name> [SEED=n] [SIM=verilator]`.

Icarus runs the short variants (about 300 cycles/s); Verilator runs the full mode x pass x rounding cross and
the training step."""
from __future__ import annotations

import itertools
import os

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, ItemSequence, WrongModelScoreboard, write_stats
from flexblock_core_env import (CAPACITY_CHECKS, CoreEnv, CoreScoreboard, JobItem, capacity, capacity_edge, cdiv,
                                dw_shapes, job_error, random_tensors, stored_shapes)
from models.bfp import MODE_NAMES
from models.core import (BWD, FWD, WG, G, W, X, LAYERS, PASS_NAMES, convert_cycles, core_cycles, core_period,
                         core_stream, core_utilization, dw_cycles, dw_parts, dw_period, front_cycles, layer_job)
from models import gemm_schedule

VERILATOR = os.environ.get("FLEXBLOCK_SIM") == "verilator"


class CoreBase(FlexBlockTest):
    env_class = CoreEnv
    budget_ms = 40
    count = 4
    kind = "normal"
    check_cycles = False

    def dims(self, rng):
        """Up to 2 x 2 tiles and 3 blocks (Verilator); Icarus (slow) up to 2 tiles and 2 blocks."""
        p = self.env.p
        tiles = 2 if VERILATOR else 1
        return (int(rng.integers(1, tiles * p["ROWS"] + 2)), int(rng.integers(1, (tiles + 1) * p["K"] - 2 * tiles)),
                int(rng.integers(1, tiles * p["COLS"] + 2)))

    out_bfp_share = 0.0  # the share of jobs whose results are requantized to BFP on chip (random mode, rounding)

    def jobs(self, rng):
        for _ in range(seeds.scaled(self.count if VERILATOR else (self.count + 1) // 2)):
            pass_ = int(rng.integers(0, 3))
            yield pass_, self.dims(rng), [int(v) for v in rng.integers(0, 3, 2)], [int(v) for v in rng.integers(0, 4, 2)]

    async def run_one(self, rng, pass_, dims, modes, rounds, tensors=None, out_bfp=None):
        m, kdim, n = dims
        tensors = tensors if tensors is not None else random_tensors(rng, pass_, m, kdim, n, self.kind)
        await self.env.load(tensors)
        if out_bfp is None and rng.random() < self.out_bfp_share:
            out_bfp = (int(rng.integers(0, 3)), int(rng.integers(0, 4)))
        job = JobItem(f"{PASS_NAMES[pass_]}", pass_, m, kdim, n, *modes, *rounds, seed=int(rng.integers(0, 1 << 16)),
                      out_bfp=out_bfp)
        cycles = await self.env.run_job(job)
        if self.check_cycles and not job_error(job.fields, self.env.p):
            p = self.env.p
            want = core_cycles(m, kdim, n, *modes, p["ROWS"], p["COLS"], p["K"], out_bfp=out_bfp is not None)
            assert cycles == want, (f"job {job.fields}: {cycles} cycles, the cycle model says {want} "
                                    f"(models.core.core_cycles, out_bfp={out_bfp is not None})")
        return job, cycles

    async def steady_period(self, name, pass_, jobs, shape):
        """Two equal jobs offered back to back: their last tiles must be where models.core.core_stream puts
        them and the second's period (last tile to last tile) models.core.core_period; returns (takes, lasts,
        period)."""
        p = self.env.p
        assert not job_error(jobs[0].fields, p), f"{name} {shape}: beyond DEPTH {p['DEPTH']} / BDEPTH {p['BDEPTH']}"
        takes, lasts = await self.env.run_burst(jobs)
        _, want = core_stream([shape, shape], takes, p["ROWS"], p["COLS"], p["K"])
        assert lasts == want, f"{name} {PASS_NAMES[pass_]} {shape}: last tiles {lasts}, core_stream says {want}"
        period = lasts[1] - lasts[0]
        assert period == core_period(*shape, p["ROWS"], p["COLS"], p["K"]), (period, shape)
        return takes, lasts, period

    async def body(self):
        rng = seeds.rng("jobs")
        for pass_, dims, modes, rounds in self.jobs(rng):
            await self.run_one(rng, pass_, dims, modes, rounds)


@pyuvm.test()
class RandomJobs(CoreBase):
    """Random passes, shapes (partial tiles, partial blocks), mode pairs and roundings per operand; a third of
    the jobs with their results requantized to BFP on chip."""
    count = 6
    out_bfp_share = 0.35


@pyuvm.test()
class OutputRequantization(CoreBase):
    """Results converted on chip to BFP blocks along C's rows in every output mode x rounding (SR with the
    job's seed in the output converter): N across several K-column blocks and partial ones (lanes past N
    convert as +0), partial tile rows, special operands (NaN / Inf results raise the block flags), jobs
    back to back with binary32 jobs between them. Verilator: all 12 output mode x rounding pairs; Icarus: 3.
    Results taken at once: every job's cycles equal models.core.core_cycles(out_bfp=True) (the gather and the
    output converter holding the array's result stream), the stream's models.core.core_stream."""
    check_cycles = True

    async def body(self):
        rng = seeds.rng("requant")
        p = self.env.p
        k = p["K"]
        cross = list(itertools.product(range(3), range(4)))
        if not VERILATOR:  # 3 of the 12 (Icarus is slow): every output mode, the roundings in turn
            r0 = int(rng.integers(0, 4))
            cross = [(mode, (r0 + mode) % 4) for mode in range(3)]
        for i, (mode, rnd) in enumerate(cross):
            self.kind = ("normal", "special-both", "special-huge")[i % 3]
            dims = (int(rng.integers(1, 2 * p["ROWS"] + 2)), int(rng.integers(1, k + 4)),
                    int(rng.integers(1, 2 * k + 3)) if VERILATOR or i % 2 else int(rng.integers(1, k + 2)))
            await self.run_one(rng, int(rng.integers(0, 3)), dims, [int(v) for v in rng.integers(0, 3, 2)],
                               [int(v) for v in rng.integers(0, 4, 2)], out_bfp=(mode, rnd))
        # back to back: BFP, binary32, BFP on one load (the output converter reseeds at each handover)
        m, kdim, n = p["ROWS"] + 1, k + 1, k + 2
        self.kind = "normal"
        await self.env.load(random_tensors(rng, FWD, m, kdim, n))
        jobs = [JobItem(f"b{j}", FWD, m, kdim, n, 2, 2, 3, 3, seed=int(rng.integers(0, 1 << 16)),
                        out_bfp=(2, 3) if j != 1 else None) for j in range(3)]
        takes, lasts = await self.env.run_burst(jobs)
        _, want = core_stream([(m, kdim, n, 2, 2, j != 1) for j in range(3)], takes, p["ROWS"], p["COLS"], k)
        assert lasts == want, f"BFP / binary32 / BFP stream {m}x{kdim}x{n}: last beats {lasts}, core_stream says {want}"


@pyuvm.test()
class ModesPassesRoundings(CoreBase):
    """All 9 mode pairs x FWD/BWD/WG x the four roundings (both operands), SR with a fresh seed per job and the
    LFSR state carried from A's blocks to B's. Icarus: 12 of the 108 (every pass x rounding once, the mode
    pairs in turn); Verilator: all 108."""

    def jobs(self, rng):
        p = self.env.p
        cross = list(itertools.product(range(3), range(4), [(a, b) for a in range(3) for b in range(3)]))
        if not VERILATOR:
            cross = [(ps, r, (i % 3, (i // 3) % 3)) for i, (ps, r) in enumerate(itertools.product(range(3), range(4)))]
        for pass_, r, modes in cross:
            yield pass_, (p["ROWS"] + 1, p["K"] + 3, p["COLS"]), list(modes), [r, r]


@pyuvm.test()
class SpecialOperands(CoreBase):
    """NaN, +/-Inf, products overflowing to +Inf, subnormals, zeros and all-zero rows in the FP32 tensors of
    every pass (the four kinds in turn: every combination of the result flags)."""
    count = 8
    kinds = ("special-nan", "special-inf", "special-both", "special-huge")

    async def run_one(self, rng, *args, **kwargs):
        self.kind = self.kinds[getattr(self, "turn", 0) % len(self.kinds)]
        self.turn = getattr(self, "turn", 0) + 1
        return await super().run_one(rng, *args, **kwargs)


@pyuvm.test()
class ConvLayer(CoreBase):
    """3x3 conv (stride 1, padding 1) FWD and BWD from tensors stored NHWC: FWD reads im2col(X) (X pixels x
    C), BWD im2col(dY) (dY pixels x Cout) through the address generator (each pixel shifted by the tap, taps
    outside the image zero) and W (9C x Cout) along its columns (FWD) or along its rows with the taps
    flipped (BWD); WG dW = im2col(X)^T . dY (X and dY pixels x channels: column reads of X at the tap's shifted
    pixels, a padding mask per lane); back-to-back images, partial last images (every second job), partial
    tiles, every rounding,
    output requantization now and then; a conv job with a bad shape gets an error beat."""
    count = 6

    async def body(self):
        rng = seeds.rng("conv")
        p = self.env.p
        k = p["K"]
        runs = 0
        while runs < seeds.scaled(self.count if VERILATOR else 3):
            pass_ = [FWD, BWD, WG][runs % 3]
            h, w, imgs = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 3))
            m, kdim, n = imgs * h * w, 9 * k, int(rng.integers(1, 2 * p["COLS"] + 1))
            if runs % 2:  # a partial last image: its missing pixels read as +0 (spec: a partial last image)
                m -= int(rng.integers(0, h * w))
            if pass_ == WG:  # M = 9 C rows of dW, the pixels (a partial last image now and then) along Kdim
                m, kdim = 9 * int(rng.integers(1, 3)), max(1, imgs * h * w - int(rng.integers(0, h * w)))
            out_bfp = (int(rng.integers(0, 3)), int(rng.integers(0, 4))) if rng.random() < 0.3 else None
            job = JobItem("conv", pass_, m, kdim, n, *(int(v) for v in rng.integers(0, 3, 2)),
                          *(int(v) for v in rng.integers(0, 4, 2)), seed=int(rng.integers(0, 1 << 16)), conv=(h, w),
                          out_bfp=out_bfp)
            if job_error(job.fields, p):
                continue  # too large for the buffers at this size: draw again
            shapes = stored_shapes(pass_, m, kdim, n, conv=True)
            tensors = {buf: random_tensors(rng, FWD, r, c, 1)[X] for buf, (r, c) in shapes.items()}
            await self.env.load(tensors)
            cycles = await self.env.run_job(job)
            if out_bfp is None:
                want = core_cycles(m, kdim, n, job.fields["mode_a"], job.fields["mode_b"], p["ROWS"], p["COLS"], k)
                assert cycles == want, f"conv job {job.fields}: {cycles} cycles, models.core.core_cycles says {want}"
            runs += 1
        await self.env.run_job(JobItem("conv_bad", FWD, 4, 9 * k + 1, 2, conv=(2, 2)))  # Kdim not a multiple of 9 K
        await self.env.run_job(JobItem("conv_wg_bad", WG, 10, 4, 2, conv=(2, 2)))       # conv WG: M not 9 C
        await self.env.run_job(JobItem("conv_wg_img", WG, 9, 4, 2, conv=(0, 2)))        # a zero image dimension


@pyuvm.test()
class ConvWeightGradient(CoreBase):
    """A 3x3 conv's WG on chip, dW = im2col(X)^T . dY from X and dY stored pixels x channels, in every mode pair:
    the 9 pairs as one stream of jobs on one load (roundings and seeds random, SR included), each job's
    results checked by the scoreboard and its take and last-tile edges against models.core.core_stream. The
    geometries are the padding corners of the per-lane mask: 1 x 1 images (every lane its own image), an image
    narrower than a block (3 x 5: a block spans rows and images, the lanes' counters wrap inside a step),
    one wider than a block (W = K + 3: rows start mid-block), partial last images, a single-row image; each
    over several blocks, so the lanes' pixel counters step as well as restart. Verilator: every pair on each of the four;
    Icarus: the 9 pairs split over the first two."""

    async def body(self):
        rng = seeds.rng("conv_wg")
        p = self.env.p
        k = p["K"]
        geometries = [(1, 1, k + 3), (3, 5, 2 * 15 + 3), (2, k + 3, 2 * (k + 3) - 5), (1, 5, 11)]
        pairs = [(a, b) for a in range(3) for b in range(3)]
        for g, (h, w, pixels) in enumerate(geometries if VERILATOR else geometries[:2]):
            c, n = int(rng.integers(1, 3)), int(rng.integers(1, p["COLS"] + 1))
            m, kdim = 9 * c, pixels
            tensors = {X: random_tensors(rng, FWD, kdim, c, 1)[X], G: random_tensors(rng, FWD, kdim, n, 1)[X]}
            await self.env.load(tensors)
            mine = pairs if VERILATOR else pairs[g::2]  # Icarus (slow): the 9 pairs split over two geometries
            jobs = [JobItem(f"wg{g}.{a}{b}", WG, m, kdim, n, a, b, *(int(v) for v in rng.integers(0, 4, 2)),
                            seed=int(rng.integers(0, 1 << 16)), conv=(h, w)) for a, b in mine]
            assert not job_error(jobs[0].fields, p)
            takes, lasts = await self.env.run_burst(jobs)
            _, want = core_stream([(m, kdim, n, a, b) for a, b in mine], takes, p["ROWS"], p["COLS"], k)
            assert lasts == want, f"conv WG {h}x{w}, {pixels} pixels: last tiles {lasts}, core_stream says {want}"
            self.logger.info(f"conv WG {pixels} pixels of {h}x{w}, C {c} -> {n}: {len(jobs)} mode pairs, "
                             f"last tiles {lasts}")


@pyuvm.test()
class WideTensors(CoreBase):
    """Column reads far along a stored row (columns up to 2K + 2: every bit of the skew's rotation) and row
    reads of several words: FWD with N = 2K + 3, WG with M = 2K + 3, BWD with Kdim = 2K + 3, FB12 x FB12 to
    keep them short. (A mutant dropping a rotation bit survived the other tests on Icarus.)"""

    async def body(self):
        rng = seeds.rng("wide")
        k = self.env.p["K"]
        for pass_, dims in ((FWD, (2, k + 1, 2 * k + 3)), (WG, (2 * k + 3, k + 1, 3)), (BWD, (3, 2 * k + 3, 2))):
            await self.run_one(rng, pass_, dims, [2, 2], [int(rng.integers(0, 4))] * 2)


@pyuvm.test()
class BackPressure(CoreBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(CoreBase):
    idle, backpressure = "none", "heavy"
    count = 3


@pyuvm.test()
class CycleModel(CoreBase):
    """Jobs with the results taken at once: the measured cycles equal models.core.core_cycles (binary32 results,
    and BFP results requantized on chip: core_cycles(out_bfp=True)); utilization of the job and the
    conversion/compute split are reported."""
    check_cycles = True
    count = 4

    async def body(self):
        rng = seeds.rng("jobs")
        p = self.env.p
        for pass_, dims, modes, rounds in self.jobs(rng):
            job, cycles = await self.run_one(rng, pass_, dims, modes, rounds)
            m, kdim, n = dims
            self.logger.info(
                f"{PASS_NAMES[pass_]} {m}x{kdim}x{n} modes {modes}: {cycles} cycles (convert "
                f"{convert_cycles(m, kdim, n, p['K'])}, array schedule "
                f"{gemm_schedule(m, kdim, n, *modes, p['ROWS'], p['COLS'], p['K'])}), utilization "
                f"{core_utilization(m, kdim, n, *modes, cycles, p['ROWS'], p['COLS']):.3f}")
        # BFP results (models.core.back_cycles_bfp): one-block tiles in FB12 x FB12 (a tile per cycle: the gather
        # holds the array's results until its result FIFO is full and the array stalls), several groups of K / COLS
        # tiles and a partial one, a partial tile row; then long tiles (the gather hides behind the compute)
        k = p["K"]
        for dims, modes in (((p["ROWS"] + 1, k, 2 * k + 3), [2, 2]), ((3, 2 * k, k + 1), [0, 1])):
            job, cycles = await self.run_one(rng, WG if modes == [0, 1] else FWD, dims, modes, [0, 3],
                                             out_bfp=(int(rng.integers(0, 3)), int(rng.integers(0, 4))))
            self.logger.info(f"BFP output {dims} modes {modes}: {cycles} cycles")


@pyuvm.test()
class JobStream(CoreBase):
    """Jobs offered back to back on loaded tensors (every pass, random modes, roundings, shapes, a bad job
    among them): the front converts job i + 1 into one set of BFP banks while the back computes job i from
    the other. Every job's take and last-tile edges equal models.core.core_stream's (given the measured take
    edges); each job is taken the edge after the previous one's handover; the error beat keeps its place.
    Where the buffers allow it, a job filling a set to its last word while the other set is read."""
    count = 6

    async def body(self):
        rng = seeds.rng("stream")
        p = self.env.p
        k = p["K"]
        for _ in range(2 if VERILATOR else 1):
            # one set of tensors for all three passes: X and G M x Kdim and Kdim x M are different shapes,
            # so FWD/BWD share X/W (square Kdim = N) and WG reads X stored Kdim x M
            while True:  # a shape both passes accept at this size
                m, kdim = int(rng.integers(1, 3 * p["ROWS"])), int(rng.integers(1, 2 * k + 2))
                n = kdim
                if not any(job_error(JobItem("", ps, m, kdim, n).fields, p) for ps in (FWD, BWD)):
                    break
            tensors = {X: random_tensors(rng, FWD, m, kdim, n)[X], W: random_tensors(rng, FWD, m, kdim, n)[W],
                       G: random_tensors(rng, BWD, m, kdim, n)[G]}
            await self.env.load(tensors)
            jobs, shapes = [], []
            for i in range(seeds.scaled(self.count if VERILATOR else 3)):
                pass_ = [FWD, BWD][i % 2]
                modes = [int(v) for v in rng.integers(0, 3, 2)]
                jobs.append(JobItem(f"s{i}", pass_, m, kdim, n, *modes, *(int(v) for v in rng.integers(0, 4, 2)),
                                    seed=int(rng.integers(0, 1 << 16))))
                shapes.append((m, kdim, n, *modes))
            bad_at = int(rng.integers(1, len(jobs)))
            jobs.insert(bad_at, JobItem("bad", 3, 1, 1, 1))
            takes, lasts = await self.env.run_burst(jobs)
            good = [i for i in range(len(jobs)) if i != bad_at]
            # the bad job splits the stream: its error beat waits for the back, the next job for the beat
            for part in (good[:bad_at], good[bad_at:]):
                t = [takes[i] for i in part]
                want_t, want_e = core_stream([shapes[good.index(i)] for i in part], t, p["ROWS"], p["COLS"], k)
                got_e = [lasts[i] for i in part]
                assert got_e == want_e, (f"jobs {[jobs[i].fields for i in part]}: last tiles at edges {got_e}, "
                                         f"models.core.core_stream says {want_e} (takes {t})")
                _, free = core_stream([shapes[good.index(i)] for i in part], None, p["ROWS"], p["COLS"], k)
                gaps = [b - a for a, b in zip(t, t[1:])]
                want_gaps = [b - a for a, b in zip(_, _[1:])]
                assert gaps == want_gaps, f"jobs taken {gaps} edges apart, the front frees {want_gaps} apart"
            self.logger.info(f"stream of {len(jobs)} jobs {m}x{kdim}x{n}: takes {takes}, last tiles {lasts}")
        # A set filled to its last word while the other is read: where the buffers allow it (ROWS * BDEPTH <= DEPTH,
        # e.g. the 2 x 2 regression size). L (WG, 8 tile rows of 4 FB24 x FB24 block pairs, one tile column)
        # re-reads its B blocks at the first words of its set for every tile row while F (FWD, one row, its B
        # = W filling all 3 BDEPTH words of a set: one FB24 block per column) is converted into the other set;
        # a small job flips the sets' parity and the pair runs again, so in one pair L reads set 1 while F fills
        # set 0 up to the word before set 1's first. A write past a block's last word (found by scripts/mutate.py:
        # bfp_bank's `j < wr_words` -> `<=`), or a set mix-up, corrupts L there. X (4K x K) is L's A (X^T) and,
        # by its first row, F's; G (4K x COLS) is L's B, W (K x COLS BDEPTH) F's: all loaded once.
        if p["ROWS"] * p["BDEPTH"] <= p["DEPTH"] and 4 * k <= p["DEPTH"]:
            fn = p["COLS"] * p["BDEPTH"]
            long_job = (WG, 16, 4 * k, p["COLS"], 0, 0)   # (pass, M, Kdim, N, mode_a, mode_b)
            full_job = (FWD, 1, k, fn, 2, 0)
            assert capacity(FWD, 1, k, fn, p, False, 2, 0)["B banks"] == (3 * p["BDEPTH"],) * 2
            x = random_tensors(rng, WG, 16, 4 * k, p["COLS"])
            await self.env.load({X: x[X], G: x[G], W: random_tensors(rng, FWD, 1, k, fn)[W]})
            for rnd in range(2):
                if rnd:  # the parity flip
                    await self.env.run_job(JobItem("flip", FWD, 1, k, fn, 2, 2))
                jobs = [JobItem(f"long{rnd}", long_job[0], *long_job[1:4], *long_job[4:], seed=rnd),
                        JobItem(f"full{rnd}", full_job[0], *full_job[1:4], *full_job[4:], seed=rnd)]
                assert not any(job_error(j.fields, p) for j in jobs)
                takes, lasts = await self.env.run_burst(jobs)
                shapes = [(*long_job[1:4], *long_job[4:]), (*full_job[1:4], *full_job[4:])]
                _, want = core_stream(shapes, takes, p["ROWS"], p["COLS"], k)
                assert lasts == want, f"full-set stream: last tiles {lasts}, core_stream says {want} (takes {takes})"
                converted = takes[1] + front_cycles(1, k, fn, k)
                assert converted < lasts[0] - 128, "full-set stream: F's conversion no longer ends while L computes"
                self.logger.info(f"full-set stream {rnd}: L taken {takes[0]}, F taken {takes[1]}, converted by "
                                 f"{converted}, L's last tile {lasts[0]}")


@pyuvm.test()
class LayerUtilization(CoreBase):
    """Layer passes as streams of equal jobs (models.core.layer_job: one 32 x 32 block of C per job, the whole
    reduction), two jobs back to back per mode pair on one load of the tensors: the steady-state cycles per
    job (the second job's last tile minus the first's) equal models.core.core_period, every result is
    checked by the scoreboard, and the figures go to the stats file for scripts/core_report.py. With
    FLEXBLOCK_CORE_LAYERS=full (the report, Verilator, DEPTH >= 1536, BDEPTH >= 384): every layer of
    models.core.LAYERS x FWD/BWD/WG x the 9 mode pairs; otherwise one small FC-shaped stream and one small
    conv WG stream in two mode pairs at the bench's size (one on Icarus)."""

    report_env = "FLEXBLOCK_CORE_LAYERS"

    async def body(self):
        p = self.env.p
        rng = seeds.rng("layers")
        if self.full_report:
            cases = [(kind, pass_, layer_job(kind, pass_)) for kind in LAYERS for pass_ in (FWD, BWD, WG)]
            pairs = [(a, b) for a in range(3) for b in range(3)]
        else:
            cases = [("fc", FWD, {"m": 2 * p["ROWS"], "kdim": 2 * p["K"], "n": 2 * p["COLS"], "conv": None, "jobs": 1}),
                     ("conv", WG, {"m": 9, "kdim": 2 * p["K"] + 6, "n": p["COLS"], "conv": (2, p["K"] + 3), "jobs": 1})]
            pairs = [(2, 2), (0, 1)] if VERILATOR else [(2, 2)]
        records = []
        for kind, pass_, job in cases:
            m, kdim, n, conv = job["m"], job["kdim"], job["n"], job["conv"]
            if conv:
                tensors = {buf: random_tensors(rng, FWD, r, c, 1)[X]
                           for buf, (r, c) in stored_shapes(pass_, m, kdim, n, conv=True).items()}
            else:
                tensors = random_tensors(rng, pass_, m, kdim, n)
            await self.env.load(tensors)
            for modes in pairs:
                jobs = [JobItem(f"{kind}.{PASS_NAMES[pass_]}", pass_, m, kdim, n, *modes, 0, 0,
                                seed=int(rng.integers(0, 1 << 16)), conv=conv) for _ in range(2)]
                takes, lasts, period = await self.steady_period(kind, pass_, jobs, (m, kdim, n, *modes))
                util = core_utilization(m, kdim, n, *modes, period, p["ROWS"], p["COLS"])
                records.append({"layer": kind, "pass": pass_, "modes": list(modes), "m": m, "kdim": kdim, "n": n,
                                "conv": bool(conv), "first_job": lasts[0] - takes[0], "period": period,
                                "utilization": util})
                self.logger.info(f"{kind} {PASS_NAMES[pass_]} {m}x{kdim}x{n} modes {modes}: first job "
                                 f"{lasts[0] - takes[0]} cycles, then {period} per job: utilization {util:.4f}")
        write_stats({"layers": records})


# --- depthwise conv (models.depthwise, spec section 6 "Depthwise conv") -------------------------------------
@pyuvm.test()
class DepthwiseLayer(CoreBase):
    """3x3 depthwise conv, one channel per job, through the window mapping: FWD reads the 4x4 input windows of
    the map's 2x2 output tiles (X, M x 16) against the kernel placed at the tile's four offsets (W, 16 x 4);
    BWD the same on dY (G) with the kernel turned by 180 degrees (W stored 4 x 16, read along its rows); WG
    the X shifted by a row (X, Kdim x 3) against dY shifted by a column (G, Kdim x 3) over the map's rows x
    (W + 2) columns. Odd and tiny maps, random mode pairs and roundings; every result checked by the
    scoreboard, every job's cycles against models.core.core_cycles, and on exact-integer channels the
    predicted (= the RTL's) map against the depthwise conv itself (models.depthwise.reference)."""
    count = 6

    async def body(self):
        from models import depthwise as dw
        rng = seeds.rng("depthwise")
        p = self.env.p
        if p["K"] != dw.WINDOW * dw.WINDOW:
            self.logger.info("DepthwiseLayer: the window mapping needs K = 16 (a 4x4 window per block)")
            return
        runs = 0
        while runs < seeds.scaled(self.count if VERILATOR else 3):
            pass_ = (FWD, BWD, WG)[runs % 3]
            h, w = int(rng.integers(1, 9 if VERILATOR else 6)), int(rng.integers(1, 9 if VERILATOR else 6))
            if runs == 2:  # the WG split once per run: its three jobs, then the class shares added
                await self.split(rng, h, w, exact=True)
            exact = runs % 2 == 1  # small integers: converted exactly, summed exactly
            draw = ((lambda s: rng.integers(-15, 16, s).astype(np.float32)) if exact else
                    (lambda s: (rng.standard_normal(s) * np.exp2(rng.integers(-4, 4))).astype(np.float32)))
            x, k, g = draw((h, w)), draw((3, 3)), draw((h, w))
            m, kdim, n = dw.job_shape(pass_, h, w)
            modes = [int(v) for v in rng.integers(0, 3, 2)]
            job = JobItem(f"dw.{PASS_NAMES[pass_]}", dw.JOB_PASS[pass_], m, kdim, n, *modes,
                          *(int(v) for v in rng.integers(0, 4, 2)), seed=int(rng.integers(0, 1 << 16)))
            if job_error(job.fields, p):
                continue  # beyond the buffers at this size: draw again
            await self.env.load(dw.stored(pass_, x, k, g))
            cycles = await self.env.run_job(job)
            want = core_cycles(m, kdim, n, *modes, p["ROWS"], p["COLS"], p["K"])
            assert cycles == want, f"depthwise job {job.fields}: {cycles} cycles, models.core.core_cycles says {want}"
            c = self.env.scoreboard.last_prediction
            got = c if pass_ == WG else dw.untile(c, h, w)
            if exact:
                ref = dw.reference(pass_, x, k, g)
                assert np.array_equal(got.astype(np.float64), ref), \
                    f"depthwise {PASS_NAMES[pass_]} {h}x{w}: the core's result is not the depthwise conv"
            self.logger.info(f"depthwise {PASS_NAMES[pass_]} {h}x{w} ({m}x{kdim}x{n}) modes {modes}: {cycles} cycles, "
                             f"utilization {dw.utilization(9 * h * w, *modes, cycles, p['ROWS'], p['COLS']):.3f}")
            runs += 1

    async def split(self, rng, h, w, exact):
        """The WG split of one channel: three jobs (4 x Kdim x 4), each checked by the scoreboard and its cycles
        by core_cycles; dW from the predicted (= the RTL's) shares must be models.depthwise.wg_split's, and on
        exact integers the conv's."""
        from models import depthwise as dw
        p = self.env.p
        x, g = (rng.integers(-15, 16, (h, w)).astype(np.float32) for _ in range(2))
        modes = [int(v) for v in rng.integers(0, 3, 2)]
        rounds = [int(v) for v in rng.integers(0, 4, 2)]
        seeds_ = [int(v) for v in rng.integers(0, 1 << 16, 3)]
        results = []
        for t, tensors in enumerate(dw.split_operands(x, g)):
            m, kdim, n = 4, tensors[G].shape[1], 4
            job = JobItem(f"dw.WGsplit{t}", BWD, m, kdim, n, *modes, *rounds, seed=seeds_[t])
            assert not job_error(job.fields, p), f"WG split {h}x{w} tile {t}: beyond the buffers"
            await self.env.load(tensors)
            cycles = await self.env.run_job(job)
            want = core_cycles(m, kdim, n, *modes, p["ROWS"], p["COLS"], p["K"])
            assert cycles == want, f"WG split job {job.fields}: {cycles} cycles, models.core.core_cycles says {want}"
            results.append(self.env.scoreboard.last_prediction)
        dw_model, _, model_results = dw.wg_split(x, g, *modes, *rounds, seeds_)
        for t in range(3):
            assert np.array_equal(results[t].view(np.uint32), model_results[t][0].view(np.uint32)), f"WG split tile {t}"
        ref = dw.reference(WG, x, np.zeros((3, 3)), g)
        if exact:
            assert np.array_equal(dw_model.astype(np.float64), ref), f"WG split {h}x{w}: dW is not the depthwise WG"
        self.logger.info(f"depthwise WG split {h}x{w} modes {modes}: dW = the conv's")


@pyuvm.test()
class DepthwiseUtilization(CoreBase):
    """Depthwise layer passes as streams of equal jobs (models.depthwise.layer_job: a 16 x 16 patch of one
    channel's map per FWD / BWD job, up to 4096 grid elements of it per WG job), two jobs back to back per mode
    pair on one load: the steady-state cycles per job equal models.core.core_period, every result is checked
    by the scoreboard, and the figures go to the stats file for scripts/core_report.py. With
    FLEXBLOCK_CORE_DW=full (the report, Verilator, DEPTH >= 4096, BDEPTH >= 256): MobileNetV2's stride-1
    depthwise layers x FWD/BWD/WG x the 9 mode pairs; otherwise the 7 x 7 layer's passes in one or two mode
    pairs at the bench's size. Then every pass again with each job loading its own tensors first (a new channel
    per job; the loads of job t + 1 go in while job t computes): cycles per job (per 3-job slice for the WG
    split) equal models.depthwise.with_loads_period."""

    report_env = "FLEXBLOCK_CORE_DW"

    async def body(self):
        from models import depthwise as dw
        p = self.env.p
        rng = seeds.rng("dw_layers")
        if p["K"] != dw.WINDOW * dw.WINDOW:
            self.logger.info("DepthwiseUtilization: the window mapping needs K = 16 (a 4x4 window per block)")
            return
        full = self.full_report
        names = list(dw.LAYERS) if full else ["dw7"]
        pairs = [(a, b) for a in range(3) for b in range(3)] if full else ([(0, 2), (2, 2)] if VERILATOR else [(1, 2)])
        records = []
        for name in names:
            for pass_ in (FWD, BWD, WG):
                job = dw.layer_job(name, pass_)
                m, kdim, n, h, w = job["m"], job["kdim"], job["n"], job["h"], job["w"]
                x, k, g = (rng.standard_normal(s).astype(np.float32) for s in ((h, w), (3, 3), (h, w)))
                await self.env.load(dw.stored(pass_, x, k, g))
                for modes in pairs:
                    jobs = [JobItem(f"{name}.{PASS_NAMES[pass_]}", dw.JOB_PASS[pass_], m, kdim, n, *modes, 0, 0,
                                    seed=int(rng.integers(0, 1 << 16))) for _ in range(2)]
                    takes, lasts, period = await self.steady_period(name, pass_, jobs, (m, kdim, n, *modes))
                    util = dw.utilization(job["useful"], *modes, period, p["ROWS"], p["COLS"])
                    records.append({"layer": name, "pass": pass_, "modes": list(modes), "m": m, "kdim": kdim, "n": n,
                                    "first_job": lasts[0] - takes[0], "period": period, "utilization": util})
                    self.logger.info(f"{name} {PASS_NAMES[pass_]} {m}x{kdim}x{n} modes {modes}: first job "
                                     f"{lasts[0] - takes[0]} cycles, then {period} per job: utilization {util:.4f}")
            for modes in pairs:  # the WG split: one slice's 3 jobs, each on its own tensors (loaded before it)
                sj = dw.split_layer_jobs(name)
                x, g = (rng.standard_normal((sj["h"], sj["w"])).astype(np.float32) for _ in range(2))
                cycles = []
                for t, tensors in enumerate(dw.split_operands(x, g)):
                    await self.env.load(tensors)
                    job = JobItem(f"{name}.WGsplit{t}", BWD, *sj["shapes"][t], *modes, 0, 0,
                                  seed=int(rng.integers(0, 1 << 16)))
                    assert not job_error(job.fields, p), f"{name} WG split: beyond the buffers"
                    cycles.append(await self.env.run_job(job))
                    want = core_cycles(*sj["shapes"][t], *modes, p["ROWS"], p["COLS"], p["K"])
                    assert cycles[-1] == want, f"{name} WG split job {t}: {cycles[-1]} cycles, core_cycles says {want}"
                period = dw.split_period(name, *modes, p["ROWS"], p["COLS"])
                util = dw.utilization(sj["useful"], *modes, period, p["ROWS"], p["COLS"])
                records.append({"layer": name, "pass": "WGsplit", "modes": list(modes), "shapes": sj["shapes"],
                                "job_cycles": cycles, "period": period, "utilization": util})
                self.logger.info(f"{name} WG split {sj['shapes']} modes {modes}: jobs {cycles} cycles alone "
                                 f"(= core_cycles), stream period (model) {period}: utilization {util:.4f}")
            # with loads: every job loads its own tensors (a new channel each), the loads of job t + 1 going in
            # while job t computes; measured on the RTL beside models.depthwise.with_loads_period
            for modes in ([(0, 0), (1, 1), (2, 2)] if full else pairs):  # the report's three pairs
                for pass_ in ((FWD, "WGsplit") if seeds.quick() else (FWD, BWD, WG, "WGsplit")):
                    if pass_ == "WGsplit":
                        sj = dw.split_layer_jobs(name)
                        h, w, useful = sj["h"], sj["w"], sj["useful"]
                        per = 3
                    else:
                        job = dw.layer_job(name, pass_)
                        h, w, useful = job["h"], job["w"], job["useful"]
                        per = 1
                    items = []
                    for _ in range(3 if per == 1 else 2):
                        x, k, g = (rng.standard_normal(s).astype(np.float32) for s in ((h, w), (3, 3), (h, w)))
                        if pass_ == "WGsplit":
                            items += [(t, BWD, (4, t[G].shape[1], 4)) for t in dw.split_operands(x, g)]
                        else:
                            items.append((dw.stored(pass_, x, k, g), dw.JOB_PASS[pass_], (job["m"], job["kdim"], job["n"])))
                    takes, lasts = await self.loaded_stream(items, modes, f"{name}.{pass_}")
                    shapes = [(*shape, *modes) for _, _, shape in items]
                    _, want = core_stream(shapes, takes, p["ROWS"], p["COLS"], p["K"])
                    assert lasts == want, f"{name} {pass_} with loads: last tiles {lasts}, core_stream says {want}"
                    period = lasts[-1] - lasts[-1 - per]
                    model = dw.with_loads_period([(pass_ if pass_ != "WGsplit" else WG, *sh) for sh in shapes[:per]],
                                                 p["ROWS"], p["COLS"])
                    assert period == model, (f"{name} {pass_} with loads, modes {modes}: {period} cycles per round, "
                                             f"models.depthwise.with_loads_period says {model}")
                    records.append({"layer": name, "pass": f"{pass_}+loads", "modes": list(modes), "period": period,
                                    "model_period": model,
                                    "utilization": dw.utilization(useful, *modes, period, p["ROWS"], p["COLS"]),
                                    "model_utilization": dw.utilization(useful, *modes, model, p["ROWS"], p["COLS"])})
                    self.logger.info(f"{name} {PASS_NAMES.get(pass_, pass_)} with loads, modes {modes}: {period} cycles per "
                                     f"{'slice' if per == 3 else 'job'} (model {model})")
        write_stats({"dw_layers": records})

    async def loaded_stream(self, items, modes, name):
        """Jobs each after its own tensors' loads: load 0, job 0, load 1 (taken once job 0's conversion is done:
        ld waits for the front), job 1, ...; returns the jobs' take and last-tile edges."""
        from fbuvm.components import ItemSequence
        t0, l0 = len(self.env.job_edges), len(self.env.last_edges)
        for n, (tensors, pass_code, shape) in enumerate(items):
            await self.env.load(tensors)
            job = JobItem(f"{name}.{n}", pass_code, *shape, *modes, 0, 0, seed=n)
            assert not job_error(job.fields, self.env.p), f"{name}: beyond the buffers"
            await ItemSequence("job", job).start(self.env.seqr["job"])  # returns once the job is taken
        while len(self.env.last_edges) < l0 + len(items):
            self.env.done.clear()
            await self.env.clock.within(self.env.done.wait(), f"{name}: a last beat missing", cycles=2_000_000)
        self.env.scoreboard.flush()
        return self.env.job_edges[t0:], self.env.last_edges[l0:]


@pyuvm.test()
class BadConfigurations(CoreBase):
    """Zero dimensions, the reserved pass code, tensors beyond the FP32 region or the BFP banks: one error beat
    each, nothing hangs; a dropped load beat raises ld_error; a good job runs afterwards."""

    async def body(self):
        p = self.env.p
        rng = seeds.rng("bad")
        k = p["K"]
        too_long = p["DEPTH"] + 1                      # rows of a 1-word-wide tensor beyond the region
        bdeep = p["BDEPTH"] * p["ROWS"] + 1            # rows beyond the A banks (one block each)
        bad = [(0, 0, 4, 4), (0, 4, 0, 4), (1, 4, 4, 0), (3, 2, k, 2), (0, too_long, k, 1),
               (2, 1, too_long, 1), (0, bdeep, k, 1) if bdeep <= 0xFFFF else (0, 1, 0xFFFF, 1),
               (1, 0xFFFF, 0xFFFF, 0xFFFF), (2, 0xFFFF, 0x1001, 3)]  # products beyond 16 bits
        while len(bad) < 13:  # random shapes (log-uniform up to 4 x DEPTH), good or bad by the spec's rule
            pass_, *dims = (int(rng.integers(0, 4)), *(int(v) for v in np.exp2(rng.uniform(0, np.log2(4 * p["DEPTH"]), 3))))
            small = cdiv(dims[0], p["ROWS"]) * cdiv(dims[2], p["COLS"]) * cdiv(dims[1], k) <= 8
            if job_error(JobItem("", pass_, *dims).fields, p) or small:
                bad.append((pass_, *dims))
        for pass_, m, kdim, n in bad:
            job = JobItem("bad", pass_, m, kdim, n)
            if job_error(job.fields, p):
                await self.env.run_job(job)
            else:  # a random shape that fits: run it for real
                await self.run_one(rng, pass_, (m, kdim, n), [2, 2], [0, 0])
        assert int(self.env.dut.ld_error.value) == 0
        ld = self.env.sources["ld"]
        await ld.send({"buf": 3, "row": 0, "cblk": 0, "cols": 4, "data": 0})
        await self.env.clock.cycles(2)
        assert int(self.env.dut.ld_error.value) == 1, "a load to the reserved region must raise ld_error"
        await self.run_one(rng, FWD, (3, k + 1, 2), [1, 2], [1, 0])


@pyuvm.test()
class CapacityLimits(CoreBase):
    """Each of the four capacity checks of the spec (section 6, Errors: A's and B's FP32 regions, A's and B's
    BFP banks) exercised alone, at its edge: a job that fills exactly what the check allows (the others fitting)
    is accepted and computed right; the cheapest job one past it (the others fitting) gets exactly the error
    beat. The banks count words of dense blocks (FB12 1, FB16 2, FB24 3 per block), so their checks run per
    mode: one past the limit in FB24, FB16 and FB12, exactly full in FB24 and FB12 (the checked side in the
    mode, the other FB12); the regions' checks do not depend on the mode (run in FB12). Shapes are found from
    the parameters (flexblock_core_env.capacity_edge); a check that cannot be exceeded alone with these
    parameters is logged; the quick regression leaves out the full-bank jobs (a tile per bank block, up to
    3 BDEPTH ROWS conversions). (Found by scripts/mutate.py: `>` -> `>=` on the B region and `||` -> `&&`
    between the B-region and A-bank checks survived every other test.)"""

    async def body(self):
        p = self.env.p
        rng = seeds.rng("capacity")
        for check in CAPACITY_CHECKS:
            banks = check.endswith("banks")
            for mode in ((0, 1, 2) if banks else (2,)):
                for over in (False, True):
                    edge = capacity_edge(check, over, p, mode)
                    what = f"{check} {'one past its limit, alone' if over else 'exactly full'} ({MODE_NAMES[mode]})"
                    if edge is None:
                        self.logger.info(f"capacity: no job has its {what} with these parameters")
                        continue
                    if not over and banks and (seeds.quick() or mode == 1):
                        continue  # ~1000-2000 cycles each (a tile per bank block); make sim runs FB24 and FB12
                    pass_, m, kdim, n = edge
                    modes = (mode, 2) if check.startswith("A") else (2, mode)  # the other side as cheap as can be
                    cap = capacity(pass_, m, kdim, n, p, False, *modes)
                    used, limit = cap[check]
                    assert used > limit if over else used == limit, (what, cap)
                    self.logger.info(f"capacity: {what}: {PASS_NAMES[pass_]} M {m} Kdim {kdim} N {n} modes {modes} "
                                     f"({', '.join(f'{c} {u}/{lim}' for c, (u, lim) in cap.items())})")
                    self.env.scoreboard.note = f"capacity check: {what}"
                    if over:
                        assert job_error(JobItem("", pass_, m, kdim, n, *modes).fields, p)
                        await self.env.run_job(JobItem("over", pass_, m, kdim, n, *modes))
                    else:
                        await self.run_one(rng, pass_, (m, kdim, n), list(modes), [0, 0])
                    self.env.scoreboard.note = ""


@pyuvm.test()
class DenseBeyondBdepth(CoreBase):
    """Dense packing's point: an FB12 x FB12 job needing more than BDEPTH blocks per A bank (BDEPTH + 1: one
    FB12 block per word, 3 BDEPTH words per set) runs bit-exactly and in core_cycles (a WG job, A = X^T with a
    single block along Kdim: the regions allow it at every size); the same shape with A in FB16 (2 words per
    block) still fits, in FB24 (3 words) it gets the error beat."""
    check_cycles = True

    async def body(self):
        p = self.env.p
        rng = seeds.rng("dense")
        m, n = p["ROWS"] * (p["BDEPTH"] + 1), p["COLS"] + 1
        kdim = int(rng.integers(1, min(p["K"], p["DEPTH"] // cdiv(m, p["K"])) + 1))  # X stored Kdim x M fits its region
        blocks = cdiv(m, p["ROWS"]) * cdiv(kdim, p["K"])
        assert blocks > p["BDEPTH"] and not job_error(JobItem("", WG, m, kdim, n, 2, 2).fields, p)
        assert not job_error(JobItem("", WG, m, kdim, n, 1, 2).fields, p)
        self.logger.info(f"dense: WG M {m} Kdim {kdim} N {n}, FB12 x FB12: {blocks} blocks per A bank (BDEPTH "
                         f"{p['BDEPTH']})")
        self.env.scoreboard.note = "FB12 beyond BDEPTH blocks per bank"
        tensors = random_tensors(rng, WG, m, kdim, n)
        await self.run_one(rng, WG, (m, kdim, n), [2, 2], [int(rng.integers(0, 4))] * 2, tensors=tensors)
        bad = JobItem("fb24", WG, m, kdim, n, 0, 2)
        assert job_error(bad.fields, p)
        await self.env.run_job(bad)
        self.env.scoreboard.note = ""


@pyuvm.test()
class ResetMidJob(CoreBase):
    """A reset during a job's conversion or compute: its results are dropped, the tensors stay loaded, and
    the next job is right; a reset in the middle of a load keeps exactly the beats taken before it."""
    idle, backpressure = "none", "random"

    async def body(self):
        rng = seeds.rng("reset")
        p = self.env.p
        dims = (2 * p["ROWS"], 2 * p["K"], 2 * p["COLS"]) if VERILATOR else (p["ROWS"] + 1, p["K"] + 1, p["COLS"])
        tensors = random_tensors(rng, FWD, *dims)
        await self.env.load(tensors)
        for _ in range(2):
            task = cocotb.start_soon(self.env.run_job(JobItem("doomed", FWD, *dims, 0, 0, 3, 3, 0x1234)))
            await self.env.clock.cycles(int(rng.integers(3, 120)))
            await self.env.clock.reset()
            task.cancel()
            await self.run_one(rng, FWD, dims, [1, 0], [3, 3], tensors=tensors)
        # a reset in the middle of reloading X and W: the beats taken before it are stored (the mirror has
        # them too), the rest keep the old values; the next job sees that mix
        new = random_tensors(rng, FWD, *dims)
        task = cocotb.start_soon(self.env.load(new))
        await self.env.clock.cycles(int(rng.integers(2, 2 * dims[0])))
        await self.env.clock.reset()
        task.cancel()
        await self.env.run_job(JobItem("after_load_reset", FWD, *dims, 2, 1, 0, 1))


@pyuvm.test()
class TrainingStep(CoreBase):
    """`make train`'s first training step (models.training.training_gemms, FB12LG16, RTZ): every GEMM through
    the core from its FP32 tensors, checked bit for bit against the training's own result as well as by the
    scoreboard, and its cycles against models.core.core_cycles. Verilator at the default size only (496 tiles of a 4 x 4 array); elsewhere a note."""
    budget_ms = 400

    async def body(self):
        p = self.env.p
        if not VERILATOR or p["ROWS"] != 4 or p["COLS"] != 4 or p["K"] != 16:
            self.logger.info("TrainingStep: runs on Verilator with the default parameters only")
            await self.run_one(seeds.rng("t"), FWD, (2, 3, 2), [0, 0], [0, 0])
            return
        from models.training import training_gemms
        total = 0
        for item in training_gemms(1):
            layer, pass_name = item.name.split(".")
            pass_ = {"fp": FWD, "bp": BWD, "wg": WG}[pass_name]
            a, b = item.a, item.b
            tensors = {FWD: {X: a, W: b}, BWD: {G: a, W: b.T}, WG: {X: a.T, G: b}}[pass_]
            m, kdim = a.shape
            n = b.shape[1]
            await self.env.load({buf: np.ascontiguousarray(t) for buf, t in tensors.items()})
            job = JobItem(item.name, pass_, m, kdim, n, item.mode_a, item.mode_b, item.rounding, item.rounding,
                          item.seed)
            first = self.env.scoreboard.checked
            cycles = await self.env.run_job(job)
            want = self.env.scoreboard.last_prediction
            assert np.array_equal(want.view(np.uint32), np.asarray(item.c, np.float32).view(np.uint32)), \
                f"{item.name}: the core's model differs from the training's result"
            want_cycles = core_cycles(m, kdim, n, item.mode_a, item.mode_b)
            assert cycles == want_cycles, f"{item.name}: {cycles} cycles, models.core.core_cycles says {want_cycles}"
            total += cycles
            self.logger.info(f"{item.name} {m}x{kdim}x{n} modes ({item.mode_a}, {item.mode_b}): {cycles} cycles, "
                             f"{self.env.scoreboard.checked - first} tiles, utilization "
                             f"{core_utilization(m, kdim, n, item.mode_a, item.mode_b, cycles):.3f}")
        write_stats({"training_step_cycles": total})
        self.logger.info(f"training step: {total} cycles through the core")


class _RtzScoreboard(WrongModelScoreboard, CoreScoreboard):
    """A deliberately wrong model: B is always converted with RTZ, whatever the job says."""

    def corrupt(self, expected):
        if expected["error"]:
            return expected
        cache = self.__dict__.setdefault("_wrong", {})
        key = id(expected["model"])
        if key not in cache:
            job = {**expected["job"], "round_b": 0}
            cache[key] = (self.dw_beats if job["dw"] else self.tiles)(job, *expected["model"](job))
        return cache[key][expected["index"]]


@pyuvm.test()
class ScoreboardCatchesWrongModel(CoreBase):
    """The scoreboard must catch a model that ignores B's rounding, on the first tile it gets wrong."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(CoreScoreboard, _RtzScoreboard)
        super().build_phase()

    async def body(self):
        p = self.env.p
        await self.run_one(seeds.rng("w"), FWD, (2 * p["ROWS"], 3 * p["K"], 2 * p["COLS"]), [0, 0], [2, 2])


# --- depthwise jobs (job_dw: dw_unit inside the core) --------------------------------------------------------
def dw_tensors(rng, pass_: int, h: int, w: int, c: int, special: bool = False) -> dict:
    """A depthwise job's stored tensors (flexblock_core_env.dw_shapes), random; special: whole channels of NaN,
    +/-Inf and zeros, subnormals mixed in."""
    out = {}
    for buf, (r, cols) in dw_shapes(pass_, h, w, c).items():
        t = (rng.standard_normal((r, cols)) * np.exp2(rng.integers(-3, 3, (1, cols)))).astype(np.float32)
        if special:
            pick = rng.integers(0, 5, cols)  # per channel: normal, NaN somewhere, an Inf, all zero, subnormals
            for ch in range(cols):
                row = int(rng.integers(0, r))
                if pick[ch] == 1:
                    t[row, ch] = np.nan
                elif pick[ch] == 2:
                    t[row, ch] = np.inf if rng.random() < 0.5 else -np.inf
                elif pick[ch] == 3:
                    t[:, ch] = 0.0
                elif pick[ch] == 4:
                    t[:, ch] = (rng.standard_normal(r) * 2.0 ** -130).astype(np.float32)
        out[buf] = t
    return out


class DepthwiseBase(CoreBase):
    """Depthwise jobs through the core: FP32 tensors in the buffer -> fp2bfp (blocks along the channels, the job's
    seed) -> dw_unit -> binary32 results on `out` (models.core.core_dw)."""

    def dw_dims(self, rng):
        p = self.env.p
        h, w = int(rng.integers(1, 5)), int(rng.integers(1, min(5, p["DW_W_MAX"]) + 1))
        c = int(rng.integers(1, 2 * p["K"] + 1))
        return h, w, c, int(rng.integers(0, cdiv(c, p["K"])))

    async def dw_job(self, rng, pass_, h, w, c, grp, modes, rounds, special=False, check_cycles=True):
        await self.env.load(dw_tensors(rng, pass_, h, w, c, special))
        job = JobItem(f"dw.{PASS_NAMES[pass_]}", pass_, 0, c, grp, *modes, *rounds,
                      seed=int(rng.integers(0, 1 << 16)), dw=(h, w))
        assert not job_error(job.fields, self.env.p)
        cycles = await self.env.run_job(job)
        p = self.env.p
        if check_cycles and (pass_ == WG or min(h, 2) * min(w, 2) >= dw_parts(p["ROWS"], p["COLS"], p["K"])):
            want = dw_cycles(pass_, h, w, p["ROWS"], p["COLS"], p["K"])
            assert cycles == want, f"dw job {job.fields}: {cycles} cycles, models.core.dw_cycles says {want}"
        return cycles


@pyuvm.test()
class DepthwiseUnit(DepthwiseBase):
    """Depthwise jobs (FWD, BWD, WG) on random small maps and channel counts (a partial last group: lanes past C
    read +0), every mode pair (quick: a seeded 4 of the 9), every rounding per operand including SR, NaN / Inf /
    zero / subnormal channels every third job. Each job alone: its cycles equal models.core.dw_cycles exactly
    (where defined: the 2 x 2 core's out stream sets the pace for a 1-wide map's FWD / BWD). Then dw jobs
    interleaved with GEMM jobs on the same stored tensors (BWD dX = G . W^T and WG dW = X^T . G read the dw
    job's G (H*W x C), W (9 x C) and X) offered back to back: beats in job order."""
    check_dw_cycles = True

    async def body(self):
        rng = seeds.rng("dw")
        p = self.env.p
        pairs = [(a, b) for a in range(3) for b in range(3)]
        if seeds.quick() or not VERILATOR:
            pairs = [pairs[int(i)] for i in rng.choice(9, 4 if VERILATOR else 3, replace=False)]
        for i, modes in enumerate(pairs):
            pass_ = (i + int(rng.integers(0, 3))) % 3
            h, w, c, grp = self.dw_dims(rng)
            rounds = [3, 3] if i == 0 else [int(v) for v in rng.integers(0, 4, 2)]  # SR at least once
            cycles = await self.dw_job(rng, pass_, h, w, c, grp, list(modes), rounds, special=i % 3 == 2,
                                       check_cycles=self.check_dw_cycles)
            self.logger.info(f"dw {PASS_NAMES[pass_]} {h}x{w} C {c} group {grp} modes {modes} rounds {rounds}: "
                             f"{cycles} cycles")
        # interleaved with GEMM jobs: one load of X, W, G (H*W x C, 9 x C, H*W x C), then a burst
        h, w, c, grp = self.dw_dims(rng)
        tensors = dw_tensors(rng, WG, h, w, c)
        tensors.update({W: dw_tensors(rng, FWD, h, w, c)[W]})
        await self.env.load(tensors)
        hw = h * w
        seed = lambda: int(rng.integers(0, 1 << 16))  # noqa: E731
        md = lambda: [int(v) for v in rng.integers(0, 3, 2)] + [int(v) for v in rng.integers(0, 4, 2)]  # noqa: E731
        jobs = [JobItem("gemm.BWD", BWD, hw, c, 9, *md(), seed=seed()),
                JobItem("dw.FWD", FWD, 0, c, grp, *md(), seed=seed(), dw=(h, w)),
                JobItem("gemm.WG", WG, c, hw, c, *md(), seed=seed()),
                JobItem("dw.WG", WG, 0, c, grp, *md(), seed=seed(), dw=(h, w)),
                JobItem("dw.BWD", BWD, 0, c, grp, *md(), seed=seed(), dw=(h, w))]
        if VERILATOR or not seeds.quick():
            jobs.append(JobItem("gemm.BWD2", BWD, hw, c, 9, *md(), seed=seed()))
        assert not any(job_error(j.fields, p) for j in jobs)
        await self.env.run_burst(jobs)


@pyuvm.test()
class DepthwiseBackPressure(DepthwiseUnit):
    """DepthwiseUnit with random idle on the inputs and bursty back-pressure on out: the unit stalls, nothing
    is lost (cycles not checked)."""
    idle, backpressure = "random", "bursty"
    check_dw_cycles = False


@pyuvm.test()
class DepthwiseErrors(DepthwiseBase):
    """Bad depthwise jobs get exactly one error beat (spec section 6, Errors): H = 0, W = 0, W > DW_W_MAX, C = 0,
    a group past the stored channels, the map or the kernel beyond its region, the reserved pass, BFP results;
    good depthwise jobs run afterwards, two of them exactly at a limit (W = DW_W_MAX; a 2 x 2 map of DEPTH / 4
    words per pixel, filling its regions)."""

    async def body(self):
        p = self.env.p
        k, depth = p["K"], p["DEPTH"]
        rng = seeds.rng("dw_bad")
        kernel_c = k * (depth // 9 + 1)  # 9 ceil(C / K) > DEPTH
        bad = [(FWD, 0, 3, 16, 0), (BWD, 3, 0, 16, 0), (WG, 1, p["DW_W_MAX"] + 1, 16, 0), (FWD, 2, 2, 0, 0),
               (BWD, 2, 2, 2 * k, 2), (FWD, 2, 2, k + 1, 2), (WG, depth + 1, 1, 1, 0), (BWD, depth // 2 + 1, 2, 1, 0),
               (FWD, 1, 1, kernel_c, 0), (3, 2, 2, 16, 0)]
        for pass_, h, w, c, grp in bad:
            job = JobItem("dw.bad", pass_, 0, c, grp, dw=(h, w))
            assert job_error(job.fields, p), job.fields
            await self.env.run_job(job)
        job = JobItem("dw.bfp", FWD, 0, 16, 0, dw=(2, 2), out_bfp=(0, 0))
        assert job_error(job.fields, p)
        await self.env.run_job(job)
        await self.dw_job(rng, FWD, 2, 3, k + 3, 1, [1, 2], [3, 1])
        await self.dw_job(rng, FWD, 1, p["DW_W_MAX"], k, 0, [0, 0], [0, 0])
        assert depth % 4 == 0
        await self.dw_job(rng, WG, 2, 2, k * (depth // 4), 0, [2, 2], [1, 1])  # X and G: 4 pixels x DEPTH / 4 words


@pyuvm.test()
class DepthwiseResetMidJob(DepthwiseBase):
    """A reset while a depthwise job is being fed or drained: its beats are dropped, the tensors stay loaded, the
    job re-run afterwards is right (FWD, then WG)."""
    idle, backpressure = "none", "random"

    async def body(self):
        rng = seeds.rng("dw_reset")
        p = self.env.p
        for pass_ in (FWD, WG):
            h, w, c = 3, min(4, p["DW_W_MAX"]), p["K"] + 2
            await self.env.load(dw_tensors(rng, pass_, h, w, c))
            job = lambda: JobItem("dw", pass_, 0, c, 1, 1, 0, 3, 3, 0x1234, dw=(h, w))  # noqa: E731
            task = cocotb.start_soon(self.env.run_job(job()))
            await self.env.clock.cycles(int(rng.integers(3, 60)))
            await self.env.clock.reset()
            task.cancel()
            await self.env.run_job(job())



@pyuvm.test()
class DepthwiseScoreboardCatchesWrongModel(DepthwiseBase):
    """The scoreboard must catch a depthwise model that converts the kernel with RTZ whatever the job says (the
    job asks for SR), on the first beat it gets wrong."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(CoreScoreboard, _RtzScoreboard)
        super().build_phase()

    async def body(self):
        await self.dw_job(seeds.rng("w"), FWD, 3, 3, self.env.p["K"], 0, [0, 0], [3, 3], check_cycles=False)


# MobileNetV2's stride-1 depthwise maps (models.depthwise.LAYERS) as the unit's report measures them: (H, W), the
# 112 x 112 map on 16 rows.
DW_UNIT_MAPS = ((16, 112), (56, 56), (28, 28), (14, 14), (7, 7))


@pyuvm.test()
class DepthwiseUnitUtilization(DepthwiseBase):
    """The depthwise unit inside the core on MobileNetV2's stride-1 depthwise maps, FWD / BWD / WG: per map and
    pass two jobs of one channel group back to back on resident tensors (results taken at once); the first job's
    cycles must equal models.core.dw_cycles and the second's period (last beat to last beat) dw_period. The maps
    that fit the buffers (H W ceil(C / K) <= DEPTH, W <= DW_W_MAX) run; FLEXBLOCK_DW_REPORT=full (scripts/
    core_report.py --dw-unit-only, DEPTH 4096) runs them all, the quick regression the 7 x 7 map (Verilator also
    14 x 14; Icarus FWD and WG only)."""
    budget_ms = 4000
    report_env = "FLEXBLOCK_DW_REPORT"
    report_stall_cycles = 1_000_000   # a job of the 56 x 56 map holds job_ready low for its 27,636 cycles

    async def body(self):
        rng = seeds.rng("dw_util")
        p = self.env.p
        full = self.full_report
        maps = DW_UNIT_MAPS if full else ((14, 14), (7, 7)) if VERILATOR else ((7, 7),)
        records = []
        for h, w in maps:
            if h * w > p["DEPTH"] or w > p["DW_W_MAX"]:  # one channel group stored: a word per pixel
                self.logger.info(f"{h} x {w}: beyond the buffers (DEPTH {p['DEPTH']}, DW_W_MAX {p['DW_W_MAX']})")
                continue
            await self.env.load(dw_tensors(rng, WG, h, w, p["K"]) | {W: dw_tensors(rng, FWD, h, w, p["K"])[W]})
            for pass_, mode in ((FWD, 0), (BWD, 1), (WG, 2)) if VERILATOR or full else ((FWD, 0), (WG, 2)):
                jobs = [JobItem(f"dw{h}x{w}.{PASS_NAMES[pass_]}.{i}", pass_, 0, p["K"], 0, mode, mode, 0, 0,
                                seed=int(rng.integers(0, 1 << 16)), dw=(h, w)) for i in range(2)]
                takes, lasts = await self.env.run_burst(jobs)
                alone, period = lasts[0] - takes[0], lasts[1] - lasts[0]
                want = dw_cycles(pass_, h, w, p["ROWS"], p["COLS"], p["K"])
                assert alone == want, f"{h}x{w} {PASS_NAMES[pass_]}: {alone} cycles, models.core.dw_cycles says {want}"
                want = dw_period(pass_, h, w, p["ROWS"], p["COLS"], p["K"])
                assert period == want, f"{h}x{w} {PASS_NAMES[pass_]}: period {period}, models.core.dw_period says {want}"
                records.append({"h": h, "w": w, "pass": pass_, "modes": [mode, mode], "cycles": alone, "period": period})
                self.logger.info(f"dw {h}x{w} {PASS_NAMES[pass_]}: {alone} cycles alone, {period} per job in a stream")
        write_stats({"dw_core_unit": records})
