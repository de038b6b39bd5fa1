// binary32 addition a + b, round-to-nearest-even with subnormals, combinational (docs/spec.md, "bfloat16
// baseline"): the adder of the bf16_mac group tree and accumulator. The same construction as fp32_acc's
// adder: the operand with the smaller LSB exponent is aligned onto the other's grid with three extra bits,
// the bits shifted past them jammed into a sticky LSB, and the exact-enough sum rounded once by fp32_round.
// Specials: a NaN operand or Inf - Inf gives the canonical NaN 0x7FC00000; an Inf operand dominates; an
// exact zero sum is +0 unless both addends are -0.
module fp32_add (
  input  logic [31:0] a,
  input  logic [31:0] b,
  output logic [31:0] sum
);
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;
  localparam int GUARD = 3;

  function automatic logic [23:0] significand(input logic [30:0] f);
    significand = {f[30:23] != 8'd0, f[22:0]};
  endfunction
  function automatic logic signed [11:0] lsb_exponent(input logic [7:0] e);
    lsb_exponent = (e == 8'd0) ? -12'sd149 : 12'(e) - 12'sd150;
  endfunction

  logic               a_nan, b_nan, a_inf, b_inf;
  logic signed [11:0] a_lsb, b_lsb, greater_lsb;
  logic               a_greater;
  logic [31:0]        greater, lesser;
  logic [11:0]        align;
  logic [26:0]        greater_sig, lesser_sig, lesser_al;
  logic signed [28:0] exact;
  logic [27:0]        sum_mag;
  logic               sum_sign;
  logic [31:0]        rounded;

  assign a_nan = a[30:23] == 8'hFF && a[22:0] != '0;
  assign b_nan = b[30:23] == 8'hFF && b[22:0] != '0;
  assign a_inf = a[30:0] == 31'h7F80_0000;
  assign b_inf = b[30:0] == 31'h7F80_0000;
  assign a_lsb = lsb_exponent(a[30:23]);
  assign b_lsb = lsb_exponent(b[30:23]);

  assign a_greater   = a_lsb >= b_lsb;
  assign greater     = a_greater ? a : b;
  assign lesser      = a_greater ? b : a;
  assign greater_lsb = a_greater ? a_lsb : b_lsb;
  assign align       = 12'(a_greater ? a_lsb - b_lsb : b_lsb - a_lsb);
  assign greater_sig = {significand(greater[30:0]), 3'b000};
  assign lesser_sig  = {significand(lesser[30:0]), 3'b000};
  assign lesser_al   = (align > 12'd27) ? 27'(lesser_sig != '0)
                     : (lesser_sig >> align) | 27'((lesser_sig & ~({27{1'b1}} << align)) != '0);
  assign exact    = (greater[31] ? -(29'(greater_sig)) : 29'(greater_sig))
                  + (lesser[31] ? -(29'(lesser_al)) : 29'(lesser_al));
  assign sum_mag  = exact[28] ? 28'(-exact) : 28'(exact);
  assign sum_sign = (exact == '0) ? (greater[31] && lesser[31]) : exact[28];

  fp32_round #(.N(28)) u_round (
    .sign(sum_sign),
    .mag(sum_mag),
    .lsb_exp(greater_lsb - 12'(GUARD)),
    .result(rounded)
  );

  assign sum = (a_nan || b_nan || (a_inf && b_inf && a[31] != b[31])) ? CANONICAL_NAN
             : a_inf ? a
             : b_inf ? b
             :         rounded;
endmodule
