// The multi-mode multiplier: 16 unsigned 4x4 sub-multipliers and an exact signed adder tree.
//
// An element of W magnitude bits is W/4 nibbles. A product of an A element (na nibbles) and a B element
// (nb nibbles) is the sum of its na*nb nibble products, each shifted by 4*(i+j). Sub-multiplier s works on
// product p = s / (na*nb), nibble pair q = s % (na*nb), i = q / nb, j = q % nb, so one cycle yields
// 16/(na*nb) products: one 16x16, four 8x8, sixteen 4x4, or the mixed cases. All products of a cycle
// belong to the same block dot product, so their signed sum is all the PE needs.
//
// The operand routing of each sub-multiplier is fixed per mode pair: nine constant nibble selections,
// chosen by the one-hot mode pair (an AND-OR choice per sub-multiplier input, no index arithmetic and no
// decoding in the datapath).
module mm_multiplier (
  input  logic [8:0]         mode_pair,  // one-hot, bit 3 * A + B (flexblock_pkg::mode_pair_onehot)
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

  // The pair's index 3 * A + B, encoded from the one-hot (no arithmetic): it picks each sub-multiplier's
  // operands from the nine candidates.
  logic [3:0] pair;
  assign pair = {mode_pair[8], |mode_pair[7:4], mode_pair[2] | mode_pair[3] | mode_pair[6] | mode_pair[7],
                 mode_pair[1] | mode_pair[3] | mode_pair[5] | mode_pair[7]};

  // A negative product is added as its inverted bits plus a carry-in, resolved inside each 9-bit row:
  // (-1)^n * p = {~n, p ^ {8{n}}} + n - 256, for n the product's sign and p the 8-bit nibble product. Each
  // sub-multiplier contributes the unsigned 9-bit value u = {~n, p ^ {8{n}}} + n, and the -256 * 2^w of
  // every sub-multiplier (w its weight) is one constant per mode pair (the sign-extension constant): no
  // 33-bit negation per sub-multiplier.
  function automatic logic [36:0] sign_constant(input int ma, input int mb);
    logic [36:0] total;
    int la, lb, i, j;
    la = log2_nibbles(ma);
    lb = log2_nibbles(mb);
    total = '0;
    for (int s = 0; s < 16; s++) begin
      i = (s & ((1 << (la + lb)) - 1)) >> lb;
      j = s & ((1 << lb) - 1);
      total = total - (37'd1 << (4 * (i + j) + 8));
    end
    sign_constant = total;
  endfunction

  // The sum is a binary tree over s whose level l adds the subtrees that differ in bit l of s. A
  // subtree's value is relative to its first sub-multiplier's weight, so level l shifts its right
  // operand by the weight of bit l: 4 * 2^l if it is a bit of j, 4 * 2^(l - log2 nb) if a bit of i, and 0
  // if a bit of the product index (a dot product adds its products at equal weight). The shifts, not the
  // 16 rows, depend on the mode pair (as in Bit Fusion): three choices per tree node instead of up to
  // five positions for every row.

  logic [36:0] constant_cand [9];
  for (genvar ma = 0; ma < 3; ma++) begin : g_const_a
    for (genvar mb = 0; mb < 3; mb++) begin : g_const_b
      assign constant_cand[3*ma + mb] = sign_constant(ma, mb);
    end
  end

  logic [36:0] level0 [16];
  for (genvar s = 0; s < 16; s++) begin : g_sub
    logic [3:0] a_cand [9], b_cand [9];  // the nibbles this sub-multiplier takes in each mode pair
    logic       neg_cand [9];            // sign of the product it belongs to

    for (genvar ma = 0; ma < 3; ma++) begin : g_ma
      for (genvar mb = 0; mb < 3; mb++) begin : g_mb
        localparam int LA = log2_nibbles(ma);
        localparam int LB = log2_nibbles(mb);
        localparam int P  = s >> (LA + LB);
        localparam int I  = (s & ((1 << (LA + LB)) - 1)) >> LB;
        localparam int J  = s & ((1 << LB) - 1);
        assign a_cand[3*ma + mb]   = a_mag[16*P + 4*I +: 4];
        assign b_cand[3*ma + mb]   = b_mag[16*P + 4*J +: 4];
        assign neg_cand[3*ma + mb] = a_sign[P] ^ b_sign[P];
      end
    end

    logic [7:0] prod;  // the 4x4 sub-multiplier
    logic       neg;
    logic [8:0] u;
    assign prod      = a_cand[pair] * b_cand[pair];
    assign neg       = neg_cand[pair];
    assign u         = {~neg, prod ^ {8{neg}}} + 9'(neg);
    assign level0[s] = 37'(u);
  end

  // Level l's shift (0, 4 or 8) as three selects, decoded once per level from the one-hot pair by
  // constant masks; a node then chooses among three fixed wirings of its right operand.

  logic [2:0] level_sel [4];  // {shift 8, shift 4, shift 0}
  for (genvar l = 0; l < 4; l++) begin : g_sel
    logic [8:0] by0, by4, by8;  // the pairs whose level-l shift is 0, 4, 8 (one is set)
    for (genvar c = 0; c < 9; c++) begin : g_pair
      localparam int LA = log2_nibbles(c / 3);
      localparam int LB = log2_nibbles(c % 3);
      localparam int SH = (l < LB) ? 4 << l : (l < LA + LB) ? 4 << (l - LB) : 0;
      assign by0[c] = mode_pair[c] && SH == 0;
      assign by4[c] = mode_pair[c] && SH == 4;
      assign by8[c] = mode_pair[c] && SH == 8;
    end
    assign level_sel[l] = {|by8, |by4, |by0};
  end

  function automatic logic [36:0] shifted(input logic [36:0] v, input logic [2:0] sel);
    shifted = (v & {37{sel[0]}}) | ((v << 4) & {37{sel[1]}}) | ((v << 8) & {37{sel[2]}});
  endfunction

  logic [36:0] level1 [8], level2 [4], level3 [2];
  for (genvar n = 0; n < 8; n++) begin : g_l1
    assign level1[n] = level0[2*n] + shifted(level0[2*n + 1], level_sel[0]);
  end
  for (genvar n = 0; n < 4; n++) begin : g_l2
    assign level2[n] = level1[2*n] + shifted(level1[2*n + 1], level_sel[1]);
  end
  for (genvar n = 0; n < 2; n++) begin : g_l3
    assign level3[n] = level2[2*n] + shifted(level2[2*n + 1], level_sel[2]);
  end
  assign sum = level3[0] + shifted(level3[1], level_sel[3]) + constant_cand[pair];
endmodule
