// The FlexBlock core: a ROWS x COLS array of multi-mode PEs computing output-stationary GEMM tiles
// C[r][c] = sum_k A[r][k] * B[k][c] on BFP blocks along k (docs/spec.md section 4).
//
// Streams (valid/ready; every ready is a register output):
//   cfg  modes of A and B and the tile length in blocks; taken only when the array is idle, so it
//        applies to every tile whose operands come after it.
//   a    one block per row (row r in slot r), b  one block per column (column c in slot c).
//   out  one beat per tile: result (r, c) in slot r*COLS + c, binary32 bits and {overflow, invalid}.
// Each operand stream has a two-entry FIFO, so with both streams full a new block pair starts every
// step-count cycles: every cycle for FB12 x FB12, every 16 cycles for FB24 x FB24, and the 16
// sub-multipliers of every PE stay busy in every mode pair.
/* verilator lint_off MULTITOP */  // fp2bfp and pe_array are separate top-level units of the datapath
module pe_array #(
  parameter int ROWS = 4,
  parameter int COLS = 4,
  parameter int K    = 16   // elements per block, a multiple of 16
) (
  input  logic                   clk,
  input  logic                   rst_n,
  input  logic                   cfg_valid,
  output logic                   cfg_ready,
  input  logic [1:0]             cfg_mode_a,
  input  logic [1:0]             cfg_mode_b,
  input  logic [15:0]            cfg_kblocks,  // blocks per tile; 0 acts as 1
  input  logic                   a_valid,
  output logic                   a_ready,
  input  logic [8*ROWS-1:0]      a_exp,
  input  logic [K*ROWS-1:0]      a_sign,
  input  logic [16*K*ROWS-1:0]   a_mag,
  input  logic [2*ROWS-1:0]      a_flags,
  input  logic                   b_valid,
  output logic                   b_ready,
  input  logic [8*COLS-1:0]      b_exp,
  input  logic [K*COLS-1:0]      b_sign,
  input  logic [16*K*COLS-1:0]   b_mag,
  input  logic [2*COLS-1:0]      b_flags,
  output logic                   out_valid,
  input  logic                   out_ready,
  output logic [32*ROWS*COLS-1:0] out_result,
  output logic [2*ROWS*COLS-1:0]  out_flags
);
  import flexblock_pkg::*;

  localparam int BLOCK_BITS = 8 + K + 16 * K + 2;  // {exp, sign, mag, flags}
  localparam int A_BITS = ROWS * BLOCK_BITS;
  localparam int B_BITS = COLS * BLOCK_BITS;

  // ---- configuration ----------------------------------------------------------------------------
  logic [1:0]  mode_a, mode_b;
  logic [8:0]  mode_pair;    // the same pair, decoded one-hot for the PEs
  logic [15:0] kblocks;
  // A block pair takes na * nb * K / 16 steps, up to K (FB24 x FB24): the step counter holds K.
  localparam int SW = $clog2(K + 1);
  logic [4:0]    step_elems;   // element products per step: 16 / (na * nb)
  logic [SW-1:0] block_steps;  // steps per block pair: na * nb * K / 16

  // ---- operand FIFOs ----------------------------------------------------------------------------
  logic             a_q_valid, b_q_valid, pair_load;
  logic [A_BITS-1:0] a_q;
  logic [B_BITS-1:0] b_q;

  credit_fifo #(.WIDTH(A_BITS), .DEPTH(2)) u_a_fifo (
    .clk, .rst_n, .can_accept(a_ready), .accept(a_valid && a_ready),
    .push(a_valid && a_ready), .push_data({a_exp, a_sign, a_mag, a_flags}),
    .out_valid(a_q_valid), .out_ready(pair_load), .out_data(a_q)
  );
  credit_fifo #(.WIDTH(B_BITS), .DEPTH(2)) u_b_fifo (
    .clk, .rst_n, .can_accept(b_ready), .accept(b_valid && b_ready),
    .push(b_valid && b_ready), .push_data({b_exp, b_sign, b_mag, b_flags}),
    .out_valid(b_q_valid), .out_ready(pair_load), .out_data(b_q)
  );

  // ---- step control (all PEs in lockstep) -------------------------------------------------------
  logic        active;       // a block pair is in the sequencers
  logic [SW-1:0] step;       // step within the block pair
  logic [15:0] block_idx;    // block pair within the tile
  logic        acc_ready;    // the PEs' accumulators can take a block sum
  logic        step_last, tile_last, stall, advance;

  assign step_last = step == block_steps - SW'(1);
  assign tile_last = block_idx == kblocks - 16'd1;
  // Only a tile's last step needs room: it reserves its result's FIFO entry in every PE.
  assign stall     = active && step_last && tile_last && !acc_ready;
  assign advance   = active && !stall;
  assign pair_load = a_q_valid && b_q_valid && (!active || (step_last && advance));
  assign cfg_ready = !active && !a_q_valid && !b_q_valid && block_idx == '0;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      mode_a      <= MODE_FB24;
      mode_b      <= MODE_FB24;
      mode_pair   <= mode_pair_onehot(MODE_FB24, MODE_FB24);
      kblocks     <= 16'd1;
      active      <= 1'b0;
      step        <= '0;
      block_idx   <= '0;
    end else begin
      if (cfg_valid && cfg_ready) begin
        mode_a    <= cfg_mode_a;
        mode_b    <= cfg_mode_b;
        mode_pair <= mode_pair_onehot(cfg_mode_a, cfg_mode_b);
        kblocks <= (cfg_kblocks == '0) ? 16'd1 : cfg_kblocks;
      end
      if (pair_load) begin
        active <= 1'b1;
        step   <= '0;
      end else if (advance) begin
        if (step_last) active <= 1'b0;
        step <= step + SW'(1);
      end
      if (advance && step_last) block_idx <= tile_last ? '0 : block_idx + 16'd1;
    end
  end

  // na * nb is a power of two, 2^(log2 na + log2 nb): the step table is shifts of constants.
  logic [2:0] nibble_log2;
  assign nibble_log2 = 3'(mode_log2_nibbles(mode_a)) + 3'(mode_log2_nibbles(mode_b));
  assign block_steps = SW'(K / 16) << nibble_log2;
  assign step_elems  = 5'd16 >> nibble_log2;

  // ---- operand sequencers: one per row of A, one per column of B --------------------------------
  logic [7:0]   a_exp_s [ROWS];
  logic [1:0]   a_flags_s [ROWS];
  logic [15:0]  a_win_sign [ROWS];
  logic [255:0] a_win_mag [ROWS];
  logic [7:0]   b_exp_s [COLS];
  logic [1:0]   b_flags_s [COLS];
  logic [15:0]  b_win_sign [COLS];
  logic [255:0] b_win_mag [COLS];

  // Slot r of a FIFO word {exp[all], sign[all], mag[all], flags[all]}.
  for (genvar r = 0; r < ROWS; r++) begin : g_a_seq
    block_sequencer #(.K(K)) u_seq (
      .clk, .rst_n, .load(pair_load),
      .load_exp  (a_q[A_BITS - 8*ROWS + 8*r +: 8]),
      .load_sign (a_q[2*ROWS + 16*K*ROWS + K*r +: K]),
      .load_mag  (a_q[2*ROWS + 16*K*r +: 16*K]),
      .load_flags(a_q[2*r +: 2]),
      .shift(advance), .step_elems,
      .exp(a_exp_s[r]), .flags(a_flags_s[r]), .win_sign(a_win_sign[r]), .win_mag(a_win_mag[r])
    );
  end
  for (genvar c = 0; c < COLS; c++) begin : g_b_seq
    block_sequencer #(.K(K)) u_seq (
      .clk, .rst_n, .load(pair_load),
      .load_exp  (b_q[B_BITS - 8*COLS + 8*c +: 8]),
      .load_sign (b_q[2*COLS + 16*K*COLS + K*c +: K]),
      .load_mag  (b_q[2*COLS + 16*K*c +: 16*K]),
      .load_flags(b_q[2*c +: 2]),
      .shift(advance), .step_elems,
      .exp(b_exp_s[c]), .flags(b_flags_s[c]), .win_sign(b_win_sign[c]), .win_mag(b_win_mag[c])
    );
  end

  // ---- the PE grid ------------------------------------------------------------------------------
  logic pe_acc_ready [ROWS][COLS];
  logic pe_out_valid [ROWS][COLS];

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    for (genvar c = 0; c < COLS; c++) begin : g_col
      pe #(.K(K)) u_pe (
        .clk, .rst_n, .mode_pair,
        .step_valid(advance), .step_first(step == '0), .step_last, .tile_last,
        .a_exp(a_exp_s[r]), .a_flags(a_flags_s[r]), .a_sign(a_win_sign[r]), .a_mag(a_win_mag[r]),
        .b_exp(b_exp_s[c]), .b_flags(b_flags_s[c]), .b_sign(b_win_sign[c]), .b_mag(b_win_mag[c]),
        .acc_ready(pe_acc_ready[r][c]),
        .out_valid(pe_out_valid[r][c]), .out_ready,
        .out_result(out_result[32*(r*COLS + c) +: 32]),
        .out_flags(out_flags[2*(r*COLS + c) +: 2])
      );
    end
  end

  // The PEs see identical control, so their handshakes agree; PE (0, 0) speaks for all.
  assign acc_ready = pe_acc_ready[0][0];
  assign out_valid = pe_out_valid[0][0];

`ifndef SYNTHESIS
  stream_checker #(.NAME("pe_array.cfg"), .WIDTH(20)) u_cfg_check (
    .clk, .rst_n, .valid(cfg_valid), .ready(cfg_ready), .data({cfg_mode_a, cfg_mode_b, cfg_kblocks})
  );
  stream_checker #(.NAME("pe_array.a"), .WIDTH(A_BITS)) u_a_check (
    .clk, .rst_n, .valid(a_valid), .ready(a_ready), .data({a_exp, a_sign, a_mag, a_flags})
  );
  stream_checker #(.NAME("pe_array.b"), .WIDTH(B_BITS)) u_b_check (
    .clk, .rst_n, .valid(b_valid), .ready(b_ready), .data({b_exp, b_sign, b_mag, b_flags})
  );
  stream_checker #(.NAME("pe_array.out"), .WIDTH(34 * ROWS * COLS)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_result, out_flags})
  );

  initial assert (K % 16 == 0) else $fatal(1, "pe_array: K must be a multiple of 16");
  always @(posedge clk) begin
    if (rst_n) begin
      for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
          assert (pe_acc_ready[r][c] == acc_ready && pe_out_valid[r][c] == out_valid)
            else $fatal(1, "pe_array: PE (%0d, %0d) left lockstep", r, c);
    end
  end
`endif
endmodule
