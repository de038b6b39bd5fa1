// Shared constants and helpers of the FlexBlock datapath (docs/spec.md). Import it: `import flexblock_pkg::*;`
package flexblock_pkg;
  /* verilator lint_off UNUSEDPARAM */  // a package of constants: not every user needs all

  // Precision modes (2-bit codes). Code 3 is reserved and decodes as FB24.
  localparam logic [1:0] MODE_FB24 = 2'd0;  // 16 magnitude bits
  localparam logic [1:0] MODE_FB16 = 2'd1;  //  8 magnitude bits
  localparam logic [1:0] MODE_FB12 = 2'd2;  //  4 magnitude bits

  // Rounding modes of the FP32 -> BFP conversion.
  localparam logic [1:0] ROUND_RTZ = 2'd0;
  localparam logic [1:0] ROUND_RNE = 2'd1;
  localparam logic [1:0] ROUND_RNA = 2'd2;
  localparam logic [1:0] ROUND_SR  = 2'd3;

  // Block flags: bit 0 invalid (NaN), bit 1 overflow (Inf).
  localparam int FLAG_INVALID = 0;
  localparam int FLAG_OVERFLOW = 1;

  localparam int MAG_PORT_BITS = 16;  // every magnitude travels in a 16-bit slot

  // Magnitude bits W of a mode code: 16, 8 or 4 (reserved code 3 -> 16).
  function automatic logic [4:0] mode_width(input logic [1:0] mode);
    unique case (mode)
      MODE_FB16: mode_width = 5'd8;
      MODE_FB12: mode_width = 5'd4;
      default:   mode_width = 5'd16;
    endcase
  endfunction

  // Nibbles (4-bit sub-multiplier inputs) per element: 4, 2 or 1.
  function automatic logic [2:0] mode_nibbles(input logic [1:0] mode);
    unique case (mode)
      MODE_FB16: mode_nibbles = 3'd2;
      MODE_FB12: mode_nibbles = 3'd1;
      default:   mode_nibbles = 3'd4;
    endcase
  endfunction

  // log2 of the nibbles per element: 2, 1 or 0.
  function automatic logic [1:0] mode_log2_nibbles(input logic [1:0] mode);
    unique case (mode)
      MODE_FB16: mode_log2_nibbles = 2'd1;
      MODE_FB12: mode_log2_nibbles = 2'd0;
      default:   mode_log2_nibbles = 2'd2;
    endcase
  endfunction

  // The operand-mode pair as the PEs see it: one-hot over the 9 pairs, bit 3 * A + B (FB24 = 0,
  // FB16 = 1, FB12 = 2; reserved code 3 as FB24). Decoded once, when the configuration is taken.
  function automatic logic [8:0] mode_pair_onehot(input logic [1:0] mode_a, input logic [1:0] mode_b);
    logic [1:0] a, b;
    a = (mode_a == 2'd3) ? 2'd0 : mode_a;
    b = (mode_b == 2'd3) ? 2'd0 : mode_b;
    mode_pair_onehot = 9'd1 << (4'(a) * 4'd3 + 4'(b));
  endfunction

  /* verilator lint_on UNUSEDPARAM */
endpackage
