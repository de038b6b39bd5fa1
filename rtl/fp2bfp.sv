// FP32 -> BFP conversion unit (docs/spec.md section 2): one block of K binary32 values per cycle in, one
// block {shared exponent, K sign-magnitude elements, flags, mode} per cycle out.
//
// Pipeline (never stalls; back-pressure is absorbed by the credit FIFO, see credit_fifo.sv):
//   stage 1  decode every element (effective exponent, significand, NaN/Inf), the block's shared
//            exponent E (max tree), the flags, and the block's stochastic-rounding bits.
//   stage 2  per element: shift amount s = E - e + 24 - W, align, round (RTZ/RNE/RNA/SR), saturate.
//   FIFO     LATENCY + 1 entries, so a beat accepted every cycle never runs out of credits.
// in_ready is the FIFO's credit check, a register output: no combinational path from out_ready (or
// in_valid). The bit-exact reference is models/fp2bfp.py (`quantize`, `Fp2Bfp`).
module fp2bfp #(
  parameter int          K       = 16,        // elements per block
  parameter int          SR_BITS = 8,         // stochastic-rounding random bits r, 1..16
  parameter int          SR_SEED = 'hACE1     // LFSR seed loaded by reset, 16 bits
) (
  input  logic              clk,
  input  logic              rst_n,
  input  logic              in_valid,
  output logic              in_ready,
  input  logic [32*K-1:0]   in_data,      // element i in bits [32i+31:32i]
  input  logic [1:0]        in_mode,      // MODE_*; reserved 3 converts as FB24
  input  logic [1:0]        in_rounding,  // ROUND_*
  input  logic              seed_load,    // one-cycle strobe: reseed the SR LFSRs
  input  logic [15:0]       seed,
  output logic              out_valid,
  input  logic              out_ready,
  output logic [7:0]        out_exp,
  output logic [K-1:0]      out_sign,
  output logic [16*K-1:0]   out_mag,      // element i in bits [16i+15:16i], low W bits
  output logic [1:0]        out_flags,    // {overflow, invalid}
  output logic [1:0]        out_mode      // the block's mode code, unchanged (3 stays 3)
);
  import flexblock_pkg::*;

  localparam int SIG_BITS  = 24;            // binary32 significand with the hidden bit
  localparam int FRAC_BITS = 16;            // fraction bits kept below the LSB (SR needs up to 16)
  // s >= 8 always (E >= e and W <= 16). Past S_MAX every rounding mode gives 0 (the scaled value is
  // below 1/2 and SR adds less than 1), so s is clamped there, exactly as the model does.
  localparam int S_MIN     = SIG_BITS - 16;
  localparam int S_MAX     = SIG_BITS + 16 + 1;
  // Aligned value: {sig, SH_PAD zeros} >> (s - S_MIN). Its top 16 bits are floor(sig / 2^s), the next
  // FRAC_BITS the fraction, the rest (exact: no bit falls off the bottom) only feed a sticky OR.
  localparam int SH_PAD    = S_MAX - S_MIN;           // 33
  localparam int AL_BITS   = SIG_BITS + SH_PAD;       // 57
  localparam int STICKY    = AL_BITS - 16 - FRAC_BITS;
  localparam int LATENCY   = 3;             // accept edge -> out_valid: stage 1, stage 2, FIFO write
  localparam int OUT_BITS  = 8 + K + 16 * K + 2 + 2;  // {exp, sign, mag, flags, mode}

  // ---- stage 1: decode and shared exponent ------------------------------------------------------
  logic                 accept;
  logic [K-1:0]         d_sign, d_nan, d_inf;
  logic [SIG_BITS-1:0]  d_sig [K];
  logic [7:0]           d_eeff [K];
  logic [7:0]           d_exp;
  logic [K*SR_BITS-1:0] d_rnd;

  assign accept = in_valid && in_ready;

  for (genvar i = 0; i < K; i++) begin : g_decode
    logic [7:0]  e;
    logic [22:0] f;
    assign e = in_data[32*i+23 +: 8];
    assign f = in_data[32*i +: 23];
    assign d_sign[i] = in_data[32*i+31];
    assign d_nan[i]  = (e == 8'hFF) && (f != '0);
    assign d_inf[i]  = (e == 8'hFF) && (f == '0);
    // Exponent that counts towards E: NaN excluded (0), Inf as 254, a nonzero subnormal as 1
    // (its value is frac * 2^(1 - 127 - 23)), zero as 0.
    assign d_eeff[i] = d_nan[i] ? 8'd0 :
                       d_inf[i] ? 8'd254 :
                       (e == 8'd0) ? {7'd0, f != '0} : e;
    // Inf/NaN carry no magnitude through the datapath (Inf is forced to 2^W - 1 after rounding).
    assign d_sig[i]  = (e == 8'hFF) ? '0 : {e != 8'd0, f};
  end

  // E = max over the block: a balanced tree (log2 K compare levels), padded with 0 to a power of two.
  localparam int LEAVES = 1 << $clog2(K);

  // Level by level in place: node j of a level takes the larger of nodes 2j, 2j+1 of the level below
  // (those sit above j, so they are still unwritten). A function keeps the tree out of one circular
  // array signal, which Verilator would flag UNOPTFLAT.
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
    if (n < K) begin : g_elem
      assign max_leaves[8*n +: 8] = d_eeff[n];
    end else begin : g_pad
      assign max_leaves[8*n +: 8] = 8'd0;
    end
  end
  assign d_exp = tree_max(max_leaves);

  // Advances on every accepted block (any rounding mode): the model counts blocks, not SR blocks.
  sr_lfsr #(.K(K), .SR_BITS(SR_BITS), .SR_SEED(SR_SEED)) u_lfsr (
    .clk, .rst_n, .advance(accept), .seed_load, .seed, .rnd(d_rnd)
  );

  logic                 s1_valid;
  logic [K-1:0]         s1_sign, s1_inf;
  logic [SIG_BITS-1:0]  s1_sig [K];
  logic [7:0]           s1_eeff [K];
  logic [7:0]           s1_exp;
  logic [1:0]           s1_flags, s1_mode, s1_rounding;
  logic [K*SR_BITS-1:0] s1_rnd;

  // Only the valid bits are reset: data registers load on a beat and are ignored otherwise.
  always_ff @(posedge clk) begin
    if (!rst_n) s1_valid <= 1'b0;
    else        s1_valid <= accept;
  end

  always_ff @(posedge clk) begin
    if (accept) begin
      s1_sign     <= d_sign;
      s1_inf      <= d_inf;
      for (int i = 0; i < K; i++) begin  // element-wise: Icarus 11 cannot assign whole arrays
        s1_sig[i]  <= d_sig[i];
        s1_eeff[i] <= d_eeff[i];
      end
      s1_exp      <= d_exp;
      s1_flags    <= {|d_inf, |d_nan};
      s1_mode     <= in_mode;
      s1_rounding <= in_rounding;
      s1_rnd      <= d_rnd;
    end
  end

  // ---- stage 2: align, round, saturate ----------------------------------------------------------
  logic [4:0]    s1_width;  // W
  logic [15:0]   s1_top;    // 2^W - 1
  logic [K-1:0]  r_sign;
  logic [16*K-1:0] r_mag;

  assign s1_width = mode_width(s1_mode);
  assign s1_top   = 16'((17'd1 << s1_width) - 17'd1);

  for (genvar i = 0; i < K; i++) begin : g_round
    logic [8:0]         s_full;   // E - e + 24 - W: 8..274
    logic [5:0]         sh;       // min(s, S_MAX) - S_MIN: 0..33
    logic [AL_BITS-1:0] aligned;
    logic [15:0]        q;        // floor(sig / 2^s)
    logic [FRAC_BITS-1:0] frac;   // the next 16 bits below the LSB
    logic               sticky;   // any bit further down
    logic               half, above_half;
    logic [SR_BITS:0]   sr_sum;
    logic               inc;
    logic [16:0]        rounded;  // q + 1 can reach 2^16 in FB24
    logic [15:0]        mag;

    assign s_full  = 9'(s1_exp) - 9'(s1_eeff[i]) + 9'(SIG_BITS) - 9'(s1_width);
    assign sh      = (s_full > 9'(S_MAX)) ? 6'(SH_PAD) : 6'(s_full - 9'(S_MIN));
    assign aligned = {s1_sig[i], SH_PAD'(0)} >> sh;
    assign q       = aligned[AL_BITS-1 -: 16];
    assign frac    = aligned[STICKY +: FRAC_BITS];
    assign sticky  = |aligned[STICKY-1:0];

    // Remainder vs. one half LSB: the first fraction bit, then anything below it.
    assign half       = frac[FRAC_BITS-1];
    assign above_half = half && ((frac[FRAC_BITS-2:0] != '0) || sticky);
    // SR: truncate to r fraction bits, add the r-bit random number in that last place; the carry
    // out of the r bits is the increment (floor(sig / 2^s + rnd / 2^r) - floor(sig / 2^s)).
    assign sr_sum = {1'b0, frac[FRAC_BITS-1 -: SR_BITS]} + {1'b0, s1_rnd[i*SR_BITS +: SR_BITS]};

    // (a continuous assignment, not an always_comb case: Icarus 11 says "sorry" to constant bit
    // selects inside always_* processes)
    assign inc = (s1_rounding == ROUND_RNE) ? (above_half || (half && q[0])) :  // tie to even
                 (s1_rounding == ROUND_RNA) ? half :                            // tie away from 0
                 (s1_rounding == ROUND_SR)  ? sr_sum[SR_BITS] :
                                              1'b0;                             // ROUND_RTZ

    assign rounded = {1'b0, q} + 17'(inc);
    // Rounding up past 2^W - 1 saturates (E is never bumped; no flag); Inf becomes 2^W - 1.
    assign mag = (s1_inf[i] || rounded > {1'b0, s1_top}) ? s1_top : rounded[15:0];

    assign r_mag[16*i +: 16] = mag;
    assign r_sign[i]         = s1_sign[i] && (mag != 16'd0);  // canonical zero: no -0
  end

  logic                 s2_valid;
  logic [OUT_BITS-1:0]  s2_data;

  always_ff @(posedge clk) begin
    if (!rst_n) s2_valid <= 1'b0;
    else        s2_valid <= s1_valid;
  end

  always_ff @(posedge clk) begin
    if (s1_valid) s2_data <= {s1_exp, r_sign, r_mag, s1_flags, s1_mode};
  end

  // ---- output FIFO with credits -----------------------------------------------------------------
  // A beat holds a credit from its accept edge until it is popped, at least LATENCY cycles, so
  // LATENCY + 1 entries keep one beat per cycle flowing.
  credit_fifo #(.WIDTH(OUT_BITS), .DEPTH(LATENCY + 1)) u_out_fifo (
    .clk, .rst_n,
    .can_accept(in_ready), .accept,
    .push(s2_valid), .push_data(s2_data),
    .out_valid, .out_ready,
    .out_data({out_exp, out_sign, out_mag, out_flags, out_mode})
  );

`ifndef SYNTHESIS
  // Simulation-only invariants of the converted blocks.
  logic [15:0] out_top;
  assign out_top = 16'((17'd1 << mode_width(out_mode)) - 17'd1);

  stream_checker #(.NAME("fp2bfp.in"), .WIDTH(32 * K + 4)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready), .data({in_data, in_mode, in_rounding})
  );
  stream_checker #(.NAME("fp2bfp.out"), .WIDTH(OUT_BITS)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready), .data({out_exp, out_sign, out_mag, out_flags, out_mode})
  );

  always @(posedge clk) begin
    if (rst_n) begin
      if (out_valid) begin
        // E is a finite biased exponent: Inf counts as 254, NaN not at all.
        assert (out_exp != 8'hFF) else $fatal(1, "fp2bfp: shared exponent 255");
        for (int i = 0; i < K; i++) begin
          assert (out_mag[16*i +: 16] <= out_top)
            else $fatal(1, "fp2bfp: element %0d magnitude %0d above 2^W - 1 = %0d", i, out_mag[16*i +: 16],
                        out_top);
          assert (out_mag[16*i +: 16] != 16'd0 || !out_sign[i])
            else $fatal(1, "fp2bfp: element %0d is a negative zero", i);
        end
      end
    end
  end
`endif
endmodule
