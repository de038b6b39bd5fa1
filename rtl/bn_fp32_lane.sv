// One channel of the FP32 batch-norm baseline (docs/spec.md "LightNorm", LN.7; model
// models/lightnorm.py `bn_fp32_statistics` / `bn_fp32_normalize`). Every operation is one IEEE binary32
// rounding (RNE, subnormals, canonical NaN), in this order:
//   pass 1     s1 = s1 + x;  sq = x * x (registered);  s2 = s2 + sq          (stream order)
//   calc       mean = s1 * inv_n; ex2 = s2 * inv_n; mm = mean * mean; var = max(ex2 - mm, +0); den = var + eps
//              (a chain of registers that settles one per cycle)
//   sqrt       r = sqrt(den): restoring integer square root of sig << 50, one root bit per cycle (38)
//   div        rstd = 1 / r: restoring division of 2^50 by r's significand, one quotient bit per cycle (51)
//   aff        a = gamma * rstd
//   pass 2     t = x - mean | p = t * a | y = p + beta, one register each
module bn_fp32_lane (
  input  logic        clk,
  input  logic        clear,       // a job's configuration is taken
  input  logic        p1_acc,      // a pass-1 value is taken
  input  logic        calc,
  input  logic        sq_load,
  input  logic        sq_step,
  input  logic        dv_load,
  input  logic        dv_step,
  input  logic        rstd_load,
  input  logic        aff_load,
  input  logic [31:0] inv_n,
  input  logic [31:0] eps,
  input  logic [31:0] gamma,
  input  logic [31:0] beta,
  input  logic [31:0] x,
  output logic [31:0] y
);
  // ---- pass 1 ------------------------------------------------------------------------------------
  logic [31:0] s1_q, s2_q, sq_q, s1_d, s2_d, sq_d;
  logic        sq_v_q;

  fp32_add u_s1 (.a(s1_q), .b(x), .sum(s1_d));
  fp32_mul u_sq (.a(x), .b(x), .prod(sq_d));
  fp32_add u_s2 (.a(s2_q), .b(sq_q), .sum(s2_d));

  always_ff @(posedge clk) begin
    sq_q   <= sq_d;
    sq_v_q <= p1_acc && !clear;
    if (clear) begin
      s1_q <= '0;
      s2_q <= '0;
    end else begin
      if (p1_acc) s1_q <= s1_d;
      if (sq_v_q) s2_q <= s2_d;
    end
  end

  // ---- calc chain ------------------------------------------------------------------------------------
  logic [31:0] mean_q, ex2_q, mm_q, var_q, den_q;
  logic [31:0] mean_d, ex2_d, mm_d, var_d, den_d, neg_mm;

  assign neg_mm = {~mm_q[31], mm_q[30:0]};
  fp32_mul u_mean (.a(s1_q), .b(inv_n), .prod(mean_d));
  fp32_mul u_ex2  (.a(s2_q), .b(inv_n), .prod(ex2_d));
  fp32_mul u_mm   (.a(mean_q), .b(mean_q), .prod(mm_d));
  fp32_add u_var  (.a(ex2_q), .b(neg_mm), .sum(var_d));
  fp32_add u_den  (.a(var_q), .b(eps), .sum(den_d));

  // var < 0 (cancellation) is clamped to +0; NaN stays NaN
  wire var_neg = var_d[31] && !(var_d[30:23] == 8'hFF && var_d[22:0] != '0) && var_d[30:0] != '0;

  always_ff @(posedge clk) begin
    if (calc) begin
      mean_q <= mean_d;
      ex2_q  <= ex2_d;
      mm_q   <= mm_d;
      var_q  <= var_neg ? 32'd0 : var_d;
      den_q  <= den_d;
    end
  end

  // ---- square root: root = floor(sqrt(M2 << 50)), M2 * 2^L2 = den with L2 even ------------------------
  localparam int SQ_B = 38;
  logic [2*SQ_B-1:0] sq_n_q;
  logic [SQ_B-1:0]   root_q;
  logic [SQ_B+3:0]   srem_q, srem_sh, trial;
  logic signed [11:0] sq_lsb_q;
  logic [23:0]       den_sig;
  logic signed [11:0] den_lsb;
  logic              sbit;

  assign den_sig = {den_q[30:23] != 8'd0, den_q[22:0]};
  assign den_lsb = (den_q[30:23] == 8'd0) ? -12'sd149 : 12'(den_q[30:23]) - 12'sd150;
  assign srem_sh = {srem_q[SQ_B+1:0], sq_n_q[2*SQ_B-1 -: 2]};
  assign trial   = {2'b00, root_q, 2'b01};
  assign sbit    = srem_sh >= trial;

  always_ff @(posedge clk) begin
    if (sq_load) begin
      sq_n_q   <= den_lsb[0] ? (2*SQ_B)'({den_sig, 1'b0}) << 50 : (2*SQ_B)'(den_sig) << 50;
      sq_lsb_q <= ((den_lsb[0] ? den_lsb - 12'sd1 : den_lsb) - 12'sd50) >>> 1;
      root_q   <= '0;
      srem_q   <= '0;
    end else if (sq_step) begin
      sq_n_q <= sq_n_q << 2;
      root_q <= {root_q[SQ_B-2:0], sbit};
      srem_q <= sbit ? srem_sh - trial : srem_sh;
    end
  end

  logic [31:0] r_d;
  /* verilator lint_off UNUSEDSIGNAL */  // the root is positive: its sign bit is never read
  logic [31:0] r_q;
  /* verilator lint_on UNUSEDSIGNAL */
  fp32_round #(.N(SQ_B + 1)) u_sq_round (
    .sign(1'b0), .mag({root_q, srem_q != '0}), .lsb_exp(sq_lsb_q - 12'sd1), .result(r_d)
  );

  // ---- reciprocal: Q = floor(2^50 / sig(r)) ---------------------------------------------------------
  localparam int DV_B = 51;
  logic [DV_B-1:0] dv_q;            // dividend bits, then quotient bits
  logic [23:0]     drem_q;           // < sig(r)
  logic [24:0]     drem_sh;
  logic [23:0]     r_sig;
  logic            dbit;
  logic [31:0]     rstd_d, rstd_q;

  assign r_sig   = {1'b1, r_q[22:0]};  // sqrt of a positive finite binary32 is normal
  assign drem_sh = {drem_q, dv_q[DV_B-1]};
  assign dbit    = drem_sh >= {1'b0, r_sig};

  always_ff @(posedge clk) begin
    if (dv_load) begin
      r_q    <= r_d;
      dv_q   <= DV_B'(1) << 50;
      drem_q <= '0;
    end else if (dv_step) begin
      dv_q   <= {dv_q[DV_B-2:0], dbit};
      drem_q <= 24'(dbit ? drem_sh - {1'b0, r_sig} : drem_sh);
    end
  end

  fp32_round #(.N(DV_B + 1)) u_dv_round (
    .sign(1'b0), .mag({dv_q, drem_q != '0}), .lsb_exp(12'sd99 - 12'(r_q[30:23])), .result(rstd_d)
  );

  // special denominators: NaN or negative -> NaN, +Inf -> +0, +-0 -> +-Inf
  logic den_nan, den_zero, den_inf;
  assign den_nan  = (den_q[30:23] == 8'hFF && den_q[22:0] != '0) || (den_q[31] && den_q[30:0] != '0);
  assign den_zero = den_q[30:0] == '0;
  assign den_inf  = den_q == 32'h7F80_0000;

  // ---- folded gain and pass 2 -----------------------------------------------------------------------------
  logic [31:0] a_d, a_q, beta_q, neg_mean, t_d, t_q, p_d, p_q, y_d;

  fp32_mul u_a (.a(gamma), .b(rstd_q), .prod(a_d));

  always_ff @(posedge clk) begin
    if (rstd_load)
      rstd_q <= den_nan ? 32'h7FC0_0000 : den_inf ? 32'd0 : den_zero ? {den_q[31], 31'h7F80_0000} : rstd_d;
    if (aff_load) begin
      a_q    <= a_d;
      beta_q <= beta;
    end
  end

  assign neg_mean = {~mean_q[31], mean_q[30:0]};
  fp32_add u_sub (.a(x), .b(neg_mean), .sum(t_d));
  fp32_mul u_mul (.a(t_q), .b(a_q), .prod(p_d));
  fp32_add u_aff (.a(p_q), .b(beta_q), .sum(y_d));

  always_ff @(posedge clk) begin
    t_q <= t_d;
    p_q <= p_d;
    y   <= y_d;
  end
endmodule
