// RTZ(+-mag * 2^lsb) to fp10 1-6-3 (docs/spec.md LN.1, LN.5a): the leading one gives the binade; normal
// results keep 3 bits below it, results below 2^-30 are subnormal multiples of 2^-33, results of 2^32 and
// above saturate to (2 - 2^-3) 2^31; a zero result is +0. W is the magnitude's width (a product's few
// bits up to the backward unit's ~120-bit exact sums). Combinational.
module fp10g_round #(
  parameter int W = 16
) (
  input  logic              sign,
  input  logic [W-1:0]      mag,
  input  logic signed [8:0] lsb,      // power of two of mag's LSB
  output logic [9:0]        y
);
  import lightnorm_grad_pkg::*;

  /* verilator lint_off UNUSEDSIGNAL */  // of the shifted magnitude only the 3 fraction bits are kept
  function automatic logic [9:0] rtz(input logic s, input logic [W-1:0] m, input int l);
    int p, e;
    logic [W-1:0] t;
    logic [9:0] r;
    p = 0;
    for (int k = 0; k < W; k++) if (m[k]) p = k;
    e = p + l;
    t = '0;
    if (m == '0) r = '0;
    else if (e > 31) r = G_MAX;
    else if (e >= -30) begin
      t = (p >= 3) ? (m >> (p - 3)) : (m << (3 - p));
      r = {1'b0, 6'(e + 31), t[2:0]};
    end else begin
      t = (l + 33 >= 0) ? (m << (l + 33)) : (m >> (-(l + 33)));
      r = {1'b0, 6'd0, t[2:0]};
    end
    rtz = (r != '0) ? {s, r[8:0]} : '0;
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  assign y = rtz(sign, mag, int'(lsb));
endmodule
