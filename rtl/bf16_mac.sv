// The bfloat16 baseline MAC (docs/spec.md, "bfloat16 baseline"): the unit most training accelerators are
// measured against. One beat is a group of N bfloat16 element pairs; all N products are computed in one
// cycle (N products per cycle), each rounded once to binary32 (bf16_mul), summed in a pairwise tree of
// binary32 nearest-even adders ((p0 + p1) + (p2 + p3) for N = 4) and added to the running binary32 sum.
// The beat with `in_last` ends a reduction: its sum and flags leave on the out stream and the next
// reduction starts from +0.
//
// Pipeline: the beat is registered at the input (the register-to-register path is: operand registers ->
// multipliers -> tree -> accumulator adder -> accumulator register), the reduction's result enters a credit
// FIFO the cycle after its last beat was taken; in_ready is the FIFO's registered credit count.
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

  // ---- N products and the pairwise tree: node i = node 2i+1 + node 2i+2, leaves N-1 .. 2N-2 ------------
  logic [32*(2*N-1)-1:0] node;
  logic [2*N-2:0]        node_inf;

  for (genvar i = 0; i < N; i++) begin : g_product
    bf16_mul u_mul (.a(a_q[16*i +: 16]), .b(b_q[16*i +: 16]), .product(node[32*(N-1+i) +: 32]));
  end
  for (genvar i = 0; i < N - 1; i++) begin : g_tree
    fp32_add u_add (.a(node[32*(2*i+1) +: 32]), .b(node[32*(2*i+2) +: 32]), .sum(node[32*i +: 32]));
  end
  for (genvar i = 0; i < 2 * N - 1; i++) begin : g_inf
    assign node_inf[i] = node[32*i +: 31] == 31'h7F80_0000;
  end

  // ---- the running sum -------------------------------------------------------------------------------
  logic [31:0] acc_q, acc_d;
  logic        overflow_q, overflow_d, sum_nan;

  fp32_add u_acc (.a(acc_q), .b(node[31:0]), .sum(acc_d));
  assign overflow_d = overflow_q || node_inf != '0 || acc_d[30:0] == 31'h7F80_0000;
  assign sum_nan    = acc_d == CANONICAL_NAN;

  always_ff @(posedge clk) begin
    if (!rst_n || (valid_q && last_q)) begin
      acc_q      <= '0;
      overflow_q <= 1'b0;
    end else if (valid_q) begin
      acc_q      <= acc_d;
      overflow_q <= overflow_d;
    end
  end

  credit_fifo #(.WIDTH(34), .DEPTH(3)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready),
    .accept(take && in_last),
    .push(valid_q && last_q),
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
