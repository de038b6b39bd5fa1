# FlexBlock — the two commands a user needs:
#   make sim TOPLEVEL=pe_array [SIM=icarus|verilator] [TESTCASE=name] [SEED=n] [WAVES=1]
#   make test            (quick regression, pytest + cocotb-test; what CI runs)
# Both install what they need on first use (scripts/bootstrap.sh).

SIM      ?= icarus
TOPLEVEL ?= pe_array
TESTCASE ?=
SEED     ?=
WAVES    ?= 0
PARAMS   ?=
JOBS     ?= auto
VENV     ?= .venv

PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.flexblock-installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup sim test test-model waves lint bench clean help

help:
	@sed -n '1,5p' Makefile

setup: $(STAMP)

$(STAMP): requirements.txt scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)

sim: setup
	$(PY) tb/runner.py $(TOPLEVEL) --sim $(SIM) \
	  $(if $(TESTCASE),--testcase $(TESTCASE)) $(if $(SEED),--seed $(SEED)) \
	  $(if $(filter 1,$(WAVES)),--waves) $(foreach p,$(PARAMS),-P $(p))

waves: setup
	@f=$$($(PY) -c "import sys; sys.path.insert(0,'tb'); import runner; print(runner.waves_file('$(TOPLEVEL)','$(SIM)'))"); \
	  test -f "$$f" || { echo "no waveform at $$f: run 'make sim TOPLEVEL=$(TOPLEVEL) SIM=$(SIM) WAVES=1' first"; exit 1; }; \
	  gtkwave "$$f" $$(test -f tb/waves/$(TOPLEVEL).gtkw && echo tb/waves/$(TOPLEVEL).gtkw)

test: setup
	$(PY) -m pytest -n $(JOBS) --junitxml=sim_build/junit.xml $(if $(SEED),--seed $(SEED))

test-model: setup
	$(PY) -m pytest models

lint: setup
	verilator --lint-only -Wall -Irtl $$(ls rtl/*_pkg.sv) $$(ls rtl/*.sv | grep -v _pkg.sv)

bench: setup
	$(PY) scripts/bench_model.py

clean:
	rm -rf sim_build .pytest_cache .hypothesis
