// The binary32 accumulator of a PE (docs/spec.md section 3): takes one block dot product P with the
// exponent X of its LSB per cycle, rounds the term t = fp32(P * 2^X) and adds it to the running sum,
// acc = fp32(acc + t), nearest-even with subnormals. The term with `in_last` ends a reduction: its sum
// and flags leave on the out stream and the next reduction starts from +0.
//
// Addition rounds once from an exact-enough integer: the operand with the smaller LSB exponent is aligned
// with three extra bits and the bits shifted past them jammed into a sticky LSB, which decides
// nearest-even rounding exactly as the infinitely precise sum would (guard, round, sticky).
module fp32_acc #(
  parameter int PW = 37  // block dot product bits (signed)
) (
  input  logic                 clk,
  input  logic                 rst_n,
  input  logic                 in_valid,
  output logic                 in_ready,
  input  logic signed [PW-1:0] in_p,
  input  logic signed [10:0]   in_x,
  input  logic [1:0]           in_flags,  // {overflow, invalid} of the operand blocks
  input  logic                 in_last,
  output logic                 out_valid,
  input  logic                 out_ready,
  output logic [31:0]          out_result,
  output logic [1:0]           out_flags
);
  import flexblock_pkg::*;

  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;
  localparam int GUARD = 3;

  // ---- the term t = fp32(P * 2^X) ---------------------------------------------------------------
  logic [31:0] term;

  fp32_round #(.N(PW)) u_term_round (
    .sign(in_p[PW-1]),
    .mag(in_p[PW-1] ? PW'(-in_p) : PW'(in_p)),
    .lsb_exp(12'(in_x)),
    .result(term)
  );

  // ---- acc + t ----------------------------------------------------------------------------------
  logic [31:0] acc_q, sum;
  logic [1:0]  flags_q;

  // Fields of a binary32 without its sign: significand with the hidden bit, LSB exponent, specials.
  function automatic logic [23:0] significand(input logic [30:0] f);
    significand = {f[30:23] != 8'd0, f[22:0]};
  endfunction
  function automatic logic signed [11:0] lsb_exponent(input logic [7:0] e);
    lsb_exponent = (e == 8'd0) ? -12'sd149 : 12'(e) - 12'sd150;
  endfunction
  function automatic logic is_nan(input logic [30:0] f);
    is_nan = f[30:23] == 8'hFF && f[22:0] != '0;
  endfunction
  function automatic logic is_inf(input logic [30:0] f);
    is_inf = f[30:23] == 8'hFF && f[22:0] == '0;
  endfunction

  // Operands ordered by LSB exponent: `greater` has the larger (or equal) one.
  logic [31:0]        greater, lesser;
  logic [11:0]        align;         // LSB exponent difference
  logic [26:0]        greater_sig;   // greater's significand with GUARD zero bits below
  logic [26:0]        lesser_al;     // lesser's significand on the same grid, lost bits jammed into a sticky LSB
  logic signed [28:0] exact;         // greater + lesser in units of 2^(greater's LSB exponent - GUARD)
  logic [27:0]        sum_mag;
  logic               sum_sign;
  logic [31:0]        rounded;

  assign {greater, lesser} = (lsb_exponent(acc_q[30:23]) >= lsb_exponent(term[30:23])) ? {acc_q, term}
                                                                                        : {term, acc_q};
  assign align       = 12'(lsb_exponent(greater[30:23]) - lsb_exponent(lesser[30:23]));
  assign greater_sig = {significand(greater[30:0]), 3'b000};
  assign lesser_al   = (align > 12'd27) ? 27'(significand(lesser[30:0]) != '0)
                     : 27'({significand(lesser[30:0]), 3'b000} >> align)
                       | 27'(({significand(lesser[30:0]), 3'b000} & ~({27{1'b1}} << align)) != '0);
  assign exact    = (greater[31] ? -29'(greater_sig) : 29'(greater_sig))
                  + (lesser[31] ? -29'(lesser_al) : 29'(lesser_al));
  assign sum_mag  = exact[28] ? 28'(-exact) : 28'(exact);
  // an exact zero is +0 unless both addends are -0 (nearest-even)
  assign sum_sign = (exact == '0) ? (greater[31] && lesser[31]) : exact[28];

  fp32_round #(.N(28)) u_sum_round (
    .sign(sum_sign),
    .mag(sum_mag),
    .lsb_exp(lsb_exponent(greater[30:23]) - 12'(GUARD)),
    .result(rounded)
  );

  // IEEE specials ahead of the datapath: NaN propagates (canonical), Inf - Inf is NaN, Inf dominates.
  always_comb begin
    if (is_nan(acc_q[30:0]) || (is_inf(acc_q[30:0]) && is_inf(term[30:0]) && acc_q[31] != term[31])) sum = CANONICAL_NAN;
    else if (is_inf(acc_q[30:0])) sum = acc_q;
    else if (is_inf(term[30:0]))  sum = term;
    else                    sum = rounded;
  end

  // ---- the running sum and the result FIFO ------------------------------------------------------
  wire take = in_valid && in_ready;
  logic [1:0] flags_d;  // {overflow, invalid} of the reduction so far, this term included
  assign flags_d = flags_q | in_flags
                 | {is_inf(term[30:0]) || is_inf(sum[30:0]), is_nan(sum[30:0])};

  always_ff @(posedge clk) begin
    if (!rst_n || (take && in_last)) begin
      acc_q   <= '0;
      flags_q <= '0;
    end else if (take) begin
      acc_q   <= sum;
      flags_q <= flags_d;
    end
  end

  credit_fifo #(.WIDTH(34), .DEPTH(2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready),
    .accept(take && in_last),
    .push(take && in_last),
    .push_data({flags_d, sum}),
    .out_valid, .out_ready,
    .out_data({out_flags, out_result})
  );
endmodule
