// Rounds an exact value (-1)^sign * mag * 2^lsb_exp once to binary32, round-to-nearest-even, with
// subnormals and overflow to +/-Inf (docs/spec.md section 3). Combinational; shared by the block-term
// conversion and the accumulator's adder, so both round by the same rule.
//
// The result keeps 24 significant bits whose LSB is bit `shift` of mag, shift = max(L - 23, -149 - lsb_exp)
// with L the position of mag's leading one: the bits below it are rounded away, a carry out of the
// significand moves the exponent up by one, and a biased exponent of 255 or more is Inf. A zero magnitude
// gives a zero with `sign`.
//
// Built for depth, not for brevity: the leading and the trailing one are found by log-depth trees
// (one_position), the
// subnormal limit is computed from lsb_exp alone (beside the leading-one search), one right shift of
// {mag, 24 zeros} yields the kept bits and the round bit together, the sticky bit is a comparison of
// the trailing-one position with the shift (no wide OR of shifted-out bits), and the exponent and its
// overflow are computed for both outcomes of the rounding carry before the carry is known.
module fp32_round #(
  parameter int N = 38  // magnitude bits, at most 64
) (
  input  logic               sign,
  input  logic [N-1:0]       mag,
  input  logic signed [11:0] lsb_exp,
  output logic [31:0]        result
);
  localparam int WIDE = N + 24;  // {mag, 24 zeros}: kept bits of a left-shifted (small) value included


  localparam int PBITS = $clog2(N);
  logic [PBITS-1:0]   lead_pos, trail_pos;
  logic [5:0]         lead, trail;
  // The subnormal limit, from lsb_exp alone (beside the leading-one search): the right shift of
  // {mag, 24 zeros} that puts the kept LSB at 2^-149 is -126 - lsb_exp. Its range is split once, so that
  // after the search only a 6-bit comparison decides between it and the leading one's position.
  logic signed [13:0] floor_amt;
  logic               floor_low, floor_high;  // < 0: never wins;  > 63: always wins
  logic [6:0]         floor_c;                // clamped to 0 .. WIDE (past WIDE every bit is gone)
  logic               normal;                 // the leading one decides the shift (else: subnormal or 0)
  logic [6:0]         amt;                    // right shift of {mag, 24 zeros}: kept LSB shift + 23
  /* verilator lint_off UNUSEDSIGNAL */  // only the kept bits and the round bit are read
  logic [WIDE-1:0]    shifted;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [24:0]        kept, q;     // the significand before and after rounding (q may carry to 2^24)
  logic               round_bit, sticky, round_up;
  // Biased exponent of a normal result, without / with the rounding carry: lsb_exp + 127 + lead (+ 1).
  // A subnormal result's kept LSB is 2^-149, so its exponent field is 1 if rounding reaches 2^23, else 0.
  logic signed [13:0] base_n, base_c, biased_n, biased_c;
  logic               ovf_n, ovf_c;
  logic [22:0]        sig;         // the stored fraction (the hidden bit is the exponent's business)
  logic [7:0]         exp_field;
  logic               overflow;

  logic mag_set_lead;  // mag != 0
  /* verilator lint_off UNUSEDSIGNAL */
  logic mag_set_trail;  // the same
  /* verilator lint_on UNUSEDSIGNAL */
  one_position #(.N(N), .HIGH(1'b1)) u_lead  (.v(mag), .pos(lead_pos),  .any(mag_set_lead));
  one_position #(.N(N), .HIGH(1'b0)) u_trail (.v(mag), .pos(trail_pos), .any(mag_set_trail));
  assign lead  = 6'(lead_pos);
  assign trail = 6'(trail_pos);
  assign floor_amt  = -14'sd126 - 14'(lsb_exp);
  assign floor_low  = floor_amt < 14'sd0;
  assign floor_high = floor_amt > 14'sd63;
  assign floor_c    = (floor_amt > 14'(WIDE)) ? 7'(WIDE) : 7'(floor_amt);
  assign normal     = mag_set_lead && (floor_low || (!floor_high && lead >= floor_amt[5:0]));
  assign amt        = normal ? 7'(lead) : floor_c;
  assign shifted    = {mag, 24'd0} >> amt;
  assign round_bit  = shifted[0];
  assign kept       = shifted[25:1];
  // a bit below the round bit (position amt - 24 of mag) is set
  assign sticky     = 8'(trail) + 8'd24 < 8'(amt);
  assign round_up   = round_bit && (sticky || kept[0]);
  assign q          = kept + 25'(round_up);
  assign base_n     = 14'(lsb_exp) + 14'sd127;
  assign base_c     = 14'(lsb_exp) + 14'sd128;
  assign biased_n   = base_n + $signed({8'd0, lead});
  assign biased_c   = base_c + $signed({8'd0, lead});
  assign ovf_n      = biased_n >= 14'sd255;
  assign ovf_c      = biased_c >= 14'sd255;
  assign sig        = q[24] ? q[23:1] : q[22:0];
  assign exp_field  = !normal ? {7'd0, q[23]}  // a subnormal can round up into the normal range
                    : q[24]   ? biased_c[7:0]
                    :           biased_n[7:0];
  // a normal result's significand always keeps its leading one (q >= 2^23)
  assign overflow   = normal && (q[24] ? ovf_c : ovf_n);
  assign result     = overflow ? {sign, 8'hFF, 23'd0} : {sign, exp_field, sig};
`ifndef SYNTHESIS
  initial assert (N >= 2 && N <= 64) else $fatal(1, "fp32_round: N = %0d is outside 2..64", N);
`endif
endmodule
