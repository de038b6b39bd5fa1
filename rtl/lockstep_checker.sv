// Simulation-only check that the units of an array run in lockstep: all of them take the same beats and
// finish together, so the array may use unit 0's in_ready and out_valid for all. Synthesis sees an empty module.
module lockstep_checker #(
  parameter     NAME = "array",  // untyped: Icarus 11 has no string parameters
  parameter int N    = 1
) (
  input logic         clk,
  input logic         rst_n,
  input logic [N-1:0] in_ready,
  input logic [N-1:0] out_valid
);
`ifndef SYNTHESIS
  always @(posedge clk) begin
    if (rst_n) begin
      assert (in_ready == '0 || in_ready == '1)
        else $fatal(1, "%s: the units' in_ready left lockstep (%b)", NAME, in_ready);
      assert (out_valid == '0 || out_valid == '1)
        else $fatal(1, "%s: the units' out_valid left lockstep (%b)", NAME, out_valid);
    end
  end
`endif
endmodule
