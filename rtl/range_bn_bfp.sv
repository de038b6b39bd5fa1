// LightNorm's output conversion (docs/spec.md "LightNorm"): one group of G fp10 results -> a BFP block in a
// FlexBlock mode, exactly as fp2bfp (spec section 2, RTZ) converts their binary32 values: an fp10 value
// is a binary32 normal with exponent field e+112 (a subnormal f * 2^-18 has field 109 + its leading-one
// position); E = the largest field (NaN excluded), magnitude = sig24 >> (E - e + 24 - W). A NaN element
// is magnitude 0 with the block's invalid flag. Combinational; the caller registers.
module range_bn_bfp #(
  parameter int G = 8
) (
  input  logic [10*G-1:0] z,
  input  logic [G-1:0]    nan,
  input  logic [1:0]      mode,
  output logic [7:0]      exp,
  output logic [G-1:0]    sign,
  output logic [16*G-1:0] mag,
  output logic [1:0]      flags
);
  // binary32 exponent field and 24-bit significand of a finite fp10 value (0 for zeros and NaN)
  function automatic logic [31:0] widen(input logic [9:0] v, input logic is_nan);
    logic [7:0]  e;
    logic [23:0] s;
    e = '0;
    s = '0;
    if (!is_nan && v[8:4] != 5'd0) begin
      e = 8'(v[8:4]) + 8'd112;
      s = {1'b1, v[3:0], 19'd0};
    end else if (!is_nan) begin
      for (int k = 0; k < 4; k++) if (v[k]) begin
        e = 8'd109 + 8'(k);
        s = 24'(v[3:0]) << (23 - k);
      end
    end
    widen = {e, s};
  endfunction

  logic [31:0] wide [G];
  logic [7:0]  emax [G+1];                  // running maximum
  logic [4:0]  w;

  assign w = (mode == 2'd1) ? 5'd8 : (mode == 2'd2) ? 5'd4 : 5'd16;   // reserved 3 converts as FB24
  assign emax[0] = '0;

  for (genvar i = 0; i < G; i++) begin : g_elem
    assign wide[i]    = widen(z[10*i +: 10], nan[i]);
    assign emax[i+1]  = (wide[i][31:24] > emax[i]) ? wide[i][31:24] : emax[i];
  end

  assign exp = emax[G];

  for (genvar i = 0; i < G; i++) begin : g_align
    logic [7:0]  s;
    logic [15:0] m;
    assign s = exp - wide[i][31:24] + 8'd24 - 8'(w);
    assign m = (s > 8'd41) ? 16'd0 : 16'(wide[i][23:0] >> s);
    assign mag[16*i +: 16] = m;
    assign sign[i] = z[10*i + 9] && !nan[i] && m != 16'd0;
  end

  assign flags = {1'b0, |nan};
endmodule
