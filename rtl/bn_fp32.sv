// Baseline: a standard batch-norm unit in binary32 with the throughput of range_bn (docs/spec.md
// "LightNorm", LN.7; bit-exact model models/lightnorm.py `bn_fp32_forward`). One beat = one position of a
// group of 8 channels, 8 binary32 values, one beat per cycle in both passes.
//
// A job: a configuration beat (n, inv_n = binary32 1/n from the host, eps, gamma[8], beta[8]), then the
// n beats twice: pass 1 sums x and x*x per channel (bn_fp32_lane), then mean, variance, a square root and a
// reciprocal (sequential, 8 + 1 + 38 + 1 + 51 + 2 cycles), pass 2 normalizes the re-streamed beats into a
// credit FIFO. No activation storage: binary32 crosses the memory interface twice in and once out.
// in_ready and cfg_ready are register outputs (state, FIFO credits).
module bn_fp32 #(
  parameter int NW = 16
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            cfg_valid,
  output logic            cfg_ready,
  input  logic [NW-1:0]   cfg_n,
  input  logic [31:0]     cfg_inv_n,
  input  logic [31:0]     cfg_eps,
  input  logic [255:0]    cfg_gamma,          // channel i in bits [32i+31:32i]
  input  logic [255:0]    cfg_beta,
  input  logic            in_valid,
  output logic            in_ready,
  input  logic [255:0]    in_data,
  output logic            out_valid,
  input  logic            out_ready,
  output logic [255:0]    out_data
);
  localparam int G = 8;
  localparam int LATENCY = 3;
  localparam int CALC_CYCLES = 8, SQ_STEPS = 38, DV_STEPS = 51;

  typedef enum logic [3:0] {IDLE, PASS1, CALC, SQ_LOAD, SQRT, DV_LOAD, DIV, RSTD, AFF, PASS2} state_e;

  state_e        state_q, state_d;
  logic [NW-1:0] n_q, cnt_q;
  logic [5:0]    step_q;                      // cycles spent in the current state
  logic [31:0]   inv_n_q, eps_q;
  logic [255:0]  gamma_q, beta_q;
  logic [2:0]    vld_q;                       // pass-2 beats in the t, p, y registers
  logic          can_accept;

  logic cfg_acc, in_acc, p1_acc, p2_acc, last;
  logic calc, sq_load, sq_step, dv_load, dv_step, rstd_load, aff_load;

  assign cfg_ready = state_q == IDLE;
  assign in_ready  = state_q == PASS1 || (state_q == PASS2 && can_accept);
  assign cfg_acc   = cfg_valid && cfg_ready;
  assign in_acc    = in_valid && in_ready;
  assign p1_acc    = in_acc && state_q == PASS1;
  assign p2_acc    = in_acc && state_q == PASS2;
  assign last      = cnt_q == n_q - NW'(1);
  assign calc      = state_q == CALC;
  assign sq_load   = state_q == SQ_LOAD;
  assign sq_step   = state_q == SQRT;
  assign dv_load   = state_q == DV_LOAD;
  assign dv_step   = state_q == DIV;
  assign rstd_load = state_q == RSTD;
  assign aff_load  = state_q == AFF;

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      IDLE:    if (cfg_acc && cfg_n != '0) state_d = PASS1;
      PASS1:   if (p1_acc && last) state_d = CALC;
      CALC:    if (step_q == 6'(CALC_CYCLES - 1)) state_d = SQ_LOAD;
      SQ_LOAD: state_d = SQRT;
      SQRT:    if (step_q == 6'(SQ_STEPS - 1)) state_d = DV_LOAD;
      DV_LOAD: state_d = DIV;
      DIV:     if (step_q == 6'(DV_STEPS - 1)) state_d = RSTD;
      RSTD:    state_d = AFF;
      AFF:     state_d = PASS2;
      PASS2:   if (p2_acc && last) state_d = IDLE;
      default: state_d = IDLE;
    endcase
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state_q <= IDLE;
      vld_q   <= '0;
    end else begin
      state_q <= state_d;
      vld_q   <= {vld_q[1:0], p2_acc};
    end
  end

  always_ff @(posedge clk) begin
    if (cfg_acc) begin
      n_q     <= cfg_n;
      inv_n_q <= cfg_inv_n;
      eps_q   <= cfg_eps;
      gamma_q <= cfg_gamma;
      beta_q  <= cfg_beta;
      cnt_q   <= '0;
    end else if (in_acc) begin
      cnt_q <= last ? '0 : cnt_q + NW'(1);
    end
    step_q <= (state_d == state_q) ? step_q + 6'd1 : '0;
  end

  logic [255:0] y;

  for (genvar i = 0; i < G; i++) begin : g_lane
    bn_fp32_lane u_lane (
      .clk, .clear(cfg_acc), .p1_acc, .calc, .sq_load, .sq_step, .dv_load, .dv_step, .rstd_load, .aff_load,
      .inv_n(inv_n_q), .eps(eps_q), .gamma(gamma_q[32*i +: 32]), .beta(beta_q[32*i +: 32]),
      .x(in_data[32*i +: 32]), .y(y[32*i +: 32])
    );
  end

  // A credit returns 2 cycles after its beat's push (pop at the next edge, can_accept a register): the
  // credit loop is LATENCY + 2 cycles, so DEPTH = LATENCY + 2 keeps pass 2 at one beat per cycle.
  credit_fifo #(.WIDTH(256), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept, .accept(p2_acc),
    .push(vld_q[2]), .push_data(y),
    .out_valid, .out_ready, .out_data
  );

`ifndef SYNTHESIS
  stream_checker #(.NAME("bn_fp32.cfg"), .WIDTH(NW + 64 + 512)) u_cfg_check (
    .clk, .rst_n, .valid(cfg_valid), .ready(cfg_ready), .data({cfg_n, cfg_inv_n, cfg_eps, cfg_gamma, cfg_beta})
  );
  stream_checker #(.NAME("bn_fp32.in"), .WIDTH(256)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data(in_data)
  );
  stream_checker #(.NAME("bn_fp32.out"), .WIDTH(256)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data(out_data)
  );
`endif
endmodule
