"""The mutation check of the FlexBlock RTL, in the order a mutant goes through it (scripts/mutate.py is the CLI):

    targets.py    which rtl/ files are mutated and which DUT benches run each (derived from the hierarchy)
    lexer.py      the mutable code of a file: comments blanked, no declarations, no simulation-only code
    operators.py  the operator table (arithmetic, relational, logic, dropped terms, constants, and control:
                  statement deletion, stuck-at on handshake/control signals, swapped handshakes) -> Mutant
    sample.py     the reproducible sample, stratified by file, and the shards of a run
    run.py        one mutant: copy the rtl/ snapshot, change one line, compile, run the benches -> Result
    report.py     the summary, per-file kill rates, the Markdown/JSON reports and the merge of shard reports
"""
