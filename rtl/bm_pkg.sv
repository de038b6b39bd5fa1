// Block Minifloat widths (docs/spec.md section BM.3), shared by bm_product, bm_kulisch and bm_mac.
//
// A bm_mac takes operand A in format eXmX or eGmG (chosen per beat) and operand B in eXmX.
package bm_pkg;
  // Largest alignment shift of an eEmM element, max(E field, 1) - 1.
  function automatic int sh_max(input int e);
    sh_max = (1 << e) - 2;
  endfunction

  function automatic int max2(input int a, input int b);
    max2 = (a > b) ? a : b;
  endfunction

  // Signed bits that hold every block dot product exactly: |P| <= K * sigA_max * sigB_max * 2^(shA + shB)
  // over the two format pairs (eX x eX, eG x eX), plus a sign bit. The bound is reached (all top codes).
  function automatic int kulisch_bits(input int k, input int ex, input int mx, input int eg, input int mg);
    logic [63:0] sig_x, bound_x, bound_g, bound;
    sig_x   = (64'd1 << (mx + 1)) - 64'd1;
    bound_x = (64'(k) * sig_x * sig_x) << (2 * sh_max(ex));
    bound_g = (64'(k) * sig_x * ((64'd1 << (mg + 1)) - 64'd1)) << (sh_max(ex) + sh_max(eg));
    bound   = (bound_x > bound_g) ? bound_x : bound_g;
    kulisch_bits = 1;
    for (int i = 0; i < 64; i++)
      if ((bound >> i) != 64'd0) kulisch_bits = i + 2;
  endfunction
endpackage
