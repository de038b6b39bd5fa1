// Rounds an exact value (-1)^sign * mag * 2^lsb_exp once to binary32, round-to-nearest-even, with
// subnormals and overflow to +/-Inf (docs/spec.md section 3). Combinational; shared by the block-term
// conversion and the accumulator's adder, so both round by the same rule.
//
// The result keeps 24 significant bits whose LSB has the exponent t = max(L + lsb_exp - 23, -149), L the
// position of mag's leading one: the bits below t are rounded away, a carry out of the significand moves
// t up by one, and a biased exponent of 255 or more is Inf. A zero magnitude gives a zero with `sign`.
module fp32_round #(
  parameter int N = 38  // magnitude bits, at most 64
) (
  input  logic               sign,
  input  logic [N-1:0]       mag,
  input  logic signed [11:0] lsb_exp,
  output logic [31:0]        result
);
  localparam int SW = $clog2(N + 2) + 1;  // shift amounts 0 .. N+1
  localparam int LW = $clog2(N);

  // Every variable is assigned once per evaluation (Icarus re-evaluates an always_comb on its own writes).
  logic [LW-1:0]      lead;        // position of mag's leading one
  logic signed [12:0] t_raw, t;    // exponent of the kept LSB, before the rounding carry
  logic signed [12:0] shift;       // right shift of mag onto the kept LSB (<= 0: exact left shift)
  logic [SW-1:0]      rshift;      // the right shift, clamped: past N + 1 every bit is below half an LSB
  logic [N-1:0]       lost;        // the bits shifted out, at the top
  logic [24:0]        kept, q;     // the significand before and after rounding (q may carry to 2^24)
  logic               round_up;
  logic [23:0]        sig;
  logic signed [12:0] exp_lsb, biased;

  // Leading-one position by halving (6 steps for up to 64 bits).
  function automatic logic [5:0] msb_index(input logic [63:0] v);
    logic [63:0] x;
    x = v;
    msb_index = '0;
    for (int step = 32; step >= 1; step = step / 2)
      if ((x >> step) != '0) begin
        msb_index = msb_index + 6'(step);
        x = x >> step;
      end
  endfunction

  assign lead = LW'(msb_index(64'(mag)));
  assign t_raw  = 13'(lsb_exp) + 13'(lead) - 13'sd23;
  assign t      = (t_raw < -13'sd149) ? -13'sd149 : t_raw;
  assign shift  = t - 13'(lsb_exp);
  assign rshift = (shift <= 0) ? '0 : (shift > 13'(N + 1)) ? SW'(N + 1) : SW'(shift);
  assign kept   = (shift <= 0)        ? 25'(mag << (-shift))  // at most 24 significant bits move up
                : (rshift > SW'(N))   ? '0
                :                       25'(mag >> rshift);
  assign lost   = (shift <= 0 || rshift > SW'(N)) ? '0 : mag << (SW'(N) - rshift);
  // nearest-even: above half, or exactly half with an odd kept LSB
  assign round_up = lost[N-1] && (|lost[N-2:0] || kept[0]);
  assign q        = kept + 25'(round_up);
  assign sig      = q[24] ? q[24:1] : q[23:0];
  assign exp_lsb  = q[24] ? t + 13'sd1 : t;
  // sig < 2^23 only for subnormals (exp_lsb = -149) and zero
  assign biased   = sig[23] ? exp_lsb + 13'sd150 : 13'sd0;
  assign result   = (biased >= 13'sd255) ? {sign, 8'hFF, 23'd0} : {sign, biased[7:0], sig[22:0]};
`ifndef SYNTHESIS
  initial assert (N >= 2 && N <= 64) else $fatal(1, "fp32_round: N = %0d is outside 2..64", N);
`endif
endmodule
