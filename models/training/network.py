"""The network: an MLP (ReLU, softmax cross-entropy), SGD with momentum on FP32 master weights. Its three
GEMMs per layer go through the engine; bias, ReLU, softmax / loss, momentum and the weight update are FP32.
    forward       Z  = H  x W      pass "fp"
    back-prop     dH = dZ x W^T    pass "bp"   (not run for the first layer)
    weight grad.  dW = H^T x dZ    pass "wg"
"""
from __future__ import annotations

import math

import numpy as np

from .config import TrainConfig
from .engine import Engine


def init_params(sizes, rng) -> list[list[np.ndarray]]:
    """He-initialized weights (fan_in x fan_out) and zero biases, FP32."""
    return [[(rng.standard_normal((fi, fo)) * math.sqrt(2.0 / fi)).astype(np.float32),
             np.zeros(fo, np.float32)] for fi, fo in zip(sizes[:-1], sizes[1:])]


def forward(params, x, eng: Engine):
    """Returns (layer inputs H_l, pre-activations Z_l)."""
    hs, zs = [x], []
    for l, (w, b) in enumerate(params):
        z = eng.gemm("fp", l, hs[-1], w) + b
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


def train_step(params, vel, x, y, eng: Engine, cfg: TrainConfig) -> float:
    """One SGD step on the batch (x, y); updates params and vel in place, returns the batch loss."""
    hs, zs = forward(params, x, eng)
    p, loss = softmax_xent(zs[-1], y)
    dz = p
    dz[np.arange(len(y)), y] -= 1
    dz /= np.float32(len(y))
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        w, _ = params[l]
        if l > 0:
            dh = eng.gemm("bp", l, dz, w.T)
        dw = eng.gemm("wg", l, hs[l].T, dz)
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


def accuracy(params, x, y, eng: Engine) -> float:
    _, zs = forward(params, x, eng)
    return float(np.mean(np.argmax(zs[-1], axis=1) == y))
