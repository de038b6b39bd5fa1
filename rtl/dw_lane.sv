// One lane (one channel) of the depthwise vector unit (docs/spec.md section 6, "The depthwise vector unit"):
// one element product per cycle, section 3's term and sum rounding, and a small file of binary32 sums.
//
//   multiply  p = ma * mb, exact (32 bits), with the product's sign (0 for a zero product)    -> prod_q
//   term      t = fp32(p * 2^X): the PE's term stage (fp32_round) on a block pair of one element -> term_q
//   sum       acc[idx] = fp32((first ? +0 : acc[idx]) + t) (fp32_sum, the PE's), flags ORed  -> acc_q[idx]
//
// The unit's shared pipeline registers carry what every lane needs (X, the operand blocks' flags, first,
// idx); the lane holds only its data. FWD/BWD use entry 0 (one output's 9 taps back to back: the sum is a
// single-cycle loop, as in the PE); WG uses entry d for tap d. The result is the new sum (a tap op) or an
// entry as it stands (a read-out op), or +0 with no flags (an empty read-out, an error beat).
module dw_lane #(
  parameter int ENTRIES = 9
) (
  input  logic               clk,
  // multiply stage: the operand registers of the lane
  input  logic               mul_en,
  input  logic               a_sign,
  input  logic [15:0]        a_mag,
  input  logic               b_sign,
  input  logic [15:0]        b_mag,
  // term stage
  input  logic               term_en,
  input  logic signed [11:0] term_x,     // LSB exponent X of the product in prod_q
  // sum stage
  input  logic               acc_en,     // a tap op: update acc[acc_idx]
  input  logic               acc_first,  // ... starting from +0
  input  logic [3:0]         acc_idx,
  input  logic [1:0]         acc_flags,  // {overflow, invalid} of the op's operand blocks
  input  logic               rd_zero,    // a read-out of an empty sum, or an error beat: +0, no flags
  output logic [31:0]        res_result,
  output logic [1:0]         res_flags
);
  // ---- multiply --------------------------------------------------------------------------------------
  logic [31:0] prod_q;
  logic        psign_q;
  always_ff @(posedge clk) begin
    if (mul_en) begin
      prod_q  <= 32'(a_mag) * 32'(b_mag);
      psign_q <= (a_sign ^ b_sign) && a_mag != '0 && b_mag != '0;  // a zero product is +0
    end
  end

  // ---- term ------------------------------------------------------------------------------------------
  logic [31:0] term, term_q;
  // the PE's term rounding as it is (N = 37, the K = 16 block dot product's width): a one-element block pair
  fp32_round #(.N(37)) u_term_round (.sign(psign_q), .mag(37'(prod_q)), .lsb_exp(term_x), .result(term));
  always_ff @(posedge clk) begin
    if (term_en) term_q <= term;
  end

  // ---- sum: the register file of sums ---------------------------------------------------------------
  logic [31:0] acc_q [ENTRIES];
  logic [1:0]  flags_q [ENTRIES];
  logic [31:0] addend, sum;
  logic [1:0]  flags_in, flags_d;
  logic        sum_invalid, sum_overflow;

  assign addend   = acc_first ? 32'h0 : acc_q[acc_idx];
  assign flags_in = acc_first ? 2'b00 : flags_q[acc_idx];
  // the PE's sum stage (no negation on the loop); NaN canonical, Inf - Inf = NaN
  fp32_sum u_sum (.acc(addend), .term(term_q), .sum, .invalid(sum_invalid), .overflow(sum_overflow));
  // section 3: overflow if any term or partial sum is +/-Inf, invalid if the sum is NaN, operand flags ORed
  assign flags_d  = flags_in | acc_flags | {sum_overflow, sum_invalid};

  always_ff @(posedge clk) begin
    if (acc_en) begin
      acc_q[acc_idx]   <= sum;
      flags_q[acc_idx] <= flags_d;
    end
  end

  assign res_result = acc_en ? sum     : rd_zero ? 32'h0 : acc_q[acc_idx];
  assign res_flags  = acc_en ? flags_d : rd_zero ? 2'b00 : flags_q[acc_idx];
endmodule
