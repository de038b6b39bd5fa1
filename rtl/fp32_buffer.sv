// FP32 operand buffer with a transposing read: K banks of 32-bit words, skewed so that the K elements of
// a block along a stored row OR along a stored column sit in K different banks (docs/spec.md section 6).
//
// Element (i, j) of a tensor with cb = ceil(cols/K) words per row lives in bank (i + j) mod K at word
// base + i*cb + floor(j/K). A write stores K consecutive elements of one row (one word of every bank, the
// same address); a read returns K consecutive elements of a row (i, j..j+K-1, j a multiple of K: every
// bank at the same address) or of a column (i..i+K-1, j, i a multiple of K: bank b at the word of row
// i + ((b - j) mod K)). Lane l of either is bank (i + j + l) mod K, so one rotator serves both. Elements
// outside rows x cols read as +0 (the zero padding of the reduction axis and of partial tiles), or, with
// rd_lanes, the lanes the caller's mask clears (a conv WG read, whose first row may lie before the tensor).
// Read latency 2: the banks' registered read, then the rotated, masked block in rd_data. The caller keeps
// the word addresses (incrementally, in its walk); a column read adds lane * cb per bank.
module fp32_buffer #(
  parameter int K     = 16,   // elements per block, a power of two
  parameter int WORDS = 768   // words per bank
) (
  input  logic                     clk,
  input  logic                     rst_n,
  input  logic                     wr_en,
  input  logic [$clog2(WORDS)-1:0] wr_addr,   // the row's word: base + i*cb + floor(j/K)
  input  logic [$clog2(K)-1:0]     wr_rot,    // i mod K: lane l goes to bank (i + l) mod K
  input  logic [32*K-1:0]          wr_data,   // element l at [32l +: 32]
  input  logic                     rd_en,
  input  logic                     rd_col,    // 0: along a stored row, 1: along a stored column
  input  logic [$clog2(WORDS)-1:0] rd_word,   // lane 0's word: base + i*cb + floor(j/K)
  input  logic [12:0]              rd_cb,     // words per stored row (a column read steps by it)
  input  logic                     rd_zero,   // the whole block reads as +0 (a conv tap outside the image)
  input  logic                     rd_lanes,  // the caller's lane mask replaces the shape check (conv WG:
  input  logic [K-1:0]             rd_keep,   //   padding per lane; lanes with rd_keep 0 read as +0)
  input  logic [15:0]              rd_i,      // first element's row
  input  logic [15:0]              rd_j,      // first element's column
  input  logic [15:0]              rd_rows,   // the stored tensor's shape (elements beyond read as +0)
  input  logic [15:0]              rd_cols,
  output logic                     rd_valid,
  output logic [32*K-1:0]          rd_data
);
  localparam int AW = $clog2(WORDS);
  localparam int KW = $clog2(K);

  // The word addresses come from the caller's walk (kept incrementally there: no multiplier here).
  logic [KW-1:0] rd_rot;      // lane 0's bank
  assign rd_rot = rd_i[KW-1:0] + rd_j[KW-1:0];

  logic [31:0] bank_q [K];
  for (genvar b = 0; b < K; b++) begin : g_bank
    logic [KW-1:0] wr_lane, rd_lane;
    logic [AW-1:0] rd_addr;
    assign wr_lane = KW'(b) - wr_rot;
    assign rd_lane = KW'(b) - rd_rot;
    // a column read moves down rd_lane rows: rd_lane * cb words further (a KW-bit by 13-bit product)
    assign rd_addr = rd_col ? AW'(32'(rd_word) + 32'(rd_lane) * 32'(rd_cb)) : rd_word;
    op_ram #(.WIDTH(32), .DEPTH(WORDS)) u_bank (
      .clk, .wr_en, .wr_addr, .wr_data(wr_data[32*wr_lane +: 32]),
      .rd_en, .rd_addr, .rd_data(bank_q[b])
    );
  end

  // ---- the lanes' masks travel beside the banks' read -----------------------------------------------
  logic          rd1_valid;
  logic [KW-1:0] rd1_rot;
  logic [K-1:0]  rd1_keep;
  logic [K-1:0]  keep;
  for (genvar l = 0; l < K; l++) begin : g_keep
    assign keep[l] = rd_zero ? 1'b0 : rd_lanes ? rd_keep[l] : rd_col ? (17'(rd_i) + 17'(l) < 17'(rd_rows)) && (rd_j < rd_cols)
                            : (rd_i < rd_rows) && (17'(rd_j) + 17'(l) < 17'(rd_cols));
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rd1_valid <= 1'b0;
      rd_valid  <= 1'b0;
    end else begin
      rd1_valid <= rd_en;
      rd_valid  <= rd1_valid;
    end
  end

  always_ff @(posedge clk) begin
    if (rd_en) begin
      rd1_rot  <= rd_rot;
      rd1_keep <= keep;
    end
  end

  // ---- rotate into lane order, zero what lies outside the tensor ------------------------------------
  for (genvar l = 0; l < K; l++) begin : g_lane
    logic [KW-1:0] bank;
    assign bank = rd1_rot + KW'(l);
    always_ff @(posedge clk) begin
      if (rd1_valid) rd_data[32*l +: 32] <= rd1_keep[l] ? bank_q[bank] : 32'd0;
    end
  end

`ifndef SYNTHESIS
  initial assert (K >= 2 && (K & (K - 1)) == 0) else $fatal(1, "fp32_buffer: K must be a power of two");
`endif
endmodule
