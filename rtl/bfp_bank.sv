// One BFP operand bank of flexblock_core (docs/spec.md section 6, "Operand word packing"): WORDS words of DW
// bits holding densely packed blocks, a block of `wr_words` (1, 2 or 3: FB12, FB16, FB24) consecutive words
// written in one cycle, one word read per cycle.
//
// The words are interleaved over 4 sub-banks (op_ram): word a lives in sub-bank a[1:0] at row a >> 2, so any 3
// consecutive words are in 3 different sub-banks and a whole block goes in with one write per sub-bank. Word j
// of the block (bits [j*DW +: DW] of wr_data) goes to sub-bank (wr_addr + j) mod 4: sub-bank s takes word
// (s - wr_addr) mod 4 if that is below wr_words. The read is registered (op_ram) and the sub-bank's word picked
// by the registered low address bits: one cycle from rd_en to the word, which holds between reads. A block is
// read word by word (rd_j: the word's index in its block); words 0 and 1 are kept as they arrive, so rd_block
// holds the whole block (word j at [j*DW +: DW]; words past the block's last are don't-care) in the cycle after
// its last word's read.
module bfp_bank #(
  parameter int DW    = 94,    // bits per word: ceil((10 + 17 K) / 3)
  parameter int WORDS = 768    // words in the bank (both sets)
) (
  input  logic                     clk,
  input  logic                     wr_en,
  input  logic [$clog2(WORDS)-1:0] wr_addr,   // the block's first word
  input  logic [1:0]               wr_words,  // its words: 1..3
  input  logic [3*DW-1:0]          wr_data,   // word j at [j*DW +: DW]
  input  logic                     rd_en,
  input  logic [$clog2(WORDS)-1:0] rd_addr,
  input  logic [1:0]               rd_j,      // the read word's index in its block: 0..2
  output logic [3*DW-1:0]          rd_block
);
  localparam int AW   = $clog2(WORDS);
  localparam int ROWS = (WORDS + 3) / 4;      // rows per sub-bank
  localparam int RW   = $clog2(ROWS);

  logic [1:0]    rd_sel_q;
  logic [DW-1:0] q [4];

  for (genvar s = 0; s < 4; s++) begin : g_sub
    logic [1:0]    j;      // the block's word this sub-bank takes
    logic [AW:0]   a;      // its word address
    logic [DW-1:0] d;
    assign j = 2'(s) - wr_addr[1:0];
    assign a = (AW + 1)'(wr_addr) + (AW + 1)'(j);
    assign d = j == 2'd0 ? wr_data[0 +: DW] : j == 2'd1 ? wr_data[DW +: DW] : wr_data[2*DW +: DW];
    op_ram #(.WIDTH(DW), .DEPTH(ROWS)) u_ram (
      .clk,
      .wr_en(wr_en && j < wr_words), .wr_addr(RW'(a >> 2)), .wr_data(d),
      .rd_en(rd_en && rd_addr[1:0] == 2'(s)), .rd_addr(RW'(rd_addr >> 2)), .rd_data(q[s])
    );
  end

  logic [1:0]    rd_j_q;
  logic [DW-1:0] rd_data, word0_q, word1_q;
  always_ff @(posedge clk) begin
    if (rd_en) begin
      rd_sel_q <= rd_addr[1:0];
      rd_j_q   <= rd_j;
    end
    if (rd_j_q == 2'd0) word0_q <= rd_data;  // rd_data holds the last word read: keeping it is harmless
    if (rd_j_q == 2'd1) word1_q <= rd_data;
  end
  assign rd_data  = q[rd_sel_q];
  assign rd_block = {rd_data, rd_j_q == 2'd1 ? rd_data : word1_q, rd_j_q == 2'd0 ? rd_data : word0_q};
endmodule
