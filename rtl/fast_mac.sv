// FAST's fMAC (Zhang, McDanel, Kung, HPCA 2022; docs/spec.md section "FAST"): the dot product of a pair of
// BFP groups whose mantissas are processed in 2-bit chunks, one chunk pair per cycle.
//
// A group pair (G elements each; an m-bit mantissa is m/2 chunks, m = 2, 4, 6, 8 per operand) takes
// (ma/2) x (mb/2) passes, most significant chunks first: pass (i, j) multiplies chunk i of every A
// mantissa with chunk j of its B partner (G 2x2-bit products), sums them with the element signs, and adds
// the sum shifted by 2(i + j) into the group's exact integer sum. On the last pass the group sum P and
// the exponent X of its LSB go to the binary32 accumulator (fp32_acc: one rounding of the term, one
// nearest-even addition), which ends a reduction at the group pair with `in_last`.
//
// The operand register holds the group pair being processed; the next pair is taken in the cycle of the
// current one's last pass, so passes run back to back. `in_ready` is decoded from registers only.
module fast_mac #(
  parameter int G  = 16,  // elements per group
  parameter int EW = 8    // shared exponent code bits: 8 (base 0) or 4 (above a per-tensor base)
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            in_valid,
  output logic            in_ready,
  input  logic [1:0]      in_prec_a,   // mantissa bits / 2 - 1
  input  logic [1:0]      in_prec_b,
  input  logic [7:0]      in_a_base,   // the group exponent is E = base + code
  input  logic [EW-1:0]   in_a_exp,    // the shared exponent code
  input  logic [G-1:0]    in_a_sign,
  input  logic [8*G-1:0]  in_a_mag,    // element e in [8e +: 8]; bits at and above m are ignored
  input  logic [1:0]      in_a_flags,  // {overflow, invalid}
  input  logic [7:0]      in_b_base,
  input  logic [EW-1:0]   in_b_exp,
  input  logic [G-1:0]    in_b_sign,
  input  logic [8*G-1:0]  in_b_mag,
  input  logic [1:0]      in_b_flags,
  input  logic            in_last,     // this group pair ends the reduction
  output logic            out_valid,
  input  logic            out_ready,
  output logic [31:0]     out_result,
  output logic [1:0]      out_flags
);
  localparam int PW = 16 + $clog2(G) + 1;  // |P| <= G * 255 * 255 < G * 2^16
  localparam int TW = 4 + $clog2(G) + 1;   // one pass: |sum| <= G * 9

  // ---- the group pair being processed ----------------------------------------------------------------
  logic            busy_q, first_q, last_q;
  logic [1:0]      ka_q, kb_q;        // chunks - 1
  logic [1:0]      ia_q, jb_q;        // the pass: chunk of A, chunk of B
  logic [8:0]      ea_q, eb_q;        // E = base + code
  logic [G-1:0]    neg_q;             // sign of each product
  logic [8*G-1:0]  ma_q, mb_q;
  logic [1:0]      flags_q;
  logic signed [PW-1:0] sum_q;

  logic acc_ready, last_pass, step, take;
  assign last_pass = ia_q == 2'd0 && jb_q == 2'd0;
  assign step      = busy_q && (!last_pass || acc_ready);
  assign in_ready  = !busy_q || (last_pass && acc_ready);
  assign take      = in_valid && in_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      busy_q <= 1'b0;
      first_q <= 1'b0;
      last_q <= 1'b0;
      {ka_q, kb_q, ia_q, jb_q} <= '0;
      {ea_q, eb_q, neg_q, ma_q, mb_q, flags_q} <= '0;
    end else if (take) begin
      busy_q  <= 1'b1;
      first_q <= 1'b1;
      last_q  <= in_last;
      ka_q    <= in_prec_a;
      kb_q    <= in_prec_b;
      ia_q    <= in_prec_a;  // most significant chunks first
      jb_q    <= in_prec_b;
      ea_q    <= 9'(in_a_base) + 9'(in_a_exp);
      eb_q    <= 9'(in_b_base) + 9'(in_b_exp);
      neg_q   <= in_a_sign ^ in_b_sign;
      ma_q    <= in_a_mag;
      mb_q    <= in_b_mag;
      flags_q <= in_a_flags | in_b_flags;
    end else if (step) begin
      first_q <= 1'b0;
      if (last_pass) begin
        busy_q <= 1'b0;
      end else if (jb_q == 2'd0) begin
        ia_q <= ia_q - 2'd1;
        jb_q <= kb_q;
      end else begin
        jb_q <= jb_q - 2'd1;
      end
    end
  end

  // ---- one pass: G 2x2-bit products of chunk ia of A and chunk jb of B, signed, summed -----------------
  logic signed [TW-1:0]  pass_sum;
  logic signed [PW-1:0]  sum_d;
  always_comb begin
    pass_sum = '0;
    for (int e = 0; e < G; e++) begin
      pass_sum = neg_q[e]
               ? pass_sum - TW'(4'(ma_q[8*e + 2*ia_q +: 2]) * 4'(mb_q[8*e + 2*jb_q +: 2]))
               : pass_sum + TW'(4'(ma_q[8*e + 2*ia_q +: 2]) * 4'(mb_q[8*e + 2*jb_q +: 2]));
    end
  end
  // weight 4^(i + j): a shift by 0, 2, .., 12
  assign sum_d = (first_q ? '0 : sum_q) + (PW'(pass_sum) <<< {3'(ia_q) + 3'(jb_q), 1'b0});

  always_ff @(posedge clk) begin
    if (!rst_n)    sum_q <= '0;
    else if (step) sum_q <= sum_d;
  end

  // ---- binary32 accumulation: X = Ea + Eb - 254 - (ma - 1) - (mb - 1), ma - 1 = 2 ka + 1 -------------
  logic signed [10:0] lsb_exp;
  assign lsb_exp = 11'(ea_q) + 11'(eb_q) - 11'sd256 - 11'({ka_q, 1'b0}) - 11'({kb_q, 1'b0});

  fp32_acc #(.PW(PW)) u_acc (
    .clk, .rst_n,
    .in_valid(busy_q && last_pass),
    .in_ready(acc_ready),
    .in_p(sum_d),
    .in_x(lsb_exp),
    .in_flags(flags_q),
    .in_last(last_q),
    .out_valid, .out_ready, .out_result, .out_flags
  );

`ifndef SYNTHESIS
  stream_checker #(.NAME("fast_mac.in"), .WIDTH(4 + 2 * (8 + EW + 9 * G + 2) + 1)) u_in_check (
    .clk, .rst_n, .valid(in_valid), .ready(in_ready),
    .data({in_prec_a, in_prec_b, in_a_base, in_a_exp, in_a_sign, in_a_mag, in_a_flags,
           in_b_base, in_b_exp, in_b_sign, in_b_mag, in_b_flags, in_last})
  );
  // The promise the cycle model rests on: a group pair's last pass is its (ma/2)(mb/2)-th step.
  logic [4:0] steps_q;
  always @(posedge clk) begin
    if (!rst_n || take) steps_q <= '0;
    else if (step)      steps_q <= steps_q + 5'd1;
    if (rst_n && step && last_pass)
      assert (32'(steps_q) + 1 == (32'(ka_q) + 1) * (32'(kb_q) + 1))
        else $fatal(1, "fast_mac: a %0dx%0d-bit group pair ended after %0d passes", 2 * ka_q + 2, 2 * kb_q + 2,
                    steps_q + 1);
  end
  initial begin
    assert (EW >= 1 && EW <= 8) else $fatal(1, "fast_mac: EW must be 1..8");
    assert (G >= 1 && G <= 64) else $fatal(1, "fast_mac: G must be 1..64");
  end
`endif
endmodule
