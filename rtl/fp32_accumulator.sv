// The binary32 accumulator datapath of a PE (docs/spec.md section 3), two pipeline stages, no flow
// control: its user reserves room for the results (a credit_fifo counts them from wherever the
// reduction's last term enters the user's pipeline).
//
//   term stage   t = fp32(P * 2^X), the block dot product rounded once (nearest-even, subnormals kept)
//   sum stage    acc = fp32(acc + t): the only single-cycle loop. The term with `in_last` ends a
//                reduction: `res_valid` pulses with the sum and its flags, and the next reduction
//                starts from +0.
//
// Addition (fp32_sum) rounds once from an exact-enough integer, with no negation on the loop. Far path: the
// operand with the smaller exponent is aligned with three extra bits, the bits shifted past them jammed into a
// sticky LSB (which decides nearest-even rounding exactly as the infinitely precise sum would: guard,
// round, sticky), and added to or subtracted from the other, which cannot go negative. Near path (a
// subtraction of equal exponents): both differences are formed beside it and the non-negative one taken.
module fp32_accumulator #(
  parameter int PW = 37  // block dot product bits (signed)
) (
  input  logic                 clk,
  input  logic                 rst_n,
  input  logic                 in_valid,
  input  logic signed [PW-1:0] in_p,
  input  logic signed [10:0]   in_x,
  input  logic [1:0]           in_flags,  // {overflow, invalid} of the operand blocks
  input  logic                 in_last,
  output logic                 res_valid,
  output logic [31:0]          res_result,
  output logic [1:0]           res_flags
);
  // ---- term stage -------------------------------------------------------------------------------
  logic [31:0] term, term_q;
  logic        term_valid_q, term_last_q;
  logic [1:0]  term_flags_q;

  fp32_round #(.N(PW)) u_term_round (
    .sign(in_p[PW-1]),
    .mag(in_p[PW-1] ? PW'(-in_p) : PW'(in_p)),
    .lsb_exp(12'(in_x)),
    .result(term)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) term_valid_q <= 1'b0;
    else        term_valid_q <= in_valid;
  end
  always_ff @(posedge clk) begin
    if (in_valid) begin
      term_q       <= term;
      term_last_q  <= in_last;
      term_flags_q <= in_flags;
    end
  end

  // ---- sum stage: acc + t (fp32_sum) ------------------------------------------------------------------
  logic [31:0] acc_q, sum;
  logic [1:0]  flags_q;
  logic        sum_invalid, sum_overflow;
  fp32_sum u_sum (.acc(acc_q), .term(term_q), .sum, .invalid(sum_invalid), .overflow(sum_overflow));

  logic [1:0] flags_d;  // {overflow, invalid} of the reduction so far, this term included
  assign flags_d = flags_q | term_flags_q | {sum_overflow, sum_invalid};

  always_ff @(posedge clk) begin
    if (!rst_n || (term_valid_q && term_last_q)) begin
      acc_q   <= '0;
      flags_q <= '0;
    end else if (term_valid_q) begin
      acc_q   <= sum;
      flags_q <= flags_d;
    end
  end

  assign res_valid  = term_valid_q && term_last_q;
  assign res_result = sum;
  assign res_flags  = flags_d;
endmodule
