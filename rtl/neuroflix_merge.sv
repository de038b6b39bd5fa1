// NeuroFlix lane merge (docs/spec.md, "NeuroFlix"), combinational: the 12 brick lanes of a reduction are
// added exactly, V = sum_L lane_L * 16^L (shifts by multiples of 4 and one wide sum: the only alignment
// the design has), and V * 2^lsb is rounded once to binary32 by fp32_round (nearest-even, subnormals,
// overflow to Inf). A magnitude wider than fp32_round's 64 bits is first narrowed by its low bits with a
// sticky LSB, which keeps the rounding decision. NaN / Inf products seen in the reduction override V.
module neuroflix_merge #(
  parameter int LW = 32  // lane bits (signed)
) (
  input  logic [12*LW-1:0]   lanes,     // lane L at [LW*L +: LW]
  input  logic               is_float,  // the lanes' unit is 2^-24 (float B) rather than 1
  input  logic signed [9:0]  scale,
  input  logic               any_nan,
  input  logic               pos_inf,
  input  logic               neg_inf,
  output logic [31:0]        result,
  output logic [1:0]         flags      // {overflow, invalid}
);
  localparam int VW = LW + 45;      // |V| < 2^(LW-1) * 16^11 * 16/15
  localparam int MW = VW - 1;       // magnitude bits
  localparam int SH = MW - 64;      // narrowing shift
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;

  logic signed [VW-1:0] v;
  logic [MW-1:0]        mag;
  logic                 wide;
  logic [63:0]          mag64;
  logic signed [11:0]   lsb;
  logic [31:0]          rounded;

  always_comb begin
    v = '0;
    for (int l = 0; l < 12; l++)
      v = v + ({{(VW - LW){lanes[LW*l + LW-1]}}, lanes[LW*l +: LW]} <<< (4 * l));
  end
  assign mag   = v[VW-1] ? MW'(-v) : MW'(v);
  assign wide  = mag[MW-1:64] != '0;
  assign mag64 = wide ? {mag[MW-1:SH+1], mag[SH] | (mag[SH-1:0] != '0)} : mag[63:0];
  assign lsb   = 12'(scale) - (is_float ? 12'sd24 : 12'sd0) + (wide ? 12'(SH) : 12'sd0);

  fp32_round #(.N(64)) u_round (.sign(v[VW-1]), .mag(mag64), .lsb_exp(lsb), .result(rounded));

  assign result = (any_nan || (pos_inf && neg_inf)) ? CANONICAL_NAN
                : pos_inf ? 32'h7F80_0000
                : neg_inf ? 32'hFF80_0000
                :           rounded;
  assign flags  = {result[30:0] == 31'h7F80_0000, result == CANONICAL_NAN};
`ifndef SYNTHESIS
  initial assert (SH >= 1) else $fatal(1, "neuroflix_merge: LW = %0d is too narrow", LW);
`endif
endmodule
