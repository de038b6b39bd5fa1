// FP32 -> Block Minifloat conversion unit (docs/spec.md, Block Minifloat BM.2): one block of K binary32
// values per cycle in, one BM block {shared exponent, K minifloat codes, flags} per cycle out, in format
// eXmX (in_fmt = 0) or eGmG (in_fmt = 1), rounded nearest-even or stochastically (in_sr, FlexBlock's LFSR).
//
// Pipeline (as fp2bfp.sv; never stalls, back-pressure is absorbed by the credit FIFO):
//   stage 1  decode every element (floor(log2|x|) as a key, significand, NaN/Inf), the block's shared
//            exponent se = clamp(floor(log2 max|x|), -128, 127) (max tree), the flags, the SR bits.
//   stage 2  per element: binade e = clamp(log2 - offset, emin+1, emax), right shift s, round (RNE/SR),
//            carry into the next binade, saturate, encode {sign, field, man}.
// in_ready is the FIFO's credit check, a register output. Reference: models/block_minifloat.py `quantize`.
/* verilator lint_off MULTITOP */  // a top-level unit of its own, beside the others in rtl/
module bm_fp2bm #(
  parameter int K       = 16,
  parameter int EX      = 2,
  parameter int MX      = 5,
  parameter int EG      = 4,
  parameter int MG      = 3,
  parameter int SR_BITS = 8,       // 1..16
  parameter int SR_SEED = 'hACE1
) (
  input  logic                   clk,
  input  logic                   rst_n,
  input  logic                   in_valid,
  output logic                   in_ready,
  input  logic [32*K-1:0]        in_data,    // element i in bits [32i+31:32i]
  input  logic                   in_fmt,     // 0: eXmX, 1: eGmG
  input  logic                   in_sr,      // 1: stochastic rounding, 0: nearest-even
  input  logic                   seed_load,  // one-cycle strobe: reseed the SR LFSRs
  input  logic [15:0]            seed,
  output logic                   out_valid,
  input  logic                   out_ready,
  output logic [7:0]             out_se,     // shared exponent, signed
  output logic [K*(1+EX+MX)-1:0] out_elems,  // element i at [i*EW +: EW] = {sign, field, man}
  output logic [1:0]             out_flags,  // {overflow, invalid}
  output logic                   out_fmt
);
  localparam int EW       = 1 + EX + MX;
  localparam int LATENCY  = 3;
  localparam int OUT_BITS = 8 + K * EW + 2 + 1;
  localparam int KEY_ZERO = 0;     // key = floor(log2|x|) + 150: 1..277 for finite nonzero values
  localparam int KEY_INF  = 511;
  localparam int PAD      = 42;    // s <= 41: {sig, PAD zeros} >> s loses no bit

  // ---- stage 1: decode and shared exponent ------------------------------------------------------
  wire accept = in_valid && in_ready;
  logic [K-1:0]         d_sign, d_nan, d_inf;
  logic [23:0]          d_sig [K];
  logic [8:0]           d_key [K];
  logic [7:0]           d_e32 [K];
  logic [K*SR_BITS-1:0] d_rnd;

  // Position of the leading one of a nonzero 23-bit fraction (0..22).
  function automatic logic [4:0] lead23(input logic [22:0] f);
    lead23 = '0;
    for (int b = 0; b < 23; b++) if (f[b]) lead23 = 5'(b);
  endfunction

  for (genvar i = 0; i < K; i++) begin : g_decode
    logic [7:0]  e;
    logic [22:0] f;
    assign e = in_data[32*i+23 +: 8];
    assign f = in_data[32*i +: 23];
    assign d_sign[i] = in_data[32*i+31];
    assign d_nan[i]  = (e == 8'hFF) && (f != '0);
    assign d_inf[i]  = (e == 8'hFF) && (f == '0);
    assign d_e32[i]  = e;
    // floor(log2|x|) + 150: e + 23 for a normal, lead + 1 for a subnormal; Inf above all, NaN/zero 0
    assign d_key[i]  = d_nan[i] ? 9'(KEY_ZERO) : d_inf[i] ? 9'(KEY_INF)
                     : (e != 8'd0) ? 9'(e) + 9'd23 : (f != '0) ? 9'(lead23(f)) + 9'd1 : 9'(KEY_ZERO);
    assign d_sig[i]  = (e == 8'hFF) ? '0 : {e != 8'd0, f};
  end

  localparam int LEAVES = 1 << $clog2(K);
  function automatic logic [8:0] tree_max(input logic [9*LEAVES-1:0] leaves);
    logic [9*LEAVES-1:0] v;
    v = leaves;
    for (int nodes = LEAVES / 2; nodes >= 1; nodes = nodes / 2)
      for (int j = 0; j < nodes; j++)
        v[9*j +: 9] = (v[18*j +: 9] > v[18*j+9 +: 9]) ? v[18*j +: 9] : v[18*j+9 +: 9];
    tree_max = v[8:0];
  endfunction

  logic [9*LEAVES-1:0] max_leaves;
  for (genvar n = 0; n < LEAVES; n++) begin : g_max_leaf
    if (n < K) begin : g_elem
      assign max_leaves[9*n +: 9] = d_key[n];
    end else begin : g_pad
      assign max_leaves[9*n +: 9] = 9'(KEY_ZERO);
    end
  end

  // se = clamp(max key - 150, -128, 127): an all-zero/NaN block (key 0) gives -128, Inf 127
  logic [8:0]        d_max;
  logic signed [9:0] d_log;
  logic [7:0]        d_se;
  assign d_max = tree_max(max_leaves);
  assign d_log = $signed({1'b0, d_max}) - 10'sd150;
  assign d_se  = (d_log < -10'sd128) ? 8'h80 : (d_log > 10'sd127) ? 8'h7F : d_log[7:0];

  sr_lfsr #(.K(K), .SR_BITS(SR_BITS), .SR_SEED(SR_SEED)) u_lfsr (
    .clk, .rst_n, .advance(accept), .seed_load, .seed, .rnd(d_rnd)
  );

  logic                 s1_valid, s1_fmt, s1_sr;
  logic [K-1:0]         s1_sign, s1_inf;
  logic [23:0]          s1_sig [K];
  logic [8:0]           s1_key [K];
  logic [7:0]           s1_e32 [K];
  logic [7:0]           s1_se;
  logic [1:0]           s1_flags;
  logic [K*SR_BITS-1:0] s1_rnd;

  always_ff @(posedge clk) begin
    if (!rst_n) s1_valid <= 1'b0;
    else        s1_valid <= accept;
  end

  always_ff @(posedge clk) begin
    if (accept) begin
      s1_sign  <= d_sign;
      s1_inf   <= d_inf;
      for (int i = 0; i < K; i++) begin
        s1_sig[i] <= d_sig[i];
        s1_key[i] <= d_key[i];
        s1_e32[i] <= d_e32[i];
      end
      s1_se    <= d_se;
      s1_flags <= {|d_inf, |d_nan};
      s1_fmt   <= in_fmt;
      s1_sr    <= in_sr;
      s1_rnd   <= d_rnd;
    end
  end

  // ---- stage 2: binade, shift, round, encode ----------------------------------------------------
  // the format of this block: m, bias b = 2^(e-1), emax = b - 1, emin + 1 = 1 - b
  logic signed [10:0] m, b, offset;
  assign m      = s1_fmt ? 11'sd0 + 11'(MG) : 11'sd0 + 11'(MX);
  assign b      = s1_fmt ? 11'sd0 + 11'(1 << (EG - 1)) : 11'sd0 + 11'(1 << (EX - 1));
  assign offset = 11'($signed(s1_se)) - (b - 11'sd1);

  logic [K*EW-1:0] r_elems;

  for (genvar i = 0; i < K; i++) begin : g_round
    logic signed [10:0] lg, e_raw, e_el, lsb32, s_raw;
    logic [5:0]         s;          // 1..41
    logic [65:0]        wide;       // {sig, PAD zeros} >> s
    logic [23:0]        q;
    logic [15:0]        frac;       // the 16 bits below q's LSB
    logic               sticky, half, inc;
    logic [SR_BITS:0]   sr_sum;
    logic [24:0]        rounded;
    logic               carry, sat;
    logic signed [10:0] e_fin, e_enc;
    logic [24:0]        q_fin;
    logic [EW-2:0]      mag;

    assign lg    = 11'($signed({2'b0, s1_key[i]})) - 11'sd150;
    assign e_raw = lg - offset;
    assign e_el  = (e_raw < 11'sd1 - b) ? 11'sd1 - b : (e_raw > b - 11'sd1) ? b - 11'sd1 : e_raw;
    assign lsb32 = (s1_e32[i] == 8'd0) ? -11'sd149 : 11'($signed({3'b0, s1_e32[i]})) - 11'sd150;
    assign s_raw = e_el - m + offset - lsb32;
    assign s     = (s_raw < 11'sd1) ? 6'd1 : (s_raw > 11'sd41) ? 6'd41 : 6'(s_raw);
    assign wide  = {s1_sig[i], PAD'(0)} >> s;
    assign q     = wide[65 -: 24];
    assign frac  = wide[PAD-1 -: 16];
    assign sticky = |wide[PAD-17:0];
    assign half   = frac[15];
    assign sr_sum = {1'b0, frac[15 -: SR_BITS]} + {1'b0, s1_rnd[i*SR_BITS +: SR_BITS]};
    assign inc    = s1_sr ? sr_sum[SR_BITS] : (half && ((frac[14:0] != '0) || sticky || q[0]));
    assign rounded = {1'b0, q} + 25'(inc);
    // rounded up to 2^(m+1): the next binade, significand 2^m; past emax (or Inf): the top code
    assign carry = rounded == (25'd1 << (m + 11'sd1));
    assign e_fin = carry ? e_el + 11'sd1 : e_el;
    assign sat   = s1_inf[i] || (e_fin > b - 11'sd1);
    assign q_fin = sat ? (25'd1 << (m + 11'sd1)) - 25'd1 : carry ? 25'd1 << m : rounded;
    assign e_enc = sat ? b - 11'sd1 : e_fin;
    // {field, man}: field = e + b for q >= 2^m, 0 (subnormal) below
    assign mag   = (q_fin >= (25'd1 << m)) ? (EW-1)'(((e_enc + b) << m) | 11'(q_fin & ((25'd1 << m) - 25'd1)))
                                           : (EW-1)'(q_fin);
    assign r_elems[i*EW +: EW] = {s1_sign[i] && (q_fin != '0), mag};
  end

  logic                s2_valid;
  logic [OUT_BITS-1:0] s2_data;

  always_ff @(posedge clk) begin
    if (!rst_n) s2_valid <= 1'b0;
    else        s2_valid <= s1_valid;
  end

  always_ff @(posedge clk) begin
    if (s1_valid) s2_data <= {s1_se, r_elems, s1_flags, s1_fmt};
  end

  credit_fifo #(.WIDTH(OUT_BITS), .DEPTH(LATENCY + 1)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready), .accept,
    .push(s2_valid), .push_data(s2_data),
    .out_valid, .out_ready,
    .out_data({out_se, out_elems, out_flags, out_fmt})
  );

`ifndef SYNTHESIS
  initial assert (1 + EG + MG == EW && SR_BITS >= 1 && SR_BITS <= 16)
    else $fatal(1, "bm_fp2bm: formats must have equal widths and SR_BITS must be 1..16");
  stream_checker #(.NAME("bm_fp2bm.in"), .WIDTH(32 * K + 2)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_data, in_fmt, in_sr})
  );
  stream_checker #(.NAME("bm_fp2bm.out"), .WIDTH(OUT_BITS)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_se, out_elems, out_flags, out_fmt})
  );
`endif
endmodule
