// LightNorm range batch-norm unit, backward pass (docs/spec.md LN.5a; bit-exact model
// models/range_bn_bwd.py `backward`). One beat = one position (b, h, w) of a group of 8 channels.
//
// A job (one channel group of one layer) is a configuration beat (n = B*H*W, the forward's range constant
// c, eps and gamma[8], fp10 1-5-4) followed by n beats twice:
//   pass B1  (x, dy): the forward's statistics on x (recomputed, bit-identical), each chunk's
//            argmax/argmin, the exact sums D = sum dy and E = sum dy x (range_bn_bwd_lane); nothing out.
//   between  1 + (65 + NW) + 1 cycles: fold, two dividers (mean, mean of dy), the chain of per-channel
//            constants; then one `grad` beat goes out: dgamma[8], dbeta[8].
//   pass B2  dy again (in_x is not read): dx = a (dy - md) -+ corr at the chunk's extremes, out through
//            a credit FIFO, one beat per cycle.
// dx and the gradients share the out stream in job order (out_grad tags the gradient beat): one ordered
// stream, one FIFO. Chunks as the forward's: chunk j covers [floor(j n / 8), floor((j+1) n / 8)).
// in_ready and cfg_ready are register outputs (state, FIFO credits): no path from out_ready or a valid.
module range_bn_bwd #(
  parameter int NW = 16                       // bits of n (values per channel), n < 2^NW
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            cfg_valid,
  output logic            cfg_ready,
  input  logic [NW-1:0]   cfg_n,
  input  logic [9:0]      cfg_c,              // fp10 1-5-4 range constant (the forward's)
  input  logic [9:0]      cfg_eps,            // fp10 1-5-4
  input  logic [79:0]     cfg_gamma,          // channel i in bits [10i+9:10i], fp10 1-5-4
  input  logic            in_valid,
  output logic            in_ready,
  input  logic [79:0]     in_x,               // pass B1: channel i's x (1-5-4) in bits [10i+9:10i]
  input  logic [79:0]     in_dy,              // passes B1 and B2: channel i's dy (1-6-3)
  output logic            out_valid,
  input  logic            out_ready,
  output logic            out_grad,           // 1: the job's gradient beat, 0: a dx beat
  output logic [159:0]    out_data            // dx beat: dx[8] in [79:0]; grad beat: {dbeta[8], dgamma[8]}
);
  import lightnorm_pkg::*;
  import lightnorm_grad_pkg::*;

  localparam int G = 8;
  localparam int NA = FX + NW;                // steps of the mean's divider
  localparam int ND = GX + NW;                // steps of md's divider (the longer)
  localparam int SW = $clog2(ND + 1);
  localparam int LATENCY = 3;                 // accept -> u, v, dx registers -> FIFO write
  localparam int OUT_BITS = 1 + 160;

  typedef enum logic [2:0] {IDLE, PASS1, FOLD, DIV, LOAD, PASS2} state_e;

  state_e         state_q;
  logic [NW-1:0]  n_q, cnt_q;
  logic [NW+2:0]  bound_q;                    // (j + 1) * n: chunk j + 1 starts at bound_q / 8
  logic [2:0]     chunk_q;                    // the open chunk (its ordinal among non-empty ones)
  logic [SW-1:0]  step_q;
  logic [9:0]     c_q, eps_q;
  logic [79:0]    gamma_q;
  logic [2:0]     vld_q;                      // pass-B2 beats in the u, v, dx registers
  logic           can_accept;

  logic cfg_acc, in_acc, b1_acc, b2_acc, last, p_new, b1_first, fold, div_step, diva_step, load;
  logic [2:0] chunk;

  assign cfg_ready = state_q == IDLE;
  assign in_ready  = state_q == PASS1 || (state_q == PASS2 && can_accept);
  assign cfg_acc   = cfg_valid && cfg_ready;
  assign in_acc    = in_valid && in_ready;
  assign b1_acc    = in_acc && state_q == PASS1;
  assign b2_acc    = in_acc && state_q == PASS2;
  assign last      = cnt_q == n_q - NW'(1);
  assign p_new     = cnt_q != '0 && (n_q <= NW'(G) || cnt_q == bound_q[NW+2:3]);
  assign chunk     = p_new ? chunk_q + 3'd1 : chunk_q;
  assign b1_first  = cnt_q == '0;
  assign fold      = state_q == FOLD;
  assign div_step  = state_q == DIV;
  assign diva_step = div_step && step_q < SW'(NA);
  assign load      = state_q == LOAD && can_accept;   // the gradient beat takes a FIFO credit

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state_q <= IDLE;
      vld_q   <= '0;
    end else begin
      vld_q <= {vld_q[1:0], b2_acc};
      unique case (state_q)
        IDLE:  if (cfg_acc && cfg_n != '0) state_q <= PASS1;
        PASS1: if (b1_acc && last) state_q <= FOLD;
        FOLD:  state_q <= DIV;
        DIV:   if (step_q == SW'(ND - 1)) state_q <= LOAD;
        LOAD:  if (load) state_q <= PASS2;
        PASS2: if (b2_acc && last) state_q <= IDLE;
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
      cnt_q   <= '0;
      bound_q <= (NW+3)'(cfg_n);
      chunk_q <= '0;
    end else if (in_acc) begin
      cnt_q <= last ? '0 : cnt_q + NW'(1);
      if (last) begin                         // both passes walk the chunks from the start
        bound_q <= (NW+3)'(n_q);
        chunk_q <= '0;
      end else if (p_new) begin
        bound_q <= bound_q + (NW+3)'(n_q);
        chunk_q <= chunk_q + 3'd1;
      end
    end
    step_q <= div_step ? step_q + SW'(1) : '0;
  end

  // ---- the 8 channels -----------------------------------------------------------------------------
  logic [10*G-1:0] dx, dgamma, dbeta;

  for (genvar i = 0; i < G; i++) begin : g_lane
    range_bn_bwd_lane #(.NW(NW)) u_lane (
      .clk,
      .clear(cfg_acc), .b1_acc, .b1_first, .b1_new(p_new), .chunk, .idx(cnt_q),
      .fold, .div_step, .diva_step, .load,
      .n(n_q), .c(c_q), .eps(eps_q), .gamma(gamma_q[10*i +: 10]),
      .x(in_x[10*i +: 10]), .dy(in_dy[10*i +: 10]),
      .dx(dx[10*i +: 10]), .dgamma(dgamma[10*i +: 10]), .dbeta(dbeta[10*i +: 10])
    );
  end

  // ---- the output FIFO: the gradient beat at load, then the dx beats ------------------------------------
  // A credit returns 2 cycles after its beat's push: the credit loop is LATENCY + 2 cycles (LN.4).
  credit_fifo #(.WIDTH(OUT_BITS), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept, .accept(b2_acc || load),
    .push(vld_q[2] || load),
    .push_data(load ? {1'b1, dbeta, dgamma} : {1'b0, 80'd0, dx}),
    .out_valid, .out_ready,
    .out_data({out_grad, out_data})
  );

`ifndef SYNTHESIS
  stream_checker #(.NAME("range_bn_bwd.cfg"), .WIDTH(NW + 10 + 10 + 80)) u_cfg_check (
    .clk, .rst_n, .valid(cfg_valid), .ready(cfg_ready), .data({cfg_n, cfg_c, cfg_eps, cfg_gamma})
  );
  stream_checker #(.NAME("range_bn_bwd.in"), .WIDTH(160)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_x, in_dy})
  );
  stream_checker #(.NAME("range_bn_bwd.out"), .WIDTH(OUT_BITS)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_grad, out_data})
  );
`endif
endmodule
