// A plain floating-point multiply-accumulate unit, one product per cycle: the reference that Block
// Minifloat's area claim ("FMA units 4.1x smaller than FP8 and 23.9x smaller than FP32") is measured
// against (docs/spec.md, "Block Minifloat", BM.7). Operands are IEEE-style floats with E exponent bits and
// M fraction bits (bias 2^(E-1) - 1, subnormals, the all-ones exponent for Inf / NaN): E = 4, M = 3 is FP8
// E4M3, E = 8, M = 23 is binary32. The product of the significands is exact (an (M+1) x (M+1)-bit
// multiply), rounded once to binary32 (fp32_round; exact for FP8 operands) and registered; the binary32
// adder fp32_add adds it to the running sum, acc = fp32(acc + t), as bm_mac's accumulator does with its
// block terms. Inf / NaN operands are flagged (NaN or Inf x 0: invalid; other Inf: overflow) and their
// product counts as zero, as a BM or FlexBlock block with a special element.
//
// Pipeline: operand registers -> multiply, round -> term register -> adder -> accumulator register; the
// result of a reduction (the beat with in_last) is pushed LATENCY = 2 edges after that beat was taken into
// a credit FIFO of depth LATENCY + 2; in_ready is the FIFO's registered credit count.
module fp_mac #(
  parameter int E = 4,
  parameter int M = 3
) (
  input  logic           clk,
  input  logic           rst_n,
  input  logic           in_valid,
  output logic           in_ready,
  input  logic [E+M:0]   in_a,
  input  logic [E+M:0]   in_b,
  input  logic           in_last,
  output logic           out_valid,
  input  logic           out_ready,
  output logic [31:0]    out_result,
  output logic [1:0]     out_flags   // {overflow, invalid}
);
  localparam int          BIAS    = (1 << (E - 1)) - 1;
  localparam int          LATENCY = 2;
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;

  // ---- stage 1: the operands ------------------------------------------------------------------------
  logic         s1_valid_q, s1_last_q;
  logic [E+M:0] a_q, b_q;
  wire take = in_valid && in_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s1_valid_q <= 1'b0;
      s1_last_q  <= 1'b0;
    end else begin
      s1_valid_q <= take;
      s1_last_q  <= take && in_last;
    end
    if (take) begin
      a_q <= in_a;
      b_q <= in_b;
    end
  end

  // ---- the exact product, rounded once to binary32 ---------------------------------------------------
  function automatic logic [M:0] significand(input logic [E+M-1:0] v);  // {exponent, fraction}
    significand = {v[E+M-1:M] != '0, v[M-1:0]};
  endfunction
  // LSB exponent of an operand: max(exponent field, 1) - BIAS - M
  function automatic logic signed [11:0] lsb_exp(input logic [E-1:0] e);
    lsb_exp = 12'((e == '0) ? 1 : e) - 12'(BIAS + M);
  endfunction

  logic           a_special, b_special, invalid, special;
  logic [2*M+1:0] mag;
  logic [31:0]    product;
  logic [1:0]     flags;

  assign a_special = a_q[E+M-1:M] == '1;
  assign b_special = b_q[E+M-1:M] == '1;
  assign special   = a_special || b_special;
  assign invalid   = (a_special && a_q[M-1:0] != '0) || (b_special && b_q[M-1:0] != '0)
                  || (a_special && b_q[E+M-1:0] == '0) || (b_special && a_q[E+M-1:0] == '0);
  assign flags     = {special && !invalid, invalid};
  assign mag       = special ? '0
                   : (2*M+2)'(significand(a_q[E+M-1:0])) * (2*M+2)'(significand(b_q[E+M-1:0]));

  fp32_round #(.N(2 * M + 2)) u_round (
    .sign(a_q[E+M] ^ b_q[E+M]),
    .mag,
    .lsb_exp(lsb_exp(a_q[E+M-1:M]) + lsb_exp(b_q[E+M-1:M])),
    .result(product)
  );

  // ---- stage 2: the term; the running sum ------------------------------------------------------------
  logic        s2_valid_q, s2_last_q;
  logic [31:0] term_q, acc_q, acc_d;
  logic [1:0]  term_flags_q, flags_q, flags_d;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s2_valid_q <= 1'b0;
      s2_last_q  <= 1'b0;
    end else begin
      s2_valid_q <= s1_valid_q;
      s2_last_q  <= s1_last_q;
    end
    term_q       <= product;
    term_flags_q <= flags;
  end

  fp32_add u_acc (.a(acc_q), .b(term_q), .sum(acc_d));
  // overflow: a special operand, a term or the running sum at +/-Inf; invalid: a NaN / Inf x 0 operand,
  // or the sum is NaN
  assign flags_d = flags_q | term_flags_q
                 | {term_q[30:0] == 31'h7F80_0000 || acc_d[30:0] == 31'h7F80_0000, acc_d == CANONICAL_NAN};

  always_ff @(posedge clk) begin
    if (!rst_n || (s2_valid_q && s2_last_q)) begin
      acc_q   <= '0;
      flags_q <= '0;
    end else if (s2_valid_q) begin
      acc_q   <= acc_d;
      flags_q <= flags_d;
    end
  end

  credit_fifo #(.WIDTH(34), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready),
    .accept(take && in_last),
    .push(s2_valid_q && s2_last_q),
    .push_data({flags_d, acc_d}),
    .out_valid, .out_ready,
    .out_data({out_flags, out_result})
  );

`ifndef SYNTHESIS
  initial assert (2 * M + 2 <= 64 && E >= 2 && E <= 8)
    else $fatal(1, "fp_mac: E = %0d, M = %0d out of range", E, M);
  stream_checker #(.NAME("fp_mac.in"), .WIDTH(2 * (E + M + 1) + 1)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_a, in_b, in_last})
  );
  stream_checker #(.NAME("fp_mac.out"), .WIDTH(34)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_flags, out_result})
  );
`endif
endmodule
