// The binary32 accumulator as a stream unit (docs/spec.md section 3): block dot products P with the
// exponent X of their LSB in, one binary32 sum per reduction out. The datapath is fp32_accumulator (term
// rounding, then acc = fp32(acc + t), one term per cycle); the result FIFO's credits are counted from the
// input, so `in_ready` is a register and nothing is lost under back-pressure.
module fp32_acc #(
  parameter int PW = 37  // block dot product bits (signed)
) (
  input  logic                 clk,
  input  logic                 rst_n,
  input  logic                 in_valid,
  output logic                 in_ready,
  input  logic signed [PW-1:0] in_p,
  input  logic signed [10:0]   in_x,
  input  logic [1:0]           in_flags,  // {overflow, invalid} of the operand blocks
  input  logic                 in_last,
  output logic                 out_valid,
  input  logic                 out_ready,
  output logic [31:0]          out_result,
  output logic [1:0]           out_flags
);

  // A reduction's result is pushed one edge after its last term is taken (the term stage), so a
  // depth of 3 keeps single-term reductions at one per cycle with out_ready high.
  localparam int LATENCY = 1;

  wire take = in_valid && in_ready;
  logic        res_valid;
  logic [31:0] res_result;
  logic [1:0]  res_flags;

  fp32_accumulator #(.PW(PW)) u_acc (
    .clk, .rst_n, .in_valid(take), .in_p, .in_x, .in_flags, .in_last,
    .res_valid, .res_result, .res_flags
  );

  credit_fifo #(.WIDTH(34), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready),
    .accept(take && in_last),
    .push(res_valid),
    .push_data({res_flags, res_result}),
    .out_valid, .out_ready,
    .out_data({out_flags, out_result})
  );
`ifndef SYNTHESIS
  stream_checker #(.NAME("fp32_acc.in"), .WIDTH(PW + 11 + 3)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_p, in_x, in_flags, in_last})
  );
  stream_checker #(.NAME("fp32_acc.out"), .WIDTH(34)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_flags, out_result})
  );
`endif
endmodule
