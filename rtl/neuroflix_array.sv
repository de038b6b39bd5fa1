// An R x C array of NeuroFlix MACs (docs/spec.md, "NeuroFlix"), output-stationary, as pe_array and
// fast_array: every beat carries the k-th group of G elements of each of ROWS rows of A (fixed point) and of
// COLS columns of B (fixed point or float); MAC (r, c) multiplies A's row r with B's column c, so a tile of
// ROWS x COLS outputs is the reduction over its groups, `in_last` on the tile's last one. The modes
// (`in_wa`, `in_fmt_b`) and the result scale are the tile's (per-tensor formats and scales). All MACs take
// the same beats in the same mode, so their brick-step engines run in lockstep (checked in simulation): the
// array's ready/valid are those of MAC (0, 0), and a tile's results leave in one beat. This is the structure
// models.neuroflix.gemm_cycles counts.
module neuroflix_array #(
  parameter int ROWS = 2,
  parameter int COLS = 2,
  parameter int G    = 8,
  parameter int LW   = 32
) (
  input  logic                     clk,
  input  logic                     rst_n,
  input  logic                     in_valid,
  output logic                     in_ready,
  input  logic [8*G*ROWS-1:0]      in_a,        // row r's group in slot r (8*G bits)
  input  logic [16*G*COLS-1:0]     in_b,        // column c's group in slot c (16*G bits)
  input  logic                     in_wa,       // A: 0 = FX4, 1 = FX8
  input  logic [1:0]               in_fmt_b,    // B: 0 = FX4, 1 = FX8, 2 = E5M2, 3 = FP16
  input  logic signed [9:0]        in_scale,
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
      neuroflix_mac #(.G(G), .LW(LW)) u_mac (
        .clk, .rst_n,
        .in_valid,
        .in_ready(mac_in_ready[S]),
        .in_a(in_a[8*G*r +: 8*G]),
        .in_b(in_b[16*G*c +: 16*G]),
        .in_wa, .in_fmt_b, .in_scale,
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
  lockstep_checker #(.NAME("neuroflix_array"), .N(ROWS*COLS)) u_lockstep (
    .clk, .rst_n, .in_ready(mac_in_ready), .out_valid(mac_out_valid)
  );
`endif
endmodule
