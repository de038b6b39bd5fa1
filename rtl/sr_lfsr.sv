// Random bits for stochastic rounding (docs/spec.md section 2, "Stochastic rounding bits").
//
// Lane i (element position i of a block) owns a 16-bit Galois LFSR, polynomial
// x^16 + x^14 + x^13 + x^11 + 1 in right-shift form (taps 0xB400, period 65535). `rnd` is the low
// SR_BITS bits of every lane's current state: the random number of the block accepted this cycle.
// `advance` (a block is accepted, whatever its rounding mode) steps every lane SR_BITS times, so the
// bits of consecutive blocks never overlap and the sequence depends only on the number of blocks
// since the last seed load (that is what lets models/lfsr.py jump through the orbit table).
module sr_lfsr #(
  parameter int          K       = 16,
  parameter int          SR_BITS = 8,         // 1..16
  parameter int          SR_SEED = 'hACE1     // loaded by reset, 16 bits
) (
  input  logic                 clk,
  input  logic                 rst_n,
  input  logic                 advance,    // a block is accepted this cycle
  input  logic                 seed_load,  // load `seed`; wins over `advance`
  input  logic [15:0]          seed,
  output logic [K*SR_BITS-1:0] rnd         // lane i in bits [i*SR_BITS +: SR_BITS]
);
  localparam logic [15:0] TAPS     = 16'hB400;
  localparam logic [15:0] LANE_KEY = 16'h9E37;

  // Lanes get different states from one seed; 0 is the LFSR's lock-up state, so it becomes 0xFFFF.
  function automatic logic [15:0] lane_seed(input logic [15:0] s, input int lane);
    logic [15:0] v;
    v = s ^ (16'(lane + 1) * LANE_KEY);  // 16-bit product: (lane + 1) * 0x9E37 mod 2^16
    lane_seed = (v == 16'd0) ? 16'hFFFF : v;
  endfunction

  // SR_BITS single steps (lsb = s & 1; s >>= 1; if lsb: s ^= TAPS), unrolled into one XOR network.
  function automatic logic [15:0] step_n(input logic [15:0] s);
    logic [15:0] v;
    v = s;
    for (int n = 0; n < SR_BITS; n++) begin
      v = v[0] ? ((v >> 1) ^ TAPS) : (v >> 1);
    end
    step_n = v;
  endfunction

  for (genvar i = 0; i < K; i++) begin : g_lane
    logic [15:0] state;

    // A load in the same cycle as an accepted block: that block has already taken the old `rnd`
    // (it is sampled on this edge), and the next block starts from the seed.
    always_ff @(posedge clk) begin
      if (!rst_n)         state <= lane_seed(16'(SR_SEED), i);
      else if (seed_load) state <= lane_seed(seed, i);
      else if (advance)   state <= step_n(state);
    end

    assign rnd[i*SR_BITS +: SR_BITS] = state[SR_BITS-1:0];

`ifndef SYNTHESIS
    // A maximal-length LFSR never reaches 0 from a nonzero state; 0 would mean a broken seed or step.
    always @(posedge clk) begin
      if (rst_n) assert (state != 16'd0) else $fatal(1, "sr_lfsr: lane %0d in the lock-up state 0", i);
    end
`endif
  end

`ifndef SYNTHESIS
  initial begin
    assert (SR_BITS >= 1 && SR_BITS <= 16) else $fatal(1, "sr_lfsr: SR_BITS must be 1..16");
    assert (SR_SEED >= 0 && SR_SEED <= 'hFFFF) else $fatal(1, "sr_lfsr: SR_SEED must fit 16 bits");
  end
`endif
endmodule
