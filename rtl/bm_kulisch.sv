// The exact (Kulisch) dot product of one Block Minifloat block pair (docs/spec.md section BM.3): K element
// products (bm_product), each an integer already shifted onto the block's fixed-point grid, summed in
// PW-bit two's complement. PW >= kulisch_bits(K, EX, MX, EG, MG) holds the largest possible sum, so nothing
// is rounded or lost inside a block. The sum is written as a chain; synthesis picks the adder tree.
module bm_kulisch #(
  parameter int K  = 16,
  parameter int EX = 2,
  parameter int MX = 5,
  parameter int EG = 4,
  parameter int MG = 3,
  parameter int PW = 33  // bm_mac passes kulisch_bits(K, EX, MX, EG, MG)
) (
  input  logic                   a_fmt,
  input  logic [K*(1+EX+MX)-1:0] a_elems,  // element i at [i*EW +: EW]
  input  logic [K*(1+EX+MX)-1:0] b_elems,
  output logic signed [PW-1:0]   p
);
  import bm_pkg::*;

  localparam int EW = 1 + EX + MX;

  for (genvar i = 0; i < K; i++) begin : g_lane
    logic signed [PW-1:0] prod, sum;
    bm_product #(.EX(EX), .MX(MX), .EG(EG), .MG(MG), .PW(PW)) u_product (
      .a_fmt, .a(a_elems[i*EW +: EW]), .b(b_elems[i*EW +: EW]), .prod
    );
    if (i == 0) begin : g_first
      assign sum = prod;
    end else begin : g_next
      assign sum = g_lane[i-1].sum + prod;
    end
  end

  assign p = g_lane[K-1].sum;

`ifndef SYNTHESIS
  initial assert (PW >= kulisch_bits(K, EX, MX, EG, MG))
    else $fatal(1, "bm_kulisch: PW = %0d < %0d bits the block sum needs", PW, kulisch_bits(K, EX, MX, EG, MG));
`endif
endmodule
