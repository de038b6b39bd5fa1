// LightNorm range batch-norm unit, forward pass (docs/spec.md "LightNorm"; bit-exact model
// models/lightnorm.py `forward`). One beat = one position (b, h, w) of a group of 8 channels: one BFP group
// per beat, one beat per cycle. The activations arrive in the job's input format (cfg_fmt: 8 fp10 1-5-4
// values, 8 binary32 values, or one BFP block of the GEMM datapath) and are converted to fp10 on entry
// (range_bn_in, combinational, both passes; docs/spec.md LN.4a).
//
// A job (one channel group of one layer) is a configuration beat (n = B*H*W, the range constant c, eps,
// gamma and beta of the 8 channels, the output mode, the input format) followed by the group's n beats twice:
//   pass 1  statistics: per channel the exact sum and, over 8 chunks of n, the chunk maxima and minima
//           (range_bn_lane); nothing goes out.
//   between 2 + (34 + NW) cycles: the last value leaves x_q, fold the last chunk, divide for the mean,
//           settle the scale chain.
//   pass 2  the same n beats re-streamed from memory: normalize, affine, convert to BFP (range_bn_bfp),
//           out through a credit FIFO.
// The unit buffers only per-channel statistics (no activation storage): the activations cross the memory
// interface twice, in their stored format. Chunk boundaries: chunk j covers [floor(j n / 8),
// floor((j+1) n / 8)); for n <= 8 every value is its own chunk.
// in_ready and cfg_ready are register outputs (state, FIFO credits): no path from out_ready or a valid.
module range_bn #(
  parameter int NW = 16                       // bits of n (values per channel), n < 2^NW
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            cfg_valid,
  output logic            cfg_ready,
  input  logic [NW-1:0]   cfg_n,
  input  logic [9:0]      cfg_c,              // fp10 range constant (host: 1 / (8 sqrt(2 ln(n/8))))
  input  logic [9:0]      cfg_eps,            // fp10
  input  logic [79:0]     cfg_gamma,          // channel i in bits [10i+9:10i], fp10
  input  logic [79:0]     cfg_beta,
  input  logic [1:0]      cfg_mode,           // output BFP mode (FB24/FB16/FB12; 3 converts as FB24)
  input  logic [1:0]      cfg_fmt,            // input format: 0 fp10, 1 FP32, 2 BFP (3 reads as fp10)
  input  logic [1:0]      cfg_in_mode,        // BFP input mode (FB24/FB16/FB12; 3 reads as FB24)
  input  logic            in_valid,
  output logic            in_ready,
  input  logic [255:0]    in_data,            // fp10: channel i in [10i+9:10i]; FP32: [32i+31:32i];
                                              // BFP: mag [127:0], sign [135:128], exp [143:136], flags [145:144]
  output logic            out_valid,
  input  logic            out_ready,
  output logic [7:0]      out_exp,
  output logic [7:0]      out_sign,
  output logic [127:0]    out_mag,            // element i in bits [16i+15:16i], low W bits
  output logic [1:0]      out_flags,          // {overflow (never), invalid (a NaN output)}
  output logic [1:0]      out_mode
);
  import lightnorm_pkg::*;

  localparam int G = 8;
  localparam int NB = FX + NW;                // divider steps
  localparam int LATENCY = 4;                 // accept -> x, t, p, z registers -> FIFO write
  localparam int OUT_BITS = 8 + G + 16 * G + 2 + 2;

  typedef enum logic [2:0] {IDLE, PASS1, LAST1, FOLD, DIV, MEAN, PASS2} state_e;

  state_e         state_q;
  logic [NW-1:0]  n_q, cnt_q;
  logic [NW+2:0]  bound_q;                    // (j + 1) * n: chunk j + 1 starts at bound_q / 8
  logic [5:0]     step_q;
  logic [9:0]     c_q, eps_q;
  logic [79:0]    gamma_q, beta_q;
  logic [1:0]     mode_q, mode2_q;
  logic [1:0]     fmt_q, in_mode_q;           // the job's input format
  logic [10*G-1:0] x, x_q;                    // the beat converted to fp10, registered
  logic           p1_acc_q, p1_first_q, p1_new_q;   // pass-1 controls, aligned with x_q
  logic [3:0]     vld_q;                      // pass-2 beats in the x, t, p, z registers
  logic           can_accept;

  logic cfg_acc, in_acc, p1_acc, p2_acc, last, p1_new, p1_first, fold, div_step, mean_load;

  assign cfg_ready = state_q == IDLE;
  assign in_ready  = state_q == PASS1 || (state_q == PASS2 && can_accept);
  assign cfg_acc   = cfg_valid && cfg_ready;
  assign in_acc    = in_valid && in_ready;
  assign p1_acc    = in_acc && state_q == PASS1;
  assign p2_acc    = in_acc && state_q == PASS2;
  assign last      = cnt_q == n_q - NW'(1);
  assign p1_new    = cnt_q != '0 && (n_q <= NW'(G) || cnt_q == bound_q[NW+2:3]);
  assign p1_first  = cnt_q == '0;
  assign fold      = state_q == FOLD;
  assign div_step  = state_q == DIV;
  assign mean_load = state_q == MEAN;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state_q <= IDLE;
      vld_q   <= '0;
    end else begin
      vld_q <= {vld_q[2:0], p2_acc};
      unique case (state_q)
        IDLE:  if (cfg_acc && cfg_n != '0) state_q <= PASS1;
        PASS1: if (p1_acc && last) state_q <= LAST1;
        LAST1: state_q <= FOLD;               // the lanes take the last pass-1 value (x_q)
        FOLD:  state_q <= DIV;
        DIV:   if (step_q == 6'(NB - 1)) state_q <= MEAN;
        MEAN:  state_q <= PASS2;
        PASS2: if (p2_acc && last) state_q <= IDLE;
        default: state_q <= IDLE;
      endcase
    end
  end

  always_ff @(posedge clk) begin
    if (cfg_acc) begin
      n_q     <= cfg_n;
      c_q     <= cfg_c;
      eps_q   <= cfg_eps;
      gamma_q <= cfg_gamma;
      beta_q  <= cfg_beta;
      mode_q  <= cfg_mode;
      fmt_q   <= cfg_fmt;
      in_mode_q <= cfg_in_mode;
      cnt_q   <= '0;
      bound_q <= (NW+3)'(cfg_n);
    end else if (in_acc) begin
      cnt_q <= last ? '0 : cnt_q + NW'(1);
      if (p1_acc && p1_new) bound_q <= bound_q + (NW+3)'(n_q);
    end
    step_q <= div_step ? step_q + 6'd1 : '0;
    if (mean_load) mode2_q <= mode_q;
  end

  // ---- input conversion and the 8 channels ------------------------------------------------------
  logic [10*G-1:0] z;
  logic [G-1:0]    z_nan;

  range_bn_in #(.G(G)) u_in (.fmt(fmt_q), .mode(in_mode_q), .data(in_data), .x);

  // The converted beat is registered before the lanes (the conversion would otherwise lengthen the per-beat
  // path to t by its depth): one cycle more per job (LAST1) and one more in the pass-2 latency.
  always_ff @(posedge clk) begin
    x_q <= x;
    if (!rst_n) begin
      p1_acc_q <= 1'b0;
    end else begin
      p1_acc_q <= p1_acc;
    end
    p1_first_q <= p1_first;
    p1_new_q   <= p1_new;
  end

  for (genvar i = 0; i < G; i++) begin : g_lane
    range_bn_lane #(.NW(NW)) u_lane (
      .clk,
      .clear(cfg_acc), .p1_acc(p1_acc_q), .p1_first(p1_first_q), .p1_new(p1_new_q), .fold, .div_step, .mean_load,
      .n(n_q), .c(c_q), .eps(eps_q), .gamma(gamma_q[10*i +: 10]), .beta(beta_q[10*i +: 10]),
      .x(x_q[10*i +: 10]),
      .z(z[10*i +: 10]), .z_nan(z_nan[i])
    );
  end

  // ---- BFP conversion and the output FIFO ---------------------------------------------------------------
  logic [7:0]     b_exp;
  logic [G-1:0]   b_sign;
  logic [16*G-1:0] b_mag;
  logic [1:0]     b_flags;

  range_bn_bfp #(.G(G)) u_bfp (.z, .nan(z_nan), .mode(mode2_q), .exp(b_exp), .sign(b_sign), .mag(b_mag),
                               .flags(b_flags));

  // A credit returns 2 cycles after its beat's push (pop at the next edge, can_accept a register): the
  // credit loop is LATENCY + 2 cycles, so DEPTH = LATENCY + 2 keeps pass 2 at one beat per cycle.
  credit_fifo #(.WIDTH(OUT_BITS), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept, .accept(p2_acc),
    .push(vld_q[3]), .push_data({b_exp, b_sign, b_mag, b_flags, mode2_q}),
    .out_valid, .out_ready,
    .out_data({out_exp, out_sign, out_mag, out_flags, out_mode})
  );

`ifndef SYNTHESIS
  stream_checker #(.NAME("range_bn.cfg"), .WIDTH(NW + 10 + 10 + 80 + 80 + 6)) u_cfg_check (
    .clk, .rst_n, .valid(cfg_valid), .ready(cfg_ready),
    .data({cfg_n, cfg_c, cfg_eps, cfg_gamma, cfg_beta, cfg_mode, cfg_fmt, cfg_in_mode})
  );
  stream_checker #(.NAME("range_bn.in"), .WIDTH(256)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data(in_data)
  );
  stream_checker #(.NAME("range_bn.out"), .WIDTH(OUT_BITS)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_exp, out_sign, out_mag, out_flags, out_mode})
  );
`endif
endmodule
