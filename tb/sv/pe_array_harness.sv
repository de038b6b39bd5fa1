// Simulation-only harness around pe_array: SystemVerilog transactors so that a bench wakes once per batch of
// GEMM jobs instead of once per cycle (issue 19). Not synthesizable; lives in tb/, not rtl/.
//
// The test writes a batch into <stim_dir>/b<batch>.{job,a,b}.hex and toggles `req`; the harness loads the
// files ($readmemh), then
//   source  for each job: offers its configuration (if the job has one) and, once it is taken, streams
//           the operand beats of every output tile (i-major, j-minor, kblocks beats per tile) from the
//           job's A row panels and B column panels; `valid` is withheld in a cycle with probability
//           idle_thr/256 (a per-stream LFSR seeded from `seed`: every pattern is reproducible);
//   sink    takes results with out_ready low with probability bp_thr/256 (another LFSR), and stores
//           every result taken with the rising-edge number that took it;
//   monitor records, from the pins only, every configuration taken (cycle, fields, operand beats taken
//           before it) and counts the operand beats taken (valid && ready at the rising edge);
// and when every tile's result is in, writes <stim_dir>/b<batch>.{out,cfg}.hex ($writememh) and sets
// ack = req. pe_array_ceiling.sv runs the same batches with no Python at all.
//
// job word (one per job, msb first): {configure, mode_a[2], mode_b[2], cfg_kblocks[16], kblocks[16],
//   tiles_i[16], tiles_j[16], a_base[32], b_base[32]}
// a/b word: one pe_array operand beat {exp, sign, mag, flags} (the port order of pe_array), flags
//   zero-extended to whole bytes (every field then starts on a hex digit: the test writes them fast).
// out word: {edge[32], out_flags, out_result}; cfg word: {edge[32], a_taken[32], mode_a, mode_b, kblocks}.
module pe_array_harness #(
  parameter int ROWS      = 4,
  parameter int COLS      = 4,
  parameter int K         = 16,
  parameter int A_DEPTH   = 4096,  // operand beats of a batch (row panels)
  parameter int B_DEPTH   = 4096,  // (column panels)
  parameter int OUT_DEPTH = 4096,  // tiles of a batch
  parameter int JOB_DEPTH = 256    // jobs (and configurations) of a batch
) (
  input  logic        clk,
  input  logic        rst_n,
  input  logic        req,        // toggled by the test: run batch `batch`
  output logic        ack,        // follows req when the batch's results are written
  input  logic [31:0] batch,
  input  logic [31:0] n_jobs,     // words in the batch's files
  input  logic [31:0] n_a,
  input  logic [31:0] n_b,
  input  logic [31:0] seed,       // of the idle and back-pressure LFSRs
  input  logic [7:0]  idle_thr,   // a/b valid withheld with probability idle_thr/256 per cycle
  input  logic [7:0]  bp_thr,     // out_ready low with probability bp_thr/256 per cycle
  output logic [31:0] n_out,      // results taken in this batch
  output logic [31:0] n_cfg,      // configurations taken in this batch
  output logic [31:0] a_taken,    // operand beats taken in this batch
  output logic [31:0] b_taken,
  output logic [31:0] n_stray,    // results taken between batches (none may come): since reset
  output logic [31:0] edge_count  // rising edges since reset
);
  localparam int A_BITS   = ROWS * (8 + K + 16 * K + 2);
  localparam int B_BITS   = COLS * (8 + K + 16 * K + 2);
  localparam int A_PAD    = 8 * ((2 * ROWS + 7) / 8) - 2 * ROWS;  // flags padding in an a/b word
  localparam int B_PAD    = 8 * ((2 * COLS + 7) / 8) - 2 * COLS;
  localparam int R_BITS   = 32 * ROWS * COLS;
  localparam int F_BITS   = 2 * ROWS * COLS;
  localparam int OUT_BITS = 32 + F_BITS + R_BITS;
  localparam int JOB_BITS = 1 + 2 + 2 + 16 + 16 + 16 + 16 + 32 + 32;
  localparam int CFG_BITS = 32 + 32 + 2 + 2 + 16;

  // ---- the DUT ----------------------------------------------------------------------------------------
  logic                cfg_valid, cfg_ready, a_valid, a_ready, b_valid, b_ready, out_valid, out_ready;
  logic [1:0]          cfg_mode_a, cfg_mode_b;
  logic [15:0]         cfg_kblocks;
  logic [A_BITS-1:0]   a_beat;
  logic [B_BITS-1:0]   b_beat;
  logic [R_BITS-1:0]   out_result;
  logic [F_BITS-1:0]   out_flags;

  pe_array #(.ROWS(ROWS), .COLS(COLS), .K(K)) u_dut (
    .clk, .rst_n, .cfg_valid, .cfg_ready, .cfg_mode_a, .cfg_mode_b, .cfg_kblocks,
    .a_valid, .a_ready,
    .a_exp(a_beat[A_BITS-1 -: 8*ROWS]), .a_sign(a_beat[A_BITS-8*ROWS-1 -: K*ROWS]),
    .a_mag(a_beat[2*ROWS +: 16*K*ROWS]), .a_flags(a_beat[0 +: 2*ROWS]),
    .b_valid, .b_ready,
    .b_exp(b_beat[B_BITS-1 -: 8*COLS]), .b_sign(b_beat[B_BITS-8*COLS-1 -: K*COLS]),
    .b_mag(b_beat[2*COLS +: 16*K*COLS]), .b_flags(b_beat[0 +: 2*COLS]),
    .out_valid, .out_ready, .out_result, .out_flags
  );

  // ---- batch memories ---------------------------------------------------------------------------------
  logic [JOB_BITS-1:0] job_mem [JOB_DEPTH];
  logic [A_BITS+A_PAD-1:0] a_mem [A_DEPTH];
  logic [B_BITS+B_PAD-1:0] b_mem [B_DEPTH];
  /* verilator lint_off UNUSEDSIGNAL */  // the flags' padding bits
  logic [A_BITS+A_PAD-1:0] a_word;
  logic [B_BITS+B_PAD-1:0] b_word;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [OUT_BITS-1:0] out_mem [OUT_DEPTH];
  logic [CFG_BITS-1:0] cfg_mem [JOB_DEPTH];
  string               stim_dir;

  initial begin
    if (!$value$plusargs("stim_dir=%s", stim_dir)) stim_dir = "stim";
  end

  function automatic string batch_file(input logic [31:0] b, input string kind);
    return $sformatf("%s/b%0d.%s.hex", stim_dir, b, kind);
  endfunction

  // ---- LFSRs (x^32 + x^22 + x^2 + x + 1), one per stream ----------------------------------------------
  function automatic logic [31:0] lfsr_next(input logic [31:0] x);
    return {x[30:0], x[31] ^ x[21] ^ x[1] ^ x[0]};
  endfunction
  function automatic logic [31:0] lfsr_seed(input logic [31:0] s, input logic [31:0] salt);
    return (s ^ salt) == '0 ? salt : s ^ salt;
  endfunction
  logic [31:0] lfsr_a, lfsr_b, lfsr_out;

  // ---- control ----------------------------------------------------------------------------------------
  typedef enum logic [2:0] {S_IDLE, S_JOB, S_CFG, S_RUN, S_DRAIN} state_e;
  state_e       state;
  logic [31:0]  job_idx, tiles_total;
  logic [JOB_BITS-1:0] job;       // the next job's word
  logic [15:0]  kb, tj;           // of the job running: blocks per tile, tiles per row
  logic [31:0]  b_base;

  // operand streams: the next beat to offer is block k of tile (i, j) (a_row: A panel i, b_col: B panel
  // j); *_rem beats are left in the job
  logic [15:0]  aj, ak, bj, bk;
  logic [31:0]  a_row, b_col, a_rem, b_rem;
  logic         a_free, b_free, a_gap, b_gap, running;

  assign job = job_mem[job_idx[$clog2(JOB_DEPTH)-1:0]];
  assign a_word = a_mem[(a_row + 32'(ak)) % A_DEPTH];
  assign b_word = b_mem[(b_col + 32'(bk)) % B_DEPTH];
  assign running = state == S_RUN || (state == S_CFG && cfg_valid && cfg_ready);
  assign a_free  = !a_valid || a_ready;   // the offered beat (if any) goes at this edge
  assign b_free  = !b_valid || b_ready;
  assign a_gap   = lfsr_a[7:0] < idle_thr;
  assign b_gap   = lfsr_b[7:0] < idle_thr;

  always @(posedge clk) begin
    if (!rst_n) begin
      state      <= S_IDLE;
      ack        <= req;
      cfg_valid  <= 1'b0;
      a_valid    <= 1'b0;
      b_valid    <= 1'b0;
      out_ready  <= 1'b0;
      a_rem      <= '0;
      b_rem      <= '0;
      n_out      <= '0;
      n_cfg      <= '0;
      a_taken    <= '0;
      b_taken    <= '0;
      n_stray    <= '0;
      edge_count <= 32'd1;
      lfsr_a     <= lfsr_seed(seed, 32'h1badb002);
      lfsr_b     <= lfsr_seed(seed, 32'h2c0ffee5);
      lfsr_out   <= lfsr_seed(seed, 32'h3ea7f00d);
    end else begin
      edge_count <= edge_count + 32'd1;
      lfsr_a     <= lfsr_next(lfsr_a);
      lfsr_b     <= lfsr_next(lfsr_b);
      lfsr_out   <= lfsr_next(lfsr_out);

      // monitor: what the pins show taken at this edge
      if (cfg_valid && cfg_ready) begin
        cfg_mem[n_cfg[$clog2(JOB_DEPTH)-1:0]] <= {edge_count, a_taken, cfg_mode_a, cfg_mode_b, cfg_kblocks};
        n_cfg <= n_cfg + 32'd1;
      end
      if (a_valid && a_ready) a_taken <= a_taken + 32'd1;
      if (b_valid && b_ready) b_taken <= b_taken + 32'd1;

      // sink
      if (out_valid && out_ready) begin
        if (n_out < OUT_DEPTH) out_mem[n_out[$clog2(OUT_DEPTH)-1:0]] <= {edge_count, out_flags, out_result};
        n_out <= n_out + 32'd1;
        if (state == S_IDLE) n_stray <= n_stray + 32'd1;
      end
      out_ready <= !(lfsr_out[7:0] < bp_thr);

      // source: operand beats (a beat offered stays until taken)
      if (a_free) begin
        if (running && a_rem != '0 && !a_gap) begin
          a_valid <= 1'b1;
          a_beat  <= {a_word[A_BITS+A_PAD-1 -: A_BITS-2*ROWS], a_word[2*ROWS-1:0]};
          a_rem   <= a_rem - 32'd1;
          if (ak + 16'd1 != kb) ak <= ak + 16'd1;
          else begin
            ak <= '0;
            if (aj + 16'd1 != tj) aj <= aj + 16'd1;
            else begin
              aj    <= '0;
              a_row <= a_row + 32'(kb);
            end
          end
        end else a_valid <= 1'b0;
      end
      if (b_free) begin
        if (running && b_rem != '0 && !b_gap) begin
          b_valid <= 1'b1;
          b_beat  <= {b_word[B_BITS+B_PAD-1 -: B_BITS-2*COLS], b_word[2*COLS-1:0]};
          b_rem   <= b_rem - 32'd1;
          if (bk + 16'd1 != kb) bk <= bk + 16'd1;
          else begin
            bk <= '0;
            if (bj + 16'd1 != tj) begin
              bj    <= bj + 16'd1;
              b_col <= b_col + 32'(kb);
            end else begin
              bj    <= '0;
              b_col <= b_base;
            end
          end
        end else b_valid <= 1'b0;
      end

      // job sequencing
      unique case (state)
        S_IDLE: if (req != ack) begin
          $readmemh(batch_file(batch, "job"), job_mem, 0, n_jobs - 1);
          if (n_a != '0) $readmemh(batch_file(batch, "a"), a_mem, 0, n_a - 1);
          if (n_b != '0) $readmemh(batch_file(batch, "b"), b_mem, 0, n_b - 1);
          job_idx     <= '0;
          tiles_total <= '0;
          n_out       <= '0;
          n_cfg       <= '0;
          a_taken     <= '0;
          b_taken     <= '0;
          state       <= S_JOB;
        end
        S_JOB: if (job_idx == n_jobs) state <= S_DRAIN;
          else begin  // load the job's loop counters; configure first if the job says so
            kb     <= job[JOB_BITS-22 -: 16];
            tj     <= job[JOB_BITS-54 -: 16];
            b_base <= job[31:0];
            {aj, ak, bj, bk} <= '0;
            a_rem <= 32'(job[JOB_BITS-38 -: 16]) * 32'(job[JOB_BITS-22 -: 16]) * 32'(job[JOB_BITS-54 -: 16]);
            b_rem <= 32'(job[JOB_BITS-38 -: 16]) * 32'(job[JOB_BITS-22 -: 16]) * 32'(job[JOB_BITS-54 -: 16]);
            a_row <= job[63:32];
            b_col <= job[31:0];
            tiles_total <= tiles_total + 32'(job[JOB_BITS-38 -: 16]) * 32'(job[JOB_BITS-54 -: 16]);
            cfg_valid <= job[JOB_BITS-1];
            {cfg_mode_a, cfg_mode_b, cfg_kblocks} <= job[JOB_BITS-2 -: 20];
            state <= S_CFG;
          end
        S_CFG: if (!cfg_valid) state <= S_RUN;
          else if (cfg_ready) begin  // taken: `running`, the first beats are offered at this edge
            cfg_valid <= 1'b0;
            state <= S_RUN;
          end
        S_RUN: if (a_rem == '0 && b_rem == '0 && a_free && b_free) begin
          job_idx <= job_idx + 32'd1;
          state   <= S_JOB;
        end
        S_DRAIN: if (n_out >= tiles_total) begin
          $writememh(batch_file(batch, "out"), out_mem, 0, n_out - 1);
          if (n_cfg != '0) $writememh(batch_file(batch, "cfg"), cfg_mem, 0, n_cfg - 1);
          ack   <= req;
          state <= S_IDLE;
        end
        default: state <= S_IDLE;
      endcase
    end
  end
endmodule
