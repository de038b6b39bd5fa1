"""The accelerator core's function (docs/spec.md section 6, rtl/flexblock_core.sv): the three training passes
on the stored FP32 tensors X, W and G (= dY), end to end through `models.gemm`.

A job reads its operands from the stored tensors in the orientation the pass needs; the core converts A's
blocks and then B's with one conversion unit whose LFSRs take the job's seed, so a job is exactly
`gemm(A, B, mode_a, mode_b, (round_a, round_b), quantizer=Fp2Bfp(block, seed, sr_bits))`."""
from __future__ import annotations

import math

import numpy as np

from . import lfsr
from .bfp import block_words, cycles_per_block, dense_block_bits, dense_word_bits, mag_bits
from .fp2bfp import Fp2Bfp
from .pe_array import ARRAY_FILL, gemm, gemm_schedule

FWD, BWD, WG = 0, 1, 2
PASS_NAMES = {FWD: "FWD", BWD: "BWD", WG: "WG"}
X, W, G = 0, 1, 2  # the tensor regions


def pass_operands(pass_: int, x=None, w=None, g=None) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of a pass on the stored tensors: FWD  Y  = X . W     (A = X,   B = W)
                                              BWD  dX = dY . W^T  (A = G,   B = W^T)
                                              WG   dW = X^T . dY  (A = X^T, B = G)"""
    if pass_ == FWD:
        return x, w
    if pass_ == BWD:
        return g, w.T
    if pass_ == WG:
        return x.T, g
    raise ValueError(f"pass code {pass_} is reserved")


def im2col(x, img_h: int, img_w: int) -> np.ndarray:
    """A of a 3x3 conv's FWD GEMM (stride 1, padding 1) from X stored as pixels x C (NHWC: pixel
    p = (image * H + h) * W + w): row p, column t * C + c = X[(h + dh, w + dw), c] with tap t = 3 (dh + 1) +
    (dw + 1), zero outside the image (and past the last stored pixel, if the last image is partial). The core
    reads it from X directly (spec section 6)."""
    x = np.asarray(x, np.float32)
    pixels, c = x.shape
    whole = -(-pixels // (img_h * img_w)) * img_h * img_w  # a partial last image: pixels past the stored ones are +0
    imgs = np.concatenate([x, np.zeros((whole - pixels, c), np.float32)]).reshape(-1, img_h, img_w, c)
    padded = np.pad(imgs, ((0, 0), (1, 1), (1, 1), (0, 0)))
    taps = [padded[:, dh:dh + img_h, dw:dw + img_w, :] for dh in range(3) for dw in range(3)]
    return np.stack(taps, axis=3).reshape(whole, 9 * c)[:pixels]


def flip_taps(w, c: int) -> np.ndarray:
    """B of a 3x3 conv's BWD GEMM from W stored 9C x Cout (row t * C + c): row t * Cout + co, column c =
    W[(8 - t) * C + c, co] (the kernel rotated by 180 degrees, input and output channels swapped)."""
    w = np.asarray(w, np.float32)
    cout = w.shape[1]
    return w.reshape(9, c, cout)[::-1].transpose(0, 2, 1).reshape(9 * cout, c)


def core_gemm(pass_: int, x, w, g, mode_a: int, mode_b: int, round_a: int, round_b: int,
              seed: int = lfsr.DEFAULT_SEED, block: int = 16, sr_bits: int = lfsr.DEFAULT_SR_BITS,
              conv: tuple[int, int] | None = None):
    """One job of the core: (C as float32 M x N, flags). conv = (H, W), a 3x3 conv layer (stride 1, padding
    1): FWD Y = im2col(X) . W (X pixels x C, W 9C x Cout, rows t * C + c); BWD dX = im2col(dY) . flip_taps(W)
    (dY pixels x Cout); WG dW = im2col(X)^T . dY (X pixels x C, dY pixels x Cout, dW 9C x Cout in W's layout,
    the reduction along the pixels)."""
    if conv is not None:
        if pass_ == FWD:
            a, b = im2col(x, *conv), w
        elif pass_ == BWD:
            a, b = im2col(g, *conv), flip_taps(w, np.asarray(w).shape[0] // 9)
        elif pass_ == WG:
            a, b = im2col(x, *conv).T, g
        else:
            raise ValueError(f"pass code {pass_} is reserved")
    else:
        a, b = pass_operands(pass_, x, w, g)
    return gemm(np.asarray(a, np.float32), np.asarray(b, np.float32), mode_a, mode_b, (round_a, round_b),
                block, quantizer=Fp2Bfp(block, seed, sr_bits))


def requantize_output(c, mode: int, rounding: int, seed: int, rows: int = 4, block: int = 16,
                      sr_bits: int = lfsr.DEFAULT_SR_BITS) -> list[dict]:
    """The core's output requantization (job_out_bfp): C (M x N binary32) as BFP blocks along its rows,
    block (i, jb) = C[i, jb*K .. jb*K + K - 1] with columns >= N as +0, in the order the core converts and
    sends them: by tile row (rows ti*ROWS ..), then column block jb, then row; the converter's LFSRs take
    the job's seed, so the t-th block sent rounds with the lanes' state t. Returns one dict per block: row,
    col, exp, sign (K), mag (K), flags."""
    c = np.asarray(c, np.float32)
    m, n = c.shape
    nb = -(-n // block)
    padded = np.zeros((m, nb * block), np.float32)
    padded[:, :n] = c
    order = [(i, jb) for t0 in range(0, m, rows) for jb in range(nb) for i in range(t0, min(t0 + rows, m))]
    blocks = np.stack([padded[i, jb * block:(jb + 1) * block] for i, jb in order])
    q = Fp2Bfp(block, seed, sr_bits)(blocks, mode, rounding)
    exp, flags = q.exp.reshape(-1), q.flags.reshape(-1)
    sign, mag = q.sign.reshape(-1, block), q.mag.reshape(-1, block)
    return [{"row": i, "col": jb * block, "exp": int(exp[t]), "sign": sign[t].astype(np.uint8),
             "mag": mag[t].astype(np.uint32), "flags": int(flags[t])} for t, (i, jb) in enumerate(order)]


# The core's cycles (spec section 6, "Cycles"). A job is taken by the front (check, conversion into one set
# of BFP banks), handed to the back (the array's configuration, compute walk, results) once the back has
# taken the previous job's last tile, and the front is free again at once: job i + 1 converts while job i
# computes. Front: CORE_CHECK + the conversion walk (one block per cycle: (M + N) * KBLOCKS) + CORE_CONV_FILL
# (the buffer's two read stages, fp2bfp's three, the BFP bank write) from the edge that takes the job to
# the one that sees its last block written. Back: CORE_CFG (the array takes its configuration) + CORE_READ
# (the banks' read into the credit FIFOs) + the first block pair's further words (fetch_cycles - 1: its
# densely packed blocks are read one word per bank per cycle) + the array's schedule and fill
# (models.gemm_cycles) from the handover edge to the one that takes the last tile, with the results taken at
# once (the bench asserts it).
# CORE_CHECK: the job check's two cycles, F_GEOM (the job's geometry registered: stored shapes, conv's / 9,
# words per row, tiles) and F_CHECK (the checks' products and compares on those registers decide).
CORE_CHECK, CORE_CONV_FILL, CORE_CFG, CORE_READ = 2, 6, 1, 1


def fetch_cycles(mode_a, mode_b, block: int = 16) -> int:
    """Cycles the compute walk reads one block pair in: max(wa, wb), each side's block words (models.bfp.block_words),
    one word per bank per cycle. Never more than the array's cycles_per_block (spec section 6)."""
    return max(block_words(mode_a, block), block_words(mode_b, block))


def convert_cycles(m: int, kdim: int, n: int, block: int = 16) -> int:
    return (m + n) * math.ceil(kdim / block)


def front_cycles(m: int, kdim: int, n: int, block: int = 16) -> int:
    return CORE_CHECK + convert_cycles(m, kdim, n, block) + CORE_CONV_FILL


def back_cycles(m: int, kdim: int, n: int, mode_a, mode_b, rows: int = 4, cols: int = 4, block: int = 16,
                out_bfp: bool = False) -> int:
    if out_bfp:
        return back_cycles_bfp(m, kdim, n, mode_a, mode_b, rows, cols, block)
    return (CORE_CFG + CORE_READ + fetch_cycles(mode_a, mode_b, block) - 1
            + gemm_schedule(m, kdim, n, mode_a, mode_b, rows, cols, block) + ARRAY_FILL)


# A job with BFP results (job_out_bfp; spec section 6, "Cycles"): the array's tiles are gathered K / COLS at a
# time (fewer at a tile row's end); the tile that completes a group is followed by its rows < M going into the
# output converter, one per cycle, during which no tile is taken from the array (the next one is taken the edge
# after the group's last row); each block leaves OUT_CONV_LATENCY edges after its row went in. Tiles the
# gather does not take wait in the array's result FIFO, whose RESULT_ENTRIES entries are reserved by a tile's
# last step (pe_array's stall rule, spec section 4): the last step of tile i waits for an edge after tile
# i - RESULT_ENTRIES was taken. A tile can be taken TAKE_AFTER_STEP edges after its last step.
RESULT_ENTRIES, TAKE_AFTER_STEP, OUT_CONV_LATENCY = 5, 4, 3


def back_cycles_bfp(m: int, kdim: int, n: int, mode_a, mode_b, rows: int = 4, cols: int = 4, block: int = 16) -> int:
    """From the handover edge to the edge that takes the job's last BFP block, with out_ready high."""
    per_tile = math.ceil(kdim / block) * cycles_per_block(mode_a, mode_b, block)
    mt, nt, group = math.ceil(m / rows), math.ceil(n / cols), block // cols
    # tile -1's "last step": the schedule's origin
    step = CORE_CFG + CORE_READ + fetch_cycles(mode_a, mode_b, block) - 1 + ARRAY_FILL - TAKE_AFTER_STEP
    takes: list[int] = []
    free = 0       # the first edge the gather can take a tile
    last = 0
    for ti in range(mt):
        r = min(rows, m - ti * rows)
        for tj in range(nt):
            i = len(takes)
            step += per_tile
            if i >= RESULT_ENTRIES:
                step = max(step, takes[i - RESULT_ENTRIES] + 1)
            take = max(step + TAKE_AFTER_STEP, free)
            takes.append(take)
            free = take + 1
            if tj % group == group - 1 or tj == nt - 1:  # the group is complete: its r rows into the converter
                last = take + r + OUT_CONV_LATENCY
                free = take + r + 1
    return last


def core_cycles(m: int, kdim: int, n: int, mode_a, mode_b, rows: int = 4, cols: int = 4, block: int = 16,
                out_bfp: bool = False) -> int:
    """One job alone: from the edge that takes it to the one that takes its last tile (or BFP block)."""
    return front_cycles(m, kdim, n, block) + back_cycles(m, kdim, n, mode_a, mode_b, rows, cols, block, out_bfp)


def core_stream(jobs, takes=None, rows: int = 4, cols: int = 4, block: int = 16) -> tuple[list[int], list[int]]:
    """A stream of jobs [(m, kdim, n, mode_a, mode_b[, out_bfp]), ...] through the two halves: (take cycles, last-tile
    cycles), numbered as the bench numbers handshakes (ClockReset.cycle; core_cycles = last - take for a job
    alone). Job i passes to the back in cycle H_i = max(T_i + front_i, E_{i-1} + 1) (the back is free the
    cycle after its last tile is taken) and its last tile is taken in E_i = H_i + back_i; the front is free,
    and job i + 1 can be taken, from cycle H_i on. takes: the measured take cycles (None: every job at once,
    T_0 = 0, T_{i+1} = H_i)."""
    t_out, e_out = [], []
    handover = last = None
    for i, (m, kdim, n, ma, mb, *bfp) in enumerate(jobs):
        t = takes[i] if takes is not None else (0 if handover is None else handover)
        if handover is not None and t < handover:
            raise ValueError(f"job {i} taken in cycle {t}, before the front was free (cycle {handover})")
        handover = t + front_cycles(m, kdim, n, block)
        if last is not None:
            handover = max(handover, last + 1)
        last = handover + back_cycles(m, kdim, n, ma, mb, rows, cols, block, bool(bfp and bfp[0]))
        t_out.append(t)
        e_out.append(last)
    return t_out, e_out


def core_period(m: int, kdim: int, n: int, mode_a, mode_b, rows: int = 4, cols: int = 4, block: int = 16,
                out_bfp: bool = False) -> int:
    """Cycles per job in a steady stream of equal jobs (each taken as soon as the front is free): the longer
    of the front and the back (+ 1: the cycle that hands the job over)."""
    return max(front_cycles(m, kdim, n, block),
               back_cycles(m, kdim, n, mode_a, mode_b, rows, cols, block, out_bfp) + 1)


# Layers for the core's utilization table (scripts/core_report.py, the bench's LayerUtilization): each
# pass of a layer runs as a stream of equal jobs, one TILE x TILE block of C each with the whole reduction
# (a job's binary32 results cannot be summed with another's bit-exactly).
TILE = 32
CONV_TILE = (4, 8)  # a conv FWD job's pixels: an H x W tile of the map (read as an image: no halo)
WG_PIXELS = 256     # a conv / FC WG job's reduction: the pixels / tokens of one slice of the batch
CONV_WG_TILE = (16, 16)  # a conv WG job's pixels: a 16 x 16 tile of the map (WG_PIXELS, read as an image)
CONV_WG_CHANNELS = 4     # a conv WG job's input channels: M = 9 x 4 = 36 rows of dW (9 tiles of 4 rows)
LAYERS = {
    "conv": ("ResNet-18 conv2_x: 3x3, 64 -> 64 channels, 56 x 56", {"c": 64, "co": 64, "h": 56, "w": 56}),
    "fc": ("Transformer (BERT-base) attention output: 768 -> 768, 512 tokens", {"fin": 768, "fout": 768,
                                                                                "tokens": 512}),
}


def layer_job(kind: str, pass_: int, tile: int = TILE) -> dict:
    """One job of a layer's pass: m, kdim, n, conv ((H, W): the core's address generators read im2col(X) (FWD),
    im2col(dY) (BWD) or im2col(X)^T (WG) from the tensors stored pixels x channels) and `jobs`, the jobs in the
    whole layer (one image / batch slice). A conv WG job is the dW rows of CONV_WG_CHANNELS input channels (X
    stored as those channels' columns) over one CONV_WG_TILE of pixels."""
    dims = LAYERS[kind][1]
    if kind == "conv":
        c, co, pixels = dims["c"], dims["co"], dims["h"] * dims["w"]
        th, tw = CONV_TILE
        m = th * tw
        if pass_ == FWD:   # Y = im2col(X) . W: pixels x 9C x Cout
            return {"m": m, "kdim": 9 * c, "n": tile, "conv": (th, tw), "jobs": -(-pixels // m) * -(-co // tile)}
        if pass_ == BWD:   # dX = im2col(dY) . flip_taps(W): pixels x 9Cout x C
            return {"m": m, "kdim": 9 * co, "n": tile, "conv": (th, tw), "jobs": -(-pixels // m) * -(-c // tile)}
        wh, ww = CONV_WG_TILE  # dW = im2col(X)^T . dY: 9C x pixels x Cout
        return {"m": 9 * CONV_WG_CHANNELS, "kdim": wh * ww, "n": tile, "conv": CONV_WG_TILE,
                "jobs": -(-c // CONV_WG_CHANNELS) * -(-co // tile) * -(-pixels // (wh * ww))}
    fin, fout, tokens = dims["fin"], dims["fout"], dims["tokens"]
    if pass_ == FWD:
        return {"m": tile, "kdim": fin, "n": tile, "conv": None, "jobs": -(-tokens // tile) * -(-fout // tile)}
    if pass_ == BWD:
        return {"m": tile, "kdim": fout, "n": tile, "conv": None, "jobs": -(-tokens // tile) * -(-fin // tile)}
    return {"m": tile, "kdim": min(tokens, WG_PIXELS), "n": tile, "conv": None,
            "jobs": -(-fin // tile) * -(-fout // tile) * -(-tokens // WG_PIXELS)}


def load_cycles(rows: int, cols: int, block: int = 16) -> int:
    """ld beats (one per cycle with ld_valid held) to store a rows x cols tensor: one per K elements of a row."""
    return rows * math.ceil(cols / block)


def block_bits(mode, block: int = 16, dense: bool = True) -> int:
    """Bits of one converted block: exponent, flags and K elements at the mode's width (sign + W) when dense
    (models.bfp.dense_block_bits: the core's BFP banks), or in pe_array's 16-bit magnitude slots (pe_array's
    ports; the core's banks before dense packing)."""
    return dense_block_bits(mode, block) if dense else 8 + 2 + block * (1 + 16)


def bank_words(mode, count: int, block: int = 16) -> int:
    """Bank words of `count` blocks of one mode (the job check's capacity in words, spec section 6, Errors)."""
    return count * block_words(mode, block)


def read_bits_per_cycle(rows: int = 4, cols: int = 4, block: int = 16, dense: bool = True) -> int:
    """The BFP banks' read width: one word of every bank per cycle ((ROWS + COLS) DW bits), or one block in
    16-bit slots per bank (before dense packing)."""
    return (rows + cols) * (dense_word_bits(block) if dense else block_bits(0, block, dense=False))


def bank_bits(bdepth: int, rows: int = 4, cols: int = 4, block: int = 16) -> int:
    """The BFP banks' storage: ROWS + COLS banks of two sets of 3 BDEPTH words of DW bits (= BDEPTH FB24 blocks
    per set, the same bits as BDEPTH blocks in 16-bit slots when DW divides 17 K + 10)."""
    return (rows + cols) * 2 * 3 * bdepth * dense_word_bits(block)


def operand_bits_per_cycle(mode_a, mode_b, rows: int = 4, cols: int = 4, block: int = 16, dense: bool = True) -> float:
    """Operand bits per cycle the array consumes at full rate: a ROWS-block A beat and a COLS-block B beat per
    block pair, one block pair every cycles_per_block cycles."""
    return (rows * block_bits(mode_a, block, dense) + cols * block_bits(mode_b, block, dense)) / cycles_per_block(
        mode_a, mode_b, block)


def core_utilization(m: int, kdim: int, n: int, mode_a, mode_b, cycles: int, rows: int = 4, cols: int = 4) -> float:
    """Useful sub-multiplier operations / peak over the job's cycles (spec section 4's definition)."""
    na, nb = mag_bits(mode_a) // 4, mag_bits(mode_b) // 4
    return m * n * kdim * na * nb / (16 * rows * cols * cycles)


# --- depthwise jobs (job_dw; spec section 6, "Depthwise jobs in the core") -----------------------------------
# A depthwise job runs one channel group (K channels: block `group` of the stored rows) of a 3x3 depthwise layer
# on dw_unit inside the core. X and G (= dY) are stored as H*W rows (pixel p = y W + x) x C columns, the kernel
# in W as 9 rows (tap d = 3 (dh + 1) + (dw + 1)) x C columns. The front reads the blocks along the stored rows in
# `dw_feed_order` through the job's converter (its LFSRs seeded by the job: the t-th block fed rounds with the
# lanes' state t), and the unit computes (models.dw_unit).
DW_X, DW_K, DW_G = "x", "k", "g"


def dw_lead(h: int, w: int) -> int:
    """X blocks a WG job feeds before its first dY block: the window of pixel (0, 0) (models.dw_unit.first_issue's
    n0)."""
    return min(1, h - 1) * w + min(1, w - 1) + 1


def dw_feed_order(pass_: int, h: int, w: int) -> list[tuple[str, int]]:
    """The blocks a depthwise job feeds, in order: (stream, row). FWD / BWD: the kernel's 9 taps, then the map's
    H*W pixels (X, or dY for BWD, both on stream x). WG: X's first dw_lead pixels, then dY pixel p and X pixel
    p + lead alternately, the remaining dY pixels last: X stays just ahead of the window the unit needs, and a
    dY block is never offered before the unit's one-block holding register can take it."""
    hw = h * w
    if pass_ in (FWD, BWD):
        return [(DW_K, t) for t in range(9)] + [(DW_X, p) for p in range(hw)]
    lead = dw_lead(h, w)
    order = [(DW_X, p) for p in range(lead)]
    for p in range(hw):
        order.append((DW_G, p))
        if p + lead < hw:
            order.append((DW_X, p + lead))
    return order


def core_dw(pass_: int, x, w, g, h: int, wd: int, group: int, mode_a: int, mode_b: int, round_a: int, round_b: int,
            seed: int = lfsr.DEFAULT_SEED, block: int = 16, sr_bits: int = lfsr.DEFAULT_SR_BITS):
    """One depthwise job of the core: (bits, flags) as uint32 / uint8, (H*W, K) for FWD / BWD (pixel p = y W + x,
    lane c = channel group * K + c) or (9, K) for WG (tap d). x, g: the stored (H*W, C) tensors (g unused by FWD,
    x by BWD), w: the stored (9, C) kernel (unused by WG). Channels >= C read +0. The map converts with (mode_a,
    round_a), the kernel (FWD / BWD) or dY (WG) with (mode_b, round_b), block by block in dw_feed_order; then
    models.dw_unit.run."""
    from . import dw_unit
    from .bfp import BFPTensor
    from .fp2bfp import quantize

    hw = h * wd
    lanes = slice(group * block, (group + 1) * block)

    def cols(t, rows):
        t = np.asarray(t, np.float32)
        out = np.zeros((rows, block), np.float32)
        part = t[:rows, lanes]
        out[:, :part.shape[1]] = part
        return out

    src = {DW_K: cols(w, 9) if pass_ != WG else None,
           DW_X: cols(g if pass_ == BWD else x, hw),
           DW_G: cols(g, hw) if pass_ == WG else None}
    conv = {DW_K: (mode_b, round_b), DW_G: (mode_b, round_b), DW_X: (mode_a, round_a)}
    got: dict = {DW_K: {}, DW_X: {}, DW_G: {}}
    order = dw_feed_order(pass_, h, wd)
    i = 0
    while i < len(order):  # runs of consecutive blocks of one stream convert in one call
        stream, row = order[i]
        j = i
        while j + 1 < len(order) and order[j + 1] == (stream, order[j][1] + 1):
            j += 1
        q = quantize(src[stream][row:row + j - i + 1], *conv[stream], block, seed, i, sr_bits)
        for r in range(j - i + 1):
            got[stream][row + r] = (q.exp[r], q.sign[r], q.mag[r], q.flags[r])
        i = j + 1

    def tensor(stream, rows, shape):
        e, s, m, f = (np.stack([got[stream][r][k] for r in range(rows)]) for k in range(4))
        return BFPTensor(e.reshape(*shape, 1), s.reshape(*shape, 1, block), m.reshape(*shape, 1, block),
                         f.reshape(*shape, 1), conv[stream][0])

    a = tensor(DW_X, hw, (h, wd))
    b = tensor(DW_G, hw, (h, wd)) if pass_ == WG else tensor(DW_K, 9, (9,))
    bits, flags = dw_unit.run(pass_, a, b, mode_a, mode_b)
    rows = 9 if pass_ == WG else hw
    return bits.reshape(rows, block).astype(np.uint32), flags.reshape(rows, block).astype(np.uint8)


# Cycles of a depthwise job (spec section 6, "Depthwise jobs in the core: cycles"), from the edge that takes the
# job to the one that takes its last out beat, out_ready high: DW_CFG edges to the unit's cfg beat (the check,
# the cfg handshake), DW_FEED more to the first converted block at the unit (the read issue, the buffer's two
# read stages, fp2bfp's three, the input FIFO), then the unit's schedule with its first tap after all the blocks
# it needs came in one per cycle on the one converter: FWD / BWD the kernel's 9 and the window's n0 (the unit
# alone: max(9, n0), in parallel), WG n0 X blocks and one dY block. A result of K lanes leaves in
# parts = ceil(K / (ROWS COLS)) out beats; WG's 9 read-outs leave back to back, 9 parts each.
DW_CFG, DW_FEED = CORE_CHECK + 1, 6  # CFG: the check (CORE_CHECK), the cfg handshake; FEED: edges from the unit's cfg beat to the first block's take - 1: the read issue, 2 buffer stages, 3 fp2bfp


def dw_parts(rows: int = 4, cols: int = 4, block: int = 16) -> int:
    return -(-block // (rows * cols))


def dw_first_issue(pass_: int, h: int, w: int) -> int:
    """Edges from the unit's cfg beat to its first tap's issue, in the core (the unit's first_issue, fed serially)."""
    from . import dw_unit
    need = dw_lead(h, w)
    return DW_FEED + (dw_unit.KERNEL_BEATS + need if pass_ in (FWD, BWD) else need + 1)


def dw_cycles(pass_: int, h: int, w: int, rows: int = 4, cols: int = 4, block: int = 16) -> int:
    """A depthwise job alone, job take to last out beat, no back-pressure. With parts > 1 (ROWS COLS < K) an FWD /
    BWD job's results must be no faster than the out stream: every output has >= parts taps (the corner's
    min(H, 2) min(W, 2)); otherwise the out stream sets the pace and this model does not apply (ValueError)."""
    from . import dw_unit
    parts = dw_parts(rows, cols, block)
    start = DW_CFG + dw_first_issue(pass_, h, w) + dw_unit.valid_taps(h, w) + dw_unit.PIPE
    if pass_ == WG:
        return start + dw_unit.READOUT * parts
    if min(h, 2) * min(w, 2) < parts:
        raise ValueError(f"{h} x {w}: outputs of fewer than {parts} taps; the out stream sets the pace")
    return start + parts - 1


def dw_period(pass_: int, h: int, w: int, rows: int = 4, cols: int = 4, block: int = 16) -> int:
    """Depthwise jobs back to back (a layer's C / K channel groups): the next job is taken the cycle after the
    previous one's last out beat."""
    return dw_cycles(pass_, h, w, rows, cols, block) + 1


__all__ = ["im2col", "load_cycles", "block_bits", "fetch_cycles", "bank_words", "read_bits_per_cycle", "bank_bits", "operand_bits_per_cycle", "FWD", "BWD", "WG", "PASS_NAMES", "X", "W", "G", "pass_operands", "core_gemm", "core_cycles",
           "convert_cycles", "core_utilization", "cycles_per_block", "front_cycles", "back_cycles", "core_stream",
           "core_period", "back_cycles_bfp", "LAYERS", "TILE", "layer_job", "requantize_output", "flip_taps",
           "dw_feed_order", "dw_lead", "core_dw", "dw_cycles", "dw_period", "dw_parts", "dw_first_issue"]
