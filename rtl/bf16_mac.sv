// The bfloat16 baseline MAC (docs/spec.md, "bfloat16 baseline"): the unit most training accelerators are
// measured against. One beat is a group of N bfloat16 element pairs; all N products are computed in one
// cycle (N products per cycle), each rounded once to binary32 (bf16_mul), summed in a pairwise tree of
// binary32 nearest-even adders ((p0 + p1) + (p2 + p3) for N = 4) and added to the running binary32 sum.
// The beat with `in_last` ends a reduction: its sum and flags leave on the out stream and the next
// reduction starts from +0.
//
// Pipeline (2 + log2 N register stages before the accumulator, so that no register-to-register path holds
// more than one binary32 adder or one multiplier; the arithmetic and its order are unchanged):
//   operand registers -> N multipliers -> product registers -> tree level 1 -> registers -> ...
//   -> tree level log2 N -> group-sum register -> accumulator adder -> accumulator register.
// The reduction's result enters a credit FIFO the cycle the group sum of its last beat is added
// (LATENCY = 2 + log2 N edges after that beat was taken); in_ready is the FIFO's registered credit count,
// and DEPTH = LATENCY + 2 keeps one reduction per cycle (a credit returns at the edge that pops the
// result, one after the push, and is seen at the next).
module bf16_mac #(
  parameter int N = 4  // element pairs per beat (a power of two)
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            in_valid,
  output logic            in_ready,
  input  logic [16*N-1:0] in_a,       // element i at [16i +: 16], bfloat16 bits
  input  logic [16*N-1:0] in_b,
  input  logic            in_last,
  output logic            out_valid,
  input  logic            out_ready,
  output logic [31:0]     out_result,
  output logic [1:0]      out_flags   // {overflow, invalid}
);
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;

  // ---- operand registers -----------------------------------------------------------------------------
  logic            valid_q, last_q;
  logic [16*N-1:0] a_q, b_q;
  wire take = in_valid && in_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      valid_q <= 1'b0;
      last_q  <= 1'b0;
    end else begin
      valid_q <= take;
      last_q  <= take && in_last;
    end
    if (take) begin
      a_q <= in_a;
      b_q <= in_b;
    end
  end

  // ---- N products, registered; then the pairwise tree, one registered level per stage ----------------
  // Stage j (0 .. L) holds N >> j binary32 values; stage 0 the products, stage L the group sum.
  localparam int L       = $clog2(N);
  localparam int LATENCY = 2 + L;

  logic [32*N-1:0] stage_q [L+1];
  logic [32*N-1:0] stage_d [L+1];
  logic [L:0]      sv_q, sl_q, sinf_q;    // valid, last, some product or node so far was +/-Inf
  logic [L:0]      sinf_d;

  for (genvar i = 0; i < N; i++) begin : g_product
    bf16_mul u_mul (.a(a_q[16*i +: 16]), .b(b_q[16*i +: 16]), .product(stage_d[0][32*i +: 32]));
  end
  assign sinf_d[0] = 1'b0;
  for (genvar j = 1; j <= L; j++) begin : g_level
    for (genvar i = 0; i < (N >> j); i++) begin : g_node
      fp32_add u_add (.a(stage_q[j-1][32*(2*i) +: 32]), .b(stage_q[j-1][32*(2*i+1) +: 32]),
                      .sum(stage_d[j][32*i +: 32]));
    end
    if ((N >> j) < N) begin : g_pad
      assign stage_d[j][32*N-1:32*(N>>j)] = '0;  // unused upper slots
    end
    assign sinf_d[j] = sinf_q[j-1] || any_inf(stage_q[j-1], N >> (j - 1));
  end

  // whether one of the first `count` binary32 values of a stage is +/-Inf
  function automatic logic any_inf(input logic [32*N-1:0] v, input int count);
    any_inf = 1'b0;
    for (int i = 0; i < N; i++) begin
      if (i < count && v[32*i +: 31] == 31'h7F80_0000) any_inf = 1'b1;
    end
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      sv_q <= '0;
      sl_q <= '0;
    end else begin
      sv_q[0] <= valid_q;
      sl_q[0] <= valid_q && last_q;
      for (int j = 1; j <= L; j++) begin
        sv_q[j] <= sv_q[j-1];
        sl_q[j] <= sl_q[j-1];
      end
    end
    for (int j = 0; j <= L; j++) begin
      stage_q[j] <= stage_d[j];
      sinf_q[j]  <= sinf_d[j];
    end
  end

  // ---- the running sum -------------------------------------------------------------------------------
  logic [31:0] acc_q, acc_d;
  logic        overflow_q, overflow_d, sum_nan;
  wire         sum_valid = sv_q[L];
  wire         sum_last  = sl_q[L];

  fp32_add u_acc (.a(acc_q), .b(stage_q[L][31:0]), .sum(acc_d));
  assign overflow_d = overflow_q || sinf_q[L] || any_inf(stage_q[L], 1) || acc_d[30:0] == 31'h7F80_0000;
  assign sum_nan    = acc_d == CANONICAL_NAN;

  always_ff @(posedge clk) begin
    if (!rst_n || (sum_valid && sum_last)) begin
      acc_q      <= '0;
      overflow_q <= 1'b0;
    end else if (sum_valid) begin
      acc_q      <= acc_d;
      overflow_q <= overflow_d;
    end
  end

  credit_fifo #(.WIDTH(34), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready),
    .accept(take && in_last),
    .push(sum_valid && sum_last),
    .push_data({overflow_d, sum_nan, acc_d}),
    .out_valid, .out_ready,
    .out_data({out_flags, out_result})
  );
`ifndef SYNTHESIS
  initial assert (N >= 1 && (N & (N - 1)) == 0) else $fatal(1, "bf16_mac: N = %0d is not a power of two", N);
  stream_checker #(.NAME("bf16_mac.in"), .WIDTH(32 * N + 1)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_a, in_b, in_last})
  );
  stream_checker #(.NAME("bf16_mac.out"), .WIDTH(34)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_flags, out_result})
  );
`endif
endmodule
