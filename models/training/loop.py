"""One training run (`run`) and the GEMMs of its first steps for an RTL replay (`training_gemms`)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import arithmetics
from .config import TrainConfig
from .data import digits
from .engine import Engine, ReplayGemm
from .network import accuracy, init_params, train_step


def run(config: str, rounding: str, seed: int, cfg: TrainConfig, n_steps: int | None = None,
        record: list | None = None, data=None, progress=None, arith: str = "flexblock") -> dict:
    """Train one network with the arithmetic `arith` under the policy `config` (FlexBlock: its configuration)
    and `rounding` ("-": none); returns its curves and counters. n_steps: stop after that many steps (replay;
    then only params and cycles are returned). record: a list that collects the BFP GEMMs (FlexBlock only).
    data: (x_train, y_train, x_test, y_test), default the digits."""
    xtr, ytr, xte, yte = data or digits()
    rng = np.random.default_rng(seed)
    params = init_params(cfg.sizes, rng)
    vel = [[np.zeros_like(w), np.zeros_like(b)] for w, b in params]
    steps_per_epoch = len(xtr) // cfg.batch  # the last partial batch is dropped
    ar = arithmetics.create(arith, config, rounding, cfg)
    ar.configure(len(params), cfg.epochs * steps_per_epoch)
    if record is not None:
        if not hasattr(ar, "record"):
            raise TypeError(f"{ar.name} does not record its GEMMs")
        ar.record = record
    eng = Engine(ar, seed, cfg)
    evaluator = Engine(ar.for_eval() if hasattr(ar, "for_eval") else ar, seed + 7919, cfg, count_cycles=False)

    acc = [accuracy(params, xte, yte, evaluator)] if n_steps is None else []
    losses, step = [], 0
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(xtr))
        tot = 0.0
        for i in range(steps_per_epoch):
            idx = order[i * cfg.batch:(i + 1) * cfg.batch]
            eng.step = step
            tot += train_step(params, vel, xtr[idx], ytr[idx], eng, cfg)
            eng.end_step()
            step += 1
            if n_steps is not None and step >= n_steps:
                return {"params": params, "cycles": eng.cycles, "fb24_cycles": eng.fb24_cycles}
        losses.append(tot / steps_per_epoch)
        evaluator.step = step
        acc.append(accuracy(params, xte, yte, evaluator))
        if progress is not None:
            progress.update(1)
            progress.set_postfix_str(f"acc {acc[-1]:.3f} loss {losses[-1]:.3f}")
    out = {"arith": arith, "config": config, "rounding": rounding, "seed": seed, "acc": acc, "loss": losses,
           "cycles": eng.cycles, "fb24_cycles": eng.fb24_cycles, "params": params, "flags": 0,
           "final_modes": None, "mode_history": None, "last_zse": None, "zse": None}
    if hasattr(ar, "finish"):
        out.update(ar.finish())
    return out


def training_gemms(n_batches: int = 1, config: str = "FB12LG16", rounding="RTZ", seed: int = 0,
                   data=None, **overrides) -> list[ReplayGemm]:
    """The GEMMs the first `n_batches` training steps of a FlexBlock run executed, in order, for an RTL replay.

    Each item iterates as (name, A, B, mode_a, mode_b, rounding): A and B are exactly the FP32 operands that
    went into the model (A M x Kdim, B Kdim x N; re-quantize them with `models.Fp2Bfp(item.block, item.seed)`,
    A then B^T, i.e. `models.gemm(A, B, mode_a, mode_b, rounding, quantizer=Fp2Bfp(block, seed))`), and
    `item.c` is the binary32 result the training used. For SR load `item.seed` into the quantizer before each
    job (every M here is a multiple of 4, so pe_array_env.GemmJob's tile padding leaves the LFSR block numbers
    of the real rows unchanged). FP32 layers (--fp32-layers) are not listed. `overrides` set TrainConfig
    fields (e.g. batch=16). With the defaults one step is 8 GEMMs, 496 tiles of a 4 x 4 array at batch 32.
    The operands are the real training's: the digits data set (scikit-learn, imported on this first use)
    unless `data` is given.
    """
    cfg = replace(TrainConfig(), **overrides)
    if config == "FP32":
        raise ValueError("FP32 runs no BFP GEMMs")
    record: list[ReplayGemm] = []
    run(config, rounding, seed, cfg, n_steps=n_batches, record=record, data=data)
    return record
