"""FlexBlock's shared pyuvm testbench library: every DUT's bench is a thin layer over these pieces.

bfm         the only code that touches DUT signals: valid/ready sources and sinks, clock and reset
components  pyuvm driver, monitor, scoreboard, coverage collector, env and base test
patterns    idle-gap and back-pressure generators
seeds       reproducible randomness and the re-run command
"""
