// An R x C array of bfloat16 baseline MACs (docs/spec.md, "bfloat16 baseline"), output-stationary, as
// pe_array and fast_array: every beat carries the k-th group of N elements of each of ROWS rows of A and of
// COLS columns of B; MAC (r, c) multiplies A's row r with B's column c, so a tile of ROWS x COLS outputs is
// the reduction over its groups, `in_last` on the tile's last one. All MACs take the same beats, so they run
// in lockstep (checked in simulation): the array's ready/valid are those of MAC (0, 0), and a tile's results
// leave in one beat. This is the structure models.bf16_mac.gemm_cycles counts.
module bf16_array #(
  parameter int ROWS = 2,
  parameter int COLS = 2,
  parameter int N    = 4   // element pairs per beat and MAC
) (
  input  logic                     clk,
  input  logic                     rst_n,
  input  logic                     in_valid,
  output logic                     in_ready,
  input  logic [16*N*ROWS-1:0]     in_a,        // row r's group in slot r (16*N bits), bfloat16 bits
  input  logic [16*N*COLS-1:0]     in_b,        // column c's group in slot c
  input  logic                     in_last,     // the tile's last group
  output logic                     out_valid,
  input  logic                     out_ready,
  output logic [32*ROWS*COLS-1:0]  out_result,  // C[r][c] in slot r*COLS + c, binary32 bits
  output logic [2*ROWS*COLS-1:0]   out_flags
);
  logic [ROWS*COLS-1:0] mac_in_ready, mac_out_valid;

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    for (genvar c = 0; c < COLS; c++) begin : g_col
      localparam int S = r * COLS + c;
      bf16_mac #(.N(N)) u_mac (
        .clk, .rst_n,
        .in_valid,
        .in_ready(mac_in_ready[S]),
        .in_a(in_a[16*N*r +: 16*N]),
        .in_b(in_b[16*N*c +: 16*N]),
        .in_last,
        .out_valid(mac_out_valid[S]),
        .out_ready,
        .out_result(out_result[32*S +: 32]),
        .out_flags(out_flags[2*S +: 2])
      );
    end
  end

  assign in_ready  = mac_in_ready[0];
  assign out_valid = mac_out_valid[0];

`ifndef SYNTHESIS
  lockstep_checker #(.NAME("bf16_array"), .N(ROWS*COLS)) u_lockstep (
    .clk, .rst_n, .in_ready(mac_in_ready), .out_valid(mac_out_valid)
  );
`endif
endmodule
