// fp10 1-5-4 helpers shared by LightNorm's units (docs/spec.md, section "LightNorm"; model
// models/lightnorm.py). fp10: sign, 5-bit exponent (bias 15), 4 fraction bits, subnormals, exponent 31 =
// Inf/NaN. Every operation is exact, then rounded once toward zero by fp10_round; overflow saturates to
// the largest finite value and a zero result is +0. Finite values also live as fixed-point integers in
// units of 2^-18 (the subnormal LSB), below 2^34 in magnitude: sums and compares are exact there.
package lightnorm_pkg;
  /* verilator lint_off UNUSEDSIGNAL */  // field helpers take the whole fp10 word and read part of it

  localparam int FX = 34;                    // magnitude bits of an fp10 value in units of 2^-18
  localparam logic [9:0] FP10_MAX = 10'h1EF; // 0 11110 1111 = 63488

  function automatic logic fp10_finite(input logic [9:0] x);
    fp10_finite = x[8:4] != 5'h1F;
  endfunction

  // Significand with the hidden bit and the power of two of its LSB: |x| = m * 2^lsb.
  function automatic logic [4:0] fp10_sig(input logic [9:0] x);
    fp10_sig = {x[8:4] != 5'd0, x[3:0]};
  endfunction

  function automatic int fp10_lsb(input logic [9:0] x);
    fp10_lsb = (x[8:4] == 5'd0) ? -18 : int'(x[8:4]) - 19;
  endfunction

  // Signed value in units of 2^-18 (finite x; exact).
  function automatic logic signed [FX:0] fp10_fixed(input logic [9:0] x);
    logic [FX:0] mag;
    mag = {{(FX - 4){1'b0}}, fp10_sig(x)} << ((x[8:4] == 5'd0) ? 5'd0 : x[8:4] - 5'd1);
    fp10_fixed = x[9] ? -$signed(mag) : $signed(mag);
  endfunction

  // Total order of finite values as an unsigned key (-0 just below +0).
  function automatic logic [9:0] fp10_key(input logic [9:0] x);
    fp10_key = x[9] ? {1'b0, ~x[8:0]} : {1'b1, x[8:0]};
  endfunction

  // RTZ(+-mag * 2^lsb) as fp10: the leading one gives the binade; normal results keep 4 bits below it,
  // results below 2^-14 are subnormal multiples of 2^-18, above 2^16 saturate; zero is +0.
  function automatic logic [9:0] fp10_round(input logic sign, input logic [63:0] mag, input int lsb);
    int p, e;
    logic [63:0] t;
    logic [9:0] r;
    p = 0;
    for (int k = 0; k < 64; k++) if (mag[k]) p = k;
    e = p + lsb;
    t = '0;
    if (mag == '0) r = '0;
    else if (e > 15) r = FP10_MAX;
    else if (e >= -14) begin
      t = (p >= 4) ? (mag >> (p - 4)) : (mag << (4 - p));
      r = {1'b0, 5'(e + 15), t[3:0]};
    end else begin
      t = (lsb + 18 >= 0) ? (mag << (lsb + 18)) : (mag >> (-(lsb + 18)));
      r = {1'b0, 5'd0, t[3:0]};
    end
    fp10_round = (r != '0) ? {sign, r[8:0]} : '0;
  endfunction

  /* verilator lint_on UNUSEDSIGNAL */
endpackage
