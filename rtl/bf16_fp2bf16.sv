// FP32 -> bfloat16 converter of the bfloat16 baseline (docs/spec.md, "bfloat16 baseline"): the operands of
// bf16_mac produced on chip from binary32 tensors, as fp2bfp produces FlexBlock's. N elements per beat;
// each is rounded to nearest even on its bit pattern, (bits + 0x7FFF + bit16) >> 16 (bfloat16 has binary32's
// exponent field, so subnormals round like any value and a carry out of the fraction moves into the
// exponent, up to Inf), NaN becomes the canonical 0x7FC0, Inf stays Inf.
// The rounding sits between the input port and a credit FIFO (pushed at the edge that takes the beat):
// outputs registered, in_ready the FIFO's registered credit count, one beat per cycle.
/* verilator lint_off MULTITOP */  // a top-level unit of its own, beside the others in rtl/
module bf16_fp2bf16 #(
  parameter int N = 4  // elements per beat
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            in_valid,
  output logic            in_ready,
  input  logic [32*N-1:0] in_x,      // element i at [32i +: 32], binary32 bits
  output logic            out_valid,
  input  logic            out_ready,
  output logic [16*N-1:0] out_y      // element i at [16i +: 16], bfloat16 bits
);
  logic [16*N-1:0] y;

  for (genvar i = 0; i < N; i++) begin : g_elem
    logic [31:0] x;
    assign x = in_x[32*i +: 32];
    // no carry out of bit 31: the largest non-NaN pattern is -Inf, 0xFF800000
    assign y[16*i +: 16] = (x[30:23] == 8'hFF && x[22:0] != '0) ? 16'h7FC0
                         : 16'((x + 32'h7FFF + 32'(x[16])) >> 16);
  end

  wire take = in_valid && in_ready;

  credit_fifo #(.WIDTH(16 * N), .DEPTH(2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready),
    .accept(take),
    .push(take),
    .push_data(y),
    .out_valid, .out_ready,
    .out_data(out_y)
  );
`ifndef SYNTHESIS
  stream_checker #(.NAME("bf16_fp2bf16.in"), .WIDTH(32 * N)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data(in_x)
  );
  stream_checker #(.NAME("bf16_fp2bf16.out"), .WIDTH(16 * N)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data(out_y)
  );
`endif
endmodule
