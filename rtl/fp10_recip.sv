// fp10 reciprocal, RTZ (docs/spec.md "LightNorm"): 1/(m * 2^l) = floor(2^10 / m) * 2^(-l-10) rounded once
// (10 bits of 1/m are more than one RTZ rounding to 5 significant bits needs: nested floors). 1/0
// saturates to the largest finite value. A 31-entry table in hardware; combinational.
module fp10_recip (
  input  logic [9:0] a,
  output logic [9:0] y
);
  import lightnorm_pkg::*;

  logic [4:0]  m;
  logic [10:0] q;

  assign m = fp10_sig(a);
  assign q = (m == 5'd0) ? 11'd0 : 11'(11'd1024 / {6'd0, m});
  assign y = (m == 5'd0) ? FP10_MAX : fp10_round(a[9], 64'(q), -fp10_lsb(a) - 10);
endmodule
