// binary32 multiplication a * b, round-to-nearest-even with subnormals, combinational: the exact 24 x 24-bit
// significand product at the sum of the LSB exponents, rounded once by fp32_round (the FP32 BN baseline,
// docs/spec.md "LightNorm"). Specials: a NaN operand or Inf * 0 gives the canonical NaN 0x7FC00000; an Inf
// times a nonzero value is Inf with the product's sign; zero products are zeros with the product's sign.
module fp32_mul (
  input  logic [31:0] a,
  input  logic [31:0] b,
  output logic [31:0] prod
);
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;

  function automatic logic [23:0] significand(input logic [30:0] f);
    significand = {f[30:23] != 8'd0, f[22:0]};
  endfunction
  function automatic logic signed [11:0] lsb_exponent(input logic [7:0] e);
    lsb_exponent = (e == 8'd0) ? -12'sd149 : 12'(e) - 12'sd150;
  endfunction

  logic        a_nan, b_nan, a_inf, b_inf, a_zero, b_zero, sign;
  logic [47:0] mag;
  logic [31:0] rounded;

  assign a_nan  = a[30:23] == 8'hFF && a[22:0] != '0;
  assign b_nan  = b[30:23] == 8'hFF && b[22:0] != '0;
  assign a_inf  = a[30:0] == 31'h7F80_0000;
  assign b_inf  = b[30:0] == 31'h7F80_0000;
  assign a_zero = a[30:0] == '0;
  assign b_zero = b[30:0] == '0;
  assign sign   = a[31] ^ b[31];
  assign mag    = significand(a[30:0]) * significand(b[30:0]);

  fp32_round #(.N(48)) u_round (
    .sign, .mag, .lsb_exp(lsb_exponent(a[30:23]) + lsb_exponent(b[30:23])), .result(rounded)
  );

  assign prod = (a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) ? CANONICAL_NAN
              : (a_inf || b_inf) ? {sign, 31'h7F80_0000}
              :                    rounded;
endmodule
