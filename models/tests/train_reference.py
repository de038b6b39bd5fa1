"""An independent re-statement of the training loop as scripts/train.py ran it before the harness became the
models/training library (one file, no code shared with models/training): the network's GEMMs quantized per
operand mode by `models.Fp2Bfp` and multiplied by `models.bfp_gemm`, one seed stream per engine, dynamic
precision control from the zero-setting error. test_training_library.py checks that the library's runs through
the arithmetic interface give bit-identical weights, losses, accuracies, cycles and modes.

Only the model's arithmetic (Fp2Bfp, bfp_gemm, zero_setting_error, cycles_per_block) is shared: that is what
both harnesses are meant to drive."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

import models as fb

OPS = {"fp": ("fp.act", "fp.w"), "bp": ("bp.err", "bp.w"), "wg": ("wg.act", "wg.err")}
MODES = {"FB24": (0, 0, 0), "FB16": (1, 1, 1), "FB12": (2, 2, 2), "FB12LG16": (2, 1, 2), "FB12LG24": (2, 0, 2)}


def load_digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.25, random_state=0, stratify=d.target)
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


class RefEngine:
    def __init__(self, rounding, seed, hp, count=True):
        self.rounding, self.hp, self.count = rounding, hp, count
        self.seeds = np.random.default_rng([seed, 0x5EED])
        self.cycles = self.fb24 = self.flags = 0
        self.track = False
        self.zs, self.zn = defaultdict(float), defaultdict(int)

    def cyc(self, m, k, n, ma, mb):
        hp = self.hp
        return (math.ceil(m / hp["rows"]) * math.ceil(n / hp["cols"]) * math.ceil(k / hp["block"])
                * fb.cycles_per_block(ma, mb, hp["block"]))

    def gemm(self, a, b, ma, mb, layer, pass_):
        a, b = np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32)
        m, k, n = a.shape[0], a.shape[1], b.shape[1]
        if self.count:
            self.fb24 += self.cyc(m, k, n, 0, 0)
            self.cycles += self.cyc(m, k, n, 0 if ma is None else ma, 0 if mb is None else mb)
        seed = int(self.seeds.integers(0, 1 << 16))
        if ma is None:
            return a @ b
        q = fb.Fp2Bfp(self.hp["block"], seed)
        qa, qb = q(a, ma, self.rounding), q(b.T, mb, self.rounding)
        bits, flags = fb.bfp_gemm(qa, qb)
        self.flags |= int(np.bitwise_or.reduce(flags, axis=None))
        if self.track:
            for op, x, qx in zip(OPS[pass_], (a, b.T), (qa, qb)):
                self.zs[(layer, op)] += fb.zero_setting_error(x, qx)
                self.zn[(layer, op)] += 1
        return fb.bits_float32(bits)

    def take(self):
        out = {k: self.zs[k] / self.zn[k] for k in self.zs}
        self.zs.clear()
        self.zn.clear()
        return out


def ref_forward(params, x, modes, eng):
    hs, zs = [x], []
    for l, (w, b) in enumerate(params):
        md = modes[l]
        z = eng.gemm(hs[-1], w, md["fp.act"], md["fp.w"], l, "fp") + b
        zs.append(z)
        if l < len(params) - 1:
            hs.append(np.maximum(z, np.float32(0)))
    return hs, zs


def ref_step(params, vel, x, y, modes, eng, hp):
    hs, zs = ref_forward(params, x, modes, eng)
    z = zs[-1] - zs[-1].max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-30))))
    dz = p.astype(np.float32)
    dz[np.arange(len(y)), y] -= 1
    dz /= np.float32(len(y))
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        w, md = params[l][0], modes[l]
        if l > 0:
            dh = eng.gemm(dz, w.T, md["bp.err"], md["bp.w"], l, "bp")
        grads[l] = (eng.gemm(hs[l].T, dz, md["wg.act"], md["wg.err"], l, "wg"), dz.sum(axis=0))
        if l > 0:
            dz = dh * (zs[l - 1] > 0)
    lr, mu, wd = np.float32(hp["lr"]), np.float32(hp["momentum"]), np.float32(hp["weight_decay"])
    for (w, b), (vw, vb), (gw, gb) in zip(params, vel, grads):
        vw *= mu
        vw += gw + wd * w
        vb *= mu
        vb += gb
        w -= lr * vw
        b -= lr * vb
    return loss


def ref_run(config, rounding, seed, hp, data):
    """hp: dict of sizes, batch, epochs, lr, momentum, weight_decay, block, rows, cols, fp32_layers, dyn_start,
    zse_lo, zse_hi, dyn_window. Returns the run's final params, curves, counters and DYN's modes."""
    xtr, ytr, xte, yte = data
    rnd = fb.rounding_code(rounding)
    rng = np.random.default_rng(seed)
    sizes = hp["sizes"]
    params = [[(rng.standard_normal((fi, fo)) * math.sqrt(2.0 / fi)).astype(np.float32), np.zeros(fo, np.float32)]
              for fi, fo in zip(sizes[:-1], sizes[1:])]
    vel = [[np.zeros_like(w), np.zeros_like(b)] for w, b in params]
    nl = len(params)
    none = dict.fromkeys(("fp.act", "fp.w", "bp.err", "bp.w", "wg.act", "wg.err"))
    if config == "DYN":
        modes = [none if l in hp["fp32_layers"] else dict.fromkeys(none, hp["dyn_start"]) for l in range(nl)]
    elif config == "FP32":
        modes = [none] * nl
    else:
        f, bp, wg = MODES[config]
        one = {"fp.act": f, "fp.w": f, "bp.err": bp, "bp.w": bp, "wg.act": wg, "wg.err": wg}
        modes = [none if l in hp["fp32_layers"] else dict(one) for l in range(nl)]
    history = [[dict(m) for m in modes]]
    eng, ev = RefEngine(rnd, seed, hp), RefEngine(rnd, seed + 7919, hp, count=False)
    eng.track = config == "DYN"
    spe = len(xtr) // hp["batch"]
    window = hp["dyn_window"] or spe
    total = hp["epochs"] * spe

    def acc():
        return float(np.mean(np.argmax(ref_forward(params, xte, modes, ev)[1][-1], axis=1) == yte))

    accs, losses, step = [acc()], [], 0
    for epoch in range(hp["epochs"]):
        if epoch == hp["epochs"] - 1:
            eng.track = True
        order = rng.permutation(len(xtr))
        tot = 0.0
        for i in range(spe):
            idx = order[i * hp["batch"]:(i + 1) * hp["batch"]]
            tot += ref_step(params, vel, xtr[idx], ytr[idx], modes, eng, hp)
            step += 1
            if config == "DYN" and step % window == 0 and step < total:
                for (l, op), z in eng.take().items():
                    if z < hp["zse_lo"] and modes[l][op] < 2:
                        modes[l][op] += 1
                    elif z > hp["zse_hi"] and modes[l][op] > 0:
                        modes[l][op] -= 1
                history.append([dict(m) for m in modes])
        losses.append(tot / spe)
        accs.append(acc())
    zse = eng.take()
    return {"params": params, "acc": accs, "loss": losses, "cycles": eng.cycles, "fb24_cycles": eng.fb24,
            "flags": eng.flags | ev.flags, "modes": modes, "history": history, "zse": zse}
