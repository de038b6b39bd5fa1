// fp10 addition, RTZ (docs/spec.md "LightNorm"): both finite operands as exact fixed-point integers in
// units of 2^-18, one exact sum, one rounding. Combinational; the caller registers.
module fp10_add (
  input  logic [9:0] a,
  input  logic [9:0] b,
  output logic [9:0] y
);
  import lightnorm_pkg::*;

  logic signed [FX+1:0] sum;
  logic [FX+1:0]        mag;

  assign sum = (FX+2)'(fp10_fixed(a)) + (FX+2)'(fp10_fixed(b));
  assign mag = sum[FX+1] ? (FX+2)'(-sum) : sum;
  assign y   = fp10_round(sum[FX+1], 64'(mag), -18);
endmodule
