// FP32 -> NeuroFlix operand converter (docs/spec.md, "NeuroFlix", conversion): the operands of
// neuroflix_mac produced on chip from binary32 tensors, as fp2bfp produces FlexBlock's. G elements per beat,
// each converted to the beat's format with the tensor's power-of-two scale (`in_scale`: the value sent is
// x * 2^-scale; **Decision:** the scale is an input, computed from the tensor's max|x| by the pass that
// finds it, as models.neuroflix.quantize_fixed / quantize_float do):
//   FX4 / FX8 (in_fmt 0 / 1): sign-magnitude byte, magnitude = nearest-even(|x| 2^-scale) saturated to
//     2^(W-1) - 1; NaN -> 0, Inf -> the saturated magnitude; a zero magnitude has sign 0.
//   E5M2 / FP16 (in_fmt 2 / 3): IEEE nearest-even with subnormals, overflow to Inf, NaN -> 0x7E / 0x7E00.
// Element i's result is at out_y[16i +: 16] (the byte formats in its low byte), the layout of
// neuroflix_mac's B port (its A port takes the low bytes). The conversion sits between the input port and
// a credit FIFO pushed at the edge that takes the beat: outputs registered, in_ready a register.
module neuroflix_fp2nf #(
  parameter int G = 8
) (
  input  logic              clk,
  input  logic              rst_n,
  input  logic              in_valid,
  output logic              in_ready,
  input  logic [32*G-1:0]   in_x,      // element i at [32i +: 32], binary32 bits
  input  logic [1:0]        in_fmt,    // 0 = FX4, 1 = FX8, 2 = E5M2, 3 = FP16
  input  logic signed [9:0] in_scale,
  output logic              out_valid,
  input  logic              out_ready,
  output logic [16*G-1:0]   out_y
);
  // nearest-even of v * 2^-sh (sh >= 0; v < 2^24, so sh >= 25 gives 0)
  function automatic logic [24:0] rne_shift(input logic [23:0] v, input logic [5:0] sh);
    logic [47:0] w;
    logic [23:0] q;
    w = {v, 24'd0} >> ((sh > 6'd25) ? 6'd25 : sh);
    q = w[47:24];
    rne_shift = 25'(q) + 25'(w[23] && (w[22:0] != '0 || q[0]));
  endfunction

  logic [16*G-1:0] y;
  wire  is_float = in_fmt[1];

  for (genvar i = 0; i < G; i++) begin : g_elem
    logic [31:0]        x;
    logic               nan, inf, sign;
    logic [23:0]        sig;
    logic signed [11:0] ex;        // value = sig * 2^ex (x * 2^-scale)
    // fixed point
    logic [6:0]         top;
    logic [24:0]        fx_q;
    logic [6:0]         fx_mag;
    // float
    logic [4:0]         lead;
    logic               any;
    logic signed [11:0] e_unb, te, shift;
    logic [24:0]        fl_q;
    logic [10:0]        fl_sig;    // fb + 1 bits after the carry fix
    logic signed [11:0] fl_te;
    logic [15:0]        fl_bits, inf_bits, nan_bits;
    logic [3:0]         fb;

    assign x    = in_x[32*i +: 32];
    assign sign = x[31];
    assign nan  = x[30:23] == 8'hFF && x[22:0] != '0;
    assign inf  = x[30:23] == 8'hFF && x[22:0] == '0;
    assign sig  = {x[30:23] != 8'd0, x[22:0]};
    assign ex   = 12'((x[30:23] == 8'd0) ? 8'd1 : x[30:23]) - 12'sd150 - 12'(in_scale);

    // ---- FX4 / FX8: nearest-even integer, saturated ------------------------------------------------
    assign top    = in_fmt[0] ? 7'd127 : 7'd7;
    assign fx_q   = (ex >= 0) ? (((ex >= 12'sd8 && sig != '0) || sig[23:8] != '0) ? 25'h1FF_FFFF : 25'(sig) << ex[2:0])
                  : rne_shift(sig, (ex < -12'sd63) ? 6'd63 : 6'(-ex));
    assign fx_mag = nan ? 7'd0 : (inf || fx_q > 25'(top)) ? top : fx_q[6:0];

    // ---- E5M2 / FP16: IEEE nearest-even, subnormals, overflow to Inf -------------------------------
    one_position #(.N(24)) u_lead (.v(sig), .pos(lead), .any);
    assign fb     = in_fmt[0] ? 4'd10 : 4'd2;
    assign e_unb  = 12'(lead) + ex;
    assign te     = (e_unb < -12'sd14) ? -12'sd14 : e_unb;
    assign shift  = te - 12'(fb) - ex;   // right shift of sig onto the ulp grid
    assign fl_q   = (shift <= 0) ? 25'(sig) << 4'(-shift) : rne_shift(sig, (shift > 12'sd63) ? 6'd63 : 6'(shift));
    // a carry to 2^(fb+1) moves the exponent up (the value is then exactly 2^(fb+1) ulps)
    assign fl_te  = (fl_q >= (25'd2 << fb)) ? te + 12'sd1 : te;
    assign fl_sig = (fl_q >= (25'd2 << fb)) ? 11'(fl_q >> 1) : 11'(fl_q);
    assign inf_bits = in_fmt[0] ? {sign, 15'h7C00} : {8'd0, sign, 7'h7C};
    assign nan_bits = in_fmt[0] ? 16'h7E00 : 16'h007E;
    always_comb begin
      if (fl_sig >= (11'd1 << fb)) begin  // normal
        fl_bits = in_fmt[0] ? {sign, 5'(fl_te + 12'sd15), fl_sig[9:0]}
                            : {8'd0, sign, 5'(fl_te + 12'sd15), fl_sig[1:0]};
      end else begin                     // subnormal or zero
        fl_bits = in_fmt[0] ? {sign, 5'd0, fl_sig[9:0]} : {8'd0, sign, 5'd0, fl_sig[1:0]};
      end
    end

    always_comb begin
      if (!is_float) begin
        y[16*i +: 16] = {8'd0, sign && fx_mag != '0, fx_mag};
      end else if (nan) begin
        y[16*i +: 16] = nan_bits;
      end else if (inf || (any && (e_unb >= 12'sd16 || (fl_sig >= (11'd1 << fb) && fl_te >= 12'sd16)))) begin
        y[16*i +: 16] = inf_bits;
      end else begin
        y[16*i +: 16] = fl_bits;
      end
    end
  end

  wire take = in_valid && in_ready;

  credit_fifo #(.WIDTH(16 * G), .DEPTH(2)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready),
    .accept(take),
    .push(take),
    .push_data(y),
    .out_valid, .out_ready,
    .out_data(out_y)
  );
`ifndef SYNTHESIS
  stream_checker #(.NAME("neuroflix_fp2nf.in"), .WIDTH(32 * G + 12)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_x, in_fmt, in_scale})
  );
  stream_checker #(.NAME("neuroflix_fp2nf.out"), .WIDTH(16 * G)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data(out_y)
  );
`endif
endmodule
