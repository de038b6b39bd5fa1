// One channel of the LightNorm unit (docs/spec.md "LightNorm"; model models/lightnorm.py).
//
// Pass 1 (p1_acc): the exact sum S of the channel's values and, chunk by chunk, the running chunk maximum
//   and minimum; a finished chunk's max/min are added exactly into Smax/Smin (fixed point, units 2^-18)
//   (range_bn_stats, the backward lane's too).
// Between the passes: fold the last chunk (fold), then a restoring divider takes one quotient bit per cycle
//   (div_step) for Q = floor(|S| / n); meanwhile the scale chain settles one register per cycle:
//   d = RTZ((Smax - Smin) * c), den = RTZ(d + eps), s = RTZ(1 / den), a = RTZ(gamma * s). mean_load rounds
//   the mean RTZ(+-Q * 2^-18) and latches what pass 2 needs.
// Pass 2 (every cycle, valid bits in range_bn): t = RTZ(x - mean) | p = RTZ(t * a) | z = RTZ(p + beta),
//   one register each; a NaN/Inf value or a poisoned channel gives a NaN output (z_nan).
module range_bn_lane #(
  parameter int NW = 16                    // bits of n, the values per channel (B*H*W)
) (
  input  logic          clk,
  input  logic          clear,             // a job's configuration is taken: start the statistics
  input  logic          p1_acc,            // a pass-1 value is taken
  input  logic          p1_first,          // ... and it is the channel's first
  input  logic          p1_new,            // ... and it starts a new chunk
  input  logic          fold,              // pass 1 is over: add the last chunk, load the divider
  input  logic          div_step,          // one divider step; the scale chain settles meanwhile
  input  logic          mean_load,         // the quotient is final: round the mean, latch pass 2's operands
  input  logic [NW-1:0] n,
  input  logic [9:0]    c,                 // range constant 1/(8 sqrt(2 ln(n/8))) (host), fp10
  input  logic [9:0]    eps,
  input  logic [9:0]    gamma,
  input  logic [9:0]    beta,
  input  logic [9:0]    x,                 // this lane's value of the beat on in_data
  output logic [9:0]    z,
  output logic          z_nan
);
  import lightnorm_pkg::*;

  localparam int NB = FX + NW;             // dividend bits: |S| < n * 2^34

  // ---- pass 1: S, Smax, Smin (range_bn_stats, shared with the backward lane) ------------------------
  logic signed [NB:0]    sum_q;
  logic signed [FX+3:0]  smax_q, smin_q;
  logic                  bad_q;            // a NaN or Inf came in pass 1
  logic [9:0]            xv;               // the value, non-finite ones as 0 (-0 as +0)
  logic                  max_unused, min_unused;  // the backward lane's argmax/argmin strobes

  range_bn_stats #(.NB(NB), .RW(FX + 4)) u_stats (
    .clk, .clear, .acc(p1_acc), .first(p1_first), .new_chunk(p1_new), .fold, .x, .xv,
    .take_max(max_unused), .take_min(min_unused), .sum(sum_q), .smax(smax_q), .smin(smin_q), .bad(bad_q)
  );

  // ---- divider: Q = floor(|S| / n), one bit per step, MSB first -------------------------------------
  logic [NB-1:0] dq_q;                     // dividend bits still to bring down, then quotient bits
  logic [NW-1:0] rem_q;                    // < n
  logic [NW:0]   rem_sh;
  logic          qbit;

  assign rem_sh = {rem_q, dq_q[NB-1]};
  assign qbit   = rem_sh >= {1'b0, n};

  always_ff @(posedge clk) begin
    if (fold) begin
      dq_q  <= NB'(sum_q[NB] ? -sum_q : sum_q);  // |S|: pass 1 is over, S is final
      rem_q <= '0;
    end else if (div_step) begin
      dq_q  <= {dq_q[NB-2:0], qbit};
      rem_q <= NW'(qbit ? rem_sh - {1'b0, n} : rem_sh);
    end
  end

  // ---- scale chain (settles during the divider's steps) ---------------------------------------------
  logic [9:0]   d_q, den_q, s_q, a_q;
  logic [9:0]   c_ok, den_d, s_d, a_d;
  logic [FX+3:0] range_mag;                // Smax - Smin >= 0

  assign c_ok      = fp10_finite(c) ? c : 10'd0;
  assign range_mag = (FX+4)'((FX+5)'(smax_q) - (FX+5)'(smin_q));

  fp10_add   u_den (.a(d_q), .b(fp10_finite(eps) ? eps : 10'd0), .y(den_d));
  fp10_recip u_rcp (.a(den_q), .y(s_d));
  fp10_mul   u_a   (.a(fp10_finite(gamma) ? gamma : 10'd0), .b(s_q), .y(a_d));

  always_ff @(posedge clk) begin
    if (div_step) begin
      d_q   <= fp10_round(c_ok[9], 64'(range_mag) * 64'(fp10_sig(c_ok)), fp10_lsb(c_ok) - 18);
      den_q <= den_d;
      s_q   <= s_d;
      a_q   <= a_d;
    end
  end

  // ---- mean and pass 2's operands --------------------------------------------------------------------
  logic [9:0] mean_q, beta_q;
  logic       poison_q;

  always_ff @(posedge clk) begin
    if (mean_load) begin
      mean_q   <= fp10_round(sum_q[NB], 64'(dq_q), -18);
      beta_q   <= fp10_finite(beta) ? beta : 10'd0;
      poison_q <= bad_q || !fp10_finite(gamma) || !fp10_finite(beta) || !fp10_finite(c) || !fp10_finite(eps);
    end
  end

  // ---- pass 2: three registered steps --------------------------------------------------------------------
  logic [9:0] t_d, p_d, z_d;
  logic [9:0] t_q, p_q;
  logic       nan_t_q, nan_p_q;

  logic [9:0] neg_mean;
  assign neg_mean = {~mean_q[9], mean_q[8:0]};

  fp10_add u_sub (.a(xv), .b(neg_mean), .y(t_d));
  fp10_mul u_mul (.a(t_q), .b(a_q), .y(p_d));
  fp10_add u_aff (.a(p_q), .b(beta_q), .y(z_d));

  always_ff @(posedge clk) begin
    t_q     <= t_d;
    nan_t_q <= !fp10_finite(x) || poison_q;
    p_q     <= p_d;
    nan_p_q <= nan_t_q;
    z       <= z_d;
    z_nan   <= nan_p_q;
  end
endmodule
