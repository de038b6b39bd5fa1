// FP32 -> FAST BFP conversion unit (docs/spec.md "FAST 2"): one group of G binary32 values per cycle
// in, one group {exponent code, base, G sign-magnitude elements of m bits, flags, precision} per cycle out.
//
// The mantissa width m = 2, 4, 6, 8 and the rounding (RTZ / RNE / RNA / SR) come with every group. SR is
// FAST's: the aligned magnitude keeps SR_BITS bits below its LSB, the lane's LFSR noise is added there,
// and the sum is truncated (sr_lfsr: the same lanes as FlexBlock's fp2bfp). With EW = 4 the exponent is a
// 4-bit code above the per-tensor `in_base`: E = base + clamp(E_max - base, 0, 15); a group clamped down
// saturates, one clamped up loses low bits. With EW = 8 the code is E_max itself and the base is 0.
//
// Pipeline (never stalls; back-pressure is absorbed by the credit FIFO, as in fp2bfp):
//   stage 1  decode, the group's E_max (max tree), the exponent code, the flags, the noise bits.
//   stage 2  per element: s = E - e + 24 - m, align, round, saturate at 2^m - 1.
module fast_fp2bfp #(
  parameter int G       = 16,      // elements per group
  parameter int EW      = 8,       // exponent code bits: 8 or 4
  parameter int SR_BITS = 8,       // noise bits, 1..16
  parameter int SR_SEED = 'hACE1   // LFSR seed loaded by reset
) (
  input  logic             clk,
  input  logic             rst_n,
  input  logic             in_valid,
  output logic             in_ready,
  input  logic [32*G-1:0]  in_data,      // element i in bits [32i +: 32]
  input  logic [1:0]       in_prec,      // m/2 - 1
  input  logic [1:0]       in_rounding,  // 0 RTZ, 1 RNE, 2 RNA, 3 SR
  input  logic [7:0]       in_base,      // EW = 4: the tensor's base (ignored with EW = 8)
  input  logic             seed_load,
  input  logic [15:0]      seed,
  output logic             out_valid,
  input  logic             out_ready,
  output logic [7:0]       out_base,
  output logic [EW-1:0]    out_exp,      // the code: E = out_base + out_exp
  output logic [G-1:0]     out_sign,
  output logic [8*G-1:0]   out_mag,      // element i in [8i +: 8], low m bits
  output logic [1:0]       out_flags,    // {overflow, invalid}
  output logic [1:0]       out_prec
);
  localparam int SIG_BITS = 24;
  localparam int FRAC     = 16;                 // fraction bits kept below the LSB
  localparam int S_MAX    = SIG_BITS + 16 + 1;  // past this every rounding gives 0 (as the model clamps)
  localparam int AL       = SIG_BITS + S_MAX;   // {sig, S_MAX zeros} >> s: q on top, then the fraction
  localparam int RW       = SIG_BITS + 1;      // q + 1
  localparam int LATENCY  = 3;
  localparam int OUT_BITS = 8 + EW + G + 8 * G + 2 + 2;
  localparam int CODE_MAX = (1 << EW) - 1;

  // ---- stage 1: decode, E_max, exponent code -------------------------------------------------------
  logic                 accept;
  logic [G-1:0]         d_sign, d_nan, d_inf;
  logic [SIG_BITS-1:0]  d_sig [G];
  logic [7:0]           d_eeff [G];
  logic [7:0]           d_emax, d_base;
  logic [EW-1:0]        d_code;
  logic [G*SR_BITS-1:0] d_rnd;

  assign accept = in_valid && in_ready;

  for (genvar i = 0; i < G; i++) begin : g_decode
    logic [7:0]  e;
    logic [22:0] f;
    assign e = in_data[32*i+23 +: 8];
    assign f = in_data[32*i +: 23];
    assign d_sign[i] = in_data[32*i+31];
    assign d_nan[i]  = (e == 8'hFF) && (f != '0);
    assign d_inf[i]  = (e == 8'hFF) && (f == '0);
    assign d_eeff[i] = d_nan[i] ? 8'd0 : d_inf[i] ? 8'd254 : (e == 8'd0) ? {7'd0, f != '0} : e;
    assign d_sig[i]  = (e == 8'hFF) ? '0 : {e != 8'd0, f};
  end

  localparam int LEAVES = 1 << $clog2(G);
  function automatic logic [7:0] tree_max(input logic [8*LEAVES-1:0] leaves);
    logic [8*LEAVES-1:0] v;
    v = leaves;
    for (int nodes = LEAVES / 2; nodes >= 1; nodes = nodes / 2) begin
      for (int j = 0; j < nodes; j++) begin
        v[8*j +: 8] = (v[16*j +: 8] > v[16*j+8 +: 8]) ? v[16*j +: 8] : v[16*j+8 +: 8];
      end
    end
    tree_max = v[7:0];
  endfunction

  logic [8*LEAVES-1:0] max_leaves;
  for (genvar n = 0; n < LEAVES; n++) begin : g_max_leaf
    if (n < G) begin : g_elem
      assign max_leaves[8*n +: 8] = d_eeff[n];
    end else begin : g_pad
      assign max_leaves[8*n +: 8] = 8'd0;
    end
  end
  assign d_emax = tree_max(max_leaves);

  // code = clamp(E_max - base, 0, 2^EW - 1); with EW = 8 the base is 0 and the code is E_max.
  if (EW >= 8) begin : g_exp8
    logic unused_base;
    assign unused_base = ^in_base;  // no base with 8-bit exponents
    assign d_base = 8'd0;
    assign d_code = EW'(d_emax);
  end else begin : g_expn
    logic signed [9:0] diff;
    assign d_base = in_base;
    assign diff   = 10'(d_emax) - 10'(in_base);
    assign d_code = (diff < 0) ? '0 : (diff > 10'(CODE_MAX)) ? EW'(CODE_MAX) : EW'(diff);
  end

  sr_lfsr #(.K(G), .SR_BITS(SR_BITS), .SR_SEED(SR_SEED)) u_lfsr (
    .clk, .rst_n, .advance(accept), .seed_load, .seed, .rnd(d_rnd)
  );

  logic                 s1_valid;
  logic [G-1:0]         s1_sign, s1_inf;
  logic [SIG_BITS-1:0]  s1_sig [G];
  logic [7:0]           s1_eeff [G];
  logic [7:0]           s1_base;
  logic [EW-1:0]        s1_code;
  logic [1:0]           s1_flags, s1_prec, s1_rounding;
  logic [G*SR_BITS-1:0] s1_rnd;

  always_ff @(posedge clk) begin
    if (!rst_n) s1_valid <= 1'b0;
    else        s1_valid <= accept;
  end

  always_ff @(posedge clk) begin
    if (accept) begin
      s1_sign <= d_sign;
      s1_inf  <= d_inf;
      for (int i = 0; i < G; i++) begin
        s1_sig[i]  <= d_sig[i];
        s1_eeff[i] <= d_eeff[i];
      end
      s1_base     <= d_base;
      s1_code     <= d_code;
      s1_flags    <= {|d_inf, |d_nan};
      s1_prec     <= in_prec;
      s1_rounding <= in_rounding;
      s1_rnd      <= d_rnd;
    end
  end

  // ---- stage 2: align, round, saturate --------------------------------------------------------------
  logic [8:0]    s1_e;      // E = base + code
  logic [3:0]    s1_m;      // m = 2 prec + 2
  logic [7:0]    s1_top;    // 2^m - 1
  logic [G-1:0]  r_sign;
  logic [8*G-1:0] r_mag;

  assign s1_e   = 9'(s1_base) + 9'(s1_code);
  assign s1_m   = {1'b0, s1_prec, 1'b0} + 4'd2;
  assign s1_top = 8'((9'd1 << s1_m) - 9'd1);

  for (genvar i = 0; i < G; i++) begin : g_round
    logic signed [10:0] s_full;   // E - e + 24 - m: below 0 only when a 4-bit code clamped down
    logic [5:0]         sh;       // min(s, S_MAX)
    logic [AL-1:0]      aligned;
    logic [SIG_BITS-1:0] q;       // floor(sig / 2^s)
    logic [FRAC-1:0]    frac;
    logic               sticky, half, above_half, inc, over;
    logic [SR_BITS:0]   sr_sum;
    logic [SIG_BITS:0]  rounded;
    logic [7:0]         mag;

    assign s_full  = 11'(s1_e) - 11'(s1_eeff[i]) + 11'sd24 - 11'(s1_m);
    assign sh      = (s_full < 0) ? 6'd0 : (s_full > 11'(S_MAX)) ? 6'(S_MAX) : 6'(s_full);
    assign aligned = {s1_sig[i], S_MAX'(0)} >> sh;
    assign q       = aligned[AL-1 -: SIG_BITS];
    assign frac    = aligned[S_MAX-1 -: FRAC];
    assign sticky  = |aligned[S_MAX-FRAC-1:0];
    assign half       = frac[FRAC-1];
    assign above_half = half && ((frac[FRAC-2:0] != '0) || sticky);
    assign sr_sum  = {1'b0, frac[FRAC-1 -: SR_BITS]} + {1'b0, s1_rnd[i*SR_BITS +: SR_BITS]};
    assign inc = (s1_rounding == 2'd1) ? (above_half || (half && q[0])) :
                 (s1_rounding == 2'd2) ? half :
                 (s1_rounding == 2'd3) ? sr_sum[SR_BITS] : 1'b0;
    assign rounded = {1'b0, q} + RW'(inc);
    // A negative shift (the element is above the clamped group exponent) is a left shift of a nonzero
    // normal significand: far past 2^m - 1, so it saturates (the model's clamped left shift agrees).
    assign over    = (s_full < 0 && s1_sig[i] != '0) || rounded > RW'(s1_top);
    assign mag     = (s1_inf[i] || over) ? s1_top : rounded[7:0];
    assign r_mag[8*i +: 8] = mag;
    assign r_sign[i]       = s1_sign[i] && (mag != 8'd0);
  end

  logic                s2_valid;
  logic [OUT_BITS-1:0] s2_data;

  always_ff @(posedge clk) begin
    if (!rst_n) s2_valid <= 1'b0;
    else        s2_valid <= s1_valid;
  end

  always_ff @(posedge clk) begin
    if (s1_valid) s2_data <= {s1_base, s1_code, r_sign, r_mag, s1_flags, s1_prec};
  end

  credit_fifo #(.WIDTH(OUT_BITS), .DEPTH(LATENCY + 1)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready), .accept,
    .push(s2_valid), .push_data(s2_data),
    .out_valid, .out_ready,
    .out_data({out_base, out_exp, out_sign, out_mag, out_flags, out_prec})
  );

`ifndef SYNTHESIS
  logic [7:0] out_top;
  assign out_top = 8'((9'd1 << ({1'b0, out_prec, 1'b0} + 4'd2)) - 9'd1);

  stream_checker #(.NAME("fast_fp2bfp.in"), .WIDTH(32 * G + 12)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_data, in_prec, in_rounding, in_base})
  );
  stream_checker #(.NAME("fast_fp2bfp.out"), .WIDTH(OUT_BITS)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready),
    .data({out_base, out_exp, out_sign, out_mag, out_flags, out_prec})
  );
  always @(posedge clk) begin
    if (rst_n && out_valid) begin
      for (int i = 0; i < G; i++) begin
        assert (out_mag[8*i +: 8] <= out_top)
          else $fatal(1, "fast_fp2bfp: element %0d magnitude %0d above 2^m - 1", i, out_mag[8*i +: 8]);
        assert (out_mag[8*i +: 8] != 8'd0 || !out_sign[i])
          else $fatal(1, "fast_fp2bfp: element %0d is a negative zero", i);
      end
    end
  end
  initial assert (EW == 8 || EW == 4) else $fatal(1, "fast_fp2bfp: EW must be 8 or 4");
`endif
endmodule
