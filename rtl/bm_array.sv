// An R x C array of Block Minifloat MACs (docs/spec.md, "Block Minifloat"), output-stationary, as pe_array
// and fast_array: every beat carries the k-th block of each of ROWS rows of A and of COLS columns of B;
// MAC (r, c) multiplies A's row r with B's column c, so a tile of ROWS x COLS outputs is the dot product of
// its block pairs, `in_last` on the tile's last one. A's format (`in_a_fmt`) is the whole tile's. All MACs
// take the same beats, so they run in lockstep (checked in simulation): the array's ready/valid are those of
// MAC (0, 0), and a tile's results leave in one beat. This is the structure
// models.block_minifloat.array_cycles counts.
/* verilator lint_off MULTITOP */  // a top-level unit of its own, beside the others in rtl/
module bm_array #(
  parameter int ROWS = 2,
  parameter int COLS = 2,
  parameter int K    = 16,
  parameter int EX   = 2,
  parameter int MX   = 5,
  parameter int EG   = 4,
  parameter int MG   = 3
) (
  input  logic                          clk,
  input  logic                          rst_n,
  input  logic                          in_valid,
  output logic                          in_ready,
  input  logic                          in_a_fmt,    // 0: A is eXmX, 1: A is eGmG (every row)
  input  logic [8*ROWS-1:0]             in_a_se,     // row r in slot r of every A field
  input  logic [ROWS*K*(1+EX+MX)-1:0]   in_a_elems,
  input  logic [2*ROWS-1:0]             in_a_flags,
  input  logic [8*COLS-1:0]             in_b_se,     // column c in slot c of every B field
  input  logic [COLS*K*(1+EX+MX)-1:0]   in_b_elems,
  input  logic [2*COLS-1:0]             in_b_flags,
  input  logic                          in_last,     // the tile's last block pair
  output logic                          out_valid,
  input  logic                          out_ready,
  output logic [32*ROWS*COLS-1:0]       out_result,  // C[r][c] in slot r*COLS + c
  output logic [2*ROWS*COLS-1:0]        out_flags
);
  localparam int BW = K * (1 + EX + MX);  // one block's elements

  logic [ROWS*COLS-1:0] mac_in_ready, mac_out_valid;

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    for (genvar c = 0; c < COLS; c++) begin : g_col
      localparam int S = r * COLS + c;
      bm_mac #(.K(K), .EX(EX), .MX(MX), .EG(EG), .MG(MG)) u_mac (
        .clk, .rst_n,
        .in_valid,
        .in_ready(mac_in_ready[S]),
        .in_a_fmt,
        .in_a_se(in_a_se[8*r +: 8]),
        .in_a_elems(in_a_elems[BW*r +: BW]),
        .in_a_flags(in_a_flags[2*r +: 2]),
        .in_b_se(in_b_se[8*c +: 8]),
        .in_b_elems(in_b_elems[BW*c +: BW]),
        .in_b_flags(in_b_flags[2*c +: 2]),
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
  lockstep_checker #(.NAME("bm_array"), .N(ROWS*COLS)) u_lockstep (
    .clk, .rst_n, .in_ready(mac_in_ready), .out_valid(mac_out_valid)
  );
`endif
endmodule
