// LightNorm's input conversion (docs/spec.md LN.4a; model models/lightnorm.py `to_unit`): one beat of G
// channels in the job's input format -> G fp10 1-5-4 values, combinational, in front of the lanes (both
// passes convert the same way, so the re-read data of pass 2 are the pass-1 values again).
//   fmt 0 (and the reserved 3) fp10:  channel i in data[10i+9:10i], passed through.
//   fmt 1 FP32:  channel i in data[32i+31:32i]; NaN -> the quiet NaN, +-Inf -> +-Inf, a finite value
//                (binary32 subnormals included) -> RTZ once to fp10, saturating, +0 below 2^-18.
//   fmt 2 BFP:   one block of the GEMM datapath's output in the port packing of spec section 1:
//                mag[16i+15:16i] = data[16i+15:16i] (the low W bits are read), sign i = data[128+i],
//                E = data[143:136], {overflow, invalid} = data[145:144]; element (-1)^s m 2^(E-127-(W-1))
//                -> RTZ once to fp10; a block with a flag set is 8 NaNs (the flags do not say which element).
// Every finite case is one (sign, magnitude, LSB exponent) triple through the shared fp10_round: one rounder
// per lane, whatever the format.
module range_bn_in #(
  parameter int G = 8
) (
  input  logic [1:0]      fmt,
  input  logic [1:0]      mode,         // BFP input mode (FB24/FB16/FB12; 3 reads as FB24)
  input  logic [32*G-1:0] data,
  output logic [10*G-1:0] x
);
  import lightnorm_pkg::*;

  localparam logic [9:0] FP10_NAN = 10'h1F8;

  logic [4:0]  w;                       // BFP magnitude bits
  logic [15:0] wmask;
  logic [7:0]  bexp;
  logic [1:0]  bflags;

  assign w      = (mode == 2'd1) ? 5'd8 : (mode == 2'd2) ? 5'd4 : 5'd16;
  assign wmask  = (mode == 2'd1) ? 16'h00FF : (mode == 2'd2) ? 16'h000F : 16'hFFFF;
  assign bexp   = data[16*G+G +: 8];
  assign bflags = data[16*G+G+8 +: 2];

  for (genvar i = 0; i < G; i++) begin : g_lane
    logic              fs;              // FP32 sign, exponent field, fraction
    logic [7:0]        fe;
    logic [22:0]       ff;
    logic [15:0]       bmag;
    logic              bsign;
    logic [9:0]        raw;
    logic              sign, special;
    logic [23:0]       mag;
    int                lsb;             // |value| = mag * 2^lsb
    logic [9:0]        spec_val, y;

    assign {fs, fe, ff} = data[32*i +: 32];
    assign bmag  = data[16*i +: 16];
    assign bsign = data[16*G + i];
    assign raw   = data[10*i +: 10];

    always_comb begin
      sign     = 1'b0;
      mag      = '0;
      lsb      = 0;
      special  = 1'b0;
      spec_val = '0;
      unique case (fmt)
        2'd1: begin
          sign = fs;
          mag  = {fe != 8'd0, ff};
          lsb  = (fe == 8'd0) ? -149 : int'(fe) - 150;
          special  = fe == 8'hFF;
          spec_val = (ff != '0) ? FP10_NAN : {fs, 9'h1F0};
        end
        2'd2: begin
          sign = bsign;
          mag  = 24'(bmag & wmask);
          lsb  = int'(bexp) - 127 - int'(w) + 1;
          special  = bflags != 2'b00;
          spec_val = FP10_NAN;
        end
        default: begin
          special  = 1'b1;
          spec_val = raw;
        end
      endcase
    end
    assign y = special ? spec_val : fp10_round(sign, 64'(mag), lsb);
    assign x[10*i +: 10] = y;
  end
endmodule
