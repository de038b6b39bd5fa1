// The no-Python ceiling of the pe_array bench (issue 19): the same DUT, harness and batches as the cocotb
// bench (tb/pe_array_fast_tests.py writes them with FLEXBLOCK_KEEP_STIM), run back to back by this module
// alone, every tile's result compared in SystemVerilog with the model's (b<n>.exp.hex). Its cycles per
// second are what the simulator can do with this DUT; scripts/bench_sim.py divides the bench's by them.
//
//   plusargs: +stim_dir=DIR (the kept batches), +first=N (default 0), +batches=N (default 1); b<n>.len.hex holds the batch's
//   {n_jobs, n_a, n_b, n_tiles, seed, idle_thr, bp_thr}, one word per line.
module pe_array_ceiling #(
  parameter int ROWS      = 4,
  parameter int COLS      = 4,
  parameter int K         = 16,
  parameter int A_DEPTH   = 4096,
  parameter int B_DEPTH   = 4096,
  parameter int OUT_DEPTH = 4096,
  parameter int JOB_DEPTH = 256
);
  localparam int RES_BITS = 34 * ROWS * COLS;  // {out_flags, out_result}

  logic        clk, rst_n, req, ack;
  logic [31:0] batch, n_jobs, n_a, n_b, seed, n_out, n_cfg, a_taken, b_taken, n_stray, edge_count;
  logic [7:0]  idle_thr, bp_thr;
  logic [31:0]      len_mem [7];
  logic [RES_BITS-1:0] exp_mem [OUT_DEPTH];
  string       stim_dir;
  int          first, batches, checked, cycles;

  always #5 clk = !clk;

  pe_array_harness #(.ROWS(ROWS), .COLS(COLS), .K(K), .A_DEPTH(A_DEPTH), .B_DEPTH(B_DEPTH),
                     .OUT_DEPTH(OUT_DEPTH), .JOB_DEPTH(JOB_DEPTH)) u_h (
    .clk, .rst_n, .req, .ack, .batch, .n_jobs, .n_a, .n_b, .seed, .idle_thr, .bp_thr,
    .n_out, .n_cfg, .a_taken, .b_taken, .n_stray, .edge_count
  );

  initial begin
    if (!$value$plusargs("stim_dir=%s", stim_dir)) stim_dir = "stim";
    if (!$value$plusargs("first=%d", first)) first = 0;
    if (!$value$plusargs("batches=%d", batches)) batches = 1;
    {clk, rst_n, req} = '0;
    {batch, n_jobs, n_a, n_b, seed, idle_thr, bp_thr} = '0;
    checked = 0;
    cycles = 0;
    repeat (3) @(negedge clk);
    rst_n = 1'b1;
    for (int b = first; b < first + batches; b++) begin
      $readmemh($sformatf("%s/b%0d.len.hex", stim_dir, b), len_mem, 0, 6);
      $readmemh($sformatf("%s/b%0d.exp.hex", stim_dir, b), exp_mem, 0, len_mem[3] - 1);
      @(negedge clk);
      {batch, n_jobs, n_a, n_b, seed} = {32'(b), len_mem[0], len_mem[1], len_mem[2], len_mem[4]};
      {idle_thr, bp_thr} = {len_mem[5][7:0], len_mem[6][7:0]};
      req = !req;
      @(posedge clk);  // the harness sees req
      while (ack != req) @(posedge clk);
      if (n_out != len_mem[3]) $fatal(1, "batch %0d: %0d results, expected %0d", b, n_out, len_mem[3]);
      if (a_taken != b_taken || n_cfg > n_jobs)  // every tile takes as many A as B beats
        $fatal(1, "batch %0d: %0d A and %0d B beats taken, %0d configurations", b, a_taken, b_taken, n_cfg);
      for (int t = 0; t < int'(len_mem[3]); t++) begin
        if (u_h.out_mem[t][RES_BITS-1:0] != exp_mem[t])
          $fatal(1, "batch %0d tile %0d: result %h, expected %h", b, t, u_h.out_mem[t][RES_BITS-1:0], exp_mem[t]);
        checked++;
      end
    end
    repeat (32) @(posedge clk);  // a quiet window: no result may come after the last batch
    if (n_stray != 0) $fatal(1, "%0d results taken between batches", n_stray);
    cycles = int'(edge_count);
    $display("CEILING: %0d batches, %0d tiles checked, %0d cycles", batches, checked, cycles);
    $finish;
  end
endmodule
