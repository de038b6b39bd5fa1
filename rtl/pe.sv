// One processing element: the multi-mode multiplier, the block dot-product register, the exponent path,
// and the binary32 accumulator (docs/spec.md section 3).
//
// The array steps every PE in lockstep. On a block's first step the block sum restarts; on its last
// step the exact block dot product P and its LSB exponent X go to the accumulator, which rounds
// fp32(P * 2^X) and adds it to the tile's running sum. `acc_ready` (a register) tells the array whether a
// block's last step may happen this cycle.
module pe #(
  parameter int K  = 16,
  parameter int PW = 32 + $clog2(K) + 1  // |P| < K * (2^16-1)^2
) (
  input  logic        clk,
  input  logic        rst_n,
  input  logic [1:0]  mode_a,
  input  logic [1:0]  mode_b,
  input  logic        step_valid,
  input  logic        step_first,   // first step of a block pair
  input  logic        step_last,    // last step of a block pair
  input  logic        tile_last,    // ... and that block pair is the tile's last
  input  logic [7:0]  a_exp,
  input  logic [1:0]  a_flags,
  input  logic [15:0] a_sign,
  input  logic [255:0] a_mag,
  input  logic [7:0]  b_exp,
  input  logic [1:0]  b_flags,
  input  logic [15:0] b_sign,
  input  logic [255:0] b_mag,
  output logic        acc_ready,
  output logic        out_valid,
  input  logic        out_ready,
  output logic [31:0] out_result,
  output logic [1:0]  out_flags
);
  import flexblock_pkg::*;

  logic signed [36:0]   partial;
  logic signed [PW-1:0] block_sum_q, block_sum_d;
  logic signed [10:0]   lsb_exp;

  mm_multiplier u_mul (
    .mode_a, .mode_b, .a_sign, .a_mag, .b_sign, .b_mag, .sum(partial)
  );

  assign block_sum_d = step_first ? PW'(partial) : block_sum_q + PW'(partial);

  always_ff @(posedge clk) begin
    if (!rst_n)          block_sum_q <= '0;
    else if (step_valid) block_sum_q <= block_sum_d;
  end

  // X = Ea + Eb - 254 - (Wa - 1) - (Wb - 1)
  assign lsb_exp = 11'(a_exp) + 11'(b_exp) - 11'sd252 - 11'(mode_width(mode_a)) - 11'(mode_width(mode_b));

  fp32_acc #(.PW(PW)) u_acc (
    .clk, .rst_n,
    .in_valid(step_valid && step_last),
    .in_ready(acc_ready),
    .in_p(block_sum_d),
    .in_x(lsb_exp),
    .in_flags(a_flags | b_flags),
    .in_last(tile_last),
    .out_valid, .out_ready, .out_result, .out_flags
  );
endmodule
