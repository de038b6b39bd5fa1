// An R x C array of FAST fMACs (docs/spec.md "FAST 4"), output-stationary: every beat carries the k-th
// group of each of ROWS rows of A and of COLS columns of B; fMAC (r, c) multiplies A's row r with B's
// column c, so a tile of ROWS x COLS outputs is the reduction over its group pairs, `in_last` on the
// tile's last one. All fMACs take the same beats with the same precisions, so they run in lockstep
// (checked in simulation): the array's ready/valid are those of fMAC (0, 0), and a tile's results leave
// in one beat. This is the structure models.fast.array_cycles counts.
module fast_array #(
  parameter int ROWS = 2,
  parameter int COLS = 2,
  parameter int G    = 16,
  parameter int EW   = 8
) (
  input  logic                   clk,
  input  logic                   rst_n,
  input  logic                   in_valid,
  output logic                   in_ready,
  input  logic [1:0]             in_prec_a,
  input  logic [1:0]             in_prec_b,
  input  logic [8*ROWS-1:0]      in_a_base,   // row r in slot r of every A field
  input  logic [EW*ROWS-1:0]     in_a_exp,
  input  logic [G*ROWS-1:0]      in_a_sign,
  input  logic [8*G*ROWS-1:0]    in_a_mag,
  input  logic [2*ROWS-1:0]      in_a_flags,
  input  logic [8*COLS-1:0]      in_b_base,   // column c in slot c of every B field
  input  logic [EW*COLS-1:0]     in_b_exp,
  input  logic [G*COLS-1:0]      in_b_sign,
  input  logic [8*G*COLS-1:0]    in_b_mag,
  input  logic [2*COLS-1:0]      in_b_flags,
  input  logic                   in_last,     // the tile's last group pair
  output logic                   out_valid,
  input  logic                   out_ready,
  output logic [32*ROWS*COLS-1:0] out_result, // C[r][c] in slot r*COLS + c
  output logic [2*ROWS*COLS-1:0]  out_flags
);
  logic [ROWS*COLS-1:0] mac_in_ready, mac_out_valid;

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    for (genvar c = 0; c < COLS; c++) begin : g_col
      localparam int S = r * COLS + c;
      fast_mac #(.G(G), .EW(EW)) u_mac (
        .clk, .rst_n,
        .in_valid,
        .in_ready(mac_in_ready[S]),
        .in_prec_a, .in_prec_b,
        .in_a_base(in_a_base[8*r +: 8]),
        .in_a_exp(in_a_exp[EW*r +: EW]),
        .in_a_sign(in_a_sign[G*r +: G]),
        .in_a_mag(in_a_mag[8*G*r +: 8*G]),
        .in_a_flags(in_a_flags[2*r +: 2]),
        .in_b_base(in_b_base[8*c +: 8]),
        .in_b_exp(in_b_exp[EW*c +: EW]),
        .in_b_sign(in_b_sign[G*c +: G]),
        .in_b_mag(in_b_mag[8*G*c +: 8*G]),
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
  lockstep_checker #(.NAME("fast_array"), .N(ROWS*COLS)) u_lockstep (
    .clk, .rst_n, .in_ready(mac_in_ready), .out_valid(mac_out_valid)
  );
`endif
endmodule
