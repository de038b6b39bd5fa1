// The FlexBlock accelerator core (docs/spec.md section 6): FP32 tensors in, training GEMMs out.
//
//   ld  ──> fp32_buffer (regions X, W, G; skewed banks: a block along a stored row or column per cycle)
//                │  conversion walk: A's blocks, then B's, along the pass's reduction axis
//                v
//             fp2bfp (one unit, the job's seed loaded at its start: A's blocks then B's, as models.gemm)
//                │
//                v
//   BFP banks (bfp_bank): ROWS for A (row m in bank m mod ROWS), COLS for B; two sets (ping-pong); blocks
//                │  densely packed at their mode's width in 1 (FB12), 2 (FB16) or 3 (FB24) words of DW bits
//                │  compute walk: every tile, its KBLOCKS block pairs, a pair's words over max(wa, wb) cycles,
//                v  unpacked to pe_array's 16-bit slots
//             credit FIFOs ──> pe_array ──> out (tiles, slots outside M x N zeroed; or one error beat)
//                                     │  job_out_bfp: K / COLS tiles gathered, ROWS rows of K columns
//                                     v
//                              fp2bfp (the output converter) ──> out (BFP blocks along C's rows)
//
// A job is FWD (C = X . W), BWD (dX = dY . W^T) or WG (dW = X^T . dY) on the stored tensors X, W, G (= dY),
// read in the orientation the pass needs; nothing is transposed or re-quantized by the host. The job is
// converted once (each element rounded once, in the order models.gemm rounds it), then computed. Two
// halves run concurrently: the front (check, conversion into one set of BFP banks) and the back (compute
// from the other set, results): job i + 1 is loaded and converted while job i computes. A conv
// job (3x3, stride 1, pad 1) reads A = im2col(X) (FWD) or im2col(dY) (BWD) from the tensor stored NHWC by
// an address generator; conv BWD reads B = W with its taps flipped (row (8 - t) C + c of W for tap t); conv
// WG reads A = im2col(X)^T by column reads at shifted pixels with a padding mask per lane (conv_wg_agen).
//
// A depthwise job (job_dw: a 3x3 depthwise conv on one channel group of an H x W map) bypasses the BFP banks
// and the array: the front reads the kernel (W, 9 rows x C) and the map (X or dY, H*W rows x C) along their
// stored rows, one K-channel block per cycle, through the same fp2bfp into the depthwise vector unit
// (dw_unit), whose binary32 results leave on `out` (split over ceil(K / (ROWS COLS)) beats).
module flexblock_core #(
  parameter int ROWS    = 4,
  parameter int COLS    = 4,
  parameter int K       = 16,      // elements per block, a power of two >= 16
  parameter int DEPTH   = 256,     // FP32 words (K elements) per tensor region
  parameter int BDEPTH  = 128,     // FB24 blocks per bank and set of the converted-operand buffers (3 BDEPTH
                                   // words of DW bits: 1.5x as many FB16 blocks, 3x as many FB12 blocks)
  parameter int SR_BITS = 8,
  parameter int SR_SEED = 'hACE1,
  parameter int DW_W_MAX = 112     // the depthwise unit's widest map row
) (
  input  logic                    clk,
  input  logic                    rst_n,
  // load: K consecutive elements of one row of tensor ld_buf (0 X, 1 W, 2 G) stored with ld_cols columns
  input  logic                    ld_valid,
  output logic                    ld_ready,
  input  logic [1:0]              ld_buf,
  input  logic [15:0]             ld_row,
  input  logic [15:0]             ld_cblk,
  input  logic [15:0]             ld_cols,
  input  logic [32*K-1:0]         ld_data,
  output logic                    ld_error,    // sticky: a load beat was dropped (bad tensor or outside it)
  // job: one GEMM
  input  logic                    job_valid,
  output logic                    job_ready,
  input  logic [1:0]              job_pass,    // 0 FWD, 1 BWD, 2 WG, 3 reserved (error)
  input  logic [15:0]             job_m,
  input  logic [15:0]             job_kdim,
  input  logic [15:0]             job_n,
  input  logic [1:0]              job_mode_a,
  input  logic [1:0]              job_mode_b,
  input  logic [1:0]              job_round_a,
  input  logic [1:0]              job_round_b,
  input  logic [15:0]             job_seed,    // loaded into the converter's SR LFSRs at the job's start
  input  logic                    job_conv,    // a 3x3 conv (stride 1, pad 1): FWD A = im2col(X), BWD A = im2col(dY),
                                               // WG A = im2col(X)^T
  input  logic [15:0]             job_img_h,   // conv: image height and width (M = images * H * W pixels)
  input  logic [15:0]             job_img_w,
  input  logic                    job_out_bfp,   // results as BFP blocks along C's rows (K columns each)
  input  logic [1:0]              job_out_mode,  // their mode and rounding (the next layer's)
  input  logic [1:0]              job_out_round,
  input  logic                    job_dw,        // a 3x3 depthwise job: map job_img_h x job_img_w, C = job_kdim
                                                 // channels stored, channel group job_n (job_m unused)
  // out: one beat per ROWS x COLS tile of C, row-major over tiles; or one error beat for a bad job
  output logic                    out_valid,
  input  logic                    out_ready,
  output logic [32*ROWS*COLS-1:0] out_result,
  output logic [2*ROWS*COLS-1:0]  out_flags,
  output logic [15:0]             out_row,     // the tile's first row of C
  output logic [15:0]             out_col,     // the tile's first column of C
  output logic                    out_last,
  output logic                    out_error,
  // a BFP beat (out_bfp): block of C[out_row][out_col .. out_col + K - 1] (columns >= N converted as +0)
  output logic                    out_bfp,
  output logic [7:0]              out_exp,
  output logic [K-1:0]            out_sign,
  output logic [16*K-1:0]         out_mag,
  output logic [1:0]              out_bflags    // the block's {overflow, invalid}
);
  import flexblock_pkg::*;

  localparam int KW         = $clog2(K);
  localparam int WORDS      = 3 * DEPTH;
  localparam int AW         = $clog2(WORDS);
  localparam int BLOCK_BITS = 8 + K + 16 * K + 2;  // {exp, sign, mag, flags}: pe_array's slot
  // The BFP banks (spec section 6, "Operand word packing"): words of DW bits, a block densely packed at its mode's
  // width (10 + K (W + 1) bits) in 1 (FB12), 2 (FB16) or 3 (FB24) words; a set is 3 BDEPTH words.
  localparam int DW         = (10 + 17 * K + 2) / 3;  // ceil((10 + 17 K) / 3): 94 for K = 16
  localparam int SETW       = 3 * BDEPTH;            // words per bank and set
  localparam int WAW        = $clog2(2 * SETW);      // a bank holds two sets
  localparam logic [1:0] PASS_FWD = 2'd0, PASS_BWD = 2'd1, PASS_WG = 2'd2;
  localparam logic [1:0] BUF_X = 2'd0, BUF_W = 2'd1, BUF_G = 2'd2;

  // front: the job check and the conversion walk; back: the array's configuration, compute walk, results
  typedef enum logic [2:0] {F_IDLE, F_GEOM, F_CHECK, F_CONV, F_WAIT, F_ERR, F_DWCFG, F_DWRUN} front_e;
  typedef enum logic [1:0] {B_IDLE, B_CFG, B_RUN} back_e;
  front_e fstate;
  back_e  bstate;

  function automatic logic [AW-1:0] region(input logic [1:0] b);
    region = AW'(b) * AW'(DEPTH);
  endfunction
  function automatic logic [12:0] words_per_row(input logic [15:0] cols);
    words_per_row = 13'((17'(cols) + 17'(K - 1)) >> KW);
  endfunction
  // x / 9 for every 16-bit x, as a multiply by the reciprocal (floor(x * 58255 / 2^19): exact for x < 2^16, checked
  // for all of them in simulation below): 28 gate levels where Yosys' divider by a constant takes 56.
  function automatic logic [15:0] div9(input logic [15:0] x);
    div9 = 16'((32'(x) * 32'd58255) >> 19);
  endfunction
  // A block's words in the BFP banks: FB12 1, FB16 2, FB24 (and the reserved code, section 1) 3.
  function automatic logic [1:0] block_words(input logic [1:0] mode);
    block_words = mode == 2'd2 ? 2'd1 : mode == 2'd1 ? 2'd2 : 2'd3;
  endfunction
  // KBLOCKS blocks' words: a shift and an add, no multiplier.
  function automatic logic [14:0] times_words(input logic [12:0] kb, input logic [1:0] w);
    times_words = w == 2'd1 ? 15'(kb) : w == 2'd2 ? 15'(kb) << 1 : (15'(kb) << 1) + 15'(kb);
  endfunction
  // The dense block (spec section 6): bits [7:0] exp, [9:8] flags {overflow, invalid}, then element i at
  // 10 + i (W + 1): its magnitude in the low W bits, its sign above; zero above the block's 10 + K (W + 1) bits.
  function automatic logic [3*DW-1:0] pack_dense(input logic [1:0] mode, input logic [7:0] e, input logic [K-1:0] s,
                                                 input logic [16*K-1:0] mg, input logic [1:0] f);
    logic [3*DW-1:0] d12, d16, d24;
    d12 = '0; d16 = '0; d24 = '0;
    d12[9:0] = {f, e}; d16[9:0] = {f, e}; d24[9:0] = {f, e};
    for (int i = 0; i < K; i++) begin
      d12[10 + 5 * i +: 5]   = {s[i], mg[16 * i +: 4]};
      d16[10 + 9 * i +: 9]   = {s[i], mg[16 * i +: 8]};
      d24[10 + 17 * i +: 17] = {s[i], mg[16 * i +: 16]};
    end
    pack_dense = mode == 2'd2 ? d12 : mode == 2'd1 ? d16 : d24;
  endfunction
  // ... and back to pe_array's slot {exp, sign, mag, flags}, each magnitude in the low W bits of its 16.
  function automatic logic [BLOCK_BITS-1:0] unpack_dense(input logic [1:0] mode, input logic [3*DW-1:0] d);
    logic [K-1:0] s12, s16, s24;
    logic [16*K-1:0] m12, m16, m24;
    for (int i = 0; i < K; i++) begin
      {s12[i], m12[16 * i +: 16]} = {d[10 + 5 * i + 4], 12'd0, d[10 + 5 * i +: 4]};
      {s16[i], m16[16 * i +: 16]} = {d[10 + 9 * i + 8], 8'd0, d[10 + 9 * i +: 8]};
      {s24[i], m24[16 * i +: 16]} = d[10 + 17 * i +: 17];
    end
    unpack_dense = mode == 2'd2 ? {d[7:0], s12, m12, d[9:8]}
                 : mode == 2'd1 ? {d[7:0], s16, m16, d[9:8]} : {d[7:0], s24, m24, d[9:8]};
  endfunction

  // ---- load ---------------------------------------------------------------------------------------
  // A beat is written one edge after it is taken, unless it is dropped (ld_error) or reset was asserted.
  logic        ld_take, ld_ok;
  logic [12:0] ld_cb;
  logic [28:0] ld_word;  // row*cb + cblk within the region
  assign ld_ready = fstate == F_IDLE;
  assign ld_take  = ld_valid && ld_ready;
  assign ld_cb    = words_per_row(ld_cols);
  assign ld_word  = 29'(ld_row) * 29'(ld_cb) + 29'(ld_cblk);
  assign ld_ok    = ld_buf != 2'd3 && ld_cols != '0 && 17'(ld_cblk) < 17'(ld_cb) && ld_word < 29'(DEPTH);

  // The beat is registered, then written: the address multiply sits between the port and a register.
  logic            ldq_valid;
  logic [AW-1:0]   ldq_addr;
  logic [KW-1:0]   ldq_rot;
  logic [32*K-1:0] ldq_data;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ld_error  <= 1'b0;
      ldq_valid <= 1'b0;
    end else begin
      if (ld_take && !ld_ok) ld_error <= 1'b1;
      ldq_valid <= ld_take && ld_ok;
    end
  end
  always_ff @(posedge clk) begin
    if (ld_take) begin
      ldq_addr <= AW'(32'(region(ld_buf)) + 32'(ld_word));
      ldq_rot  <= ld_row[KW-1:0];
      ldq_data <= ld_data;
    end
  end

  // ---- job registers and the pass's geometry --------------------------------------------------------
  logic        job_take;
  logic [1:0]  pass;
  logic [15:0] m, kdim, n;
  logic [1:0]  mode_a, mode_b, round_a, round_b;
  logic        conv;
  logic [15:0] img_h, img_w;
  logic        out_bfp_q;
  logic [1:0]  out_mode_q, out_round_q;
  logic [15:0] seed_q;
  logic        dw;
  assign job_ready = fstate == F_IDLE;
  assign job_take  = job_valid && job_ready;

  always_ff @(posedge clk) begin
    if (job_take) begin
      pass    <= job_pass;
      m       <= job_m;
      kdim    <= job_kdim;
      n       <= job_n;
      mode_a  <= job_mode_a;
      mode_b  <= job_mode_b;
      round_a <= job_round_a;
      round_b <= job_round_b;
      conv    <= job_conv && !job_dw;  // job_dw takes precedence: job_conv is ignored
      dw      <= job_dw;
      img_h   <= job_img_h;
      img_w   <= job_img_w;
      out_bfp_q   <= job_out_bfp;
      out_mode_q  <= job_out_mode;
      out_round_q <= job_out_round;
      seed_q      <= job_seed;
    end
  end

  // Operand A is X (FWD, WG) or G (BWD); B is W (FWD, BWD) or G (WG). A column read (col_*) reduces
  // along a stored column: A = X^T in WG; B = W in FWD and dY in WG. BWD reads W along its rows (W^T).
  // The job is checked in two cycles (spec section 6, "Cycles"): F_GEOM registers the job's geometry (the
  // stored shapes, conv's / 9, words per row, tiles, H W), F_CHECK decides on those registers (the checks'
  // products and compares), so no path runs from the job's registers through a divider into a multiplier.
  logic [1:0]  buf_a, buf_b;
  logic        col_a, col_b;
  logic [15:0] rows_a, cols_a, rows_b, cols_b;  // the stored tensors' shapes (registered in F_GEOM)
  logic [12:0] kblocks;                         // blocks along the reduction axis (registered in F_GEOM)
  logic [15:0] rows_a_d, cols_a_d, rows_b_d, cols_b_d;
  assign buf_a  = (pass == PASS_BWD) ? BUF_G : BUF_X;
  assign buf_b  = (pass == PASS_WG) ? BUF_G : BUF_W;
  assign col_a  = pass == PASS_WG;
  assign col_b  = pass == PASS_FWD || pass == PASS_WG;
  assign rows_a_d = col_a ? kdim : m;
  assign cols_a_d = conv ? (col_a ? div9(m) : div9(kdim))  // conv: X is pixels x C, Kdim = 9 C
                         : col_a ? m : kdim;                            // (conv WG: M = 9 C)
  // conv BWD: W stored 9C x Cout (C = N, Cout = Kdim / 9), read along its rows with the taps flipped
  assign rows_b_d = col_b ? kdim : conv ? 16'(9 * 32'(n)) : n;
  assign cols_b_d = col_b ? n : conv ? div9(kdim) : kdim;

  // Checked in F_CHECK (on the registered geometry): a bad job is answered by one error beat.
  logic [12:0] cb_a, cb_b;
  logic [1:0]  wa, wb;     // words per block of A and B
  logic [14:0] kwords_a, kwords_b;  // a row of A's (column of B's) KBLOCKS blocks in bank words
  assign wa       = block_words(mode_a);
  assign wb       = block_words(mode_b);
  logic [15:0] mtiles, ntiles;
  logic        bad_job;
  always_ff @(posedge clk) begin
    if (fstate == F_GEOM) begin
      rows_a   <= rows_a_d;
      cols_a   <= cols_a_d;
      rows_b   <= rows_b_d;
      cols_b   <= cols_b_d;
      cb_a     <= words_per_row(cols_a_d);
      cb_b     <= words_per_row(cols_b_d);
      kblocks  <= words_per_row(kdim);
      kwords_a <= times_words(words_per_row(kdim), wa);
      kwords_b <= times_words(words_per_row(kdim), wb);
      mtiles   <= 16'((17'(m) + 17'(ROWS - 1)) / 17'(ROWS));
      ntiles   <= 16'((17'(n) + 17'(COLS - 1)) / 17'(COLS));
    end
  end
  // A conv FWD or BWD job has C a multiple of K (each block then holds one tap's K channels), a conv WG job
  // M = 9 C (any C: its blocks run along the pixels); both an image.
  assign bad_job = pass == 2'd3 || m == '0 || kdim == '0 || n == '0
                || (conv && (img_h == '0 || img_w == '0
                             || (pass == PASS_WG ? 32'(m) != 32'(cols_a) * 32'd9
                                                 : 16'(kdim) != 16'(cb_a) * 16'(9 * K))))
                || 29'(rows_a) * 29'(cb_a) > 29'(DEPTH) || 29'(rows_b) * 29'(cb_b) > 29'(DEPTH)
                || 31'(mtiles) * 31'(kwords_a) > 31'(SETW) || 31'(ntiles) * 31'(kwords_b) > 31'(SETW);

  // ---- conversion walk: read A's blocks (m-major, then k), then B's -------------------------------
  logic        cv_active, cv_side;   // side 0: A, 1: B
  logic [15:0] cv_o;                 // row of A / column of B
  logic [12:0] cv_kb;
  logic [15:0] cv_k0;                // cv_kb * K
  logic        cv_kb_last, cv_o_last, cv_col;
  logic        cv_start;
  // Word offsets kept by additions: cv_oword = cv_o * cb (a row read's row), cv_kword = cv_k0 * cb (a
  // column read's first row), with cb the side's words per stored row.
  logic [28:0] cv_oword, cv_kword;
  logic [12:0] cv_cb;
  logic [AW-1:0] cv_word;
  // Conv (A side): block kb of pixel p is tap t = (th, tw) (kb = t * cb + cc), channels cc*K..: the row of
  // X at the pixel shifted by (th - 1, tw - 1), zero outside the image. All kept by additions: the pixel's
  // (ph, pw), the tap's row offset tap_i = (th - 1) W + tw - 1 and word offset tap_word = tap_i * cb.
  logic        cv_conv, tap_in;
  logic [15:0] ph, pw;
  logic [1:0]  th, tw;
  logic [12:0] cc;
  logic signed [17:0] tap_i;
  logic signed [30:0] tap_word;
  logic [28:0] wcb;                 // W * cb: constant during the job
  logic signed [17:0] tap_h, tap_w; // the tap's input row and column
  logic        cc_last, tw_last, pw_last, ph_last;
  assign cv_start   = fstate == F_CHECK && !dw && !bad_job;
  assign cv_kb_last = cv_kb == kblocks - 13'd1;
  assign cv_o_last  = cv_o == (cv_side ? n : m) - 16'd1;
  assign cv_col     = cv_side ? col_b : col_a;
  assign cv_cb      = cv_side ? cb_b : cb_a;
  assign cv_conv    = conv && !cv_side && pass != PASS_WG;
  assign cv_word    = AW'(32'(region(cv_side ? buf_b : buf_a))
                          + (cv_conv ? 32'($signed({1'b0, cv_oword}) + tap_word) + 32'(cc)
                             : cv_flip ? 32'(ftap_word) + 32'(cv_oword) + 32'(cc)
                             : cv_col ? 32'(cv_kword) + 32'(cv_o >> KW) : 32'(cv_oword) + 32'(cv_kb)));
  assign tap_h      = 18'(ph) + 18'(th) - 18'sd1;
  assign tap_w      = 18'(pw) + 18'(tw) - 18'sd1;
  assign tap_in     = tap_h >= 0 && tap_h < 18'(img_h) && tap_w >= 0 && tap_w < 18'(img_w);
  assign cc_last    = cc == cb_a - 13'd1;
  assign tw_last    = tw == 2'd2;
  assign pw_last    = pw == img_w - 16'd1;
  assign ph_last    = ph == img_h - 16'd1;

  assign wcb        = 29'(img_w) * 29'(cb_a);

  // Conv BWD, B side: column c of B, block kb = t * cb + cc is word cc of W's row (8 - t) C + c. The flipped
  // tap's first row (8 - t) C and its word offset (8 - t) C cb are kept by subtractions (C cb: a product
  // constant over the job).
  logic        cv_flip;
  logic [15:0] ftap_row;
  logic [28:0] ftap_word, ccb;
  assign cv_flip = conv && cv_side && pass == PASS_BWD;
  assign ccb     = 29'(n) * 29'(cb_b);
  always_ff @(posedge clk) begin
    if (cv_start || (cv_active && cv_kb_last)) begin
      ftap_row  <= 16'(8 * 32'(n));
      ftap_word <= 29'(8) * ccb;
    end else if (cv_active && cc_last) begin
      ftap_row  <= ftap_row - n;
      ftap_word <= ftap_word - ccb;
    end
  end

  always_ff @(posedge clk) begin
    if (cv_start || (cv_active && cv_kb_last)) begin  // a new pixel: its first tap, (-1, -1)
      th       <= '0;
      tw       <= '0;
      cc       <= '0;
      tap_i    <= -$signed(18'(img_w)) - 18'sd1;
      tap_word <= -$signed(31'(wcb)) - $signed(31'(cb_a));
    end else if (cv_active) begin
      cc <= cc_last ? '0 : cc + 13'd1;
      if (cc_last) begin
        tw <= tw_last ? '0 : tw + 2'd1;
        if (tw_last) th <= th + 2'd1;
        // next tap: one column right, or the next row's first column (W - 2 further)
        tap_i    <= tw_last ? tap_i + $signed(18'(img_w)) - 18'sd2 : tap_i + 18'sd1;
        tap_word <= tw_last ? tap_word + $signed(31'(wcb)) - $signed(31'(2 * cb_a)) : tap_word + $signed(31'(cb_a));
      end
    end
  end

  always_ff @(posedge clk) begin
    if (cv_start) begin
      ph <= '0;
      pw <= '0;
    end else if (cv_active && cv_kb_last) begin
      pw <= pw_last ? '0 : pw + 16'd1;
      if (pw_last) ph <= ph_last ? '0 : ph + 16'd1;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cv_active <= 1'b0;
    end else if (cv_start) begin
      cv_active <= 1'b1;
      cv_side   <= 1'b0;
      cv_o      <= '0;
      cv_kb     <= '0;
      cv_k0     <= '0;
      cv_oword  <= '0;
      cv_kword  <= '0;
    end else if (cv_active) begin
      cv_kb    <= cv_kb_last ? '0 : cv_kb + 13'd1;
      cv_k0    <= cv_kb_last ? '0 : cv_k0 + 16'(K);
      cv_kword <= cv_kb_last ? '0 : cv_kword + 29'(K) * 29'(cv_cb);
      if (cv_kb_last) begin
        cv_o     <= cv_o_last ? '0 : cv_o + 16'd1;
        cv_oword <= cv_o_last ? '0 : cv_oword + 29'(cv_cb);
        if (cv_o_last) begin
          cv_side <= 1'b1;
          if (cv_side) cv_active <= 1'b0;
        end
      end
    end
  end

  // Conv WG, A side: im2col(X)^T read by conv_wg_agen (column reads of X at the tap's shifted pixels, a
  // padding mask per lane); B = dY is read along its columns as in an FC WG.
  logic               cv_wg;
  logic signed [31:0] wg_word;
  logic [15:0]        wg_i, wg_j;
  logic [K-1:0]       wg_keep;
  assign cv_wg = conv && !cv_side && pass == PASS_WG;
  conv_wg_agen #(.K(K)) u_wg_agen (
    .clk, .job_take, .job_img_h, .job_img_w,
    .start(cv_start), .step(cv_active && cv_wg),
    .img_w, .chans(cols_a), .pixels(kdim), .cb(cb_a), .wcb, .kblocks,
    .word(wg_word), .rd_i(wg_i), .rd_j(wg_j), .keep(wg_keep)
  );

  // ---- depthwise feed (job_dw): kernel or map blocks along stored rows into dw_unit ---------------------
  // X, G (H*W rows, pixel p = y W + x) and W (9 rows, tap-major) are all stored with C = job_kdim columns;
  // the group's block is word cblk = job_n of a row. FWD / BWD: the kernel's 9 blocks (W rows 0..8), then
  // the map (X, or G for BWD). WG: X and dY interleaved so that X runs n0 pixels ahead (the window of pixel 0),
  // then G_p, X_{p + n0}, G_{p + 1}, ..., the remaining G last (models.core.dw_feed_order). A read issues
  // with a free entry in dw_in_fifo, whose credits cover the buffer's 2 read stages and fp2bfp's 3.
  localparam logic [1:0] T_X = 2'd0, T_K = 2'd1, T_G = 2'd2;
  localparam int DW_LAT = 5;  // the read's issue edge -> the converted block pushed into dw_in_fifo (+ 2 entries: full rate)
  logic [31:0] dw_hw;                    // H * W
  logic [15:0] dw_n0;                    // X blocks ahead of G in WG: the window of pixel (0, 0)
  logic [12:0] dw_cb;                    // words per stored row: ceil(C / K)
  logic        bad_dw;
  always_ff @(posedge clk) begin  // the depthwise job's geometry, registered in F_GEOM as the GEMM's
    if (fstate == F_GEOM) begin
      dw_hw <= 32'(img_h) * 32'(img_w);
      dw_n0 <= (img_h > 16'd1 ? img_w : 16'd0) + (img_w > 16'd1 ? 16'd1 : 16'd0) + 16'd1;
      dw_cb <= words_per_row(kdim);
    end
  end
  // A bad depthwise job: reserved pass, an empty map, a row wider than the unit's line buffer, no channels,
  // a group past the stored channels, a tensor beyond its region, or BFP results asked for (not built).
  assign bad_dw = pass == 2'd3 || img_h == '0 || img_w == '0 || 32'(img_w) > 32'(DW_W_MAX) || kdim == '0
               || 17'(n) >= 17'(dw_cb) || out_bfp_q || 48'(dw_hw) * 48'(dw_cb) > 48'(DEPTH)
               || (pass != PASS_WG && 32'(9) * 32'(dw_cb) > 32'(DEPTH));

  logic        dw_out, f_on, f_done, f_issue, dw_credit;
  logic [3:0]  f_k;                      // kernel blocks issued
  logic [31:0] f_px, f_pg;               // map blocks issued: X (or dY for BWD), and WG's dY
  logic [28:0] f_kword, f_xword, f_gword;  // their rows' words: row * cb
  logic [1:0]  f_tag;                    // the stream of the next block
  logic [1:0]  f_buf;
  logic [15:0] f_row;                    // the row read (its low bits: the skew's rotation)
  logic [28:0] f_word;
  assign f_tag  = pass == PASS_WG ? ((f_px == dw_hw || (f_px >= 32'(dw_n0) && f_px - 32'(dw_n0) == f_pg)) ? T_G : T_X)
                                  : (f_k != 4'd9 ? T_K : T_X);
  assign f_done = pass == PASS_WG ? (f_px == dw_hw && f_pg == dw_hw) : (f_k == 4'd9 && f_px == dw_hw);
  assign dw_out = fstate == F_DWRUN;  // the depthwise job is fed and its results leave on out
  assign f_on   = dw_out && !f_done;
  assign f_issue = f_on && dw_credit;
  assign f_buf  = f_tag == T_K ? BUF_W : f_tag == T_G || pass == PASS_BWD ? BUF_G : BUF_X;
  assign f_row  = f_tag == T_K ? 16'(f_k) : f_tag == T_G ? 16'(f_pg) : 16'(f_px);
  assign f_word = f_tag == T_K ? f_kword : f_tag == T_G ? f_gword : f_xword;
  always_ff @(posedge clk) begin
    if (fstate == F_DWCFG) begin
      f_k <= '0; f_px <= '0; f_pg <= '0; f_kword <= '0; f_xword <= '0; f_gword <= '0;
    end else if (f_issue) begin
      unique case (f_tag)
        T_K:     begin f_k  <= f_k + 4'd1;   f_kword <= f_kword + 29'(dw_cb); end
        T_G:     begin f_pg <= f_pg + 32'd1; f_gword <= f_gword + 29'(dw_cb); end
        default: begin f_px <= f_px + 32'd1; f_xword <= f_xword + 29'(dw_cb); end
      endcase
    end
  end
  // the tag travels beside the read and the conversion
  logic [1:0] f_tag_pipe [DW_LAT];
  always_ff @(posedge clk) begin
    f_tag_pipe[0] <= f_tag;
    for (int i = 1; i < DW_LAT; i++) f_tag_pipe[i] <= f_tag_pipe[i - 1];
  end

  logic            rd_valid;
  logic [32*K-1:0] rd_data;
  fp32_buffer #(.K(K), .WORDS(WORDS)) u_fp32 (
    .clk, .rst_n,
    .wr_en(ldq_valid), .wr_addr(ldq_addr), .wr_rot(ldq_rot), .wr_data(ldq_data),
    .rd_en(cv_active || f_issue), .rd_col(cv_col && !f_on),
    .rd_word(f_on ? AW'(32'(region(f_buf)) + 32'(f_word) + 32'(n))
             : cv_wg ? AW'(32'(region(buf_a)) + 32'(wg_word)) : cv_word), .rd_cb(cv_cb),
    .rd_zero(cv_conv && !tap_in), .rd_lanes(cv_wg), .rd_keep(wg_keep),
    .rd_i(f_on ? f_row : cv_wg ? wg_i : cv_conv ? 16'(18'(cv_o) + tap_i) : cv_flip ? ftap_row + cv_o
          : cv_col ? cv_k0 : cv_o),
    .rd_j(f_on ? n << KW : cv_wg ? wg_j : cv_conv || cv_flip ? 16'(cc) << KW : cv_col ? cv_o : cv_k0),
    .rd_rows(f_on ? 16'hFFFF : cv_side ? rows_b : rows_a), .rd_cols(f_on ? kdim : cv_side ? cols_b : cols_a),
    .rd_valid, .rd_data
  );

  // The side travels beside the buffer's two read stages.
  logic [1:0] side_pipe;
  always_ff @(posedge clk) side_pipe <= {side_pipe[0], f_on ? f_tag != T_X : cv_side};

  logic              fb_in_ready, fb_valid;
  logic [7:0]        fb_exp;
  logic [K-1:0]      fb_sign;
  logic [16*K-1:0]   fb_mag;
  logic [1:0]        fb_flags;
  logic [1:0]        fb_mode_unused;
  fp2bfp #(.K(K), .SR_BITS(SR_BITS), .SR_SEED(SR_SEED)) u_fp2bfp (
    .clk, .rst_n,
    .in_valid(rd_valid), .in_ready(fb_in_ready), .in_data(rd_data),
    .in_mode(side_pipe[1] ? mode_b : mode_a), .in_rounding(side_pipe[1] ? round_b : round_a),
    .seed_load(job_take), .seed(job_seed),
    .out_valid(fb_valid), .out_ready(1'b1),
    .out_exp(fb_exp), .out_sign(fb_sign), .out_mag(fb_mag), .out_flags(fb_flags), .out_mode(fb_mode_unused)
  );

  // ---- converted blocks into the BFP banks: row m of A in bank m mod ROWS, block (m / ROWS)*KB + kb, at word
  // ((m / ROWS)*KB + kb) * wa of the set (B alike); a block's wa words are written in the cycle it is converted.
  logic        wb_side;
  logic [15:0] wb_o, wb_slot;
  logic [12:0] wb_kb;
  logic [WAW-1:0] wb_base, wb_kw;  // the row's (column's) first word, the block's word within it
  logic [1:0]  wb_w;
  logic [3*DW-1:0] wb_data;
  assign wb_w    = wb_side ? wb : wa;
  assign wb_data = pack_dense(wb_side ? mode_b : mode_a, fb_exp, fb_sign, fb_mag, fb_flags);
  logic        wb_kb_last, wb_o_last, wb_slot_last, cv_done;
  logic        wr_set;  // the set of BFP banks the front converts into (the back reads the other)
  assign wb_kb_last   = wb_kb == kblocks - 13'd1;
  assign wb_o_last    = wb_o == (wb_side ? n : m) - 16'd1;
  assign wb_slot_last = wb_slot == (wb_side ? 16'(COLS - 1) : 16'(ROWS - 1));
  logic        wb_valid;  // a GEMM operand block (a depthwise job's blocks go to dw_unit instead)
  assign wb_valid   = fb_valid && !dw_out;
  assign cv_done    = wb_valid && wb_side && wb_o_last && wb_kb_last;

  always_ff @(posedge clk) begin
    if (cv_start) begin
      wb_side <= 1'b0;
      wb_o    <= '0;
      wb_slot <= '0;
      wb_kb   <= '0;
      wb_kw   <= '0;
      wb_base <= '0;
    end else if (wb_valid) begin
      wb_kb <= wb_kb_last ? '0 : wb_kb + 13'd1;
      wb_kw <= wb_kb_last ? '0 : wb_kw + WAW'(wb_w);
      if (wb_kb_last) begin
        wb_o    <= wb_o_last ? '0 : wb_o + 16'd1;
        wb_slot <= (wb_o_last || wb_slot_last) ? '0 : wb_slot + 16'd1;
        wb_base <= wb_o_last ? '0 : wb_slot_last ? wb_base + WAW'(wb_side ? kwords_b : kwords_a) : wb_base;
        if (wb_o_last) wb_side <= 1'b1;
      end
    end
  end

  // ---- handover: a converted job passes to the back once the back is free (its last tile taken) ------
  logic        handover, back_free, out_take, o_last;
  logic [15:0] c_m, c_n, c_mtiles, c_ntiles;   // the back's job
  logic [12:0] c_kblocks;
  logic [1:0]  c_mode_a, c_mode_b;
  logic [1:0]  c_wa, c_wb, c_f;     // words per block of A, B; cycles per block pair's fetch: max(wa, wb)
  logic [WAW-1:0] c_kwords_a, c_kwords_b;
  logic        c_bfp;
  logic [1:0]  c_out_mode, c_out_round;
  logic        rd_set;
  assign back_free = bstate == B_IDLE || (bstate == B_RUN && out_take && out_last);
  assign handover  = ((fstate == F_CONV && cv_done) || fstate == F_WAIT) && back_free;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wr_set <= 1'b0;
    end else if (handover) begin
      wr_set <= !wr_set;
    end
  end
  always_ff @(posedge clk) begin
    if (handover) begin
      c_m       <= m;
      c_n       <= n;
      c_mtiles  <= mtiles;
      c_ntiles  <= ntiles;
      c_kblocks <= kblocks;
      c_mode_a  <= mode_a;
      c_mode_b  <= mode_b;
      c_wa      <= wa;
      c_wb      <= wb;
      c_f       <= wa > wb ? wa : wb;
      c_kwords_a <= WAW'(kwords_a);
      c_kwords_b <= WAW'(kwords_b);
      c_bfp       <= out_bfp_q;
      c_out_mode  <= out_mode_q;
      c_out_round <= out_round_q;
      rd_set    <= wr_set;
    end
  end

  // ---- compute walk: tiles (ti, tj) row-major, KBLOCKS block pairs each; a block pair's words are read over
  // c_f = max(wa, wb) cycles (word j of each side's block in cycle j, j below that side's words), one word per
  // bank per cycle. f never exceeds the array's cycles per block pair (Wa / 4)(Wb / 4) (spec section 6), so the
  // walk keeps ahead of the array; a pair takes its credit with its first word.
  logic        run_start, run_active, issue, pair_start, pair_end;
  logic [15:0] ti, tj, m0, n0;       // tile indices, first row / column
  logic [12:0] run_kb;
  logic [1:0]  run_j;                // the pair's word being read
  logic [WAW-1:0] a_base, b_base;    // the tile row's (column's) first word in the set
  logic [WAW-1:0] a_kw, b_kw;        // the pair's first word within it
  logic        run_kb_last, tj_last, ti_last;
  logic        a_credit, b_credit;
  logic        cfg_valid, cfg_ready;
  assign cfg_valid   = bstate == B_CFG;  // (a named signal: Icarus 11 leaves an enum compare in a port X)
  assign run_start   = bstate == B_CFG && cfg_ready;
  assign run_kb_last = run_kb == c_kblocks - 13'd1;
  assign tj_last     = tj == c_ntiles - 16'd1;
  assign ti_last     = ti == c_mtiles - 16'd1;
  assign pair_start  = run_j == 2'd0;
  assign issue       = run_active && (!pair_start || (a_credit && b_credit));
  assign pair_end    = issue && run_j == c_f - 2'd1;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      run_active <= 1'b0;
    end else if (run_start) begin
      run_active <= 1'b1;
      ti <= '0; tj <= '0; m0 <= '0; n0 <= '0; run_kb <= '0; run_j <= '0;
      a_base <= '0; b_base <= '0; a_kw <= '0; b_kw <= '0;
    end else if (issue) begin
      run_j <= pair_end ? '0 : run_j + 2'd1;
      if (pair_end) begin
        run_kb <= run_kb_last ? '0 : run_kb + 13'd1;
        a_kw   <= run_kb_last ? '0 : a_kw + WAW'(c_wa);
        b_kw   <= run_kb_last ? '0 : b_kw + WAW'(c_wb);
        if (run_kb_last) begin
          tj     <= tj_last ? '0 : tj + 16'd1;
          n0     <= tj_last ? '0 : n0 + 16'(COLS);
          b_base <= tj_last ? '0 : b_base + c_kwords_b;
          if (tj_last) begin
            ti     <= ti + 16'd1;
            m0     <= m0 + 16'(ROWS);
            a_base <= a_base + c_kwords_a;
            if (ti_last) run_active <= 1'b0;
          end
        end
      end
    end
  end

  // BFP banks, two sets of SETW words (set s at s * SETW); a slot outside M (N) is read as a zero block (exact
  // zeros: padding changes nothing). A bank holds a block's words as they are read (bfp_bank's rd_block): in
  // the edge after a pair's last word's read, end_q, the pair is unpacked into the FIFOs.
  function automatic logic [WAW-1:0] set_addr(input logic set, input logic [WAW-1:0] a);
    set_addr = set ? WAW'(SETW) + a : a;
  endfunction
  logic [ROWS*BLOCK_BITS-1:0] a_word;  // slot-major: slot r at [r*BLOCK_BITS +: BLOCK_BITS]
  logic [COLS*BLOCK_BITS-1:0] b_word;
  logic [ROWS-1:0] a_keep, a_keep_q;
  logic [COLS-1:0] b_keep, b_keep_q;
  logic            end_q;            // a pair's last word was read last edge
  logic [WAW-1:0]  wr_word;          // the converted block's first word
  assign wr_word = set_addr(wr_set, wb_base + wb_kw);
  for (genvar r = 0; r < ROWS; r++) begin : g_abank
    logic [3*DW-1:0] q;
    bfp_bank #(.DW(DW), .WORDS(2 * SETW)) u_bank (
      .clk, .wr_en(wb_valid && !wb_side && wb_slot == 16'(r)), .wr_addr(wr_word), .wr_words(wa),
      .wr_data(wb_data), .rd_en(issue && run_j < c_wa), .rd_addr(set_addr(rd_set, a_base + a_kw + WAW'(run_j))),
      .rd_j(run_j), .rd_block(q)
    );
    assign a_keep[r] = 17'(m0) + 17'(r) < 17'(c_m);
    assign a_word[r*BLOCK_BITS +: BLOCK_BITS] = a_keep_q[r] ? unpack_dense(c_mode_a, q) : '0;
  end
  for (genvar c = 0; c < COLS; c++) begin : g_bbank
    logic [3*DW-1:0] q;
    bfp_bank #(.DW(DW), .WORDS(2 * SETW)) u_bank (
      .clk, .wr_en(wb_valid && wb_side && wb_slot == 16'(c)), .wr_addr(wr_word), .wr_words(wb),
      .wr_data(wb_data), .rd_en(issue && run_j < c_wb), .rd_addr(set_addr(rd_set, b_base + b_kw + WAW'(run_j))),
      .rd_j(run_j), .rd_block(q)
    );
    assign b_keep[c] = 17'(n0) + 17'(c) < 17'(c_n);
    assign b_word[c*BLOCK_BITS +: BLOCK_BITS] = b_keep_q[c] ? unpack_dense(c_mode_b, q) : '0;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) end_q <= 1'b0;
    else        end_q <= pair_end;
  end
  always_ff @(posedge clk) begin
    if (issue) begin
      a_keep_q <= a_keep;
      b_keep_q <= b_keep;
    end
  end

  // pe_array's a/b ports group each field over the slots: {exp[all], sign[all], mag[all], flags[all]}.
  function automatic logic [ROWS*BLOCK_BITS-1:0] a_port(input logic [ROWS*BLOCK_BITS-1:0] w);
    logic [8*ROWS-1:0] e; logic [K*ROWS-1:0] s; logic [16*K*ROWS-1:0] mg; logic [2*ROWS-1:0] f;
    for (int r = 0; r < ROWS; r++) begin
      {e[8*r +: 8], s[K*r +: K], mg[16*K*r +: 16*K], f[2*r +: 2]} = w[r*BLOCK_BITS +: BLOCK_BITS];
    end
    a_port = {e, s, mg, f};
  endfunction
  function automatic logic [COLS*BLOCK_BITS-1:0] b_port(input logic [COLS*BLOCK_BITS-1:0] w);
    logic [8*COLS-1:0] e; logic [K*COLS-1:0] s; logic [16*K*COLS-1:0] mg; logic [2*COLS-1:0] f;
    for (int c = 0; c < COLS; c++) begin
      {e[8*c +: 8], s[K*c +: K], mg[16*K*c +: 16*K], f[2*c +: 2]} = w[c*BLOCK_BITS +: BLOCK_BITS];
    end
    b_port = {e, s, mg, f};
  endfunction

  // Credit FIFOs cover the banks' read latency: a block pair's first word is issued only with a free entry on
  // both sides; the pair is in the FIFO one edge after its last word's issue (f edges after its first) and leaves
  // it one edge later at the earliest. A pair holds its credit for f + 1 edges and the array takes one per
  // (Wa / 4)(Wb / 4) >= f cycles, so 3 entries keep it fed in every mode pair (FB12 x FB12: one pair per cycle).
  logic                       pa_valid, pb_valid, pa_ready, pb_ready;
  logic [ROWS*BLOCK_BITS-1:0] pa_data;
  logic [COLS*BLOCK_BITS-1:0] pb_data;
  credit_fifo #(.WIDTH(ROWS * BLOCK_BITS), .DEPTH(3)) u_a_fifo (
    .clk, .rst_n, .can_accept(a_credit), .accept(issue && pair_start), .push(end_q), .push_data(a_port(a_word)),
    .out_valid(pa_valid), .out_ready(pa_ready), .out_data(pa_data)
  );
  credit_fifo #(.WIDTH(COLS * BLOCK_BITS), .DEPTH(3)) u_b_fifo (
    .clk, .rst_n, .can_accept(b_credit), .accept(issue && pair_start), .push(end_q), .push_data(b_port(b_word)),
    .out_valid(pb_valid), .out_ready(pb_ready), .out_data(pb_data)
  );

  logic                    pe_out_valid, pe_out_ready;
  logic [32*ROWS*COLS-1:0] pe_result;
  logic [2*ROWS*COLS-1:0]  pe_flags;
  pe_array #(.ROWS(ROWS), .COLS(COLS), .K(K)) u_array (
    .clk, .rst_n,
    .cfg_valid, .cfg_ready, .cfg_mode_a(c_mode_a), .cfg_mode_b(c_mode_b),
    .cfg_kblocks(16'(c_kblocks)),
    .a_valid(pa_valid), .a_ready(pa_ready),
    .a_exp(pa_data[ROWS*BLOCK_BITS-1 -: 8*ROWS]), .a_sign(pa_data[2*ROWS + 16*K*ROWS +: K*ROWS]),
    .a_mag(pa_data[2*ROWS +: 16*K*ROWS]), .a_flags(pa_data[2*ROWS-1:0]),
    .b_valid(pb_valid), .b_ready(pb_ready),
    .b_exp(pb_data[COLS*BLOCK_BITS-1 -: 8*COLS]), .b_sign(pb_data[2*COLS + 16*K*COLS +: K*COLS]),
    .b_mag(pb_data[2*COLS +: 16*K*COLS]), .b_flags(pb_data[2*COLS-1:0]),
    .out_valid(pe_out_valid), .out_ready(pe_out_ready), .out_result(pe_result), .out_flags(pe_flags)
  );

  // ---- the depthwise vector unit: converted blocks in by their tags, results out in parts ---------------
  localparam int SLOTS = ROWS * COLS;
  localparam int PARTS = (K + SLOTS - 1) / SLOTS;        // out beats per unit beat
  localparam int PW    = PARTS > 1 ? $clog2(PARTS) : 1;
  logic                  di_valid, di_ready;
  logic [1:0]            di_tag;
  logic [BLOCK_BITS-1:0] di_block;   // {exp, sign, mag, flags}
  // (named signals in the ports: Icarus 11 makes an enum literal in a port expression a net)
  logic                    di_push, di_k, di_x, di_g;
  logic [2+BLOCK_BITS-1:0] di_push_data;
  assign di_push      = fb_valid && dw_out;
  assign di_push_data = {f_tag_pipe[DW_LAT-1], fb_exp, fb_sign, fb_mag, fb_flags};
  credit_fifo #(.WIDTH(2 + BLOCK_BITS), .DEPTH(DW_LAT + 2)) u_dw_in_fifo (
    .clk, .rst_n, .can_accept(dw_credit), .accept(f_issue), .push(di_push), .push_data(di_push_data),
    .out_valid(di_valid), .out_ready(di_ready), .out_data({di_tag, di_block})
  );
  logic       du_cfg_valid, du_cfg_ready, du_k_ready, du_x_ready, du_g_ready;
  logic       du_out_valid, du_out_ready, du_out_last, du_out_error;
  logic [32*K-1:0] du_result;
  logic [2*K-1:0]  du_flags;
  logic [7:0]      di_exp;
  logic [K-1:0]    di_sign;
  logic [16*K-1:0] di_mag;
  logic [1:0]      di_flags;
  assign {di_exp, di_sign, di_mag, di_flags} = di_block;
  assign du_cfg_valid = fstate == F_DWCFG && bstate == B_IDLE;  // after the previous job's last beat
  assign di_k     = di_valid && di_tag == T_K;
  assign di_x     = di_valid && di_tag == T_X;
  assign di_g     = di_valid && di_tag == T_G;
  assign di_ready = (di_tag == T_K && du_k_ready) || (di_tag == T_X && du_x_ready) || (di_tag == T_G && du_g_ready);
  dw_unit #(.K(K), .W_MAX(DW_W_MAX)) u_dw (
    .clk, .rst_n,
    .cfg_valid(du_cfg_valid), .cfg_ready(du_cfg_ready), .cfg_pass(pass), .cfg_h(img_h), .cfg_w(img_w),
    .cfg_mode_a(mode_a), .cfg_mode_b(mode_b),
    .k_valid(di_k), .k_ready(du_k_ready),
    .k_exp(di_exp), .k_sign(di_sign), .k_mag(di_mag), .k_flags(di_flags),
    .x_valid(di_x), .x_ready(du_x_ready),
    .x_exp(di_exp), .x_sign(di_sign), .x_mag(di_mag), .x_flags(di_flags),
    .g_valid(di_g), .g_ready(du_g_ready),
    .g_exp(di_exp), .g_sign(di_sign), .g_mag(di_mag), .g_flags(di_flags),
    .out_valid(du_out_valid), .out_ready(du_out_ready), .out_result(du_result), .out_flags(du_flags),
    .out_last(du_out_last), .out_error(du_out_error)
  );

  // A unit beat (K lanes) leaves as PARTS out beats of SLOTS lanes each, part j = lanes j SLOTS ..; out_row is
  // the pixel p = y W + x (FWD, BWD) or the tap d (WG), out_col the part's first channel.
  logic [PW-1:0]          dw_part;
  logic [15:0]            dw_pos;
  logic                   dw_part_last;
  logic [32*SLOTS-1:0]    dw_result;
  logic [2*SLOTS-1:0]     dw_flags;
  assign dw_part_last = 32'(dw_part) == 32'(PARTS - 1);
  assign du_out_ready = dw_out && out_ready && dw_part_last;
  for (genvar sl = 0; sl < SLOTS; sl++) begin : g_dw_slot
    logic [31:0] lane;
    assign lane = 32'(dw_part) * 32'(SLOTS) + 32'(sl);
    assign dw_result[32*sl +: 32] = lane < 32'(K) ? du_result[32*lane[$clog2(K)-1:0] +: 32] : 32'd0;
    assign dw_flags[2*sl +: 2]    = lane < 32'(K) ? du_flags[2*lane[$clog2(K)-1:0] +: 2] : 2'd0;
  end
  always_ff @(posedge clk) begin
    if (fstate == F_DWCFG) begin
      dw_part <= '0;
      dw_pos  <= '0;
    end else if (dw_out && du_out_valid && out_ready) begin
      dw_part <= dw_part_last ? '0 : dw_part + PW'(1);
      if (dw_part_last) dw_pos <= dw_pos + 16'd1;
    end
  end

  // ---- results: tiles in the compute walk's order; slots outside M x N read +0, no flags -------------
  // A bad job's error beat waits for the back to be idle: beats leave in the order the jobs came.
  logic [15:0] oi, oj, o_row, o_col;  // the tile being taken from the array: indices, first row / column
  logic        run_out, tile_take, run_valid, run_last;
  logic [15:0] e_row0, e_r, e_col, e_row, e_rows;  // the BFP block leaving (below)
  logic        e_rlast, e_clast;
  logic [32*ROWS*COLS-1:0] tile_result;
  logic [2*ROWS*COLS-1:0]  tile_flags;
  assign run_out      = bstate == B_RUN;
  assign o_last       = oi == c_mtiles - 16'd1 && oj == c_ntiles - 16'd1;
  assign tile_take    = pe_out_valid && pe_out_ready;
  assign out_error    = fstate == F_ERR && bstate == B_IDLE;
  assign out_valid    = (run_out && run_valid) || out_error || (dw_out && du_out_valid);
  assign out_take     = out_valid && out_ready;
  assign out_last     = out_error || (run_out && run_last) || (dw_out && du_out_last && dw_part_last);
  assign out_bfp      = run_out && c_bfp;
  assign out_row      = dw_out ? dw_pos : !run_out ? '0 : c_bfp ? e_row : o_row;
  assign out_col      = dw_out ? 16'(32'(n) * 32'(K) + 32'(dw_part) * 32'(SLOTS))
                      : !run_out ? '0 : c_bfp ? e_col : o_col;
  assign out_result   = dw_out ? dw_result : (run_out && !c_bfp) ? tile_result : '0;
  assign out_flags    = dw_out ? dw_flags : (run_out && !c_bfp) ? tile_flags : '0;

  for (genvar r = 0; r < ROWS; r++) begin : g_orow
    for (genvar c = 0; c < COLS; c++) begin : g_ocol
      logic keep;
      assign keep = 17'(o_row) + 17'(r) < 17'(c_m) && 17'(o_col) + 17'(c) < 17'(c_n);
      assign tile_result[32*(r*COLS + c) +: 32] = keep ? pe_result[32*(r*COLS + c) +: 32] : 32'd0;
      assign tile_flags[2*(r*COLS + c) +: 2]    = keep ? pe_flags[2*(r*COLS + c) +: 2] : 2'd0;
    end
  end

  always_ff @(posedge clk) begin
    if (run_start) begin
      oi <= '0; oj <= '0; o_row <= '0; o_col <= '0;
    end else if (tile_take) begin
      oj    <= (oj == c_ntiles - 16'd1) ? '0 : oj + 16'd1;
      o_col <= (oj == c_ntiles - 16'd1) ? '0 : o_col + 16'(COLS);
      if (oj == c_ntiles - 16'd1) begin
        oi    <= oi + 16'd1;
        o_row <= o_row + 16'(ROWS);
      end
    end
  end

  // ---- output requantization (job_out_bfp): GT = K / COLS tiles of a tile row gather ROWS rows of K
  // columns; each of the group's rows < M goes through the output converter as one block (lanes at columns
  // >= N as +0), row by row, groups in the tiles' order. The converter's LFSRs take the job's seed at the
  // handover, so block t of the job's output rounds with the lanes' state t (models.core.requantize_output).
  localparam int GT = K / COLS;
  localparam int GW = GT > 1 ? $clog2(GT) : 1;
  logic [31:0]    gbuf [ROWS][K];
  logic [GW-1:0]  g_pos;          // the tile's place in its group
  logic           g_issue;        // the group's rows are going into the converter
  logic [15:0]    g_col0;         // the group's first column
  logic [15:0]    g_r, g_rows;    // row being issued, rows < M in the group
  logic           g_full, g_take, g_rlast;
  logic [32*K-1:0] g_data;
  logic           ocv_in_ready, ocv_valid;
  logic [7:0]     ocv_exp;
  logic [K-1:0]   ocv_sign;
  logic [16*K-1:0] ocv_mag;
  logic [1:0]     ocv_flags, ocv_mode_unused;
  assign pe_out_ready = run_out && (c_bfp ? !g_issue : out_ready);
  assign g_full  = 32'(g_pos) == 32'(GT - 1) || oj == c_ntiles - 16'd1;
  assign g_take  = g_issue && ocv_in_ready;
  assign g_rlast = g_r == g_rows - 16'd1;
  for (genvar l = 0; l < K; l++) begin : g_lane
    assign g_data[32*l +: 32] = 17'(g_col0) + 17'(l) < 17'(c_n) ? gbuf[g_r[$clog2(ROWS > 1 ? ROWS : 2)-1:0]][l] : 32'd0;
  end

  always_ff @(posedge clk) begin
    if (tile_take && c_bfp) begin
      for (int r = 0; r < ROWS; r++) begin
        for (int c = 0; c < COLS; c++) begin
          gbuf[r][32'(g_pos) * COLS + c] <= tile_result[32*(r*COLS + c) +: 32];
        end
      end
    end
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      g_issue <= 1'b0;
    end else if (run_start) begin
      g_issue <= 1'b0;
      g_pos   <= '0;
    end else if (tile_take && c_bfp) begin
      if (g_pos == '0) g_col0 <= o_col;
      g_pos <= g_full ? '0 : g_pos + GW'(1);
      if (g_full) begin
        g_issue <= 1'b1;
        g_r     <= '0;
        g_rows  <= 17'(o_row) + 17'(ROWS) > 17'(c_m) ? c_m - o_row : 16'(ROWS);
      end
    end else if (g_take) begin
      g_r <= g_r + 16'd1;
      if (g_rlast) g_issue <= 1'b0;
    end
  end

  fp2bfp #(.K(K), .SR_BITS(SR_BITS), .SR_SEED(SR_SEED)) u_out_fp2bfp (
    .clk, .rst_n,
    .in_valid(g_issue), .in_ready(ocv_in_ready), .in_data(g_data),
    .in_mode(c_out_mode), .in_rounding(c_out_round),
    .seed_load(handover), .seed(seed_q),
    .out_valid(ocv_valid), .out_ready(out_ready && out_bfp),
    .out_exp(ocv_exp), .out_sign(ocv_sign), .out_mag(ocv_mag), .out_flags(ocv_flags), .out_mode(ocv_mode_unused)
  );
  assign out_exp    = out_bfp ? ocv_exp : '0;
  assign out_sign   = out_bfp ? ocv_sign : '0;
  assign out_mag    = out_bfp ? ocv_mag : '0;
  assign out_bflags = out_bfp ? ocv_flags : '0;

  // The blocks leave in the order they went in: (tile row, group, row); counted again at the output.
  assign e_row   = e_row0 + e_r;
  assign e_rows  = 17'(e_row0) + 17'(ROWS) > 17'(c_m) ? c_m - e_row0 : 16'(ROWS);
  assign e_rlast = e_r == e_rows - 16'd1;
  assign e_clast = 17'(e_col) + 17'(K) >= 17'(c_n);
  always_ff @(posedge clk) begin
    if (run_start) begin
      e_row0 <= '0; e_r <= '0; e_col <= '0;
    end else if (out_take && out_bfp) begin
      e_r <= e_rlast ? '0 : e_r + 16'd1;
      if (e_rlast) begin
        e_col <= e_clast ? '0 : e_col + 16'(K);
        if (e_clast) e_row0 <= e_row0 + 16'(ROWS);
      end
    end
  end
  assign run_valid = c_bfp ? ocv_valid : pe_out_valid;
  assign run_last  = c_bfp ? (e_rlast && e_clast && 17'(e_row0) + 17'(ROWS) >= 17'(c_m)) : o_last;

  // ---- job states -----------------------------------------------------------------------------------
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      fstate <= F_IDLE;
    end else begin
      unique case (fstate)
        F_IDLE:  if (job_take) fstate <= F_GEOM;
        F_GEOM:  fstate <= F_CHECK;
        F_CHECK: fstate <= (dw ? bad_dw : bad_job) ? F_ERR : dw ? F_DWCFG : F_CONV;
        F_DWCFG: if (du_cfg_valid && du_cfg_ready) fstate <= F_DWRUN;
        F_DWRUN: if (out_take && out_last) fstate <= F_IDLE;
        F_CONV:  if (cv_done) fstate <= handover ? F_IDLE : F_WAIT;
        F_WAIT:  if (handover) fstate <= F_IDLE;
        F_ERR:   if (out_take && out_error) fstate <= F_IDLE;
        default: fstate <= F_IDLE;
      endcase
    end
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      bstate <= B_IDLE;
    end else begin
      unique case (bstate)
        B_IDLE:  if (handover) bstate <= B_CFG;
        B_CFG:   if (cfg_ready) bstate <= B_RUN;
        B_RUN:   if (out_take && out_last) bstate <= handover ? B_CFG : B_IDLE;
        default: bstate <= B_IDLE;
      endcase
    end
  end

`ifndef SYNTHESIS
  stream_checker #(.NAME("flexblock_core.ld"), .WIDTH(2 + 48 + 32 * K)) u_ld_check (
    .clk, .rst_n, .valid(ld_valid), .ready(ld_ready), .data({ld_buf, ld_row, ld_cblk, ld_cols, ld_data})
  );
  stream_checker #(.NAME("flexblock_core.job"), .WIDTH(2 + 48 + 8 + 16 + 33 + 6)) u_job_check (
    .clk, .rst_n, .valid(job_valid), .ready(job_ready),
    .data({job_pass, job_m, job_kdim, job_n, job_mode_a, job_mode_b, job_round_a, job_round_b, job_seed,
           job_conv, job_img_h, job_img_w, job_out_bfp, job_out_mode, job_out_round, job_dw})
  );
  stream_checker #(.NAME("flexblock_core.out"), .WIDTH(34 * ROWS * COLS + 34 + 1 + 8 + 17 * K + 2)) u_out_check (
    .clk, .rst_n, .valid(out_valid), .ready(out_ready),
    .data({out_result, out_flags, out_row, out_col, out_last, out_error, out_bfp, out_exp, out_sign, out_mag,
           out_bflags})
  );
  initial assert (K >= 16 && (K & (K - 1)) == 0) else $fatal(1, "flexblock_core: K must be a power of two >= 16");
  initial assert (COLS <= K && K % COLS == 0) else $fatal(1, "flexblock_core: COLS must divide K");
  initial begin
    for (int x = 0; x < 65536; x++) begin
      assert (32'(div9(16'(x))) == x / 9) else $fatal(1, "flexblock_core: div9(%0d) is not %0d / 9", x, x);
    end
  end
  always @(posedge clk) begin
    if (rst_n) begin
      // the converter's output is always taken, so its credits never run out
      assert (!rd_valid || fb_in_ready) else $fatal(1, "flexblock_core: fp2bfp refused a block");
      assert (pa_ready == pb_ready && pa_valid == pb_valid) else $fatal(1, "flexblock_core: a/b out of step");
      // the core checks a depthwise job before the unit sees it, so the unit never answers with an error
      assert (!(du_out_valid && du_out_error)) else $fatal(1, "flexblock_core: dw_unit rejected a checked job");
      assert (!(di_valid && di_tag == 2'd3)) else $fatal(1, "flexblock_core: a depthwise block without a stream");
    end
  end
`endif
endmodule
