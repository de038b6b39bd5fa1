// Address generator of a 3x3 conv layer's weight gradient (docs/spec.md section 6, "3x3 conv, WG"):
// dW = im2col(X)^T . dY, with X stored channels-last as pixels x C in the FP32 buffer.
//
// A = im2col(X)^T has one row per (tap t, channel c) (row t * C + c, W's own row order) and the pixels
// along its reduction axis: block kb of row t * C + c is column c of X read downwards from pixel
// p0 = kb * K shifted by the tap's offset dh * W + dw (a column read of the skewed buffer at any first row:
// lane l is pixel p0 + l). Unlike the FWD/BWD walk, where a block is one tap's K channels of one pixel and
// padding blanks the whole block, the K pixels of a block straddle image rows (and images), so the padding
// is a mask per lane: lane l reads +0 where (h + dh, w + dw) of its pixel (h, w) leaves the image, and past
// the last stored pixel (a partial last image).
//
// Every lane keeps its pixel's column w_l = p mod W and its place in the image pi_l = p mod (H W) as
// modular counters: both restart at pixel l with each new row of A and step by K pixels with each block
// (one compare with a threshold and one add each, the threshold and both addends shared by the lanes; the
// steps K mod W, K mod HW and the restarts l mod W, l mod HW divide constants <= K: narrow subtractions). The lane's four edge flags (first / last
// column: w_l == 0 / W - 1, first / last image row: pi_l < W / pi_l >= HW - W) then give its mask for
// every tap. The walk's addresses are kept by additions, as in the FWD walk: the tap's row offset
// off = dh W + dw and word offset off * cb, the block's first pixel p0 and its word offset p0 * cb.
// One block per cycle, no stall: the conversion walk reads A's M * KBLOCKS blocks back to back.
module conv_wg_agen #(
  parameter int K = 16          // elements per block, a power of two
) (
  input  logic               clk,
  input  logic               job_take,    // the job is taken: H * W is registered
  input  logic [15:0]        job_img_h,
  input  logic [15:0]        job_img_w,
  input  logic               start,       // the walk starts (the job's registers below are valid)
  input  logic               step,        // one block of A is read in this cycle
  input  logic [15:0]        img_w,       // the job's image width
  input  logic [15:0]        chans,       // C = M / 9: X's columns
  input  logic [15:0]        pixels,      // Kdim: X's rows, the reduction's length
  input  logic [12:0]        cb,          // words per stored row of X
  input  logic [28:0]        wcb,         // W * cb (the caller's, constant during the job)
  input  logic [12:0]        kblocks,     // blocks per row of A
  output logic signed [31:0] word,        // lane 0's word (pixel p0 + off, column c) within the region
  output logic [15:0]        rd_i,        // lane 0's row p0 + off (mod 2^16: the rotation uses its low bits)
  output logic [15:0]        rd_j,        // the column c
  output logic [K-1:0]       keep         // lanes read as the stored element (the others as +0)
);
  localparam int KW = $clog2(K);

  // x mod d for a constant 0 <= x <= K: x if d > x, else (d <= K) a restoring division in KW + 2 bits.
  function automatic logic [16:0] mod_small(input logic [16:0] x, input logic [16:0] d);
    logic [KW+1:0] r, dn;
    r  = (KW + 2)'(x);
    dn = (KW + 2)'(d);
    for (int i = KW; i >= 0; i--) begin
      if ((KW + 2 + KW)'(dn) << i <= (KW + 2 + KW)'(r)) r = r - (KW + 2)'(dn << i);
    end
    mod_small = d > x ? x : 17'(r);
  endfunction

  // H * W from the ports (the product sits in front of a register), clamped to 17 bits: a pixel's place in
  // its image is below 2^16 (Kdim is 16 bits), so a larger image compares like the clamp.
  logic [31:0] hw_full;
  logic [16:0] hw_q, hwmw, wm1;  // H W, H W - W (the last image row's first place), W - 1
  assign hw_full = 32'(job_img_h) * 32'(job_img_w);
  always_ff @(posedge clk) begin
    if (job_take) hw_q <= hw_full > 32'h1FFFF ? 17'h1FFFF : 17'(hw_full);
  end
  assign hwmw = hw_q - 17'(img_w);
  assign wm1  = 17'(img_w) - 17'd1;

  // ---- the walk: rows of A (tap-major, then channel), KBLOCKS blocks each ----------------------------
  logic [12:0]        kb;
  logic [15:0]        p0;       // kb * K
  logic [28:0]        pword;    // p0 * cb
  logic [15:0]        c;
  logic [1:0]         th, tw;   // the tap: dh = th - 1, dw = tw - 1
  logic signed [17:0] off;      // dh * W + dw
  logic signed [31:0] offword;  // off * cb
  logic               kb_last, c_last, restart;
  assign kb_last = kb == kblocks - 13'd1;
  assign c_last  = c == chans - 16'd1;
  assign restart = start || (step && kb_last);

  always_ff @(posedge clk) begin
    if (restart) begin
      kb    <= '0;
      p0    <= '0;
      pword <= '0;
    end else if (step) begin
      kb    <= kb + 13'd1;
      p0    <= p0 + 16'(K);
      pword <= pword + 29'(K) * 29'(cb);
    end
  end

  always_ff @(posedge clk) begin
    if (start) begin  // tap (-1, -1), channel 0
      c       <= '0;
      th      <= '0;
      tw      <= '0;
      off     <= -$signed(18'(img_w)) - 18'sd1;
      offword <= -$signed(32'(wcb)) - $signed(32'(cb));
    end else if (step && kb_last) begin
      c <= c_last ? '0 : c + 16'd1;
      if (c_last) begin  // the next tap: one column right, or the next row's first column (W - 2 further)
        tw      <= tw == 2'd2 ? '0 : tw + 2'd1;
        if (tw == 2'd2) th <= th + 2'd1;
        off     <= tw == 2'd2 ? off + $signed(18'(img_w)) - 18'sd2 : off + 18'sd1;
        offword <= tw == 2'd2 ? offword + $signed(32'(wcb)) - $signed(32'(2 * 32'(cb))) : offword + $signed(32'(cb));
      end
    end
  end

  assign word = offword + $signed(32'(pword)) + $signed(32'(c >> KW));
  assign rd_i = 16'(18'(p0) + off);
  assign rd_j = c;

  // ---- the lanes' pixels and their masks ---------------------------------------------------------------
  logic [16:0]        step_w, step_hw;  // K mod W, K mod HW
  // (a + step) mod d for a < d, shared per job: a lane wraps iff a >= d - step, and then adds step - d
  logic [16:0]        thr_w, thr_hw, back_w, back_hw;
  logic [16:0]        left;             // pixels - p0: lanes below it hold a stored pixel
  logic signed [18:0] left_tap;         // pixels - (p0 + off): lanes below it read a stored pixel
  assign step_w   = mod_small(17'(K), 17'(img_w));
  assign step_hw  = mod_small(17'(K), hw_q);
  assign thr_w    = 17'(img_w) - step_w;
  assign back_w   = step_w - 17'(img_w);
  assign thr_hw   = hw_q - step_hw;
  assign back_hw  = step_hw - hw_q;
  assign left     = 17'(pixels) - 17'(p0);
  assign left_tap = $signed(19'(left)) - $signed(19'(off));

  for (genvar l = 0; l < K; l++) begin : g_lane
    logic [16:0] w_l, pi_l;  // the lane's pixel: column, place in its image
    logic        col0, coln, row0, rown;
    always_ff @(posedge clk) begin
      if (restart) begin
        w_l  <= mod_small(17'(l), 17'(img_w));
        pi_l <= mod_small(17'(l), hw_q);
      end else if (step) begin
        w_l  <= w_l + (w_l >= thr_w ? back_w : step_w);
        pi_l <= pi_l + (pi_l >= thr_hw ? back_hw : step_hw);
      end
    end
    assign col0 = w_l == '0;
    assign coln = w_l == wm1;
    assign row0 = pi_l < 17'(img_w);
    assign rown = pi_l >= hwmw;
    assign keep[l] = !(th == 2'd0 && row0) && !(th == 2'd2 && rown) && !(tw == 2'd0 && col0)
                  && !(tw == 2'd2 && coln) && 17'(l) < left && $signed(19'(l)) < left_tap;
  end

`ifndef SYNTHESIS
  initial assert (K >= 2 && (K & (K - 1)) == 0) else $fatal(1, "conv_wg_agen: K must be a power of two");
`endif
endmodule
