"""A small CNN with batch norm on the digits, its convolutions and FC layer through the training engine's
GEMMs (FlexBlock arithmetic), and three batch-norm variants (docs/spec.md "LightNorm"):
    fp32       standard BN in float (mean / variance), its exact gradient
    range      range BN in float (8 chunks, scale 1/(range C(n) + eps)), the range-approximation gradient
    lightnorm  range BN in the units' arithmetic: the bit-exact models.lightnorm.forward (fp10 1-5-4 in, every
               step RTZ, output BFP FB16 decoded) and the bit-exact backward unit models.range_bn_bwd.backward
               (dy rounded RTZ to fp10 1-6-3; dx, dgamma, dbeta as the RTL computes them, 1-6-3, decoded)
Network: 8x8x1 -> conv3x3(8) -> BN -> ReLU -> conv3x3(16) -> BN -> ReLU -> global average -> FC(10).
Convolutions are im2col GEMMs: forward Z = cols x W ("fp"), dcols = dZ x W^T ("bp"), dW = cols^T x dZ ("wg").
"""
from __future__ import annotations

import math

import numpy as np

from .. import lightnorm as ln
from .. import range_bn_bwd
from ..fp2bfp import RTZ
from . import arithmetics
from .config import TrainConfig
from .data import digits
from .engine import Engine

BN_KINDS = ("fp32", "range", "lightnorm")
CHANNELS = (1, 8, 16)
EPS = 1e-5


def im2col(x):
    """x (B, 8, 8, C) -> (B*64, 9*C), 3x3 windows, zero padding 1, order (di, dj, c)."""
    b, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.stack([xp[:, i:i + h, j:j + w, :] for i in range(3) for j in range(3)], axis=3)
    return cols.reshape(b * h * w, 9 * c)


def col2im(dcols, shape):
    b, h, w, c = shape
    d = dcols.reshape(b, h, w, 9, c)
    out = np.zeros((b, h + 2, w + 2, c), np.float32)
    for k, (i, j) in enumerate((i, j) for i in range(3) for j in range(3)):
        out[:, i:i + h, j:j + w, :] += d[:, :, :, k, :]
    return out[:, 1:-1, 1:-1, :]


def bn_forward(kind, z, gamma, beta):
    z64 = z.astype(np.float64)
    if kind == "fp32":
        y, cache = ln.bn_fp32_float(z64, gamma, beta, EPS)
        return y.astype(np.float32), ("fp32", cache)
    if kind == "range":
        y, cache = ln.range_bn_float(z64, gamma, beta, EPS)
        return y.astype(np.float32), ("range", cache)
    x1, g1, c1, e1 = ln.encode(z), ln.encode(gamma), ln.encode(ln.range_constant(len(z))), ln.encode(EPS)
    q, _ = ln.forward(x1, g1, ln.encode(beta), c1, e1, "FB16")
    y = q.to_float32()[:, :z.shape[1]]
    return y.astype(np.float32), ("lightnorm", (x1, g1, c1, e1))   # what range_bn_bwd reads again


def bn_backward(dy, cache):
    kind, c = cache
    if kind == "fp32":
        dx, dg, db = ln.bn_backward(dy.astype(np.float64), c)
    elif kind == "range":
        dx, dg, db = ln.range_bn_backward(dy.astype(np.float64), c)
    else:  # the backward unit, bit-exact: dy rounded (RTZ) to 1-6-3, every output 1-6-3 bits, decoded
        x1, g1, c1, e1 = c
        dxb, dgb, dbb, _ = range_bn_bwd.backward(x1, ln.encode(dy, ln.FP10G), g1, c1, e1)
        dx, dg, db = (ln.decode(b, ln.FP10G) for b in (dxb, dgb, dbb))
    return dx.astype(np.float32), dg.astype(np.float32), db.astype(np.float32)


def init(rng):
    p = {}
    for l, (ci, co) in enumerate(zip(CHANNELS[:-1], CHANNELS[1:])):
        p[f"w{l}"] = (rng.standard_normal((9 * ci, co)) * math.sqrt(2.0 / (9 * ci))).astype(np.float32)
        p[f"g{l}"] = np.ones(co, np.float32)
        p[f"b{l}"] = np.zeros(co, np.float32)
    p["wf"] = (rng.standard_normal((CHANNELS[-1], 10)) * math.sqrt(1.0 / CHANNELS[-1])).astype(np.float32)
    p["bf"] = np.zeros(10, np.float32)
    return p


def forward(p, x, kind, eng: Engine):
    b = len(x)
    h = x.reshape(b, 8, 8, 1)
    caches = []
    for l in range(len(CHANNELS) - 1):
        cols = im2col(h)
        z = eng.gemm("fp", l, cols, p[f"w{l}"])
        y, bc = bn_forward(kind, z, p[f"g{l}"], p[f"b{l}"])
        caches.append((h.shape, cols, bc, y))
        h = np.maximum(y, 0).reshape(b, 8, 8, -1)
    pooled = h.reshape(b, 64, -1).mean(axis=1)
    logits = eng.gemm("fp", len(CHANNELS) - 1, pooled, p["wf"]) + p["bf"]
    return logits, caches, pooled


def step(p, vel, x, y, kind, eng: Engine, cfg: TrainConfig) -> float:
    from .network import softmax_xent
    b = len(x)
    logits, caches, pooled = forward(p, x, kind, eng)
    prob, loss = softmax_xent(logits, y)
    dz = prob
    dz[np.arange(b), y] -= 1
    dz /= np.float32(b)
    nl = len(CHANNELS) - 1
    g = {"wf": eng.gemm("wg", nl, pooled.T, dz), "bf": dz.sum(axis=0)}
    dpool = eng.gemm("bp", nl, dz, p["wf"].T)
    dh = np.repeat(dpool[:, None, :] / np.float32(64), 64, axis=1).reshape(b * 64, -1)
    for l in reversed(range(nl)):
        shape, cols, bc, yv = caches[l]
        dy = dh * (yv > 0)
        dzl, g[f"g{l}"], g[f"b{l}"] = bn_backward(dy, bc)
        g[f"w{l}"] = eng.gemm("wg", l, cols.T, dzl)
        if l > 0:
            dh = col2im(eng.gemm("bp", l, dzl, p[f"w{l}"].T), shape).reshape(b * 64, -1)
    lr, mu, wd = np.float32(cfg.lr), np.float32(cfg.momentum), np.float32(cfg.weight_decay)
    for k in p:
        vel[k] = mu * vel[k] + g[k] + (wd * p[k] if k.startswith("w") else 0)
        p[k] -= lr * vel[k]
    return loss


def run(kind: str, seed: int, epochs: int = 8, policy: str = "FB16", rounding: str = "RTZ",
        batch: int = 32, lr: float = 0.05, n_train: int | None = None) -> dict:
    """Train the CNN with BN variant `kind`; returns per-epoch test accuracy and training loss. `n_train`:
    train on that many training images only (the first n_train of a fixed permutation, the same for every
    seed and variant: the smoke run of scripts/train_bn.py --quick), tested on the whole test split."""
    cfg = TrainConfig(batch=batch, epochs=epochs, lr=lr)
    xtr, ytr, xte, yte = digits()
    if n_train is not None:
        keep = np.random.default_rng(12345).permutation(len(xtr))[:n_train]
        xtr, ytr = xtr[keep], ytr[keep]
    rng = np.random.default_rng(seed)
    p = init(rng)
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    spe = len(xtr) // batch
    ar = arithmetics.create("flexblock", policy, rounding, cfg)
    ar.configure(len(CHANNELS), epochs * spe)
    eng = Engine(ar, seed, cfg, count_cycles=False)

    def acc():
        ev = Engine(ar.for_eval() if hasattr(ar, "for_eval") else ar, seed + 7919, cfg, count_cycles=False)
        logits, _, _ = forward(p, xte, kind, ev)
        return float(np.mean(np.argmax(logits, axis=1) == yte))

    accs, losses, s = [acc()], [], 0
    for _ in range(epochs):
        order = rng.permutation(len(xtr))
        tot = 0.0
        for i in range(spe):
            idx = order[i * batch:(i + 1) * batch]
            eng.step = s
            tot += step(p, vel, xtr[idx], ytr[idx], kind, eng, cfg)
            eng.end_step()
            s += 1
        losses.append(tot / spe)
        accs.append(acc())
    return {"bn": kind, "seed": seed, "policy": policy, "rounding": rounding, "acc": accs, "loss": losses}
