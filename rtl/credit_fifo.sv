// Output FIFO of a fixed-latency pipeline, with credits counted from the pipeline's input.
//
// A unit whose pipeline never stalls drives `accept` when a beat enters it and `push` when that beat
// leaves its last stage. `can_accept` (the unit's in_ready) is high while the beats in the pipeline plus
// those in the FIFO number fewer than DEPTH, so the FIFO never overflows and in_ready is a register
// output: no combinational path from out_ready. DEPTH >= latency + 1 keeps full throughput.
module credit_fifo #(
  parameter int WIDTH = 8,
  parameter int DEPTH = 4
) (
  input  logic             clk,
  input  logic             rst_n,
  output logic             can_accept,
  input  logic             accept,
  input  logic             push,
  input  logic [WIDTH-1:0] push_data,
  output logic             out_valid,
  input  logic             out_ready,
  output logic [WIDTH-1:0] out_data
);
  localparam int AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int CW = $clog2(DEPTH + 1);

  logic [WIDTH-1:0] mem [DEPTH];
  logic [AW-1:0] rd_ptr, wr_ptr;
  logic [CW-1:0] stored;   // beats in the FIFO
  logic [CW-1:0] credits;  // beats in the pipeline or in the FIFO

  wire pop = out_valid && out_ready;

  function automatic logic [AW-1:0] next_ptr(input logic [AW-1:0] p);
    next_ptr = (p == AW'(DEPTH - 1)) ? '0 : p + AW'(1);
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rd_ptr  <= '0;
      wr_ptr  <= '0;
      stored  <= '0;
      credits <= '0;
    end else begin
      if (push) begin
        mem[wr_ptr] <= push_data;
        wr_ptr <= next_ptr(wr_ptr);
      end
      if (pop) rd_ptr <= next_ptr(rd_ptr);
      stored  <= stored + CW'(push) - CW'(pop);
      credits <= credits + CW'(accept) - CW'(pop);
    end
  end

  assign can_accept = credits < CW'(DEPTH);
  assign out_valid  = stored != '0;
  assign out_data   = mem[rd_ptr];

`ifndef SYNTHESIS
  // Simulation-only checks of the credit invariant.
  always @(posedge clk) begin
    if (rst_n) begin
      assert (!(accept && !can_accept)) else $fatal(1, "credit_fifo: beat accepted without a credit");
      assert (!(push && stored == CW'(DEPTH) && !pop)) else $fatal(1, "credit_fifo: overflow");
    end
  end
`endif
endmodule
