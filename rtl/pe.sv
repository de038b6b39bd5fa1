// One processing element: the multi-mode multiplier, the block dot-product register, the exponent path,
// and the binary32 accumulator (docs/spec.md section 3), as a four-stage pipeline that never stalls:
//
//   multiply  the 16 sub-multipliers and their carry-save sum          -> partial_q
//   block     the block dot product P, summed over a block pair's steps -> p_q (on its last step)
//   term      t = fp32(P * 2^X)                                          (fp32_accumulator)
//   sum       acc = fp32(acc + t), the only single-cycle loop            (fp32_accumulator)
//
// The array steps every PE in lockstep; the PE's only back-pressure is its result FIFO. A tile's result
// is reserved a FIFO entry when the tile's last step enters the pipeline (`acc_ready`, a register, says
// whether one is free), so the pipeline itself never has to stop.
module pe #(
  parameter int K  = 16,
  parameter int PW = 32 + $clog2(K) + 1  // |P| < K * (2^16-1)^2
) (
  input  logic        clk,
  input  logic        rst_n,
  input  logic [8:0]  mode_pair,    // one-hot operand-mode pair (flexblock_pkg::mode_pair_onehot)
  input  logic        step_valid,
  input  logic        step_first,   // first step of a block pair
  input  logic        step_last,    // last step of a block pair
  input  logic        tile_last,    // ... and that block pair is the tile's last
  input  logic [7:0]  a_exp,
  input  logic [1:0]  a_flags,
  input  logic [15:0] a_sign,
  input  logic [255:0] a_mag,
  input  logic [7:0]  b_exp,
  input  logic [1:0]  b_flags,
  input  logic [15:0] b_sign,
  input  logic [255:0] b_mag,
  output logic        acc_ready,    // a tile's last step may enter the pipeline this cycle
  output logic        out_valid,
  input  logic        out_ready,
  output logic [31:0] out_result,
  output logic [1:0]  out_flags
);
  import flexblock_pkg::*;

  // Edges from a tile's last step to its result in the FIFO: multiply, block, term (the sum stage
  // pushes in the same edge it adds). DEPTH = LATENCY + 2 keeps one tile per cycle with out_ready high.
  localparam int LATENCY = 3;

  // ---- multiply stage ---------------------------------------------------------------------------
  logic signed [36:0]   partial;
  logic signed [36:0]   partial_q;
  logic                 m_valid_q, m_first_q, m_last_q, m_tile_last_q;
  logic signed [10:0]   lsb_exp, m_x_q;
  logic [1:0]           m_flags_q;

  mm_multiplier u_mul (
    .mode_pair, .a_sign, .a_mag, .b_sign, .b_mag, .sum(partial)
  );

  // X = Ea + Eb - 254 - (Wa - 1) - (Wb - 1) = Ea + Eb - (252 + Wa + Wb), the constant chosen by the pair
  logic [10:0] lsb_offset;
  always_comb begin
    lsb_offset = '0;
    for (int c = 0; c < 9; c++)
      if (mode_pair[c]) lsb_offset = 11'd252 + 11'(mode_width(2'(c / 3))) + 11'(mode_width(2'(c % 3)));
  end
  assign lsb_exp = 11'(a_exp) + 11'(b_exp) - lsb_offset;

  always_ff @(posedge clk) begin
    if (!rst_n) m_valid_q <= 1'b0;
    else        m_valid_q <= step_valid;
  end
  always_ff @(posedge clk) begin
    if (step_valid) begin
      partial_q     <= partial;
      m_first_q     <= step_first;
      m_last_q      <= step_last;
      m_tile_last_q <= tile_last;
      m_x_q         <= lsb_exp;
      m_flags_q     <= a_flags | b_flags;
    end
  end

  // ---- block stage: P = the sum of a block pair's steps ----------------------------------------
  logic signed [PW-1:0] block_sum_q, block_sum_d, p_q;
  logic                 p_valid_q, p_last_q;
  logic signed [10:0]   p_x_q;
  logic [1:0]           p_flags_q;

  assign block_sum_d = m_first_q ? PW'(partial_q) : block_sum_q + PW'(partial_q);

  always_ff @(posedge clk) begin
    if (!rst_n) p_valid_q <= 1'b0;
    else        p_valid_q <= m_valid_q && m_last_q;
  end
  always_ff @(posedge clk) begin
    if (m_valid_q) block_sum_q <= block_sum_d;
    if (m_valid_q && m_last_q) begin
      p_q       <= block_sum_d;
      p_last_q  <= m_tile_last_q;
      p_x_q     <= m_x_q;
      p_flags_q <= m_flags_q;
    end
  end

  // ---- term and sum stages, result FIFO ---------------------------------------------------------
  logic        res_valid;
  logic [31:0] res_result;
  logic [1:0]  res_flags;

  fp32_accumulator #(.PW(PW)) u_acc (
    .clk, .rst_n,
    .in_valid(p_valid_q), .in_p(p_q), .in_x(p_x_q), .in_flags(p_flags_q), .in_last(p_last_q),
    .res_valid, .res_result, .res_flags
  );

  credit_fifo #(.WIDTH(34), .DEPTH(LATENCY + 2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(acc_ready),
    .accept(step_valid && step_last && tile_last),
    .push(res_valid),
    .push_data({res_flags, res_result}),
    .out_valid, .out_ready,
    .out_data({out_flags, out_result})
  );
endmodule
