// Holds one operand block and presents, each step, the window of elements the sub-multipliers need.
//
// A PE completes STEP = 16/(na*nb) element products per cycle, so a block of K elements is consumed in
// K/STEP steps. Instead of a wide element multiplexer per sub-multiplier, the block sits in a shift
// register that moves STEP elements down per step: the window is always its lowest 16 elements. One
// sequencer serves a whole row (A) or column (B) of PEs.
module block_sequencer #(
  parameter int K = 16
) (
  input  logic            clk,
  input  logic            rst_n,
  input  logic            load,         // take a new block
  input  logic [7:0]      load_exp,
  input  logic [K-1:0]    load_sign,
  input  logic [16*K-1:0] load_mag,
  input  logic [1:0]      load_flags,
  input  logic            shift,        // advance by step_elems elements
  input  logic [4:0]      step_elems,   // 1, 2, 4, 8 or 16
  output logic [7:0]      exp,
  output logic [1:0]      flags,
  output logic [15:0]     win_sign,     // elements 0..15 of the window (the first step_elems are used)
  output logic [255:0]    win_mag
);
  logic [K-1:0]    sign_q;
  logic [16*K-1:0] mag_q;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      exp    <= '0;
      flags  <= '0;
      sign_q <= '0;
      mag_q  <= '0;
    end else if (load) begin
      exp    <= load_exp;
      flags  <= load_flags;
      sign_q <= load_sign;
      mag_q  <= load_mag;
    end else if (shift) begin
      unique case (step_elems)
        5'd1:    begin sign_q <= sign_q >> 1;  mag_q <= mag_q >> 16;  end
        5'd2:    begin sign_q <= sign_q >> 2;  mag_q <= mag_q >> 32;  end
        5'd4:    begin sign_q <= sign_q >> 4;  mag_q <= mag_q >> 64;  end
        5'd8:    begin sign_q <= sign_q >> 8;  mag_q <= mag_q >> 128; end
        default: begin sign_q <= sign_q >> 16; mag_q <= mag_q >> 256; end
      endcase
    end
  end

  assign win_sign = sign_q[15:0];
  assign win_mag  = mag_q[255:0];
endmodule
