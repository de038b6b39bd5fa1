// NeuroFlix heterogeneous MAC (docs/spec.md, "NeuroFlix"): fixed-point A (activations or weights, FX4/FX8
// sign-magnitude) times B, which is fixed point (forward pass) or a float error gradient (FP16 or FP8 E5M2;
// backward and weight-gradient passes). One beat is a group of G element pairs; the unit is brick-serial:
// each cycle every element multiplies one pair of 4-bit bricks (A brick ia, B brick ib) in its own 4x4
// brick multiplier, so a beat takes steps = bricks(A) x bricks(B) cycles (1, 2, 4 for fixed x fixed;
// 2, 4, 8 for fixed x float) and the unit does G / steps products per cycle.
//
// No floating-point addition: a brick product weighs 16^(q + ia + ib) (q = B's exponent offset / 4, from
// neuroflix_decode) and is added as a signed integer into the lane of that position, one of 12 separate
// brick-level accumulators. A reduction (the beat with in_last ends it) is merged exactly and rounded once to
// binary32 by neuroflix_merge in the cycle after its last step, while the next reduction's first step
// already accumulates into cleared lanes. NaN / Inf products (float B only) are tracked beside the lanes.
//
// Register-to-register paths: operand registers -> decode, brick select, 4x4 multiply, lane adders -> lane
// registers; lane registers -> merge adder, rounding -> result FIFO. in_ready is registered (the engine's
// free flag and the credit FIFO's count).
module neuroflix_mac #(
  parameter int G  = 8,   // element pairs per beat
  parameter int LW = 32   // lane accumulator bits (signed): exact for reductions of up to 2^19 beats
) (
  input  logic              clk,
  input  logic              rst_n,
  input  logic              in_valid,
  output logic              in_ready,
  input  logic [8*G-1:0]    in_a,      // element i at [8i +: 8]: sign-magnitude byte
  input  logic [16*G-1:0]   in_b,      // element i at [16i +: 16]: FX byte / E5M2 byte in [7:0], or FP16
  input  logic              in_wa,     // A: 0 = FX4, 1 = FX8
  input  logic [1:0]        in_fmt_b,  // B: 0 = FX4, 1 = FX8, 2 = E5M2, 3 = FP16
  input  logic signed [9:0] in_scale,  // result scale 2^scale (the reduction's last beat counts)
  input  logic              in_last,
  output logic              out_valid,
  input  logic              out_ready,
  output logic [31:0]       out_result,
  output logic [1:0]        out_flags  // {overflow, invalid}
);
  localparam int NL = 12;  // lanes: brick positions 0 .. 11

  function automatic logic [3:0] steps_of(input logic wa, input logic [1:0] fmt);
    logic [3:0] nb;
    nb = (fmt == 2'd0) ? 4'd1 : (fmt == 2'd3) ? 4'd4 : 4'd2;
    steps_of = wa ? nb << 1 : nb;
  endfunction

  // ---- operand registers and the brick-step engine ----------------------------------------------------
  logic [8*G-1:0]    a_q;
  logic [16*G-1:0]   b_q;
  logic              wa_q, last_q;
  logic [1:0]        fmt_q;
  logic signed [9:0] scale_q;
  logic              busy_q, busy_d, free_q, free_d, fifo_can_accept;
  logic [2:0]        step_q, step_d;
  logic [3:0]        nsteps_q, nsteps_d;

  wire take      = in_valid && in_ready;
  wire step_last = busy_q && (4'(step_q) == nsteps_q - 4'd1);
  assign in_ready = free_q && fifo_can_accept;

  always_comb begin
    busy_d = busy_q;
    step_d = step_q;
    nsteps_d = nsteps_q;
    if (take) begin
      busy_d = 1'b1;
      step_d = '0;
      nsteps_d = steps_of(in_wa, in_fmt_b);
    end else if (step_last) begin
      busy_d = 1'b0;
    end else if (busy_q) begin
      step_d = step_q + 3'd1;
    end
  end
  // free next cycle: idle, or running the last step of a beat (the next beat loads as it ends)
  assign free_d = !busy_d || (4'(step_d) == nsteps_d - 4'd1);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      busy_q   <= 1'b0;
      free_q   <= 1'b1;
      step_q   <= '0;
      nsteps_q <= 4'd1;
    end else begin
      busy_q   <= busy_d;
      free_q   <= free_d;
      step_q   <= step_d;
      nsteps_q <= nsteps_d;
    end
    if (take) begin
      a_q     <= in_a;
      b_q     <= in_b;
      wa_q    <= in_wa;
      fmt_q   <= in_fmt_b;
      scale_q <= in_scale;
      last_q  <= in_last;
    end
  end

  // ---- this step's brick products: brick ia of A times brick ib of B, per element -----------------------
  logic       ia;
  logic [1:0] ib;
  assign ia = wa_q ? step_q[0] : 1'b0;
  assign ib = wa_q ? step_q[2:1] : step_q[1:0];

  logic [8*G-1:0] pp;       // element i's brick product at [8i +: 8]
  logic [4*G-1:0] pos;      // its lane
  logic [G-1:0]   neg, e_nan, e_pinf, e_ninf;

  for (genvar i = 0; i < G; i++) begin : g_element
    logic        sign_b, is_nan, is_inf, a_zero;
    logic [15:0] bricks;
    logic [3:0]  q, a_brick, b_brick;
    logic [6:0]  a_mag;

    neuroflix_decode u_decode (.b(b_q[16*i +: 16]), .fmt(fmt_q), .sign(sign_b), .bricks, .q, .is_nan, .is_inf);

    assign a_mag   = wa_q ? a_q[8*i +: 7] : {4'd0, a_q[8*i +: 3]};
    assign a_zero  = a_mag == '0;
    assign a_brick = ia ? {1'b0, a_mag[6:4]} : a_mag[3:0];
    assign b_brick = bricks[4*ib +: 4];
    assign pp[8*i +: 8]  = 8'(a_brick) * 8'(b_brick);
    assign pos[4*i +: 4] = q + 4'(ia) + 4'(ib);
    assign neg[i]    = a_q[8*i + 7] ^ sign_b;
    assign e_nan[i]  = is_nan || (is_inf && a_zero);
    assign e_pinf[i] = is_inf && !a_zero && !neg[i];
    assign e_ninf[i] = is_inf && !a_zero && neg[i];
  end

  // ---- brick-level separate accumulations -------------------------------------------------------------
  // Each element's signed brick product c (9 bits) goes to one lane per step; lane L adds the small sum of
  // the c whose position is L (at most G * 225 in magnitude: 12 bits for G = 8) with one LW-bit adder.
  localparam int SW = $clog2(G * 225 + 1) + 1;  // signed width of a lane's per-step sum

  function automatic logic [NL*LW-1:0] lanes_plus(input logic [NL*LW-1:0] base, input logic [8*G-1:0] prod,
                                                  input logic [4*G-1:0] where, input logic [G-1:0] minus);
    logic signed [SW-1:0] step_sum;
    logic signed [SW-1:0] c;
    for (int l = 0; l < NL; l++) begin
      step_sum = '0;
      for (int e = 0; e < G; e++) begin
        c = minus[e] ? -(SW'(prod[8*e +: 8])) : SW'(prod[8*e +: 8]);
        step_sum = step_sum + ((where[4*e +: 4] == 4'(l)) ? c : '0);
      end
      lanes_plus[LW*l +: LW] = base[LW*l +: LW] + LW'(step_sum);
    end
  endfunction

  logic [NL*LW-1:0] lane_q, lane_d;
  logic [2:0]       spec_q, spec_d;   // {neg_inf, pos_inf, nan} products seen in the reduction
  logic             merge_q, mfloat_q;
  logic signed [9:0] mscale_q;

  // the cycle after a reduction's last step merges lane_q: the next reduction starts from cleared lanes
  assign lane_d = busy_q ? lanes_plus(merge_q ? '0 : lane_q, pp, pos, neg) : (merge_q ? '0 : lane_q);
  assign spec_d = (merge_q ? 3'd0 : spec_q)
                | ((busy_q && step_q == '0) ? {e_ninf != '0, e_pinf != '0, e_nan != '0} : 3'd0);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      lane_q  <= '0;
      spec_q  <= '0;
      merge_q <= 1'b0;
    end else begin
      lane_q  <= lane_d;
      spec_q  <= spec_d;
      merge_q <= step_last && last_q;
    end
    if (step_last && last_q) begin
      mfloat_q <= fmt_q[1];
      mscale_q <= scale_q;
    end
  end

  // ---- merge, round, result FIFO ----------------------------------------------------------------------
  logic [31:0] result;
  logic [1:0]  flags;

  neuroflix_merge #(.LW(LW)) u_merge (
    .lanes(lane_q), .is_float(mfloat_q), .scale(mscale_q),
    .any_nan(spec_q[0]), .pos_inf(spec_q[1]), .neg_inf(spec_q[2]),
    .result, .flags
  );

  credit_fifo #(.WIDTH(34), .DEPTH(4)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(fifo_can_accept),
    .accept(take && in_last),
    .push(merge_q),
    .push_data({flags, result}),
    .out_valid, .out_ready,
    .out_data({out_flags, out_result})
  );

`ifndef SYNTHESIS
  // the lanes are exact for reductions of up to 2^(LW-13) beats (a lane gains < 2^12 per beat)
  logic [31:0] beats_q;
  always_ff @(posedge clk) begin
    if (!rst_n || (take && in_last)) beats_q <= '0;
    else if (take) beats_q <= beats_q + 32'd1;
    if (rst_n && take)
      assert (beats_q < (32'd1 << (LW - 13))) else $fatal(1, "neuroflix_mac: reduction longer than 2^%0d beats", LW - 13);
  end
  stream_checker #(.NAME("neuroflix_mac.in"), .WIDTH(24 * G + 14)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_a, in_b, in_wa, in_fmt_b, in_scale, in_last})
  );
  stream_checker #(.NAME("neuroflix_mac.out"), .WIDTH(34)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_flags, out_result})
  );
`endif
endmodule
