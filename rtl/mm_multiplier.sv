// The multi-mode multiplier: 16 unsigned 4x4 sub-multipliers and an exact signed adder tree.
//
// An element of W magnitude bits is W/4 nibbles. A product of an A element (na nibbles) and a B element
// (nb nibbles) is the sum of its na*nb nibble products, each shifted by 4*(i+j). Sub-multiplier s works on
// product p = s / (na*nb), nibble pair q = s % (na*nb), i = q / nb, j = q % nb, so one cycle yields
// 16/(na*nb) products: one 16x16, four 8x8, sixteen 4x4, or the mixed cases. All products of a cycle
// belong to the same block dot product, so their signed sum is all the PE needs.
//
// The operand routing of each sub-multiplier is fixed per mode pair: nine constant nibble selections,
// chosen by the pair (a 9-way multiplexer per sub-multiplier input, no index arithmetic in hardware).
module mm_multiplier (
  input  logic [1:0]         mode_a,
  input  logic [1:0]         mode_b,
  input  logic [15:0]        a_sign,   // window of A elements (sign-magnitude, 16-bit slots)
  /* verilator lint_off UNUSEDSIGNAL */  // the upper window slots serve only the narrow modes' low nibbles
  input  logic [255:0]       a_mag,
  input  logic [15:0]        b_sign,
  input  logic [255:0]       b_mag,
  /* verilator lint_on UNUSEDSIGNAL */
  output logic signed [36:0] sum       // exact: 16 terms below 2^32 (mod 2^37)
);
  import flexblock_pkg::*;

  // log2 of the nibbles per element of a mode code: FB24 2, FB16 1, FB12 0 (reserved 3 as FB24).
  function automatic int log2_nibbles(input int code);
    log2_nibbles = (code == 1) ? 1 : (code == 2) ? 0 : 2;
  endfunction

  logic [3:0] pair;  // 3 * mode_a + mode_b, reserved codes folded to FB24
  assign pair = 4'(3 * ((mode_a == 2'd3) ? 0 : 32'(mode_a)) + ((mode_b == 2'd3) ? 0 : 32'(mode_b)));

  // A negative product is added as its inverted bits plus a carry-in, resolved inside each 9-bit row:
  // (-1)^n * p = {~n, p ^ {8{n}}} + n - 256, for n the product's sign and p the 8-bit nibble product. Each
  // sub-multiplier contributes the unsigned 9-bit row u = {~n, p ^ {8{n}}} + n at its shift, and the
  // -256 * 2^shift of every sub-multiplier is one constant per mode pair (the sign-extension constant):
  // the 16 rows and the constant are summed by one carry-save tree and a single carry-propagate adder,
  // with no 33-bit negation per sub-multiplier.
  function automatic logic [36:0] sign_constant(input int ma, input int mb);
    logic [36:0] c;
    int la, lb, i, j;
    la = log2_nibbles(ma);
    lb = log2_nibbles(mb);
    c = '0;
    for (int s = 0; s < 16; s++) begin
      i = (s & ((1 << (la + lb)) - 1)) >> lb;
      j = s & ((1 << lb) - 1);
      c = c - (37'd1 << (4 * (i + j) + 8));
    end
    sign_constant = c;
  endfunction

  logic [36:0] row [16];
  logic [36:0] constant_cand [9];
  for (genvar ma = 0; ma < 3; ma++) begin : g_const_a
    for (genvar mb = 0; mb < 3; mb++) begin : g_const_b
      assign constant_cand[3*ma + mb] = sign_constant(ma, mb);
    end
  end

  for (genvar s = 0; s < 16; s++) begin : g_sub
    logic [3:0] a_cand [9], b_cand [9];  // the nibbles this sub-multiplier takes in each mode pair
    logic [4:0] shift_cand [9];          // 4 * (i + j)
    logic       neg_cand [9];            // sign of the product it belongs to

    for (genvar ma = 0; ma < 3; ma++) begin : g_ma
      for (genvar mb = 0; mb < 3; mb++) begin : g_mb
        localparam int LA = log2_nibbles(ma);
        localparam int LB = log2_nibbles(mb);
        localparam int P  = s >> (LA + LB);
        localparam int I  = (s & ((1 << (LA + LB)) - 1)) >> LB;
        localparam int J  = s & ((1 << LB) - 1);
        assign a_cand[3*ma + mb]     = a_mag[16*P + 4*I +: 4];
        assign b_cand[3*ma + mb]     = b_mag[16*P + 4*J +: 4];
        assign shift_cand[3*ma + mb] = 5'(4 * (I + J));
        assign neg_cand[3*ma + mb]   = a_sign[P] ^ b_sign[P];
      end
    end

    logic [7:0] prod;  // the 4x4 sub-multiplier
    logic       neg;
    logic [8:0] u;
    assign prod   = a_cand[pair] * b_cand[pair];
    assign neg    = neg_cand[pair];
    assign u      = {~neg, prod ^ {8{neg}}} + 9'(neg);
    assign row[s] = 37'(u) << shift_cand[pair];
  end

  // One multi-operand sum: Yosys builds it as a carry-save tree with one final adder (alumacc/maccmap).
  always_comb begin
    sum = constant_cand[pair];
    for (int s = 0; s < 16; s++) sum = sum + row[s];
  end
endmodule
