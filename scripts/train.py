#!/usr/bin/env python3
"""Train a small MLP on scikit-learn's handwritten digits with every GEMM through the bit-exact FlexBlock
model (docs/spec.md; /work/shared/SPEC.md section 6, the training scheme).

    .venv/bin/python scripts/train.py                 # every configuration x rounding x 3 seeds (3-6 min)
    .venv/bin/python scripts/train.py --quick         # 1 seed, 10 epochs: a ~30 s smoke run
    .venv/bin/python scripts/train.py --configs FB24 DYN --roundings RTZ --seeds 5 --epochs 40

What runs through the model. The network is an MLP (default 64-32-32-10, ReLU, softmax cross-entropy), SGD
with momentum on FP32 master weights. Each layer's three GEMMs take BFP operands, each operand in its own
mode, blocks of K (16) along that product's own reduction axis, quantized from the FP32 tensors by the
model's conversion unit (`models.Fp2Bfp`, one per GEMM, A first, then B^T) and multiplied by
`models.bfp_gemm` (exact block dot products, binary32 accumulation): the binary32 result is exactly what
`pe_array` returns, i.e. `models.gemm`.
    forward       Z  = H  x W      operands fp.act (H), fp.w (W)
    back-prop     dH = dZ x W^T    operands bp.err (dZ), bp.w (W^T)   (not run for the first layer)
    weight grad.  dW = H^T x dZ    operands wg.act (H^T), wg.err (dZ)
Bias, ReLU, softmax / loss, momentum and the weight update stay FP32 (as in the authors' simulator).
Layers listed in --fp32-layers run their GEMMs in plain FP32 (the authors keep the first conv and the last
FC in FP32 in their ResNets). Default: none -- with only three layers, keeping the first and the last in
FP32 would leave a single BFP layer, so every layer is quantized here (--fp32-layers 0 2 gives the paper's
policy).

Configurations (SPEC section 6 / the authors' conf_net files): FB24, FB16, FB12 (one mode everywhere),
FB12LG16 / FB12LG24 (FB12 for the forward and weight-gradient operands, FB16 / FB24 for both operands of
the error back-propagation, as in BFPsim's bio_bit/biw_bit), FP32 (no BFP at all) and DYN: dynamic
precision control per layer and per GEMM operand (six per layer). DYN starts every operand at --dyn-start,
measures each operand's zero-setting error (ZSE: fraction of its nonzero FP32 inputs that the conversion,
in the operand's current mode, flushes to 0) at every training step, averages it over a window
(--dyn-window steps, default one epoch), then steps the operand one mode down (less precision) if the
mean ZSE < --zse-lo, up if > --zse-hi. Group shapes never change.

Rounding: RTZ (FlexBlock's truncation), RNE and SR (the model's LFSR stochastic rounding). Each BFP GEMM's
quantizer is seeded with a fresh 16-bit seed from the run's seed (recorded for replay).

Speed estimate: an analytic cycle count, not a simulation. A GEMM M x Kdim x N on the default 4 x 4 array
takes ceil(M/4) * ceil(N/4) tiles of ceil(Kdim/16) block pairs, each block pair (Wa/4)*(Wb/4)*K/16 PE cycles
(models.cycles_per_block); pipeline fill, operand feed and everything that is not a GEMM are ignored. Summed
over every training step's GEMMs (FP + BP + WG, not the evaluation passes) and divided by the same sum with
every operand in FB24. FP32 layers are counted as FB24 x FB24 (the array has no FP32 mode).

Replay through the RTL: `training_gemms(...)` (importable: `from scripts.train import training_gemms`
with the repo root on sys.path) returns the GEMMs the first training steps executed.
"""
from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # small matrices: one thread
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from functools import lru_cache  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import models as fb  # noqa: E402
from models.bfp import MODE_NAMES, cycles_per_block  # noqa: E402
from models.fp2bfp import ROUNDING_NAMES  # noqa: E402

FB24, FB16, FB12 = fb.FB24, fb.FB16, fb.FB12
OPERANDS = ("fp.act", "fp.w", "bp.err", "bp.w", "wg.act", "wg.err")
STATIC = ("FB24", "FB16", "FB12", "FB12LG16", "FB12LG24")
ALL_CONFIGS = ("FP32",) + STATIC + ("DYN",)
ROUNDINGS = ("RTZ", "RNE", "SR")


def static_modes(fp: int, bp: int, wg: int) -> dict[str, int]:
    return {"fp.act": fp, "fp.w": fp, "bp.err": bp, "bp.w": bp, "wg.act": wg, "wg.err": wg}


CONFIG_MODES = {
    "FB24": static_modes(FB24, FB24, FB24),
    "FB16": static_modes(FB16, FB16, FB16),
    "FB12": static_modes(FB12, FB12, FB12),
    "FB12LG16": static_modes(FB12, FB16, FB12),
    "FB12LG24": static_modes(FB12, FB24, FB12),
}


@dataclass
class TrainConfig:
    sizes: tuple[int, ...] = (64, 32, 32, 10)
    batch: int = 32
    epochs: int = 30
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    block: int = 16
    rows: int = 4  # the array's shape, for the cycle estimate
    cols: int = 4
    fp32_layers: tuple[int, ...] = ()
    dyn_start: int = FB16
    zse_lo: float = 0.25
    zse_hi: float = 0.60
    dyn_window: int = 0  # steps per ZSE window; 0 = one epoch


# --- data ------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 images, no download), pixels / 16, fixed stratified split:
    1347 train / 450 test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.25, random_state=0, stratify=d.target)
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


# --- the GEMM engine: every GEMM of the network goes through here ----------------------------------------
@dataclass
class ReplayGemm:
    """One GEMM as executed: C = A x B with A (M x Kdim) and B (Kdim x N) exactly the FP32 operands given to
    the model (quantizer: `Fp2Bfp(block, seed)`, A then B^T, rounding `rounding`). Iterates as the 6-tuple
    (name, a, b, mode_a, mode_b, rounding); `seed` matters only for SR."""
    name: str
    a: np.ndarray
    b: np.ndarray
    mode_a: int
    mode_b: int
    rounding: int
    seed: int
    block: int = 16
    c: np.ndarray | None = None  # the binary32 result the training used

    def __iter__(self):
        return iter((self.name, self.a, self.b, self.mode_a, self.mode_b, self.rounding))


class Engine:
    """Runs the network's GEMMs through the FlexBlock model, counts analytic cycles, measures ZSE."""

    def __init__(self, rounding: int, seed: int, cfg: TrainConfig, track_zse: bool = False,
                 count_cycles: bool = True, record: list | None = None):
        self.rounding = rounding
        self.cfg = cfg
        self.seeds = np.random.default_rng([seed, 0x5EED])
        self.track_zse = track_zse
        self.count_cycles = count_cycles
        self.record = record
        self.cycles = 0
        self.fb24_cycles = 0
        self.flags = 0
        self.zse_sum: dict = defaultdict(float)
        self.zse_n: dict = defaultdict(int)

    def _cycles(self, m, kdim, n, mode_a, mode_b) -> int:
        c = self.cfg
        tiles = math.ceil(m / c.rows) * math.ceil(n / c.cols)
        return tiles * math.ceil(kdim / c.block) * cycles_per_block(mode_a, mode_b, c.block)

    def gemm(self, name: str, a, b, mode_a, mode_b, keys=(None, None)) -> np.ndarray:
        """C = A x B. mode_a/mode_b None: an FP32 layer (plain float32 matmul). keys: the (layer, operand)
        names under which the operands' ZSE is recorded."""
        a = np.ascontiguousarray(a, np.float32)
        b = np.ascontiguousarray(b, np.float32)
        (m, kdim), n = a.shape, b.shape[1]
        if self.count_cycles:
            self.fb24_cycles += self._cycles(m, kdim, n, FB24, FB24)
            self.cycles += self._cycles(m, kdim, n, FB24 if mode_a is None else mode_a,
                                        FB24 if mode_b is None else mode_b)
        seed = int(self.seeds.integers(0, 1 << 16))  # drawn for every GEMM: same stream in every config
        if mode_a is None:
            return a @ b
        quantizer = fb.Fp2Bfp(self.cfg.block, seed)
        qa = quantizer(a, mode_a, self.rounding)
        qb = quantizer(b.T, mode_b, self.rounding)
        bits, flags = fb.bfp_gemm(qa, qb)
        c = fb.bits_float32(bits)
        self.flags |= int(np.bitwise_or.reduce(flags, axis=None))
        if self.track_zse:
            for key, x, q in ((keys[0], a, qa), (keys[1], b.T, qb)):
                if key is not None:
                    self.zse_sum[key] += fb.zero_setting_error(x, q)
                    self.zse_n[key] += 1
        if self.record is not None:
            self.record.append(ReplayGemm(name, a.copy(), b.copy(), mode_a, mode_b, self.rounding, seed,
                                          self.cfg.block, c.copy()))
        return c

    def take_zse(self) -> dict:
        out = {k: self.zse_sum[k] / self.zse_n[k] for k in self.zse_sum}
        self.zse_sum.clear()
        self.zse_n.clear()
        return out


# --- the network -----------------------------------------------------------------------------------------
def init_params(sizes, rng) -> list[list[np.ndarray]]:
    return [[(rng.standard_normal((fi, fo)) * math.sqrt(2.0 / fi)).astype(np.float32),
             np.zeros(fo, np.float32)] for fi, fo in zip(sizes[:-1], sizes[1:])]


def forward(params, x, modes, eng: Engine):
    """Returns (layer inputs H_l, pre-activations Z_l)."""
    hs, zs = [x], []
    for l, (w, b) in enumerate(params):
        m = modes[l]
        z = eng.gemm(f"L{l}.fp", hs[-1], w, m["fp.act"], m["fp.w"], ((l, "fp.act"), (l, "fp.w"))) + b
        zs.append(z)
        if l < len(params) - 1:
            hs.append(np.maximum(z, np.float32(0)))
    return hs, zs


def softmax_xent(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-30))))
    return p.astype(np.float32), loss


def train_step(params, vel, x, y, modes, eng: Engine, cfg: TrainConfig) -> float:
    hs, zs = forward(params, x, modes, eng)
    p, loss = softmax_xent(zs[-1], y)
    dz = p
    dz[np.arange(len(y)), y] -= 1
    dz /= np.float32(len(y))
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        w, _ = params[l]
        m = modes[l]
        if l > 0:
            dh = eng.gemm(f"L{l}.bp", dz, w.T, m["bp.err"], m["bp.w"], ((l, "bp.err"), (l, "bp.w")))
        dw = eng.gemm(f"L{l}.wg", hs[l].T, dz, m["wg.act"], m["wg.err"], ((l, "wg.act"), (l, "wg.err")))
        grads[l] = (dw, dz.sum(axis=0))
        if l > 0:
            dz = dh * (zs[l - 1] > 0)
    lr, mu, wd = np.float32(cfg.lr), np.float32(cfg.momentum), np.float32(cfg.weight_decay)
    for (w, b), (vw, vb), (gw, gb) in zip(params, vel, grads):
        vw *= mu
        vw += gw + wd * w
        vb *= mu
        vb += gb
        w -= lr * vw
        b -= lr * vb
    return loss


def accuracy(params, x, y, modes, eng: Engine) -> float:
    _, zs = forward(params, x, modes, eng)
    return float(np.mean(np.argmax(zs[-1], axis=1) == y))


# --- dynamic precision control ---------------------------------------------------------------------------
class DynamicPrecision:
    """Per layer and per GEMM operand: mean ZSE over a window; < lo: one mode down, > hi: one mode up."""

    def __init__(self, n_layers: int, cfg: TrainConfig):
        self.cfg = cfg
        self.modes = [None if l in cfg.fp32_layers else {op: cfg.dyn_start for op in OPERANDS}
                      for l in range(n_layers)]
        self.history = [self.snapshot()]
        self.last_zse: dict = {}

    def snapshot(self):
        return [None if m is None else dict(m) for m in self.modes]

    def update(self, zse: dict) -> None:
        for (l, op), z in zse.items():
            mode = self.modes[l][op]
            if z < self.cfg.zse_lo and mode < FB12:
                self.modes[l][op] = mode + 1
            elif z > self.cfg.zse_hi and mode > FB24:
                self.modes[l][op] = mode - 1
        self.last_zse = zse
        self.history.append(self.snapshot())


def layer_modes(config: str, n_layers: int, cfg: TrainConfig):
    fp32 = {op: None for op in OPERANDS}
    if config == "FP32":
        return [fp32] * n_layers
    return [fp32 if l in cfg.fp32_layers else dict(CONFIG_MODES[config]) for l in range(n_layers)]


# --- one run ---------------------------------------------------------------------------------------------
def run(config: str, rounding: str, seed: int, cfg: TrainConfig, n_steps: int | None = None,
        record: list | None = None, data=None, progress=None) -> dict:
    """Train one network; returns its curves and counters. n_steps: stop after that many steps (replay)."""
    xtr, ytr, xte, yte = data or digits()
    rnd = fb.rounding_code(rounding)
    rng = np.random.default_rng(seed)
    params = init_params(cfg.sizes, rng)
    vel = [[np.zeros_like(w), np.zeros_like(b)] for w, b in params]
    n_layers = len(params)
    dyn = DynamicPrecision(n_layers, cfg) if config == "DYN" else None
    fixed = None if dyn else layer_modes(config, n_layers, cfg)
    eng = Engine(rnd, seed, cfg, track_zse=dyn is not None, record=record)
    evaluator = Engine(rnd, seed + 7919, cfg, count_cycles=False)
    steps_per_epoch = len(xtr) // cfg.batch  # the last partial batch is dropped
    window = cfg.dyn_window or steps_per_epoch

    def modes():
        return dyn.modes if dyn else fixed

    def current_modes():
        return [{op: None for op in OPERANDS} if m is None else m for m in modes()]

    acc = [accuracy(params, xte, yte, current_modes(), evaluator)] if n_steps is None else []
    losses, step = [], 0
    for epoch in range(cfg.epochs):
        if epoch == cfg.epochs - 1 and n_steps is None:
            eng.track_zse = True  # static runs: the last epoch's ZSE per operand, for the report
        order = rng.permutation(len(xtr))
        tot = 0.0
        for i in range(steps_per_epoch):
            idx = order[i * cfg.batch:(i + 1) * cfg.batch]
            tot += train_step(params, vel, xtr[idx], ytr[idx], current_modes(), eng, cfg)
            step += 1
            if dyn and step % window == 0 and step < cfg.epochs * steps_per_epoch:
                dyn.update(eng.take_zse())  # (no update after the last step: training is over)
            if n_steps is not None and step >= n_steps:
                return {"params": params, "cycles": eng.cycles, "fb24_cycles": eng.fb24_cycles}
        losses.append(tot / steps_per_epoch)
        acc.append(accuracy(params, xte, yte, current_modes(), evaluator))
        if progress is not None:
            progress.update(1)
            progress.set_postfix_str(f"acc {acc[-1]:.3f} loss {losses[-1]:.3f}")
    if dyn:
        dyn.last_zse = eng.take_zse()  # the final window's, measured in the final modes
    return {"config": config, "rounding": rounding, "seed": seed, "acc": acc, "loss": losses,
            "cycles": eng.cycles, "fb24_cycles": eng.fb24_cycles, "flags": eng.flags | evaluator.flags,
            "final_modes": dyn.snapshot() if dyn else None, "mode_history": dyn.history if dyn else None,
            "last_zse": dyn.last_zse if dyn else None, "zse": eng.take_zse() if not dyn else None}


def training_gemms(n_batches: int = 1, config: str = "FB12LG16", rounding="RTZ", seed: int = 0,
                   **overrides) -> list[ReplayGemm]:
    """The GEMMs the first `n_batches` training steps of a run executed, in order, for an RTL replay.

    Each item iterates as (name, A, B, mode_a, mode_b, rounding): A and B are exactly the FP32 operands that
    went into the model (A M x Kdim, B Kdim x N; re-quantize them with `models.Fp2Bfp(item.block, item.seed)`,
    A then B^T, i.e. `models.gemm(A, B, mode_a, mode_b, rounding, quantizer=Fp2Bfp(block, seed))`), and
    `item.c` is the binary32 result the training used. For SR load `item.seed` into the quantizer before each
    job (every M here is a multiple of 4, so pe_array_env.GemmJob's tile padding leaves the LFSR block numbers
    of the real rows unchanged). FP32 layers (--fp32-layers) are not listed. `overrides` set TrainConfig
    fields (e.g. batch=16). With the defaults one step is 8 GEMMs, 496 tiles of a 4 x 4 array at batch 32.
    """
    cfg = replace(TrainConfig(), **overrides)
    if config == "FP32":
        raise ValueError("FP32 runs no BFP GEMMs")
    record: list[ReplayGemm] = []
    run(config, rounding, seed, cfg, n_steps=n_batches, record=record)
    return record


def replay_tiles(gemms, rows: int = 4, cols: int = 4) -> int:
    """Output tiles of a rows x cols array a list of GEMMs needs."""
    return sum(math.ceil(g.a.shape[0] / rows) * math.ceil(g.b.shape[1] / cols) for g in gemms)


# --- reporting -------------------------------------------------------------------------------------------
def mean_std(v) -> str:
    v = 100 * np.asarray(v, float)
    return f"{v.mean():.1f} ± {v.std():.1f}"


def mode_name(m) -> str:
    return "FP32" if m is None else MODE_NAMES[m]


def build_report(results, cfg: TrainConfig, configs, roundings, seeds, wall: float, argv: str) -> str:
    by = defaultdict(list)
    for r in results:
        by[(r["config"], r["rounding"])].append(r)
    n_layers = len(cfg.sizes) - 1
    lines = [
        "# Training a small network through the bit-exact FlexBlock model",
        "",
        f"Generated by `{argv}` in {wall / 60:.1f} min wall time ({platform.machine()}, "
        f"{os.cpu_count()} CPUs, one process). Source and method: `scripts/train.py` (its docstring).",
        "",
        f"- Data: scikit-learn {sklearn_version()} `load_digits` (8x8, 10 classes), pixels/16, fixed stratified "
        "split 1347 train / 450 test (`random_state=0`).",
        f"- Network: MLP {'-'.join(map(str, cfg.sizes))}, ReLU, softmax cross-entropy; SGD lr {cfg.lr}, momentum "
        f"{cfg.momentum}, weight decay {cfg.weight_decay}, batch {cfg.batch}, {cfg.epochs} epochs, FP32 master "
        "weights. He init and shuffling from the run seed (the same for every configuration of a seed).",
        f"- Every forward (H x W), back-prop (dZ x W^T) and weight-gradient (H^T x dZ) GEMM of "
        f"{'every layer' if not cfg.fp32_layers else 'layers other than ' + str(list(cfg.fp32_layers))} "
        f"runs through `models.Fp2Bfp` + `models.bfp_gemm` (blocks of {cfg.block} along each product's reduction "
        "axis, binary32 results as `pe_array` produces; bit-identical to `models.gemm`); bias, ReLU, softmax, loss "
        "and optimizer in FP32. The back-prop GEMM of the first layer is not needed and not run. Test accuracy "
        "is measured with the forward pass in the run's forward modes and rounding.",
        "- Configurations: FBxx = that mode for all six operands; FB12LG16/24 = FB12 forward and weight-gradient "
        "operands, FB16/FB24 for both back-prop operands (error and weight, BFPsim's bio/biw); DYN = dynamic "
        f"precision control (below). FP32 = no BFP anywhere (so one column).",
        f"- Cycles: analytic PE cycles of all training-step GEMMs on a {cfg.rows}x{cfg.cols} array (tiles x "
        "block pairs x (Wa/4)(Wb/4)K/16, `models.cycles_per_block`; no fill, feed or non-GEMM work), relative to "
        "the same GEMMs in FB24; speed-up = its inverse.",
        "",
        f"## Final test accuracy (%, mean ± std over {len(seeds)} seeds: {', '.join(map(str, seeds))})",
        "",
        "| configuration | " + " | ".join(f"{r}" for r in roundings) + " | rel. cycles vs FB24 | speed-up |",
        "|---|" + "---|" * len(roundings) + "---|---|",
    ]
    for c in configs:
        if c == "FP32":
            rs = by[("FP32", "-")]
            if rs:
                cells = [mean_std([r["acc"][-1] for r in rs])] + ["″"] * (len(roundings) - 1)
                lines.append(f"| FP32 (no BFP) | " + " | ".join(cells) + " | — | — |")
            continue
        cells, rel = [], []
        for rd in roundings:
            rs = by[(c, rd)]
            cells.append(mean_std([r["acc"][-1] for r in rs]) if rs else "")
            if rs:
                rel.append(np.mean([r["cycles"] / r["fb24_cycles"] for r in rs]))
        if not rel:
            continue
        if c == "DYN" and len(rel) > 1:
            rel_s = " / ".join(f"{x:.3f}" for x in rel)
            sp_s = " / ".join(f"{1 / x:.2f}x" for x in rel)
        else:
            rel_s, sp_s = f"{rel[0]:.3f}", f"{1 / rel[0]:.2f}x"
        lines.append(f"| {c} | " + " | ".join(cells) + f" | {rel_s} | {sp_s} |")
    if "FP32" in configs and len(roundings) > 1:
        lines += ["", "″ FP32 uses no rounding mode: one value for the row."]
    lines += zse_section(by, cfg, roundings, n_layers)
    if "DYN" in configs:
        lines += ["", f"DYN cycles are the whole run's (modes change at every window), per rounding "
                  f"({' / '.join(roundings)})." if len(roundings) > 1 else ""]
        lines += dyn_section(by, cfg, roundings, seeds, n_layers)
    flagged = [r for r in results if r.get("flags")]
    lines += ["", "## Notes", ""]
    lines.append(f"- GEMM result flags (NaN/Inf) raised in {len(flagged)} of {len(results)} runs.")
    return "\n".join(lines) + "\n"


def zse_section(by, cfg, roundings, n_layers) -> list[str]:
    """Mean ZSE per operand in the last epoch of the one-mode runs: what the DYN thresholds act on."""
    cols = [c for c in ("FB24", "FB16", "FB12") if any(by[(c, rd)] for rd in roundings)]
    if not cols:
        return []
    rd = next(rd for rd in roundings if any(by[(c, rd)] for c in cols))
    out = ["", f"## Zero-setting error per operand ({rd}, last epoch of the one-mode runs, mean over seeds)", "",
           "ZSE of an operand in a given mode: the fraction of its nonzero FP32 inputs that conversion to that "
           "mode flushes to 0. The DYN thresholds are chosen against these values.", "",
           "| layer | operand | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for l in range(n_layers):
        for op in OPERANDS:
            if l == 0 and op.startswith("bp."):
                continue
            cells = []
            for c in cols:
                zs = [r["zse"].get((l, op)) for r in by[(c, rd)] if r.get("zse")]
                zs = [z for z in zs if z is not None]
                cells.append(f"{np.mean(zs):.3f}" if zs else "FP32")
            out.append(f"| L{l} | {op} | " + " | ".join(cells) + " |")
    return out


def dyn_section(by, cfg, roundings, seeds, n_layers) -> list[str]:
    out = ["", "## Dynamic precision control", "",
           f"Every operand starts in {MODE_NAMES[cfg.dyn_start]}; window = "
           f"{'one epoch' if not cfg.dyn_window else f'{cfg.dyn_window} steps'}; mean ZSE of the window "
           f"< {cfg.zse_lo} steps the operand one mode down, > {cfg.zse_hi} one mode up. ZSE is measured on the "
           "operand as converted in its current mode. Final mode per layer and operand, one entry per seed "
           "(mean ZSE of the last window, over seeds, in brackets); L0 has no back-prop GEMM.", ""]
    for rd in roundings:
        rs = by[("DYN", rd)]
        if not rs:
            continue
        out += [f"**{rd}**", "", "| layer | " + " | ".join(OPERANDS) + " |", "|---|" + "---|" * len(OPERANDS)]
        for l in range(n_layers):
            cells = []
            for op in OPERANDS:
                if l == 0 and op.startswith("bp."):
                    cells.append("—")
                    continue
                fm = [r["final_modes"][l] for r in rs]
                if fm[0] is None:
                    cells.append("FP32")
                    continue
                names = "/".join(mode_name(m[op]) for m in fm)
                zs = [r["last_zse"].get((l, op)) for r in rs if r["last_zse"]]
                zs = [z for z in zs if z is not None]
                cells.append(f"{names} ({np.mean(zs):.3f})" if zs else names)
            out.append(f"| L{l} {cfg.sizes[l]}x{cfg.sizes[l + 1]} | " + " | ".join(cells) + " |")
        out.append("")
    rds = [rd for rd in roundings if by[("DYN", rd)]]
    first = {rd: by[("DYN", rd)][0] for rd in rds}
    out += [f"Mode trajectories of seed {first[rds[0]]['seed']}: one digit per window, the mode code "
            "(0 = FB24, 1 = FB16, 2 = FB12) in force during it.", "",
            "| layer | operand | " + " | ".join(rds) + " |", "|---|---|" + "---|" * len(rds)]
    for l in range(n_layers):
        if first[rds[0]]["final_modes"][l] is None:
            continue
        for op in OPERANDS:
            if l == 0 and op.startswith("bp."):
                continue
            cells = ["`" + "".join(str(h[l][op]) for h in first[rd]["mode_history"]) + "`" for rd in rds]
            out.append(f"| L{l} | {op} | " + " | ".join(cells) + " |")
    return out


def sklearn_version() -> str:
    import sklearn
    return sklearn.__version__


def plot(results, configs, roundings, path: str, cfg: TrainConfig) -> None:
    """Test accuracy (top) and training loss (bottom) per epoch, mean over seeds (band: min to max), one
    column per rounding mode; the FP32 baseline (dashed) in every column."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    by = defaultdict(list)
    for r in results:
        by[(r["config"], r["rounding"])].append(r)
    fig, axes = plt.subplots(2, len(roundings), figsize=(5.2 * len(roundings), 7.4), sharey="row",
                             sharex=True, squeeze=False)
    colors = dict(zip(ALL_CONFIGS, plt.cm.tab10.colors))
    for col, rd in enumerate(roundings):
        for c in configs:
            rs = by[("FP32", "-")] if c == "FP32" else by[(c, rd)]
            if not rs:
                continue
            for row, key, scale, start in ((0, "acc", 100, 0), (1, "loss", 1, 1)):
                a = scale * np.stack([np.asarray(r[key]) for r in rs])
                ep = np.arange(start, start + a.shape[1])
                ax = axes[row][col]
                ax.plot(ep, a.mean(0), label=c, color=colors[c], ls="--" if c == "FP32" else "-", lw=1.4)
                ax.fill_between(ep, a.min(0), a.max(0), color=colors[c], alpha=0.12, lw=0)
        axes[0][col].set_title(f"BFP conversion: {rd}")
        axes[1][col].set_xlabel("epoch")
        axes[1][col].set_yscale("log")
        for row in (0, 1):
            axes[row][col].grid(alpha=0.3)
    axes[0][0].set_ylim(85, 100)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[1][0].set_ylabel("training loss (epoch mean)")
    axes[0][-1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"digits MLP {'-'.join(map(str, cfg.sizes))}, every GEMM through the FlexBlock model "
                 f"(mean over seeds, band: min to max)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_json(results, cfg: TrainConfig, path: str) -> None:
    """Per-run curves and counters (the table's raw data)."""
    import json
    def modes(ms):
        return None if ms is None else [None if m is None else {k: mode_name(v) for k, v in m.items()}
                                        for m in ms]
    runs = [{"config": r["config"], "rounding": r["rounding"], "seed": r["seed"], "test_acc": r["acc"],
             "train_loss": r["loss"], "cycles": r["cycles"], "fb24_cycles": r["fb24_cycles"],
             "final_modes": modes(r["final_modes"])} for r in results]
    meta = {k: v for k, v in vars(cfg).items()}
    with open(path, "w") as f:
        json.dump({"config": meta, "runs": runs}, f, indent=0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 10 epochs, output in sim_build/")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per configuration (default 3, quick 1)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 30, quick 10)")
    ap.add_argument("--configs", nargs="+", default=list(ALL_CONFIGS), choices=ALL_CONFIGS)
    ap.add_argument("--roundings", nargs="+", default=list(ROUNDINGS), choices=("RTZ", "RNE", "RNA", "SR"))
    ap.add_argument("--fp32-layers", nargs="*", type=int, default=[],
                    help="layers whose GEMMs stay FP32 (paper's policy: 0 and the last); default none")
    ap.add_argument("--dyn-start", default="FB16", choices=("FB24", "FB16", "FB12"))
    ap.add_argument("--zse-lo", type=float, default=TrainConfig.zse_lo, help="DYN: step down below this ZSE")
    ap.add_argument("--zse-hi", type=float, default=TrainConfig.zse_hi, help="DYN: step up above this ZSE")
    ap.add_argument("--dyn-window", type=int, default=0, help="DYN: steps per ZSE window (0 = one epoch)")
    ap.add_argument("--batch", type=int, default=TrainConfig.batch)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--out", default=None,
                    help="output prefix for .md, .png, .json (default docs/results/training; quick: sim_build/training_quick)")
    args = ap.parse_args(argv)

    n_seeds = args.seeds or (1 if args.quick else 3)
    epochs = args.epochs or (10 if args.quick else TrainConfig.epochs)
    out = args.out or ("sim_build/training_quick" if args.quick else "docs/results/training")
    if args.zse_lo >= args.zse_hi:
        ap.error("--zse-lo must be below --zse-hi")
    cfg = TrainConfig(epochs=epochs, batch=args.batch, lr=args.lr, fp32_layers=tuple(args.fp32_layers),
                      dyn_start=fb.bfp.MODE_BY_NAME[args.dyn_start], zse_lo=args.zse_lo, zse_hi=args.zse_hi,
                      dyn_window=args.dyn_window)
    configs = [c for c in ALL_CONFIGS if c in args.configs]
    roundings = list(dict.fromkeys(args.roundings))
    seeds = list(range(n_seeds))
    jobs = [(c, "-" if c == "FP32" else rd, s) for c in configs
            for rd in (["-"] if c == "FP32" else roundings) for s in seeds]

    from tqdm import tqdm
    data = digits()
    t0 = time.perf_counter()
    results = []
    with tqdm(total=len(jobs) * cfg.epochs, unit="epoch", dynamic_ncols=True) as bar:
        for c, rd, s in jobs:
            bar.set_description(f"{c:8s} {rd:3s} seed {s}")
            results.append(run(c, "RTZ" if rd == "-" else rd, s, cfg, data=data, progress=bar))
            results[-1]["rounding"] = rd
    wall = time.perf_counter() - t0

    argv_s = "scripts/train.py" + ("" if argv is None and len(sys.argv) == 1 else
                                    " " + " ".join(sys.argv[1:] if argv is None else argv))
    report = build_report(results, cfg, configs, roundings, seeds, wall, argv_s)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".md", "w") as f:
        f.write(report + f"\n![test accuracy curves]({os.path.basename(out)}.png)\n")
    plot(results, configs, roundings, out + ".png", cfg)
    save_json(results, cfg, out + ".json")
    print(report)
    print(f"wall time {wall:.1f} s; wrote {out}.md, {out}.png and {out}.json")


if __name__ == "__main__":
    main()
