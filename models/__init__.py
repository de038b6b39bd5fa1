"""FlexBlock bit-exact reference model. See docs/spec.md; module names mirror rtl/."""
from .bfp import (FB12, FB16, FB24, FLAG_INVALID, FLAG_OVERFLOW, BFPTensor, bits_float32, cycles_per_block,
                  float32_bits, mag_bits, mode_code, pack_block, unpack_block)
from .fp2bfp import (RNA, RNE, RTZ, SR, Fp2Bfp, fake_quantize_grouped, quantize, requantize,
                     rounding_code, zero_setting_error)
from .pe import accumulate, block_dot, term_exponent, term_fp32
from .pe_array import ARRAY_FILL, bfp_gemm, block_products, gemm, gemm_cycles, gemm_schedule

__all__ = [
    "FB12", "FB16", "FB24", "FLAG_INVALID", "FLAG_OVERFLOW", "BFPTensor", "bits_float32", "cycles_per_block",
    "float32_bits", "mag_bits", "mode_code", "pack_block", "unpack_block", "RNA", "RNE", "RTZ", "SR",
    "Fp2Bfp", "fake_quantize_grouped", "quantize", "requantize", "rounding_code", "zero_setting_error",
    "accumulate", "block_dot", "term_exponent", "term_fp32", "bfp_gemm", "block_products", "gemm",
    "ARRAY_FILL", "gemm_cycles", "gemm_schedule",
]
