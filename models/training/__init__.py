"""Training a network with every GEMM through a design's bit-exact arithmetic (the library behind
scripts/train.py; method in that script's docstring).

    config       TrainConfig (the run's hyper-parameters)
    engine       Engine (every GEMM of the network, seeds, cycles), ReplayGemm, array_cycles, replay_tiles
    arithmetics  the registry of training arithmetics (name -> factory) and their interface
    flexblock    FlexBlockArithmetic: FlexBlock's multi-mode BFP GEMMs under a precision policy
    precision    FlexBlock's static configurations and dynamic precision control (ZSE)
    network      the MLP: init_params, forward, train_step, accuracy
    loop         run (one training run), training_gemms (the first steps' GEMMs, for an RTL replay)
    data         the digits data set (scikit-learn, imported lazily)
    report       markdown report, JSON, plot (matplotlib, imported lazily)

Importing this package imports neither scikit-learn nor matplotlib.
"""
from . import arithmetics
from .config import TrainConfig
from .engine import PASSES, Engine, ReplayGemm, array_cycles, fb24_cycles, replay_tiles
from .flexblock import FlexBlockArithmetic
from .loop import run, training_gemms
from .network import accuracy, forward, init_params, softmax_xent, train_step
from .precision import (ALL_CONFIGS, CONFIG_MODES, OPERANDS, PASS_OPERANDS, ROUNDINGS, STATIC, DynamicPrecision,
                        layer_modes, static_modes)

__all__ = [
    "arithmetics", "TrainConfig", "PASSES", "Engine", "ReplayGemm", "array_cycles", "fb24_cycles", "replay_tiles",
    "FlexBlockArithmetic", "run", "training_gemms", "accuracy", "forward", "init_params", "softmax_xent",
    "train_step", "ALL_CONFIGS", "CONFIG_MODES", "OPERANDS", "PASS_OPERANDS", "ROUNDINGS", "STATIC",
    "DynamicPrecision", "layer_modes", "static_modes",
]
