// The binary32 accumulator datapath of a PE (docs/spec.md section 3), two pipeline stages, no flow
// control: its user reserves room for the results (a credit_fifo counts them from wherever the
// reduction's last term enters the user's pipeline).
//
//   term stage   t = fp32(P * 2^X), the block dot product rounded once (nearest-even, subnormals kept)
//   sum stage    acc = fp32(acc + t): the only single-cycle loop. The term with `in_last` ends a
//                reduction: `res_valid` pulses with the sum and its flags, and the next reduction
//                starts from +0.
//
// Addition rounds once from an exact-enough integer. The operands are ordered by magnitude (a binary32
// bit pattern without its sign orders like the magnitude), so the larger one's significand minus or plus
// the smaller one's is never negative: no negation on the loop. The smaller operand is aligned with three
// extra bits and the bits shifted past them are jammed into a sticky LSB, which decides nearest-even
// rounding exactly as the infinitely precise sum would (guard, round, sticky).
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
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;
  localparam int GUARD = 3;

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

  // ---- sum stage: acc + t -----------------------------------------------------------------------
  logic [31:0] acc_q, sum;
  logic [1:0]  flags_q;

  // Significand with the hidden bit, and the exponent of its LSB (subnormals share 2^-149 with e = 1).
  function automatic logic [23:0] significand(input logic [30:0] f);
    significand = {f[30:23] != 8'd0, f[22:0]};
  endfunction
  function automatic logic [7:0] eff_exp(input logic [7:0] e);
    eff_exp = (e == 8'd0) ? 8'd1 : e;
  endfunction

  logic        acc_nan, acc_inf, term_inf;
  assign acc_nan  = acc_q[30:23] == 8'hFF && acc_q[22:0] != '0;
  assign acc_inf  = acc_q[30:0] == 31'h7F80_0000;
  assign term_inf = term_q[30:0] == 31'h7F80_0000;  // a term is never NaN

  logic               acc_greater, subtract;
  logic [31:0]        greater, lesser;
  logic [7:0]         align_at, align_ta, align;  // exponent differences (both, then the one that is >= 0)
  logic [26:0]        greater_sig, lesser_sig;    // significands with GUARD zero bits below
  logic [26:0]        lesser_al;      // lesser's on greater's grid, the lost bits jammed into a sticky LSB
  logic [27:0]        exact;          // |greater| +/- |lesser| in units of 2^(greater_lsb - GUARD), >= 0
  logic signed [11:0] greater_lsb;
  logic               sum_sign;
  logic [31:0]        rounded;

  assign acc_greater = acc_q[30:0] >= term_q[30:0];
  assign greater     = acc_greater ? acc_q : term_q;
  assign lesser      = acc_greater ? term_q : acc_q;
  assign align_at    = eff_exp(acc_q[30:23]) - eff_exp(term_q[30:23]);
  assign align_ta    = eff_exp(term_q[30:23]) - eff_exp(acc_q[30:23]);
  assign align       = acc_greater ? align_at : align_ta;
  assign greater_lsb = 12'(eff_exp(greater[30:23])) - 12'sd150;
  assign greater_sig = {significand(greater[30:0]), 3'b000};
  assign lesser_sig  = {significand(lesser[30:0]), 3'b000};
  assign lesser_al   = (align > 8'd27) ? 27'(lesser_sig != '0)
                     : (lesser_sig >> align) | 27'((lesser_sig & ~({27{1'b1}} << align)) != '0);
  assign subtract    = greater[31] ^ lesser[31];
  assign exact       = 28'(greater_sig) + (subtract ? ~28'(lesser_al) : 28'(lesser_al)) + 28'(subtract);
  // an exact zero is +0 unless both addends are -0 (nearest-even)
  assign sum_sign    = (exact == '0) ? (greater[31] && lesser[31]) : greater[31];

  fp32_round #(.N(28)) u_sum_round (
    .sign(sum_sign),
    .mag(exact),
    .lsb_exp(greater_lsb - 12'(GUARD)),
    .result(rounded)
  );

  // IEEE specials ahead of the datapath: NaN propagates (canonical), Inf - Inf is NaN, Inf dominates.
  assign sum = (acc_nan || (acc_inf && term_inf && acc_q[31] != term_q[31])) ? CANONICAL_NAN
             : acc_inf  ? acc_q
             : term_inf ? term_q
             :            rounded;

  logic [1:0] flags_d;  // {overflow, invalid} of the reduction so far, this term included
  assign flags_d = flags_q | term_flags_q | {term_inf || sum[30:0] == 31'h7F80_0000, sum == CANONICAL_NAN};

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
