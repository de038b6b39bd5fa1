// Simulation-only protocol checker of one valid/ready stream (docs/spec.md section 5), bound inside the
// unit that owns the stream: after reset, valid and ready are never X, a valid beat's data is never X, and
// a beat offered but not taken stays offered, unchanged, until it is taken. Synthesis sees an empty module.
module stream_checker #(
  parameter        NAME  = "stream",  // untyped: Icarus 11 has no string parameters
  parameter int    WIDTH = 1
) (
  input logic             clk,
  input logic             rst_n,
  input logic             valid,
  input logic             ready,
  input logic [WIDTH-1:0] data
);
`ifndef SYNTHESIS
  logic             held_q;  // a beat was offered and not taken in the previous cycle
  logic [WIDTH-1:0] data_q;

  // Checks only while rst_n is 1 (it is X before the first reset).
  always @(posedge clk) begin
    if (rst_n) begin
      assert (!$isunknown(valid) && !$isunknown(ready)) else $fatal(1, "%s: valid/ready is X", NAME);
      if (valid) assert (!$isunknown(data)) else $fatal(1, "%s: valid beat with X data", NAME);
      if (held_q) assert (valid && data == data_q)
        else $fatal(1, "%s: a beat was withdrawn or changed before it was taken", NAME);
      held_q <= valid && !ready;
      data_q <= data;
    end else begin
      held_q <= 1'b0;
    end
  end
`endif
endmodule
