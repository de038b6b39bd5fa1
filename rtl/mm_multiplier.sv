// The multi-mode multiplier: 16 unsigned 4x4 sub-multipliers and an exact signed adder tree.
//
// An element of W magnitude bits is W/4 nibbles. A product of an A element (na nibbles) and a B element
// (nb nibbles) is the sum of its na*nb nibble products, each shifted by 4*(i+j). Sub-multiplier s works on
// product p = s / (na*nb), nibble pair q = s % (na*nb), i = q / nb, j = q % nb, so one cycle yields
// 16/(na*nb) products: one 16x16, four 8x8, sixteen 4x4, or the mixed cases. All products of a cycle
// belong to the same block dot product, so their signed sum is all the PE needs.
module mm_multiplier (
  input  logic [1:0]         mode_a,
  input  logic [1:0]         mode_b,
  input  logic [15:0]        a_sign,   // window of A elements (sign-magnitude, 16-bit slots)
  input  logic [255:0]       a_mag,
  input  logic [15:0]        b_sign,
  input  logic [255:0]       b_mag,
  output logic signed [36:0] sum       // exact: 16 terms below 2^32
);
  import flexblock_pkg::*;

  // log2 of the nibbles per element: 2, 1 or 0.
  function automatic logic [1:0] log2_nibbles(input logic [1:0] mode);
    unique case (mode_nibbles(mode))
      3'd4:    log2_nibbles = 2'd2;
      3'd2:    log2_nibbles = 2'd1;
      default: log2_nibbles = 2'd0;
    endcase
  endfunction

  logic [1:0] la, lb;
  logic [2:0] lab;
  assign la  = log2_nibbles(mode_a);
  assign lb  = log2_nibbles(mode_b);
  assign lab = 3'(la) + 3'(lb);

  logic [3:0]  p [16];     // element of the window
  logic [1:0]  ai [16];    // nibble of the A element
  logic [1:0]  bj [16];    // nibble of the B element
  logic [7:0]  prod [16];  // the sub-multipliers
  logic [31:0] term [16];

  always_comb begin
    sum = '0;
    for (int s = 0; s < 16; s++) begin
      p[s]    = 4'(s >> lab);
      ai[s]   = 2'((s & ((1 << lab) - 1)) >> lb);
      bj[s]   = 2'(s & ((1 << lb) - 1));
      prod[s] = a_mag[16*p[s] + 4*ai[s] +: 4] * b_mag[16*p[s] + 4*bj[s] +: 4];
      term[s] = 32'(prod[s]) << (4 * (32'(ai[s]) + 32'(bj[s])));
      if (a_sign[p[s]] ^ b_sign[p[s]]) sum = sum - 37'(term[s]);
      else                             sum = sum + 37'(term[s]);
    end
  end
endmodule
