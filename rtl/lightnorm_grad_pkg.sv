// fp10 1-6-3 helpers of LightNorm's backward unit (docs/spec.md LN.5a; model models/range_bn_bwd.py).
// The gradient format: sign, 6-bit exponent (bias 31), 3 fraction bits, subnormals, exponent 63 = Inf/NaN.
// Finite values are also fixed-point integers in units of 2^-33 (the subnormal LSB), below 2^65 in
// magnitude: sums are exact there. Rounding (RTZ, saturating, zero is +0) is fp10g_round.
package lightnorm_grad_pkg;
  /* verilator lint_off UNUSEDSIGNAL */  // field helpers take the whole word and read part of it
  /* verilator lint_off UNUSEDPARAM */   // not every importer uses every constant
  localparam int GX = 65;                    // magnitude bits of a 1-6-3 value in units of 2^-33
  localparam logic [9:0] G_MAX = 10'h1F7;    // 0 111110 111 = (2 - 2^-3) 2^31
  localparam logic [9:0] G_NAN = 10'h1FC;    // the quiet NaN every NaN output carries

  function automatic logic g_finite(input logic [9:0] x);
    g_finite = x[8:3] != 6'h3F;
  endfunction

  // Signed value in units of 2^-33 (finite x; exact).
  function automatic logic signed [GX:0] g_fixed(input logic [9:0] x);
    logic [GX:0] mag;
    mag = {{(GX - 3){1'b0}}, x[8:3] != 6'd0, x[2:0]} << ((x[8:3] == 6'd0) ? 6'd0 : x[8:3] - 6'd1);
    g_fixed = x[9] ? -$signed(mag) : $signed(mag);
  endfunction
  /* verilator lint_on UNUSEDPARAM */
  /* verilator lint_on UNUSEDSIGNAL */
endpackage
