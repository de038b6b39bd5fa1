// The depthwise vector unit (docs/spec.md section 6, "The depthwise vector unit"): a 3x3 depthwise conv
// (stride 1, padding 1) on one group of K channels per job, FWD, BWD or WG, beside the PE array.
//
// Lanes are channels: a block is the K channels of one pixel (or one kernel tap) with one shared exponent,
// and lane c multiplies element c of two blocks, one product per cycle, the taps in time:
//   FWD  Y[p]   = sum_d X[p + d] k[d]        one output per (3 x 3 minus border) cycles, taps in raster order
//   BWD  dX[q]  = sum_d dY[q + d] k[8 - d]   the same walk on dY, the kernel read turned 180 degrees
//   WG   dW[d] += X[p + d] dY[p]             per dY pixel its taps, tap d into the lane's sum entry d;
//                                            9 read-out beats (d = 0..8) after the last pixel
// Taps outside the map are skipped by the sequencer (no cycle), so a border output has fewer terms.
//
// Data path: the map stream (`x`: X, or dY for BWD) is written once, in raster order, into a line buffer of
// 4 map rows (slot = row mod 4, W_MAX blocks each; op_ram); every tap is one read of it. The kernel's 9
// blocks sit in a register file loaded per job (`k`); WG's dY blocks (`g`) come one per pixel through a
// holding register. The sequencer issues one op per cycle into a fixed pipeline that never stalls:
//   issue (line-buffer read, kernel / dY operand) -> operand registers -> product (dw_lane) -> term ->
//   sum stage (pushes a result into the credit FIFO)
// Results are reserved a FIFO credit when their op issues (an output's last tap, a read-out, an error
// beat); without one the sequencer holds (the stall rule), so nothing is lost under back-pressure and
// every `ready` is a register.
module dw_unit #(
  parameter int K     = 16,   // lanes: channels per block
  parameter int W_MAX = 112   // the widest map row the line buffer holds (>= 2)
) (
  input  logic              clk,
  input  logic              rst_n,
  // one job: pass (0 FWD, 1 BWD, 2 WG, 3 reserved), map H x W, modes of the map / of the kernel or dY
  input  logic              cfg_valid,
  output logic              cfg_ready,
  input  logic [1:0]        cfg_pass,
  input  logic [15:0]       cfg_h,
  input  logic [15:0]       cfg_w,
  input  logic [1:0]        cfg_mode_a,
  input  logic [1:0]        cfg_mode_b,
  // FWD / BWD: the 9 kernel blocks, tap d = 3 (dh + 1) + (dw + 1)
  input  logic              k_valid,
  output logic              k_ready,
  input  logic [7:0]        k_exp,
  input  logic [K-1:0]      k_sign,
  input  logic [16*K-1:0]   k_mag,
  input  logic [1:0]        k_flags,
  // the map, H x W blocks in raster order: X (FWD, WG) or dY (BWD)
  input  logic              x_valid,
  output logic              x_ready,
  input  logic [7:0]        x_exp,
  input  logic [K-1:0]      x_sign,
  input  logic [16*K-1:0]   x_mag,
  input  logic [1:0]        x_flags,
  // WG: dY, H x W blocks in raster order
  input  logic              g_valid,
  output logic              g_ready,
  input  logic [7:0]        g_exp,
  input  logic [K-1:0]      g_sign,
  input  logic [16*K-1:0]   g_mag,
  input  logic [1:0]        g_flags,
  // results: one beat per output pixel (FWD/BWD), 9 per job (WG), or one error beat
  output logic              out_valid,
  input  logic              out_ready,
  output logic [32*K-1:0]   out_result,
  output logic [2*K-1:0]    out_flags,
  output logic              out_last,
  output logic              out_error
);
  import flexblock_pkg::*;

  localparam int BW       = 8 + K + 16 * K + 2;                 // a block: {flags, mag, sign, exp}
  localparam int CW       = (W_MAX > 1) ? $clog2(W_MAX) : 1;    // column address bits
  localparam int LB_DEPTH = 4 << CW;                            // 4 row slots
  localparam int LATENCY  = 3;                                  // credit (issue edge) -> push
  localparam logic [1:0] P_FWD = 2'd0, P_BWD = 2'd1, P_WG = 2'd2;

  typedef enum logic [1:0] {IDLE, RUN, READ, ERR} phase_e;

  // ---- job registers ---------------------------------------------------------------------------------
  phase_e      phase_q, phase_d;
  logic [1:0]  pass_q, mode_a_q, mode_b_q;
  logic [15:0] h_q, w_q;
  logic        cfg_ready_q, k_ready_q, x_ready_q, g_ready_q;

  wire cfg_take = cfg_valid && cfg_ready_q;
  wire k_take   = k_valid && k_ready_q;
  wire x_take   = x_valid && x_ready_q;
  wire g_take   = g_valid && g_ready_q;
  wire bad_cfg  = cfg_pass == 2'd3 || cfg_h == '0 || cfg_w == '0 || 32'(cfg_w) > W_MAX;
  wire is_wg    = pass_q == P_WG;

  // ---- kernel register file ----------------------------------------------------------------------------
  logic [BW-1:0] krf_q [9];
  logic [3:0]    kcnt_q;
  always_ff @(posedge clk) begin
    if (k_take) krf_q[kcnt_q] <= {k_flags, k_mag, k_sign, k_exp};
  end

  // ---- input side: the line buffer's write position -----------------------------------------------------
  logic [15:0] in_row_q, in_col_q;
  logic [1:0]  in_slot_q;
  logic        in_done_q;
  wire         in_last = in_row_q == h_q - 16'd1 && in_col_q == w_q - 16'd1;

  // ---- dY holding register (WG) -----------------------------------------------------------------------
  logic [BW-1:0] g_hold_q, g_cur_q;
  logic          g_full_q, g_done_q;
  logic [15:0]   g_row_q, g_col_q;
  wire           g_last = g_row_q == h_q - 16'd1 && g_col_q == w_q - 16'd1;

  // ---- sequencer: output (FWD/BWD) or pixel (WG) (y, x), tap (dh, dw) in 0..2 = offset + 1 --------------
  logic [15:0] y_q, x_q;
  logic [1:0]  y_slot_q, dh_q, dw_q;

  wire        h_last   = y_q == h_q - 16'd1;
  wire        w_last   = x_q == w_q - 16'd1;
  wire [1:0]  dh_lo    = (y_q == '0) ? 2'd1 : 2'd0;
  wire [1:0]  dh_hi    = h_last ? 2'd1 : 2'd2;
  wire [1:0]  dw_lo    = (x_q == '0) ? 2'd1 : 2'd0;
  wire [1:0]  dw_hi    = w_last ? 2'd1 : 2'd2;
  wire        tap_first = dh_q == dh_lo && dw_q == dw_lo;
  wire        tap_last  = dh_q == dh_hi && dw_q == dw_hi;
  wire        px_last   = h_last && w_last;
  wire [3:0]  tap       = 4'({dh_q, 1'b0}) + 4'(dh_q) + 4'(dw_q);  // 3 dh + dw
  // the window of (y, x) is in the buffer once input (min(y + 1, H - 1), min(x + 1, W - 1)) is
  wire [15:0] need_row  = h_last ? y_q : y_q + 16'd1;
  wire [15:0] need_col  = w_last ? x_q : x_q + 16'd1;
  wire        win_ok    = in_done_q || in_row_q > need_row || (in_row_q == need_row && in_col_q > need_col);
  // WG: tap d's first pixel (its sum starts from +0); a read-out of a tap no pixel has is +0
  wire        wg_first  = y_q == ((dh_q == 2'd0) ? 16'd1 : 16'd0) && x_q == ((dw_q == 2'd0) ? 16'd1 : 16'd0);
  wire        rd_empty  = (dh_q != 2'd1 && h_q == 16'd1) || (dw_q != 2'd1 && w_q == 16'd1);

  logic can_accept;  // a result credit is free
  wire issue_tap  = phase_q == RUN && win_ok
                 && (is_wg ? (!tap_first || g_full_q) : (kcnt_q == 4'd9 && (!tap_last || can_accept)));
  wire issue_read = phase_q == READ && can_accept;
  wire issue_err  = phase_q == ERR && can_accept;
  wire g_pop      = issue_tap && is_wg && tap_first;
  wire push_op    = (issue_tap && !is_wg && tap_last) || issue_read || issue_err;  // takes a credit

  // next state of the sequencer
  logic [15:0] y_d, x_d;
  logic [1:0]  y_slot_d, dh_d, dw_d;
  always_comb begin
    phase_d = phase_q;
    y_d = y_q;  x_d = x_q;  y_slot_d = y_slot_q;  dh_d = dh_q;  dw_d = dw_q;
    if (cfg_take) begin
      if (bad_cfg) phase_d = ERR;
      else         phase_d = RUN;
      y_d = '0;  x_d = '0;  y_slot_d = '0;  dh_d = 2'd1;  dw_d = 2'd1;
    end else if (issue_tap) begin
      if (!tap_last) begin
        if (dw_q == dw_hi) begin
          dw_d = dw_lo;
          dh_d = dh_q + 2'd1;
        end else begin
          dw_d = dw_q + 2'd1;
        end
      end else if (px_last) begin
        if (is_wg) phase_d = READ;
        else       phase_d = IDLE;
        dh_d = 2'd0;  dw_d = 2'd0;  // the read-out walks the taps in raster order
      end else if (w_last) begin
        y_d = y_q + 16'd1;  x_d = '0;  y_slot_d = y_slot_q + 2'd1;
        dh_d = 2'd0;  dw_d = 2'd1;  // a new row >= 1, column 0
      end else begin
        x_d = x_q + 16'd1;
        dh_d = dh_lo;  dw_d = 2'd0;
      end
    end else if (issue_read) begin
      if (tap == 4'd8) phase_d = IDLE;
      if (dw_q == 2'd2) begin
        dw_d = 2'd0;
        dh_d = dh_q + 2'd1;
      end else begin
        dw_d = dw_q + 2'd1;
      end
    end else if (issue_err) begin
      phase_d = IDLE;
    end
  end

  // next state of the input side (cleared by a cfg beat: a job starts with an empty buffer)
  logic [15:0] in_row_d, g_row_d, g_col_d;
  logic        in_done_d, g_full_d, g_done_d;
  logic [3:0]  kcnt_d;
  logic [1:0]  pass_d;
  always_comb begin
    in_row_d  = in_row_q;
    in_done_d = in_done_q;
    if (x_take) begin
      if (in_last) in_done_d = 1'b1;
      if (in_col_q == w_q - 16'd1) in_row_d = in_row_q + 16'd1;
    end
    g_row_d  = g_row_q;  g_col_d = g_col_q;  g_done_d = g_done_q;
    if (g_take) begin
      if (g_last) g_done_d = 1'b1;
      if (g_col_q == w_q - 16'd1) begin
        g_col_d = '0;
        g_row_d = g_row_q + 16'd1;
      end else begin
        g_col_d = g_col_q + 16'd1;
      end
    end
    g_full_d = (g_full_q && !g_pop) || g_take;
    kcnt_d   = kcnt_q + 4'(k_take);
    pass_d   = pass_q;
    if (cfg_take) begin
      in_row_d = '0;  in_done_d = 1'b0;  g_row_d = '0;  g_col_d = '0;  g_done_d = 1'b0;  g_full_d = 1'b0;
      kcnt_d = '0;  pass_d = cfg_pass;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      phase_q     <= IDLE;
      pass_q      <= P_FWD;
      mode_a_q    <= MODE_FB24;
      mode_b_q    <= MODE_FB24;
      h_q         <= 16'd1;
      w_q         <= 16'd1;
      kcnt_q      <= '0;
      in_row_q    <= '0;
      in_col_q    <= '0;
      in_slot_q   <= '0;
      in_done_q   <= 1'b1;
      g_row_q     <= '0;
      g_col_q     <= '0;
      g_full_q    <= 1'b0;
      g_done_q    <= 1'b1;
      y_q         <= '0;
      x_q         <= '0;
      y_slot_q    <= '0;
      dh_q        <= '0;
      dw_q        <= '0;
      cfg_ready_q <= 1'b0;
      k_ready_q   <= 1'b0;
      x_ready_q   <= 1'b0;
      g_ready_q   <= 1'b0;
    end else begin
      phase_q  <= phase_d;
      pass_q   <= pass_d;
      if (cfg_take) begin
        mode_a_q <= cfg_mode_a;
        mode_b_q <= cfg_mode_b;
        h_q      <= cfg_h;
        w_q      <= cfg_w;
      end
      kcnt_q    <= kcnt_d;
      in_row_q  <= in_row_d;
      in_done_q <= in_done_d;
      if (cfg_take) begin
        in_col_q  <= '0;
        in_slot_q <= '0;
      end else if (x_take) begin
        in_col_q  <= (in_col_q == w_q - 16'd1) ? '0 : in_col_q + 16'd1;
        in_slot_q <= (in_col_q == w_q - 16'd1) ? in_slot_q + 2'd1 : in_slot_q;
      end
      g_row_q  <= g_row_d;
      g_col_q  <= g_col_d;
      g_full_q <= g_full_d;
      g_done_q <= g_done_d;
      y_q      <= y_d;
      x_q      <= x_d;
      y_slot_q <= y_slot_d;
      dh_q     <= dh_d;
      dw_q     <= dw_d;
      // every ready from the next state: input row r overwrites slot r mod 4, free once the sequencer
      // has left row r - 3 (rows y - 1 .. y + 1 are read for row y)
      cfg_ready_q <= phase_d == IDLE;
      k_ready_q   <= phase_d == RUN && pass_d != P_WG && kcnt_d != 4'd9;
      x_ready_q   <= phase_d == RUN && !in_done_d && 17'(in_row_d) <= 17'(y_d) + 17'd2;
      g_ready_q   <= phase_d == RUN && pass_d == P_WG && !g_done_d && !g_full_d;
    end
  end

  always_ff @(posedge clk) begin
    if (g_take) g_hold_q <= {g_flags, g_mag, g_sign, g_exp};
    if (g_pop)  g_cur_q  <= g_hold_q;
  end

  // ---- the line buffer ----------------------------------------------------------------------------------
  logic [BW-1:0]    a1;  // the tap's map block (registered read)
  logic [CW-1:0]    rd_col;
  logic [1:0]       rd_slot;
  assign rd_slot = y_slot_q + dh_q + 2'd3;           // row y + dh - 1, mod 4
  assign rd_col  = CW'(x_q) + CW'(dw_q) - CW'(1);    // column x + dw - 1 (inside the map when issued)
  op_ram #(.WIDTH(BW), .DEPTH(LB_DEPTH)) u_line_buffer (
    .clk,
    .wr_en(x_take), .wr_addr({in_slot_q, CW'(in_col_q)}), .wr_data({x_flags, x_mag, x_sign, x_exp}),
    .rd_en(issue_tap), .rd_addr({rd_slot, rd_col}), .rd_data(a1)
  );

  // ---- the op pipeline ---------------------------------------------------------------------------------
  // op fields: tap (a product), push (its sum stage pushes a result), first, idx, last (out_last), zero
  // (result +0, no flags), err (out_error), and the job's modes (the next job may start while it drains)
  logic          op1_v, op2_v, op3_v;
  logic          op1_tap, op2_tap, op3_tap, op1_push, op2_push, op3_push, op1_first, op2_first, op3_first;
  logic          op1_last, op2_last, op3_last, op1_zero, op2_zero, op3_zero, op1_err, op2_err, op3_err;
  logic [3:0]    op1_idx, op2_idx, op3_idx;
  logic [1:0]    op1_mode_a, op1_mode_b, fl2_q, fl3_q;
  logic [BW-1:0] b1_q;
  logic signed [11:0] x2_q;

  wire [3:0] kidx = (pass_q == P_BWD) ? 4'd8 - tap : tap;
  wire [BW-1:0] b_sel = is_wg ? (tap_first ? g_hold_q : g_cur_q) : krf_q[kidx];

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      op1_v <= 1'b0;
      op2_v <= 1'b0;
      op3_v <= 1'b0;
    end else begin
      op1_v <= issue_tap || issue_read || issue_err;
      op2_v <= op1_v;
      op3_v <= op2_v;
    end
  end

  always_ff @(posedge clk) begin
    op1_tap    <= issue_tap;
    op1_push   <= push_op;
    op1_first  <= is_wg ? wg_first : tap_first;
    op1_idx    <= (issue_tap && !is_wg) ? 4'd0 : tap;
    op1_last   <= issue_err || (issue_read && tap == 4'd8) || (issue_tap && !is_wg && px_last);
    op1_zero   <= issue_err || rd_empty;
    op1_err    <= issue_err;
    op1_mode_a <= mode_a_q;
    op1_mode_b <= mode_b_q;
    if (issue_tap) b1_q <= b_sel;
    // operands -> product: X = Ea + Eb - 254 - (Wa - 1) - (Wb - 1) for the whole block pair
    {op2_tap, op2_push, op2_first, op2_last, op2_zero, op2_err, op2_idx} <=
      {op1_tap, op1_push, op1_first, op1_last, op1_zero, op1_err, op1_idx};
    x2_q  <= 12'(a1[7:0]) + 12'(b1_q[7:0]) - 12'sd252
           - 12'(mode_width(op1_mode_a)) - 12'(mode_width(op1_mode_b));
    fl2_q <= a1[BW-1 -: 2] | b1_q[BW-1 -: 2];
    {op3_tap, op3_push, op3_first, op3_last, op3_zero, op3_err, op3_idx} <=
      {op2_tap, op2_push, op2_first, op2_last, op2_zero, op2_err, op2_idx};
    fl3_q <= fl2_q;
  end

  logic [32*K-1:0] res_result;
  logic [2*K-1:0]  res_flags;
  for (genvar i = 0; i < K; i++) begin : g_lane
    dw_lane u_lane (
      .clk,
      .mul_en(op1_v && op1_tap),
      .a_sign(a1[8 + i]), .a_mag(a1[8 + K + 16 * i +: 16]),
      .b_sign(b1_q[8 + i]), .b_mag(b1_q[8 + K + 16 * i +: 16]),
      .term_en(op2_v && op2_tap), .term_x(x2_q),
      .acc_en(op3_v && op3_tap), .acc_first(op3_first), .acc_idx(op3_idx), .acc_flags(fl3_q),
      .rd_zero(op3_zero),
      .res_result(res_result[32 * i +: 32]), .res_flags(res_flags[2 * i +: 2])
    );
  end

  credit_fifo #(.WIDTH(34 * K + 2), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept,
    .accept(push_op),
    .push(op3_v && op3_push),
    .push_data({op3_err, op3_last, res_flags, res_result}),
    .out_valid, .out_ready,
    .out_data({out_error, out_last, out_flags, out_result})
  );

  assign cfg_ready = cfg_ready_q;
  assign k_ready   = k_ready_q;
  assign x_ready   = x_ready_q;
  assign g_ready   = g_ready_q;

`ifndef SYNTHESIS
  stream_checker #(.NAME("dw_unit.cfg"), .WIDTH(38)) u_cfg_check (
    .clk, .rst_n, .valid(cfg_valid), .ready(cfg_ready), .data({cfg_pass, cfg_h, cfg_w, cfg_mode_a, cfg_mode_b})
  );
  stream_checker #(.NAME("dw_unit.k"), .WIDTH(BW)) u_k_check (
    .clk, .rst_n, .valid(k_valid), .ready(k_ready), .data({k_flags, k_mag, k_sign, k_exp})
  );
  stream_checker #(.NAME("dw_unit.x"), .WIDTH(BW)) u_x_check (
    .clk, .rst_n, .valid(x_valid), .ready(x_ready), .data({x_flags, x_mag, x_sign, x_exp})
  );
  stream_checker #(.NAME("dw_unit.g"), .WIDTH(BW)) u_g_check (
    .clk, .rst_n, .valid(g_valid), .ready(g_ready), .data({g_flags, g_mag, g_sign, g_exp})
  );
  stream_checker #(.NAME("dw_unit.out"), .WIDTH(34 * K + 2)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_error, out_last, out_flags, out_result})
  );
  // the sequencer never reads a tap outside the map, and never issues past the input it needs
  always @(posedge clk) begin
    if (rst_n && issue_tap) begin
      assert (32'(x_q) + 32'(dw_q) >= 32'd1 && 32'(x_q) + 32'(dw_q) <= 32'(w_q)
              && 32'(y_q) + 32'(dh_q) >= 32'd1 && 32'(y_q) + 32'(dh_q) <= 32'(h_q))
        else $fatal(1, "dw_unit: tap outside the map");
    end
  end
`endif
endmodule
