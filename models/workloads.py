"""The training workloads of the design comparison (scripts/compare.py): every GEMM of one training step.

A training step of a layer is three GEMMs, named as the training library names them (models/training):
    fp  forward        Y  = X . W        A = activations (M x K), B = weights
    bp  back-prop      dX = dY . W^T     A = error gradients,     B = weights (transposed)
    wg  weight grad.   dW = X^T . dY     A = activations^T,       B = error gradients
The first layer's bp is not computed (no gradient of the input image is needed; the training loop skips it).

Convolutions are lowered by im2col (stride s, padding p, kernel k x k, batch B, output Ho x Wo):
    fp  M = B Ho Wo,   K = Cin k k,   N = Cout
    bp  M = B Ho Wo,   K = Cout,      N = Cin k k     (then col2im, not a GEMM)
    wg  M = Cin k k,   K = B Ho Wo,   N = Cout
A depthwise convolution (one k x k filter per channel) is C independent GEMMs, `count` = C:
    fp  (B Ho Wo) x (k k) x 1,   bp  (B Ho Wo) x 1 x (k k),   wg  (k k) x (B Ho Wo) x 1.
**Decision**: every design maps a depthwise layer the same way, one channel after the other on its
output-stationary array (A broadcast along rows, B along columns); none of the five arrays can put different
channels on different columns (a column shares its row's A operand), so N = 1 uses one column of four and
K = 9 pads to one block/group of the design (16 FlexBlock and FAST, 48 BM, 8 NeuroFlix, 4 bfloat16): the
cycle models charge both. Attention's two activation x activation products (Q K^T, P V) count as `fp` GEMMs
with the second activation in the weight's role (and their gradients as bp / wg), `count` = batch x heads.
"""
from __future__ import annotations

from dataclasses import dataclass

PASSES = ("fp", "bp", "wg")


@dataclass(frozen=True)
class Gemm:
    """One GEMM of a training step: (m x k) . (k x n), `count` times (independent instances)."""
    layer: int      # 0-based layer index in its network (the precision policies' layer)
    name: str
    pass_: str      # fp | bp | wg
    m: int
    k: int
    n: int
    count: int = 1
    kind: str = "dense"  # dense | dw (depthwise) | attn (activation x activation)

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n * self.count


def _out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


class _Builder:
    def __init__(self, batch: int):
        self.batch = batch
        self.gemms: list[Gemm] = []
        self.layer = 0

    def _add(self, name, dims, count=1, kind="dense"):
        first = self.layer == 0
        for pass_, (m, k, n) in zip(PASSES, dims):
            if pass_ == "bp" and first:
                continue
            self.gemms.append(Gemm(self.layer, name, pass_, m, k, n, count, kind))
        self.layer += 1

    def conv(self, name, h, w, cin, cout, k, stride=1, pad=None):
        pad = k // 2 if pad is None else pad
        ho, wo = _out(h, k, stride, pad), _out(w, k, stride, pad)
        p = self.batch * ho * wo
        self._add(name, ((p, cin * k * k, cout), (p, cout, cin * k * k), (cin * k * k, p, cout)))
        return ho, wo

    def depthwise(self, name, h, w, c, k, stride=1):
        ho, wo = _out(h, k, stride, k // 2), _out(w, k, stride, k // 2)
        p = self.batch * ho * wo
        self._add(name, ((p, k * k, 1), (p, 1, k * k), (k * k, p, 1)), count=c, kind="dw")
        return ho, wo

    def fc(self, name, tokens, fin, fout):
        self._add(name, ((tokens, fin, fout), (tokens, fout, fin), (fin, tokens, fout)))

    def attn(self, name, m, k, n, count):
        """C = A . B with both operands activations: fp (m x k x n), bp dA = dC . B^T (m x n x k),
        wg dB = A^T . dC (k x m x n)."""
        self._add(name, ((m, k, n), (m, n, k), (k, m, n)), count=count, kind="attn")


def resnet18(batch: int = 32, image: int = 224, classes: int = 1000) -> list[Gemm]:
    """ResNet-18 (He et al. 2016) on ImageNet-sized images: conv1 7x7/2, max-pool, four stages of two
    basic blocks (3x3 convs; a 1x1/2 projection where the stage halves the resolution), global pooling, FC."""
    b = _Builder(batch)
    h, w = b.conv("conv1", image, image, 3, 64, 7, stride=2)
    h, w = _out(h, 3, 2, 1), _out(w, 3, 2, 1)  # max-pool 3x3/2: not a GEMM
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for blk in range(2):
            stride = 2 if (stage > 1 and blk == 0) else 1
            ho, wo = b.conv(f"layer{stage}.{blk}.conv1", h, w, cin, cout, 3, stride)
            b.conv(f"layer{stage}.{blk}.conv2", ho, wo, cout, cout, 3)
            if stride != 1 or cin != cout:
                b.conv(f"layer{stage}.{blk}.downsample", h, w, cin, cout, 1, stride, pad=0)
            h, w, cin = ho, wo, cout
    b.fc("fc", batch, 512, classes)
    return b.gemms


def transformer_encoder(batch: int = 8, seq: int = 128, d_model: int = 768, heads: int = 12,
                        d_ff: int = 3072) -> list[Gemm]:
    """One encoder layer (BERT-base sizes): Q, K, V projections, scores Q K^T and context P V per head,
    output projection, the two feed-forward layers. Softmax, layer norm, GELU: not GEMMs."""
    b = _Builder(batch)
    t, dh = batch * seq, d_model // heads
    b.layer = 1  # the layer's input is another layer's output: every bp is needed
    for proj in ("q", "k", "v"):
        b.fc(f"proj_{proj}", t, d_model, d_model)
    b.attn("scores QK^T", seq, dh, seq, batch * heads)
    b.attn("context PV", seq, seq, dh, batch * heads)
    b.fc("proj_out", t, d_model, d_model)
    b.fc("ffn1", t, d_model, d_ff)
    b.fc("ffn2", t, d_ff, d_model)
    return b.gemms


def mobilenetv2_block(batch: int = 32, size: int = 56, cin: int = 24, expand: int = 6, cout: int = 24,
                      stride: int = 1) -> list[Gemm]:
    """One inverted-residual block of MobileNetV2 (Sandler et al. 2018), the 56 x 56 stage's: 1x1 expansion,
    3x3 depthwise, 1x1 projection."""
    b = _Builder(batch)
    b.layer = 1  # inside the network: every bp is needed
    hidden = cin * expand
    b.conv("expand 1x1", size, size, cin, hidden, 1)
    h, w = b.depthwise("depthwise 3x3", size, size, hidden, 3, stride)
    b.conv("project 1x1", h, w, hidden, cout, 1)
    return b.gemms


def mlp(sizes=(64, 32, 32, 10), batch: int = 32) -> list[Gemm]:
    """The MLP `make train` trains (models.training.TrainConfig defaults): one training step."""
    b = _Builder(batch)
    for i, (fin, fout) in enumerate(zip(sizes[:-1], sizes[1:])):
        b.fc(f"fc{i}", batch, fin, fout)
    return b.gemms


def relabel(gemms: list[Gemm], offset: int) -> list[Gemm]:
    """The same GEMMs with their layer indices shifted to start at 0 (for a block cut out of a network)."""
    return [Gemm(g.layer - offset, g.name, g.pass_, g.m, g.k, g.n, g.count, g.kind) for g in gemms]


WORKLOADS = {
    "ResNet-18": lambda: resnet18(),
    "Transformer": lambda: relabel(transformer_encoder(), 1),
    "MobileNetV2 block": lambda: relabel(mobilenetv2_block(), 1),
    "MLP (make train)": lambda: mlp(),
}
WORKLOAD_NOTES = {
    "ResNet-18": "ImageNet 224 x 224, batch 32, 21 layers (20 convs incl. 3 projections, 1 FC)",
    "Transformer": "one encoder layer, BERT-base (d 768, 12 heads, FF 3072), sequence 128, batch 8",
    "MobileNetV2 block": "one inverted residual, 56 x 56, 24 -> 144 -> 24 channels, depthwise 3x3, batch 32",
    "MLP (make train)": "64-32-32-10, batch 32: one step of the network `make train` trains",
}


def n_layers(gemms: list[Gemm]) -> int:
    return max(g.layer for g in gemms) + 1
