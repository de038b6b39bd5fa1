// Position of the highest (HIGH = 1) or lowest (HIGH = 0) set bit of v, and whether any bit is set
// (pos = 0 when none is). A binary tree of 2:1 choices, numbered as a heap: node n combines its halves 2n
// (the lower bits) and 2n + 1 (the upper bits), nodes P .. 2P - 1 are the bits of v, so the depth is
// log2(N) multiplexers. Each node is its own small signal (an element of set / idx, which split_var
// keeps apart in a Verilator model), so a simulator re-evaluates only the nodes on the path of a changed bit.
//
// Leaves and inner nodes are two flat generate loops, not one loop with an if-generate inside: Icarus 11
// elaborates a generate construct nested in a loop by scanning, for each iteration scope, every scope that
// construct made in the whole design, so a nested if costs (instances x nodes)^2 (bn_fp32's 224 instances:
// 29 s of elaboration); flat loops cost instances^2 x nodes.
module one_position #(
  parameter int N    = 32,  // at least 2
  parameter bit HIGH = 1'b1
) (
  input  logic [N-1:0]         v,
  output logic [$clog2(N)-1:0] pos,
  output logic                 any
);
  localparam int L = $clog2(N);
  localparam int P = 1 << L;

  logic         set [1:2*P-1] /* verilator split_var */;  // some bit of the node's range is set
  logic [L-1:0] idx [1:2*P-1] /* verilator split_var */;  // the answer's position within the node's range

  for (genvar n = P; n < 2 * P; n++) begin : g_leaf
    assign set[n] = (n - P < N) ? v[(n - P) % N] : 1'b0;
    assign idx[n] = '0;
  end

  for (genvar n = 1; n < P; n++) begin : g_inner
    localparam int HALF = 1 << (L - $clog2(n + 1));  // bits in each half of the node's range
    logic upper;  // the answer is in the upper half
    assign upper  = HIGH ? set[2*n + 1] : !set[2*n];
    assign set[n] = set[2*n] | set[2*n + 1];
    assign idx[n] = upper ? (idx[2*n + 1] | L'(HALF)) : idx[2*n];
  end

  assign pos = idx[1];
  assign any = set[1];
`ifndef SYNTHESIS
  initial assert (N >= 2) else $fatal(1, "one_position: N = %0d must be at least 2", N);
`endif
endmodule
