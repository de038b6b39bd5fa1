// Block Minifloat MAC (docs/spec.md, "Block Minifloat"): one block pair per cycle, exact inside the block, binary32
// across blocks.
//
// A beat carries one block of A (format eXmX or eGmG, `in_a_fmt`) and one block of B (eXmX), each K
// minifloat elements with an 8-bit shared exponent and flags. Stage 1 registers the beat; stage 2 registers
// the Kulisch sum P of the K products (bm_kulisch, a fixed-point sum: no float add inside a block) and the
// exponent X of its LSB; then fp32_acc (FlexBlock's accumulator) rounds fp32(P * 2^X) once and adds it to the
// running binary32 sum. The beat with `in_last` ends a dot product: its result leaves on `out`.
// in_ready depends only on registers (the stages' valid bits and the accumulator's credit count).
module bm_mac #(
  parameter int K  = 16,
  parameter int EX = 2,  // activations and weights: e2m5 (BM8), e2m3 (BM6)
  parameter int MX = 5,
  parameter int EG = 4,  // error gradients: e4m3 (BM8), e3m2 (BM6); 1 + EG + MG must equal 1 + EX + MX
  parameter int MG = 3
) (
  input  logic                   clk,
  input  logic                   rst_n,
  input  logic                   in_valid,
  output logic                   in_ready,
  input  logic                   in_a_fmt,    // 0: A is eXmX, 1: A is eGmG
  input  logic [7:0]             in_a_se,     // shared exponent, signed
  input  logic [K*(1+EX+MX)-1:0] in_a_elems,  // element i at [i*EW +: EW] = {sign, E, man}
  input  logic [1:0]             in_a_flags,  // {overflow, invalid}
  input  logic [7:0]             in_b_se,
  input  logic [K*(1+EX+MX)-1:0] in_b_elems,
  input  logic [1:0]             in_b_flags,
  input  logic                   in_last,
  output logic                   out_valid,
  input  logic                   out_ready,
  output logic [31:0]            out_result,
  output logic [1:0]             out_flags
);
  import bm_pkg::*;

  localparam int EW = 1 + EX + MX;
  localparam int PW = kulisch_bits(K, EX, MX, EG, MG);

  // ---- stage 1: the beat ----------------------------------------------------------------------------
  logic            s1_valid_q, s1_fmt_q, s1_last_q;
  logic [7:0]      s1_a_se_q, s1_b_se_q;
  logic [K*EW-1:0] s1_a_q, s1_b_q;
  logic [1:0]      s1_flags_q;

  // ---- stage 2: the block sum -----------------------------------------------------------------------
  logic                 s2_valid_q, s2_last_q;
  logic signed [PW-1:0] s2_p_q, p;
  logic signed [10:0]   s2_x_q, x;
  logic [1:0]           s2_flags_q;
  logic                 acc_ready;

  wire s2_free = !s2_valid_q || acc_ready;  // stage 2 moves on (or is empty)
  wire s1_free = !s1_valid_q || s2_free;
  assign in_ready = s1_free;
  wire take = in_valid && in_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s1_valid_q <= 1'b0;
    end else if (s1_free) begin
      s1_valid_q <= in_valid;
    end
    if (take) begin
      s1_fmt_q   <= in_a_fmt;
      s1_a_se_q  <= in_a_se;
      s1_b_se_q  <= in_b_se;
      s1_a_q     <= in_a_elems;
      s1_b_q     <= in_b_elems;
      s1_flags_q <= in_a_flags | in_b_flags;
      s1_last_q  <= in_last;
    end
  end

  bm_kulisch #(.K(K), .EX(EX), .MX(MX), .EG(EG), .MG(MG), .PW(PW)) u_kulisch (
    .a_fmt(s1_fmt_q), .a_elems(s1_a_q), .b_elems(s1_b_q), .p
  );

  // X = lsb0_a + lsb0_b, lsb0 = se + 2 - 2 bias - m, bias = 2^(e-1): A's by its format of this beat
  assign x = 11'($signed(s1_a_se_q)) + 11'($signed(s1_b_se_q)) + 11'sd4
           - 11'(s1_fmt_q ? (2 << (EG - 1)) + MG : (2 << (EX - 1)) + MX)
           - 11'(2 << (EX - 1)) - 11'(MX);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s2_valid_q <= 1'b0;
    end else if (s2_free) begin
      s2_valid_q <= s1_valid_q;
    end
    if (s2_free && s1_valid_q) begin
      s2_p_q     <= p;
      s2_x_q     <= x;
      s2_flags_q <= s1_flags_q;
      s2_last_q  <= s1_last_q;
    end
  end

  fp32_acc #(.PW(PW)) u_acc (
    .clk, .rst_n,
    .in_valid(s2_valid_q),
    .in_ready(acc_ready),
    .in_p(s2_p_q),
    .in_x(s2_x_q),
    .in_flags(s2_flags_q),
    .in_last(s2_last_q),
    .out_valid, .out_ready, .out_result, .out_flags
  );

`ifndef SYNTHESIS
  initial assert (1 + EG + MG == EW && EX >= 1 && EG >= 1 && MX >= 1 && MG >= 1)
    else $fatal(1, "bm_mac: formats e%0dm%0d / e%0dm%0d must have equal widths", EX, MX, EG, MG);
  stream_checker #(.NAME("bm_mac.in"), .WIDTH(2 * K * EW + 22)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready),
    .data({in_a_fmt, in_a_se, in_a_elems, in_a_flags, in_b_se, in_b_elems, in_b_flags, in_last})
  );
`endif
endmodule
