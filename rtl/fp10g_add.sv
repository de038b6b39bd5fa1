// fp10 1-6-3 addition, RTZ (docs/spec.md LN.5a): both finite operands as exact fixed-point integers in
// units of 2^-33, one exact sum, one rounding. Combinational; the caller registers.
module fp10g_add (
  input  logic [9:0] a,
  input  logic [9:0] b,
  output logic [9:0] y
);
  import lightnorm_grad_pkg::*;

  logic signed [GX+1:0] sum;
  logic [GX+1:0]        mag;

  assign sum = (GX+2)'(g_fixed(a)) + (GX+2)'(g_fixed(b));
  assign mag = sum[GX+1] ? (GX+2)'(-sum) : sum;

  fp10g_round #(.W(GX + 2)) u_round (.sign(sum[GX+1]), .mag, .lsb(-9'sd33), .y);
endmodule
