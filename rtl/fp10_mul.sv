// fp10 multiplication, RTZ (docs/spec.md "LightNorm"): the exact 5 x 5-bit significand product at the sum
// of the LSB exponents, one rounding. Finite operands; combinational, the caller registers.
module fp10_mul (
  input  logic [9:0] a,
  input  logic [9:0] b,
  output logic [9:0] y
);
  import lightnorm_pkg::*;

  logic [9:0] prod;

  assign prod = fp10_sig(a) * fp10_sig(b);
  assign y    = fp10_round(a[9] ^ b[9], 64'(prod), fp10_lsb(a) + fp10_lsb(b));
endmodule
