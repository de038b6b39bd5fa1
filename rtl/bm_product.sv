// One Block Minifloat element product as a fixed-point Kulisch addend (docs/spec.md section BM.3).
//
// A minifloat eEmM with field E and mantissa man has significand sig = {E != 0, man} and alignment shift
// sh = max(E, 1) - 1; its value is sig * 2^(sh + lsb0) with lsb0 the block's. The product of two elements is
// therefore the integer sig_a * sig_b shifted left by sh_a + sh_b: no exponent compare, no normalization.
// Operand A is in eXmX (a_fmt = 0) or eGmG (a_fmt = 1); its significand (MX+1 or MG+1 bits) sits at the
// LSB end of SA = max(MX, MG) + 1 bits, so one SA x (MX+1) multiplier serves both formats (bm_mac moves
// the block's LSB exponent X by the format's m instead).
module bm_product #(
  parameter int EX = 2,
  parameter int MX = 5,
  parameter int EG = 4,
  parameter int MG = 3,
  parameter int PW = 33  // bm_mac passes kulisch_bits(K, EX, MX, EG, MG)
) (
  input  logic                 a_fmt,
  input  logic [EX+MX:0]       a,      // {sign, E, man}
  input  logic [EX+MX:0]       b,      // {sign, E, man}, format eXmX
  output logic signed [PW-1:0] prod
);
  import bm_pkg::*;

  localparam int SA  = max2(MX, MG) + 1;            // A's significand bits
  localparam int SB  = MX + 1;
  localparam int SHW = $clog2(sh_max(max2(EX, EG)) + sh_max(EX) + 1);

  logic [EX-1:0] ax_e, b_e;
  logic [EG-1:0] ag_e;
  logic [SA-1:0] sig_a;
  logic [SB-1:0] sig_b;
  logic [SHW-1:0] sh_a, sh_b;
  logic [SA+SB-1:0] mag;
  logic [PW-1:0] aligned;

  assign ax_e = a[MX +: EX];
  assign ag_e = a[MG +: EG];
  assign b_e  = b[MX +: EX];

  // the hidden bit is 1 unless E = 0 (subnormal); E = 0 and E = 1 share the shift 0
  assign sig_a = a_fmt ? SA'({ag_e != '0, a[MG-1:0]}) : SA'({ax_e != '0, a[MX-1:0]});
  assign sh_a  = a_fmt ? ((ag_e == '0) ? '0 : SHW'(ag_e) - SHW'(1))
                       : ((ax_e == '0) ? '0 : SHW'(ax_e) - SHW'(1));
  assign sig_b = {b_e != '0, b[MX-1:0]};
  assign sh_b  = (b_e == '0) ? '0 : SHW'(b_e) - SHW'(1);

  assign mag     = sig_a * sig_b;
  assign aligned = PW'(mag) << (sh_a + sh_b);
  assign prod    = (a[EX+MX] ^ b[EX+MX]) ? -$signed(aligned) : $signed(aligned);
endmodule
