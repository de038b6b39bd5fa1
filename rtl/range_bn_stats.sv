// LightNorm's pass-1 statistics of one channel (docs/spec.md LN.2 step 1, LN.5a item 1), shared by the
// forward lane (range_bn_lane) and the backward lane (range_bn_bwd_lane, which recomputes them
// bit-identically): the exact sum S of the values and, chunk by chunk, the running chunk maximum and
// minimum; a finished chunk's max/min are added exactly into Smax/Smin (fixed point, units 2^-18) when the
// next chunk starts (acc with first/new) or when pass 1 ends (fold).
// A NaN/Inf value counts as 0 and sets bad; -0 counts as +0 (one order: equal values tie, which the
// backward's argmax/argmin need; S, Smax, Smin are the same either way). take_max / take_min say that the
// value on x becomes its chunk's maximum / minimum if the beat is taken (strict compare: the first index
// on ties), so the backward lane can record the index.
module range_bn_stats #(
  parameter int NB = 50,                   // bits of |S| (the lanes: FX + NW, |S| < n * 2^34)
  parameter int RW = 38                    // bits of Smax, Smin (the lanes: FX + 4, 8 values < 2^34)
) (
  input  logic                clk,
  input  logic                clear,       // a job starts
  input  logic                acc,         // a pass-1 value is taken
  input  logic                first,       // ... and it is the channel's first
  input  logic                new_chunk,   // ... and it starts a new chunk
  input  logic                fold,        // pass 1 is over: add the last chunk
  input  logic [9:0]          x,           // fp10 1-5-4
  output logic [9:0]          xv,          // x as counted: non-finite as 0, -0 as +0
  output logic                take_max,    // x is its chunk's new maximum (if acc)
  output logic                take_min,    // ... minimum
  output logic signed [NB:0]  sum,         // S, exact (units 2^-18)
  output logic signed [RW-1:0] smax,       // sum of the chunk maxima (units 2^-18)
  output logic signed [RW-1:0] smin,       // ... minima
  output logic                bad          // a NaN or Inf came since clear
);
  import lightnorm_pkg::*;

  logic [9:0] cmax_q, cmin_q;              // the open chunk's extrema

  assign xv       = (fp10_finite(x) && x[8:0] != '0) ? x : 10'd0;
  assign take_max = first || new_chunk || fp10_key(xv) > fp10_key(cmax_q);
  assign take_min = first || new_chunk || fp10_key(xv) < fp10_key(cmin_q);

  always_ff @(posedge clk) begin
    if (clear) begin
      sum  <= '0;
      smax <= '0;
      smin <= '0;
      bad  <= 1'b0;
    end else if (acc) begin
      sum <= sum + (NB+1)'(fp10_fixed(xv));
      bad <= bad | !fp10_finite(x);
      if (take_max) cmax_q <= xv;
      if (take_min) cmin_q <= xv;
      if (new_chunk) begin
        smax <= smax + RW'(fp10_fixed(cmax_q));
        smin <= smin + RW'(fp10_fixed(cmin_q));
      end
    end else if (fold) begin
      smax <= smax + RW'(fp10_fixed(cmax_q));
      smin <= smin + RW'(fp10_fixed(cmin_q));
    end
  end
endmodule
