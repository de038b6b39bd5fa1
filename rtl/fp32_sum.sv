// One binary32 addition of the accumulator loop, acc + t, nearest-even (docs/spec.md section 4, "The sum loop"):
// the sum stage of fp32_accumulator (the PE's) and of dw_lane (the depthwise unit's), combinational, with no
// negation on the path. Far path (different exponents, or an addition): the operand with the smaller exponent
// is aligned with three extra bits and a sticky bit found by comparing its trailing-zero count with the
// alignment, then added or subtracted (never negative); near path (a subtraction of equal exponents): both
// differences are formed beside it and the non-negative one taken. Specials: a NaN acc or Inf - Inf gives
// the canonical NaN (`invalid`), an Inf operand dominates; `overflow` = an Inf operand or a sum rounded to Inf
// (not with a NaN result). `term` is never NaN (a rounded block product).
module fp32_sum (
  input  logic [31:0] acc,
  input  logic [31:0] term,
  output logic [31:0] sum,
  output logic        invalid,
  output logic        overflow
);
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;
  localparam int GUARD = 3;

  // Significand with the hidden bit, and the exponent field that fixes its LSB (subnormals share 2^-149
  // with e = 1).
  function automatic logic [23:0] significand(input logic [30:0] f);
    significand = {f[30:23] != 8'd0, f[22:0]};
  endfunction
  function automatic logic [7:0] eff_exp(input logic [7:0] e);
    eff_exp = (e == 8'd0) ? 8'd1 : e;
  endfunction

  logic acc_nan, acc_inf, term_inf, nan_case;
  assign acc_nan  = acc[30:23] == 8'hFF && acc[22:0] != '0;
  assign acc_inf  = acc[30:0] == 31'h7F80_0000;
  assign term_inf = term[30:0] == 31'h7F80_0000;  // a term is never NaN
  assign nan_case = acc_nan || (acc_inf && term_inf && acc[31] != term[31]);

  // Both operands' fields, straight from the registers.
  logic [7:0]  exp_a, exp_t;
  logic [26:0] sig_a, sig_t;  // significands with GUARD zero bits below
  assign exp_a = eff_exp(acc[30:23]);
  assign exp_t = eff_exp(term[30:23]);
  assign sig_a = {significand(acc[30:0]), 3'b000};
  assign sig_t = {significand(term[30:0]), 3'b000};

  // Trailing zeros of each significand (position of its lowest set bit), by log-depth trees.
  logic [4:0] tz_a, tz_t;
  logic       set_a, set_t;
  one_position #(.N(27), .HIGH(1'b0)) u_tz_a (.v(sig_a), .pos(tz_a), .any(set_a));
  one_position #(.N(27), .HIGH(1'b0)) u_tz_t (.v(sig_t), .pos(tz_t), .any(set_t));

  // Far path: order by exponent, align the smaller one (the bits shifted out jammed into a sticky LSB),
  // add or subtract. With different exponents a subtraction cannot go negative.
  logic [8:0]         diff_at;            // exp_a - exp_t (bit 8: negative)
  logic [7:0]         diff_ta;            // exp_t - exp_a, used when that is the positive one
  logic               acc_greater, subtract, sticky_a, sticky_t;
  logic [7:0]         align;
  logic [26:0]        greater_sig, lesser_sig, lesser_al;
  logic [27:0]        far;
  logic signed [11:0] greater_lsb;
  assign diff_at     = {1'b0, exp_a} - {1'b0, exp_t};
  assign diff_ta     = exp_t - exp_a;
  assign acc_greater = !diff_at[8];
  assign align       = acc_greater ? diff_at[7:0] : diff_ta;
  // the lesser operand loses a set bit iff its trailing zeros are fewer than the alignment
  assign sticky_t    = set_t && 8'(tz_t) < diff_at[7:0];
  assign sticky_a    = set_a && 8'(tz_a) < diff_ta;
  assign greater_sig = acc_greater ? sig_a : sig_t;
  assign lesser_sig  = acc_greater ? sig_t : sig_a;
  assign lesser_al   = (lesser_sig >> align) | 27'(acc_greater ? sticky_t : sticky_a);
  assign subtract    = acc[31] ^ term[31];
  assign far         = 28'(greater_sig) + (subtract ? ~(28'(lesser_al)) : 28'(lesser_al)) + 28'(subtract);
  assign greater_lsb = 12'(acc_greater ? exp_a : exp_t) - 12'sd150;

  // Near path: a subtraction of equal exponents, exact, either way round; the non-negative one is taken.
  logic        near;
  logic [27:0] near_at, near_ta;  // bit 27: negative
  assign near    = subtract && exp_a == exp_t;
  assign near_at = {1'b0, sig_a} - {1'b0, sig_t};
  assign near_ta = {1'b0, sig_t} - {1'b0, sig_a};

  logic [27:0] exact;  // |acc + t| in units of 2^(greater_lsb - GUARD)
  logic        sum_sign;
  logic [31:0] rounded;
  assign exact    = !near ? far : near_at[27] ? near_ta : near_at;
  // an exact zero is +0 unless both addends are -0 (nearest-even); else the larger magnitude's sign
  assign sum_sign = (exact == '0)          ? acc[31] && term[31]
                  : near                   ? (near_at[27] ? term[31] : acc[31])
                  : acc_greater            ? acc[31] : term[31];

  fp32_round #(.N(28)) u_sum_round (
    .sign(sum_sign),
    .mag(exact),
    .lsb_exp(greater_lsb - 12'(GUARD)),
    .result(rounded)
  );

  // IEEE specials ahead of the datapath: NaN propagates (canonical), Inf - Inf is NaN, Inf dominates.
  assign sum = nan_case ? CANONICAL_NAN
             : acc_inf  ? acc
             : term_inf ? term
             :            rounded;

  assign invalid  = nan_case;
  assign overflow = !nan_case && (acc_inf || term_inf || rounded[30:23] == 8'hFF);
endmodule
