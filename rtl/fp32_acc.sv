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

  // Fields of a binary32 without its sign: significand with the hidden bit and LSB exponent.
  function automatic logic [23:0] significand(input logic [30:0] f);
    significand = {f[30:23] != 8'd0, f[22:0]};
  endfunction
  function automatic logic signed [11:0] lsb_exponent(input logic [7:0] e);
    lsb_exponent = (e == 8'd0) ? -12'sd149 : 12'(e) - 12'sd150;
  endfunction

  logic signed [11:0] acc_lsb, term_lsb;
  logic               acc_nan, acc_inf, term_inf, sum_nan, sum_inf;
  assign acc_lsb  = lsb_exponent(acc_q[30:23]);
  assign term_lsb = lsb_exponent(term[30:23]);
  assign acc_nan  = acc_q[30:23] == 8'hFF && acc_q[22:0] != '0;
  assign acc_inf  = acc_q[30:0] == 31'h7F80_0000;
  assign term_inf = term[30:0] == 31'h7F80_0000;  // a term is never NaN

  // Operands ordered by LSB exponent: `greater` has the larger (or equal) one.
  logic               acc_greater;
  logic [31:0]        greater, lesser;
  logic signed [11:0] greater_lsb;
  logic [11:0]        align;         // LSB exponent difference
  logic [26:0]        greater_sig;   // greater's significand with GUARD zero bits below
  logic [26:0]        lesser_sig;    // lesser's, likewise, before alignment
  logic [26:0]        lesser_al;     // lesser's on greater's grid, the lost bits jammed into a sticky LSB
  logic signed [28:0] exact;         // greater + lesser in units of 2^(greater_lsb - GUARD)
  logic [27:0]        sum_mag;
  logic               sum_sign;
  logic [31:0]        rounded;

  assign acc_greater = acc_lsb >= term_lsb;
  assign greater     = acc_greater ? acc_q : term;
  assign lesser      = acc_greater ? term : acc_q;
  assign greater_lsb = acc_greater ? acc_lsb : term_lsb;
  assign align       = 12'(acc_greater ? acc_lsb - term_lsb : term_lsb - acc_lsb);
  assign greater_sig = {significand(greater[30:0]), 3'b000};
  assign lesser_sig  = {significand(lesser[30:0]), 3'b000};
  assign lesser_al   = (align > 12'd27) ? 27'(lesser_sig != '0)
                     : (lesser_sig >> align) | 27'((lesser_sig & ~({27{1'b1}} << align)) != '0);
  assign exact    = (greater[31] ? -(29'(greater_sig)) : 29'(greater_sig))
                  + (lesser[31] ? -(29'(lesser_al)) : 29'(lesser_al));
  assign sum_mag  = exact[28] ? 28'(-exact) : 28'(exact);
  // an exact zero is +0 unless both addends are -0 (nearest-even)
  assign sum_sign = (exact == '0) ? (greater[31] && lesser[31]) : exact[28];

  fp32_round #(.N(28)) u_sum_round (
    .sign(sum_sign),
    .mag(sum_mag),
    .lsb_exp(greater_lsb - 12'(GUARD)),
    .result(rounded)
  );

  // IEEE specials ahead of the datapath: NaN propagates (canonical), Inf - Inf is NaN, Inf dominates.
  assign sum = (acc_nan || (acc_inf && term_inf && acc_q[31] != term[31])) ? CANONICAL_NAN
             : acc_inf  ? acc_q
             : term_inf ? term
             :            rounded;
  assign sum_nan = sum == CANONICAL_NAN;
  assign sum_inf = sum[30:0] == 31'h7F80_0000;

  // ---- the running sum and the result FIFO ------------------------------------------------------
  wire take = in_valid && in_ready;
  logic [1:0] flags_d;  // {overflow, invalid} of the reduction so far, this term included
  assign flags_d = flags_q | in_flags
                 | {term_inf || sum_inf, sum_nan};

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
`ifndef SYNTHESIS
  stream_checker #(.NAME("fp32_acc.in"), .WIDTH(PW + 11 + 3)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_p, in_x, in_flags, in_last})
  );
  stream_checker #(.NAME("fp32_acc.out"), .WIDTH(34)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_flags, out_result})
  );
`endif
endmodule
