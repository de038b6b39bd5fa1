// Position of the highest (HIGH = 1) or lowest (HIGH = 0) set bit of v, and whether any bit is set
// (pos = 0 when none is). A binary tree of 2:1 choices, numbered as a heap: node n combines its halves 2n
// (the lower bits) and 2n + 1 (the upper bits), nodes P .. 2P - 1 are the bits of v, so the depth is
// log2(N) multiplexers. Each node is its own small signal, so a simulator re-evaluates only the nodes
// on the path of a changed bit.
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

  for (genvar n = 1; n < 2 * P; n++) begin : g_node
    logic         set;  // some bit of the node's range is set
    logic [L-1:0] idx;  // the answer's position within the node's range
    if (n >= P) begin : g_leaf
      assign set = (n - P < N) ? v[(n - P) % N] : 1'b0;
      assign idx = '0;
    end else begin : g_inner
      localparam int HALF = 1 << (L - $clog2(n + 1));  // bits in each half of the node's range
      logic upper;  // the answer is in the upper half
      assign upper = HIGH ? g_node[2*n + 1].set : !g_node[2*n].set;
      assign set   = g_node[2*n].set | g_node[2*n + 1].set;
      assign idx   = upper ? (g_node[2*n + 1].idx | L'(HALF)) : g_node[2*n].idx;
    end
  end

  assign pos = g_node[1].idx;
  assign any = g_node[1].set;
`ifndef SYNTHESIS
  initial assert (N >= 2) else $fatal(1, "one_position: N = %0d must be at least 2", N);
`endif
endmodule
