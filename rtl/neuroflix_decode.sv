// NeuroFlix operand B decoder (docs/spec.md, "NeuroFlix"), combinational: one B element -> its sign, four
// 4-bit bricks and the brick position q of brick 0, in units of 2^-24 for a float (lanes' unit) and of 1
// for a fixed-point B.
//   FX4 / FX8 (fmt 0 / 1): sign-magnitude byte in b[7:0], magnitude b[2:0] / b[6:0]; q = 0.
//   E5M2 / FP16 (fmt 2 / 3): significand sig (hidden bit included), LSB offset off = max(E,1) - 1 (+ 8 for
//   E5M2, whose 2 fraction bits sit 8 bits above FP16's 10); sig << (off mod 4) is cut into bricks placed
//   at q = off / 4. Exponent 31 is Inf / NaN: no bricks, flagged.
module neuroflix_decode (
  input  logic [15:0] b,
  input  logic [1:0]  fmt,
  output logic        sign,
  output logic [15:0] bricks,   // brick i at [4i +: 4]
  output logic [3:0]  q,
  output logic        is_nan,
  output logic        is_inf
);
  logic       fp16, is_float, special;
  logic [4:0] e;
  logic [9:0] frac;
  logic [10:0] sig;
  logic [5:0] off;

  assign fp16     = fmt == 2'd3;
  assign is_float = fmt[1];
  assign e        = fp16 ? b[14:10] : b[6:2];
  assign frac     = fp16 ? b[9:0] : {8'd0, b[1:0]};
  assign sig      = fp16 ? {e != 5'd0, frac} : {8'd0, e != 5'd0, frac[1:0]};
  assign off      = 6'((e == 5'd0) ? 5'd1 : e) - 6'd1 + (fp16 ? 6'd0 : 6'd8);
  assign special  = is_float && e == 5'h1F;
  assign sign     = fp16 ? b[15] : b[7];
  assign is_nan   = special && frac != '0;
  assign is_inf   = special && frac == '0;
  assign q        = (is_float && !special) ? 4'(off >> 2) : 4'd0;
  assign bricks   = !is_float ? {9'd0, fmt[0] ? b[6:0] : {4'd0, b[2:0]}}
                  : special   ? 16'd0
                  :             16'({5'd0, sig} << off[1:0]);
endmodule
