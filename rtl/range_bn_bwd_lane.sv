// One channel of LightNorm's backward unit (docs/spec.md LN.5a; model models/range_bn_bwd.py).
//
// Pass B1 (b1_acc): the forward's pass-1 statistics on x, the same range_bn_stats as range_bn_lane (exact
//   S, the chunk maxima/minima into Smax/Smin), plus each chunk's argmax/argmin index (strict compare: the first
//   index on ties) and the exact sums D = sum dy (units 2^-33) and E = sum dy x (units 2^-51).
// Between the passes: fold the last chunk, then two restoring dividers, one quotient bit per cycle:
//   |S| / n for the mean (34 + NW steps, diva_step) and |D| / n for md (65 + NW steps, div_step).
//   Meanwhile every register of the chain recomputes each step from its predecessors and settles in
//   turn: d, den, s, a (the forward's chain); mean (once the first divider is done), P = E - mean D
//   (exact), Pr, dgamma = RTZ63(s Pr), dbeta = RTZ63(D), corr = RTZ63(RTZ63(RTZ63(a s) c) Pr).
//   load rounds md and latches the poison flag for pass B2.
// Pass B2 (every cycle, valid bits in range_bn_bwd): u = RTZ63(dy - md) | v = RTZ63(a u) |
//   dx = RTZ63(v -+ corr) at the chunk's argmax / argmin (neither or both: v), one register each.
module range_bn_bwd_lane #(
  parameter int NW = 16                    // bits of n, the values per channel (B*H*W)
) (
  input  logic          clk,
  input  logic          clear,             // a job's configuration is taken: start the statistics
  input  logic          b1_acc,            // a pass-B1 beat is taken
  input  logic          b1_first,          // ... and it is the channel's first
  input  logic          b1_new,            // ... and it starts a new chunk
  input  logic [2:0]    chunk,             // the chunk of the beat taken (B1 or B2)
  input  logic [NW-1:0] idx,               // its index in the channel
  input  logic          fold,              // pass B1 is over: add the last chunk, load the dividers
  input  logic          div_step,          // one step of the D divider; the chain settles meanwhile
  input  logic          diva_step,         // one step of the S divider (the first 34 + NW div_steps)
  input  logic          load,              // the dividers are done: round md, latch pass B2's operands
  input  logic [NW-1:0] n,
  input  logic [9:0]    c,                 // fp10 1-5-4 range constant
  input  logic [9:0]    eps,               // fp10 1-5-4
  input  logic [9:0]    gamma,             // fp10 1-5-4
  input  logic [9:0]    x,                 // 1-5-4 (pass B1)
  input  logic [9:0]    dy,                // 1-6-3 (passes B1 and B2)
  output logic [9:0]    dx,                // 1-6-3, three cycles after the beat
  output logic [9:0]    dgamma,            // 1-6-3, valid from load on (NaN when poisoned)
  output logic [9:0]    dbeta
);
  import lightnorm_pkg::*;
  import lightnorm_grad_pkg::*;

  localparam int NB  = FX + NW;            // |S| < n 2^34
  localparam int NDB = GX + NW;            // |D| < n 2^65
  localparam int NE  = GX + FX + NW;       // |E|, |mean D| < n 2^99

  // ---- pass B1: the forward's statistics (range_bn_stats, shared with range_bn_lane), argmax/argmin, D, E --
  logic signed [NB:0]    sum_q;
  logic signed [FX+3:0]  smax_q, smin_q;
  logic                  x_bad;            // a NaN or Inf x came in pass B1
  logic                  take_max, take_min;
  logic [NW-1:0]         imax_q [8];       // per chunk: index of its first maximum / minimum
  logic [NW-1:0]         imin_q [8];
  logic signed [NDB:0]   dsum_q;
  logic signed [NE:0]    esum_q;
  logic                  dy_bad_q;         // a NaN or Inf dy came in pass B1
  logic [9:0]            xv, dyv;          // non-finite values as 0, -0 as +0 (one order: ties are ties)
  logic [8:0]            prod_sig;         // sig(dy) sig(x)
  logic [NE-1:0]         prod_mag;         // |dy x| in units 2^-51

  range_bn_stats #(.NB(NB), .RW(FX + 4)) u_stats (
    .clk, .clear, .acc(b1_acc), .first(b1_first), .new_chunk(b1_new), .fold, .x, .xv,
    .take_max, .take_min, .sum(sum_q), .smax(smax_q), .smin(smin_q), .bad(x_bad)
  );

  assign dyv   = g_finite(dy) ? dy : 10'd0;
  // |dy x| = sig(dy) sig(x) 2^(shift(dy) + shift(x)), shift = biased exponent - 1 (0 for subnormals)
  assign prod_sig = 9'({dyv[8:3] != 6'd0, dyv[2:0]}) * 9'(fp10_sig(xv));
  assign prod_mag = NE'(prod_sig) << (((dyv[8:3] == 6'd0) ? 7'd0 : 7'(dyv[8:3]) - 7'd1)
                        + ((xv[8:4] == 5'd0) ? 7'd0 : 7'(xv[8:4]) - 7'd1));

  always_ff @(posedge clk) begin
    if (clear) begin
      dsum_q   <= '0;
      esum_q   <= '0;
      dy_bad_q <= 1'b0;
    end else if (b1_acc) begin
      dsum_q   <= dsum_q + (NDB+1)'(g_fixed(dyv));
      esum_q   <= (dyv[9] ^ xv[9]) ? esum_q - $signed({1'b0, prod_mag}) : esum_q + $signed({1'b0, prod_mag});
      dy_bad_q <= dy_bad_q | !g_finite(dy);
      if (take_max) imax_q[chunk] <= idx;
      if (take_min) imin_q[chunk] <= idx;
    end
  end

  // ---- dividers: floor(|S| / n) and floor(|D| / n), one bit per step, MSB first -----------------------
  logic [NB-1:0]  qa_q;                    // dividend bits still to bring down, then quotient bits
  logic [NDB-1:0] qb_q;
  logic [NW-1:0]  ra_q, rb_q;              // remainders < n
  logic [NW:0]    ra_sh, rb_sh;
  logic           qa_bit, qb_bit;

  assign ra_sh  = {ra_q, qa_q[NB-1]};
  assign rb_sh  = {rb_q, qb_q[NDB-1]};
  assign qa_bit = ra_sh >= {1'b0, n};
  assign qb_bit = rb_sh >= {1'b0, n};

  always_ff @(posedge clk) begin
    if (fold) begin
      qa_q <= NB'(sum_q[NB] ? -sum_q : sum_q);
      qb_q <= NDB'(dsum_q[NDB] ? -dsum_q : dsum_q);
      ra_q <= '0;
      rb_q <= '0;
    end else begin
      if (diva_step) begin
        qa_q <= {qa_q[NB-2:0], qa_bit};
        ra_q <= NW'(qa_bit ? ra_sh - {1'b0, n} : ra_sh);
      end
      if (div_step) begin
        qb_q <= {qb_q[NDB-2:0], qb_bit};
        rb_q <= NW'(qb_bit ? rb_sh - {1'b0, n} : rb_sh);
      end
    end
  end

  // ---- the chain (settles during the steps) ---------------------------------------------------------
  logic [9:0]    d_q, den_q, s_q, a_q, mean_q;           // 1-5-4, as range_bn_lane
  logic [9:0]    pr_q, as_q, asc_q, corr_q, dg_q, db_q;  // 1-6-3
  logic signed [NE+1:0] p_q;                             // P = E - mean D, exact, units 2^-51
  logic [9:0]    c_ok, gamma_ok, den_d, s_d, a_d, pr_d, as_d, asc_d, corr_d, dg_d, db_d;
  logic [FX+3:0] range_mag;
  logic [NDB+4:0] md_prod;                               // sig(mean) |D|
  logic [NE-1:0] md_mag;                                 // |mean D| = sig(mean) |D| 2^shift(mean)
  logic [NDB-1:0] dabs;
  logic [NE+1:0] p_abs;
  logic signed [NE+1:0] md_signed;                       // mean D, exact

  assign c_ok      = fp10_finite(c) ? c : 10'd0;
  assign gamma_ok  = fp10_finite(gamma) ? gamma : 10'd0;
  assign range_mag = (FX+4)'((FX+5)'(smax_q) - (FX+5)'(smin_q));
  assign dabs      = NDB'(dsum_q[NDB] ? -dsum_q : dsum_q);
  assign md_prod   = (NDB+5)'(dabs) * (NDB+5)'(fp10_sig(mean_q));
  assign md_mag    = NE'(md_prod) << ((mean_q[8:4] == 5'd0) ? 5'd0 : mean_q[8:4] - 5'd1);
  assign md_signed = (dsum_q[NDB] ^ mean_q[9]) ? -$signed({2'b00, md_mag}) : $signed({2'b00, md_mag});
  assign p_abs     = p_q[NE+1] ? (NE+2)'(-p_q) : p_q;

  fp10_add    u_den  (.a(d_q), .b(fp10_finite(eps) ? eps : 10'd0), .y(den_d));
  fp10_recip  u_rcp  (.a(den_q), .y(s_d));
  fp10_mul    u_a    (.a(gamma_ok), .b(s_q), .y(a_d));
  fp10g_round #(.W(NE + 2)) u_pr (.sign(p_q[NE+1]), .mag(p_abs), .lsb(-9'sd51), .y(pr_d));
  fp10g_round #(.W(NDB))    u_db (.sign(dsum_q[NDB]), .mag(dabs), .lsb(-9'sd33), .y(db_d));
  fp10g_mul #(.AE(5), .AM(4), .BE(6), .BM(3)) u_dg  (.a(s_q), .b(pr_q), .y(dg_d));
  fp10g_mul #(.AE(5), .AM(4), .BE(5), .BM(4)) u_as  (.a(a_q), .b(s_q), .y(as_d));
  fp10g_mul #(.AE(6), .AM(3), .BE(5), .BM(4)) u_asc (.a(as_q), .b(c_ok), .y(asc_d));
  fp10g_mul #(.AE(6), .AM(3), .BE(6), .BM(3)) u_cor (.a(asc_q), .b(pr_q), .y(corr_d));

  always_ff @(posedge clk) begin
    if (div_step) begin
      d_q    <= fp10_round(c_ok[9], 64'(range_mag) * 64'(fp10_sig(c_ok)), fp10_lsb(c_ok) - 18);
      den_q  <= den_d;
      s_q    <= s_d;
      a_q    <= a_d;
      mean_q <= fp10_round(sum_q[NB], 64'(qa_q), -18);   // final once diva_step has ended
      p_q    <= (NE+2)'(esum_q) - md_signed;
      pr_q   <= pr_d;
      dg_q   <= dg_d;
      db_q   <= db_d;
      as_q   <= as_d;
      asc_q  <= asc_d;
      corr_q <= corr_d;
    end
  end

  // ---- md and pass B2's operands ----------------------------------------------------------------------
  logic [9:0] md_q, md_d;
  logic       poison, poison_q;

  assign poison = x_bad || dy_bad_q || !fp10_finite(gamma) || !fp10_finite(c) || !fp10_finite(eps);
  assign dgamma = poison ? G_NAN : dg_q;
  assign dbeta  = poison ? G_NAN : db_q;

  fp10g_round #(.W(NDB)) u_md (.sign(dsum_q[NDB]), .mag(qb_q), .lsb(-9'sd33), .y(md_d));

  always_ff @(posedge clk) begin
    if (load) begin
      md_q     <= md_d;
      poison_q <= poison;
    end
  end

  // ---- pass B2: three registered steps ----------------------------------------------------------------
  logic [9:0] u_d, v_d, w_d, u_q, v_q, corr_s;
  logic       nan_u_q, nan_v_q, max_u_q, min_u_q, max_v_q, min_v_q;

  fp10g_add u_sub (.a(dyv), .b({~md_q[9], md_q[8:0]}), .y(u_d));
  fp10g_mul #(.AE(5), .AM(4), .BE(6), .BM(3)) u_mul (.a(a_q), .b(u_q), .y(v_d));
  assign corr_s = {corr_q[9] ^ max_v_q, corr_q[8:0]};     // -corr at the argmax, +corr at the argmin
  fp10g_add u_fix (.a(v_q), .b(corr_s), .y(w_d));

  always_ff @(posedge clk) begin
    u_q     <= u_d;
    nan_u_q <= !g_finite(dy) || poison_q;
    max_u_q <= imax_q[chunk] == idx;
    min_u_q <= imin_q[chunk] == idx;
    v_q     <= v_d;
    nan_v_q <= nan_u_q;
    max_v_q <= max_u_q;
    min_v_q <= min_u_q;
    dx      <= nan_v_q ? G_NAN : ((max_v_q ^ min_v_q) ? w_d : v_q);
  end
endmodule
