// A plain floating-point multiply-accumulate unit, one product per cycle: the reference that Block
// Minifloat's area claim ("FMA units 4.1x smaller than FP8 and 23.9x smaller than FP32") is measured
// against (docs/spec.md, "Block Minifloat", area). Operands are IEEE-style floats with E exponent bits and
// M fraction bits (bias 2^(E-1) - 1, subnormals, the all-ones exponent for Inf / NaN): E = 4, M = 3 is FP8
// E4M3, E = 8, M = 23 is binary32. The product of the significands is exact (a (M+1) x (M+1)-bit multiply)
// with the exponent X of its LSB; FlexBlock's binary32 accumulator (fp32_acc, the one bm_mac uses) rounds
// it to binary32 and adds it to the running sum. The same datapath shape as bm_mac with one element per
// block, so the two differ only in what the design changes: the multipliers and how products are summed.
// Inf / NaN operands are flagged (overflow / invalid) and their product counts as zero.
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
  localparam int PW   = 2 * (M + 1) + 1;        // signed exact product
  localparam int BIAS = (1 << (E - 1)) - 1;

  // ---- stage 1: the operands ------------------------------------------------------------------------
  logic           s1_valid_q, s1_last_q;
  logic [E+M:0]   a_q, b_q;
  logic           acc_ready;
  wire s1_free = !s1_valid_q || acc_ready;
  assign in_ready = s1_free;
  wire take = in_valid && in_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s1_valid_q <= 1'b0;
    end else if (s1_free) begin
      s1_valid_q <= in_valid;
    end
    if (take) begin
      a_q       <= in_a;
      b_q       <= in_b;
      s1_last_q <= in_last;
    end
  end

  // ---- the exact product and the exponent of its LSB ----------------------------------------------------
  function automatic logic [M:0] significand(input logic [E+M-1:0] v);  // {exponent, fraction}
    significand = {v[E+M-1:M] != '0, v[M-1:0]};
  endfunction
  // LSB exponent of an operand: max(exponent field, 1) - BIAS - M
  function automatic logic signed [10:0] lsb_exp(input logic [E-1:0] e);
    lsb_exp = 11'((e == '0) ? 1 : e) - 11'(BIAS + M);
  endfunction

  logic                 a_special, b_special, a_nan, b_nan, special;
  logic [2*M+1:0]       mag;
  logic signed [PW-1:0] p;
  logic signed [10:0]   x;
  logic [1:0]           flags;

  assign a_special = a_q[E+M-1:M] == '1;
  assign b_special = b_q[E+M-1:M] == '1;
  assign a_nan     = a_special && a_q[M-1:0] != '0;
  assign b_nan     = b_special && b_q[M-1:0] != '0;
  assign special   = a_special || b_special;
  assign mag       = (2*M+2)'(significand(a_q[E+M-1:0])) * (2*M+2)'(significand(b_q[E+M-1:0]));
  assign p         = special ? '0 : (a_q[E+M] ^ b_q[E+M]) ? -(PW'(mag)) : PW'(mag);
  assign x         = lsb_exp(a_q[E+M-1:M]) + lsb_exp(b_q[E+M-1:M]);
  // NaN, or Inf x 0 -> invalid; any other Inf -> overflow
  logic invalid;
  assign invalid   = a_nan || b_nan || (a_special && b_q[E+M-1:0] == '0) || (b_special && a_q[E+M-1:0] == '0);
  assign flags     = {special && !invalid, invalid};

  fp32_acc #(.PW(PW)) u_acc (
    .clk, .rst_n,
    .in_valid(s1_valid_q),
    .in_ready(acc_ready),
    .in_p(p),
    .in_x(x),
    .in_flags(flags),
    .in_last(s1_last_q),
    .out_valid, .out_ready, .out_result, .out_flags
  );

`ifndef SYNTHESIS
  stream_checker #(.NAME("fp_mac.in"), .WIDTH(2 * (E + M + 1) + 1)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_a, in_b, in_last})
  );
`endif
endmodule
