"""Depthwise 3x3 conv (stride 1, padding 1) on the accelerator core (docs/spec.md section 6, "Depthwise 3x3 conv").

A depthwise output pairs one channel's pixels with that channel's kernel only, so it has no GEMM form whose
rows and columns both carry independent work (the array broadcasts A along rows, B along columns). The
mapping here puts the freedom into the block instead (a Toeplitz / window mapping), one channel of one
image per job:

  FWD  Y  = windows(X) . T(k):           A = the 4x4 input windows of the map's 2x2 output tiles (M x 16,
                                          lane 4 i + j = pixel (2a - 1 + i, 2b - 1 + j), zero outside),
                                          B = T(k) (16 x 4): column 2 oy + ox = the kernel at offset (oy, ox)
                                          of the 4x4 frame; C[(a, b), 2 oy + ox] = Y[2a + oy, 2b + ox].
  BWD  dX = windows(dY) . T(rot180 k):    the same on dY with the kernel turned by 180 degrees; W is stored
                                          as T(rot180 k)^T (4 x 16), the core's BWD reads it along its rows.
  WG   dW = Xs^T . Gs:                    the reduction runs over the map's rows x (W + 2) columns, pixel
                                          p = (r, c), c = -1 .. W; Xs (Kdim x 3) column i = X shifted by i - 1
                                          rows, Gs (Kdim x 3) column j = dY shifted by 1 - j columns, stored
                                          transposed (G = Xs^T, W = Gs^T) for a BWD-coded job (JOB_PASS):
                                          C[i, j] = sum_q X[q + (i - 1, j - 1)] dY[q] = dW[i, j].

Every job is an ordinary core job (models.core.core_gemm) on these stored operands, so its results are the
GEMM arithmetic of spec section 3 on them, bit for bit; the helpers here build the operands and put C back
into the map. FWD/BWD use 9 of a block's 16 lanes per output and all ROWS x COLS PEs; WG uses every lane
(but the W + 2 columns) and 9 of a 4 x 4 tile's 16 PEs: the 9/16 bound of spec section 6. The WG split (below)
cuts WG's reduction into 4 column classes so that 36 of 48 PEs work; each tap's 4 class shares are then added
in binary32 outside the core."""
from __future__ import annotations

import math

import numpy as np

from .bfp import mag_bits
from .core import BWD, FWD, WG, G, W, X, core_gemm, core_period, core_stream

WINDOW = 4      # a 4x4 input window per block (K = 16 lanes)
OUT_TILE = 2    # ... covers a 2x2 tile of outputs: the four columns of B


def windows(img) -> np.ndarray:
    """A of FWD / BWD: the 4x4 input windows (rows 2a - 1 .. 2a + 2, columns 2b - 1 .. 2b + 2, zero outside
    the map) of the output tiles (a, b), row-major over (a, b); lane 4 i + j = window pixel (i, j)."""
    img = np.asarray(img, np.float32)
    h, w = img.shape
    th, tw = -(-h // OUT_TILE), -(-w // OUT_TILE)
    padded = np.zeros((2 * th + 2, 2 * tw + 2), np.float32)
    padded[1:h + 1, 1:w + 1] = img
    out = np.empty((th * tw, WINDOW * WINDOW), np.float32)
    for a in range(th):
        for b in range(tw):
            out[a * tw + b] = padded[2 * a:2 * a + WINDOW, 2 * b:2 * b + WINDOW].ravel()
    return out


def toeplitz(kernel) -> np.ndarray:
    """B of FWD: 16 x 4, column 2 oy + ox = the 3x3 kernel placed at (oy, ox) in the 4x4 frame, zeros elsewhere."""
    kernel = np.asarray(kernel, np.float32).reshape(3, 3)
    t = np.zeros((WINDOW, WINDOW, OUT_TILE * OUT_TILE), np.float32)
    for oy in range(OUT_TILE):
        for ox in range(OUT_TILE):
            t[oy:oy + 3, ox:ox + 3, OUT_TILE * oy + ox] = kernel
    return t.reshape(WINDOW * WINDOW, OUT_TILE * OUT_TILE)


def untile(c, h: int, w: int) -> np.ndarray:
    """C (windows x 4) of FWD / BWD back into the h x w map (outputs past an odd edge dropped)."""
    c = np.asarray(c)
    th, tw = -(-h // OUT_TILE), -(-w // OUT_TILE)
    full = c.reshape(th, tw, OUT_TILE, OUT_TILE).transpose(0, 2, 1, 3).reshape(2 * th, 2 * tw)
    return full[:h, :w]


def wg_operands(x, dy) -> tuple[np.ndarray, np.ndarray]:
    """(Xs, Gs) of WG, stored Kdim x 3 each, Kdim = h (w + 2): row r (w + 2) + c + 1 for pixel (r, c),
    c = -1 .. w; Xs[., i] = X[r + i - 1, c], Gs[., j] = dY[r, c + 1 - j], zero outside the map."""
    x, dy = np.asarray(x, np.float32), np.asarray(dy, np.float32)
    h, w = x.shape
    px, pg = np.zeros((h + 2, w + 4), np.float32), np.zeros((h, w + 4), np.float32)
    px[1:h + 1, 2:w + 2] = x   # px[r + 1, c + 2] = X[r, c]
    pg[:, 2:w + 2] = dy        # pg[r, c + 2] = dY[r, c]
    xs = np.stack([px[i:i + h, 1:w + 3] for i in range(3)], axis=-1)         # X[r + i - 1, c], c = -1 .. w
    gs = np.stack([pg[:, 2 - j:w + 4 - j] for j in range(3)], axis=-1)     # dY[r, c + 1 - j]
    return xs.reshape(h * (w + 2), 3), gs.reshape(h * (w + 2), 3)


# The core pass code a depthwise pass's job runs with (Decision): WG's operands are host-built, so they are
# stored transposed (3 x Kdim each, in G and W) and read along their rows by a BWD-coded job (A = G, B = W^T):
# the same GEMM as a WG-coded job on Kdim x 3 tensors, but a row of K elements per ld beat instead of 3.
JOB_PASS = {FWD: FWD, BWD: BWD, WG: BWD}


def stored(pass_: int, x=None, kernel=None, dy=None) -> dict:
    """The stored tensors {region: matrix} of one channel's job (what the host loads over ld); the job runs
    with pass code JOB_PASS[pass_]."""
    if pass_ == FWD:
        return {X: windows(x), W: toeplitz(kernel)}
    if pass_ == BWD:
        return {G: windows(dy), W: toeplitz(np.asarray(kernel, np.float32).reshape(3, 3)[::-1, ::-1]).T.copy()}
    if pass_ == WG:
        xs, gs = wg_operands(x, dy)
        return {G: xs.T.copy(), W: gs.T.copy()}
    raise ValueError(f"pass code {pass_} is reserved")


def job_shape(pass_: int, h: int, w: int) -> tuple[int, int, int]:
    """(M, Kdim, N) of the core job of one channel of an h x w map."""
    if pass_ in (FWD, BWD):
        return -(-h // OUT_TILE) * -(-w // OUT_TILE), WINDOW * WINDOW, OUT_TILE * OUT_TILE
    return 3, h * (w + 2), 3


def depthwise(pass_: int, x, kernel, dy, mode_a: int, mode_b: int, round_a: int = 0, round_b: int = 0,
              seed: int = 0xACE1, sr_bits: int = 8):
    """One channel's pass through the core: (result, flags); FWD Y and BWD dX as h x w maps, WG dW as 3 x 3."""
    t = stored(pass_, x, kernel, dy)
    c, flags = core_gemm(JOB_PASS[pass_], t.get(X), t.get(W), t.get(G), mode_a, mode_b, round_a, round_b, seed, 16,
                         sr_bits)
    if pass_ == WG:
        return c, flags
    h, w = np.asarray(x if pass_ == FWD else dy).shape
    return untile(c, h, w), untile(flags, h, w)


def reference(pass_: int, x, kernel, dy) -> np.ndarray:
    """The depthwise conv in float64, straight from its definition (for exact-input tests): FWD Y[p] =
    sum_d X[p + d] k[d + 1], BWD dX[q] = sum_d dY[q - d] k[d + 1], WG dW[d + 1] = sum_p X[p + d] dY[p]."""
    kernel = np.asarray(kernel, np.float64).reshape(3, 3)
    src = np.asarray(x if pass_ != BWD else dy, np.float64)
    h, w = src.shape
    pad = np.zeros((h + 2, w + 2))
    if pass_ == FWD:
        pad[1:-1, 1:-1] = src
        return sum(pad[1 + dh:1 + dh + h, 1 + dw:1 + dw + w] * kernel[dh + 1, dw + 1]
                   for dh in (-1, 0, 1) for dw in (-1, 0, 1))
    if pass_ == BWD:
        pad[1:-1, 1:-1] = src
        return sum(pad[1 - dh:1 - dh + h, 1 - dw:1 - dw + w] * kernel[dh + 1, dw + 1]
                   for dh in (-1, 0, 1) for dw in (-1, 0, 1))
    pad[1:-1, 1:-1] = np.asarray(x, np.float64)
    g = np.asarray(dy, np.float64)
    return np.array([[(pad[1 + dh:1 + dh + h, 1 + dw:1 + dw + w] * g).sum() for dw in (-1, 0, 1)]
                     for dh in (-1, 0, 1)])


# --- WG split over column classes (above 9/16 without a PE change; the partial sums are added outside) ----
# dY's pixels fall into 4 classes by column mod 4. Three 4 x 4 tiles (rows: X shifted by u_i = (dh, a); columns:
# dY shifted by v_j = (0, b)) reduce over the grid points (r, 4m): PE (i, j) sums X[q + u_i - v_j] dY[q] over the
# pixels q of class b mod 4, i.e. the class's share of dW at tap u_i - v_j; 36 of the 48 PEs get one of the 36
# (tap, class) shares (each exactly once), the other 12 a tap outside the kernel (discarded). dW of a tap is its
# 4 shares added in binary32 in class order 0, 1, 2, 3 (models.pe.accumulate, from +0), outside the core.
SPLIT_CLASSES = 4
SPLIT_TILES = (
    ((((-1, 0), (0, 0), (1, 0), (-1, 1))), (-1, 0, 1, 2)),
    ((((0, 1), (1, 1), (-1, 2), (0, 2))), (0, 1, 2, 3)),
    ((((1, 2), (-1, 3), (0, 3), (1, 3))), (1, 2, 3, 4)),
)


def split_range(t: int, w: int) -> tuple[int, int]:
    """Tile t's grid columns 4m, m = lo .. hi: every dY column of each of its classes, 4m + b in [0, w)."""
    b0 = SPLIT_TILES[t][1][0]
    return -((b0 + 3) // 4), (w - 1 - b0) // 4


def split_operands(x, dy) -> list[dict]:
    """The three WG-split jobs' stored tensors {G: 4 x Kdim, W: 4 x Kdim} (BWD-coded jobs, JOB_PASS), Kdim = h x
    (hi - lo + 1), grid point (r, 4m) at column r (hi - lo + 1) + m - lo; G row i = X[r + dh_i, 4m + a_i], W row
    j = dY[r, 4m + b_j]."""
    x, dy = np.asarray(x, np.float32), np.asarray(dy, np.float32)
    h, w = x.shape

    def at(img, r, c):
        r, c = np.broadcast_arrays(r, c)
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        return np.where(inside, img[np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)], np.float32(0))

    out = []
    for t, (us, bs) in enumerate(SPLIT_TILES):
        lo, hi = split_range(t, w)
        r, m = np.meshgrid(np.arange(h), np.arange(lo, hi + 1), indexing="ij")
        r, c = r.ravel(), 4 * m.ravel()
        out.append({G: np.stack([at(x, r + dh, c + a) for dh, a in us]).astype(np.float32),   # A: 4 x Kdim
                    W: np.stack([at(dy, r, c + b) for b in bs]).astype(np.float32)})          # B^T: 4 x Kdim
    return out


def split_shares() -> dict:
    """(tile, i, j) -> (tap index 3 (dh + 1) + dw + 1, class) of the 36 useful PEs."""
    out = {}
    for t, (us, bs) in enumerate(SPLIT_TILES):
        for i, (dh, a) in enumerate(us):
            for j, b in enumerate(bs):
                if abs(a - b) <= 1:
                    out[(t, i, j)] = (3 * (dh + 1) + a - b + 1, b % SPLIT_CLASSES)
    return out


def wg_split(x, dy, mode_a: int, mode_b: int, round_a: int = 0, round_b: int = 0, seeds=(0xACE1,) * 3,
             sr_bits: int = 8):
    """dW (3 x 3) and flags of one channel by the WG split: three core jobs (pass WG on split_operands, job t
    with seeds[t]), then each tap's 4 class shares added in class order (models.pe.accumulate)."""
    from .pe import accumulate
    shares = np.zeros((SPLIT_CLASSES, 9), np.float32)
    sflags = np.zeros((SPLIT_CLASSES, 9), np.uint8)
    results = [core_gemm(BWD, None, t[W], t[G], mode_a, mode_b, round_a, round_b, seeds[n], 16, sr_bits)
               for n, t in enumerate(split_operands(x, dy))]
    for (t, i, j), (tap, cls) in split_shares().items():
        shares[cls, tap] = results[t][0][i, j]
        sflags[cls, tap] = results[t][1][i, j]
    bits, flags = accumulate(shares, sflags)
    return bits.view(np.float32).reshape(3, 3), flags.reshape(3, 3), results


def split_job_shapes(h: int, w: int) -> list[tuple[int, int, int]]:
    return [(4, h * (split_range(t, w)[1] - split_range(t, w)[0] + 1), 4) for t in range(len(SPLIT_TILES))]


# --- utilization ------------------------------------------------------------------------------------------
# MobileNetV2's stride-1 3x3 depthwise layers (Sandler et al. 2018, 224 x 224 input): (map size, channels,
# blocks of the network with this shape). The stride-2 ones are not mapped (a 2x2 tile of stride-2 outputs
# needs a 5x5 window: 25 lanes).
LAYERS = {
    "dw112": (112, 32, 1), "dw56": (56, 144, 1), "dw28": (28, 192, 2),
    "dw14a": (14, 384, 3), "dw14b": (14, 576, 2), "dw7": (7, 960, 2),
}
JOB_WINDOWS = 8      # a FWD / BWD job: at most an 8 x 8 grid of windows (a 16 x 16 patch of the map)
WG_ROWS_MAX = 4096   # a WG job reduces over at most this many grid elements (whole map rows)


def layer_job(name: str, pass_: int) -> dict:
    """One job of a layer's pass (m, kdim, n; h, w = the patch it covers; useful = the 9-product outputs it
    computes) and `jobs`, how many such jobs one image's channels need (approximately: equal patches)."""
    size, chans, _ = LAYERS[name]
    if pass_ in (FWD, BWD):
        ph = pw = min(size, OUT_TILE * JOB_WINDOWS)
        m, kdim, n = job_shape(pass_, ph, pw)
        return {"m": m, "kdim": kdim, "n": n, "h": ph, "w": pw, "useful": 9 * ph * pw,
                "jobs": chans * math.ceil(size / ph) ** 2}
    rows = min(size, WG_ROWS_MAX // (size + 2))
    m, kdim, n = job_shape(WG, rows, size)
    return {"m": m, "kdim": kdim, "n": n, "h": rows, "w": size, "useful": 9 * rows * size,
            "jobs": chans * math.ceil(size / rows)}


def split_layer_jobs(name: str) -> dict:
    """The WG split of a layer: the 3 jobs of one slice of map rows (each <= 4096 grid points), `jobs` slices."""
    size, chans, _ = LAYERS[name]
    nm = max(split_range(t, size)[1] - split_range(t, size)[0] + 1 for t in range(len(SPLIT_TILES)))
    rows = min(size, WG_ROWS_MAX // nm)
    return {"shapes": split_job_shapes(rows, size), "h": rows, "w": size, "useful": 9 * rows * size,
            "jobs": chans * math.ceil(size / rows)}


def split_bound(h: int, w: int) -> float:
    pairs = sum(math.ceil(k / 16) for _, k, _ in split_job_shapes(h, w))
    return 9 * h * w / (16 * 16 * pairs)


def split_period(name: str, mode_a, mode_b, rows: int = 4, cols: int = 4) -> int:
    """Cycles of one slice's 3 jobs in a steady stream of slices (core_stream over two rounds)."""
    shapes = [(*s, mode_a, mode_b) for s in split_layer_jobs(name)["shapes"]]
    _, ends = core_stream(shapes * 2, None, rows, cols)
    return ends[5] - ends[2]


def beats(tensors: dict) -> int:
    """ld beats to store {region: (rows, cols)} (one per K = 16 elements of a stored row)."""
    return sum(r * math.ceil(c / 16) for r, c in tensors.values())


def stored_shapes(pass_: int, m: int, kdim: int, n: int) -> dict:
    """The stored shapes of a depthwise job (FWD: windows M x 16, T(k) 16 x 4; BWD: windows, T^T 4 x 16; WG and
    the split, BWD-coded: G = M x Kdim, W = N x Kdim)."""
    return {FWD: {X: (m, kdim), W: (kdim, n)}, BWD: {G: (m, kdim), W: (n, kdim)}, WG: {G: (m, kdim), W: (n, kdim)}}[pass_]


def with_loads_period(jobs, rows: int = 4, cols: int = 4) -> int:
    """Cycles of one round of a repeating stream of jobs [(pass, m, kdim, n, mode_a, mode_b)] when each job's
    tensors are loaded over ld before it: the loads and the front of job t (ld is taken only while the front is
    idle) overlap the back of job t - 1 (spec section 6, Cycles): sum over t of max(loads_t + front_t,
    back_{t-1} + 1). For equal jobs this is core.md's "with loads" figure."""
    from .core import back_cycles, front_cycles
    total = 0
    for t, (pass_, m, kdim, n, a, b) in enumerate(jobs):
        pp, pm, pk, pn, pa, pb = jobs[t - 1]
        total += max(beats(stored_shapes(pass_, m, kdim, n)) + front_cycles(m, kdim, n),
                     back_cycles(pm, pk, pn, pa, pb, rows, cols) + 1)
    return total


def layer_with_loads(name: str, pass_, mode_a, mode_b, rows: int = 4, cols: int = 4) -> float:
    """Utilization of a layer pass when every job loads its own tensors (a new channel or patch each)."""
    if pass_ == "WGsplit":
        sj = split_layer_jobs(name)
        jobs = [(WG, *shape, mode_a, mode_b) for shape in sj["shapes"]]
        return utilization(sj["useful"], mode_a, mode_b, with_loads_period(jobs, rows, cols), rows, cols)
    j = layer_job(name, pass_)
    period = with_loads_period([(pass_, j["m"], j["kdim"], j["n"], mode_a, mode_b)], rows, cols)
    return utilization(j["useful"], mode_a, mode_b, period, rows, cols)


def utilization(useful_products: int, mode_a, mode_b, cycles: int, rows: int = 4, cols: int = 4) -> float:
    """Useful sub-multiplier operations / peak: each of the 9 H W products of a channel's map counts
    (Wa/4)(Wb/4) sub-multiplier operations, the array does 16 ROWS COLS per cycle."""
    return useful_products * (mag_bits(mode_a) // 4) * (mag_bits(mode_b) // 4) / (16 * rows * cols * cycles)


def bound(pass_: int, h: int, w: int) -> float:
    """The mapping's utilization with the array fed at full rate (no conversion, no fill): useful products /
    (16 lanes x PEs x block pairs) on the padded job."""
    m, kdim, n = job_shape(pass_, h, w)
    pairs = math.ceil(m / 4) * math.ceil(n / 4) * math.ceil(kdim / 16)
    return 9 * h * w / (16 * 16 * pairs)


def layer_period(name: str, pass_: int, mode_a, mode_b, rows: int = 4, cols: int = 4) -> int:
    j = layer_job(name, pass_)
    return core_period(j["m"], j["kdim"], j["n"], mode_a, mode_b, rows, cols)


__all__ = ["beats", "stored_shapes", "with_loads_period", "layer_with_loads", "split_operands", "JOB_PASS", "split_shares", "wg_split", "split_job_shapes", "split_layer_jobs", "split_bound",
           "split_period", "SPLIT_TILES", "windows", "toeplitz", "untile", "wg_operands", "stored", "job_shape", "depthwise", "reference",
           "LAYERS", "layer_job", "utilization", "bound", "layer_period", "core_stream"]
