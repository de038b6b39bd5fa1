// Mixed-format multiply to fp10 1-6-3, RTZ (docs/spec.md LN.5a): operand a in 1-AE-AM, b in 1-BE-BM
// (1-5-4 or 1-6-3), the exact significand product at the sum of the LSB exponents, rounded once to
// 1-6-3. Finite operands; combinational, the caller registers.
module fp10g_mul #(
  parameter int AE = 5,
  parameter int AM = 4,
  parameter int BE = 6,
  parameter int BM = 3
) (
  input  logic [AE+AM:0] a,
  input  logic [BE+BM:0] b,
  output logic [9:0]     y
);
  localparam int ABIAS = (1 << (AE - 1)) - 1;
  localparam int BBIAS = (1 << (BE - 1)) - 1;

  logic [AE-1:0]       ea;
  logic [BE-1:0]       eb;
  logic [AM+BM+1:0]    prod;
  logic signed [8:0]   la, lb;

  assign ea   = a[AE+AM-1:AM];
  assign eb   = b[BE+BM-1:BM];
  assign prod = (AM+BM+2)'({ea != '0, a[AM-1:0]}) * (AM+BM+2)'({eb != '0, b[BM-1:0]});
  assign la   = 9'((ea == '0) ? 1 - ABIAS - AM : int'(ea) - ABIAS - AM);
  assign lb   = 9'((eb == '0) ? 1 - BBIAS - BM : int'(eb) - BBIAS - BM);

  fp10g_round #(.W(AM + BM + 2)) u_round (.sign(a[AE+AM] ^ b[BE+BM]), .mag(prod), .lsb(la + lb), .y);
endmodule
