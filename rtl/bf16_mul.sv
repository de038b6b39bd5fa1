// One bfloat16 x bfloat16 product rounded once to binary32 (docs/spec.md, "bfloat16 baseline"),
// combinational. The 8-bit significands (hidden bit included; subnormals have it 0 and exponent 1)
// multiply exactly into 16 bits whose LSB has the exponent Ea' + Eb' - 268; fp32_round rounds that value
// to binary32 (exact unless it falls below the normal range or beyond the largest binary32).
// NaN x anything and 0 x Inf give the canonical NaN; Inf x nonzero gives a signed Inf.
module bf16_mul (
  input  logic [15:0] a,
  input  logic [15:0] b,
  output logic [31:0] product
);
  localparam logic [31:0] CANONICAL_NAN = 32'h7FC0_0000;

  logic [7:0]         sig_a, sig_b;
  logic [15:0]        mag;
  logic signed [11:0] lsb_exp;
  logic               sign, a_nan, b_nan, a_inf, b_inf, a_zero, b_zero;
  logic [31:0]        rounded;

  assign sign    = a[15] ^ b[15];
  assign sig_a   = {a[14:7] != 8'd0, a[6:0]};
  assign sig_b   = {b[14:7] != 8'd0, b[6:0]};
  assign mag     = 16'(sig_a) * 16'(sig_b);
  // an exponent field of 0 (subnormal) counts as 1: value = sig * 2^(max(E,1) - 134)
  assign lsb_exp = 12'((a[14:7] == 8'd0) ? 8'd1 : a[14:7]) + 12'((b[14:7] == 8'd0) ? 8'd1 : b[14:7])
                 - 12'sd268;
  assign a_nan   = a[14:7] == 8'hFF && a[6:0] != '0;
  assign b_nan   = b[14:7] == 8'hFF && b[6:0] != '0;
  assign a_inf   = a[14:0] == 15'h7F80;
  assign b_inf   = b[14:0] == 15'h7F80;
  assign a_zero  = a[14:0] == '0;
  assign b_zero  = b[14:0] == '0;

  fp32_round #(.N(16)) u_round (.sign, .mag, .lsb_exp, .result(rounded));

  assign product = (a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) ? CANONICAL_NAN
                 : (a_inf || b_inf) ? {sign, 8'hFF, 23'd0}
                 :                    rounded;
endmodule
