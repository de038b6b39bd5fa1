"""The mutation operators and the Mutant record: every match of an operator on a mutable line is a candidate.

Datapath classes (the original table): arith, rel, eq, logic, bit, cond (inverted conditions), drop (dropped
terms: rounding increments, saturation, sticky bits), const / index (literal +/-1). Control classes:
  stmt     statement deletion: one procedural assignment `x <= e;` / `x = e;` becomes the null statement
  stuck    stuck-at 0 / 1 of a handshake or control signal: one read of it (`'0` / `'1`), or the value an
           assignment drives into it
  swap     swapped handshake conditions: a `*valid` read where its `*ready` is meant (and back), or one
           stream's handshake where another's is meant (a_ready -> b_ready)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .lexer import brace_depth, bracket_depth, code_lines, is_procedural_nba
from .targets import targets

# Building blocks of the patterns. An operator preceded by an operand (word character, ')', ']' or '}') is
# binary; one preceded by '(' , '?', ',' ... is unary.
GROUP = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"          # ( ... ) with up to two nested levels
TERM = (rf"(?:\d+'{GROUP}|{GROUP}|\{{[^{{}}]*\}}"             # N'(...) cast, (...), {...}
        r"|\d+'[sS]?[dDhHbB][0-9a-fA-F_]+|\d+"                 # literal
        r"|[~!|&]?[A-Za-z_]\w*(?:\[[^\]]*\])*)")             # [unary] identifier[index]...
# A complete operand of a logical / bitwise (END) or additive (END_ADD) operator ends here ...
END = r"(?=\s*(?:[);?,}:]|\|\||&&|$))"
END_ADD = r"(?=\s*(?:[);?,}:]|\|\||&&|[-+](?!:)|[<>=!]=|[<>](?![<>])|$))"
START = r"((?:^|[(?:,{]|(?<![=!<>])=(?!=))\s*)"               # ... and starts after one of these

# (name, kind, pattern, replacement). kind groups the operators for the spread of the sample. Every match
# of a pattern on a code line is one mutant (re.sub on that match only). Upper-case patterns are computed
# by the functions below (literals and the control classes).
OPERATORS: list[tuple[str, str, str, str]] = [
    # arithmetic
    ("add->sub",      "arith", r"(?<=[\w)\]}])(\s*)\+(?![+:=])",   r"\1-"),
    ("sub->add",      "arith", r"(?<=[\w)\]}])(\s*)-(?![-:=>])",   r"\1+"),
    ("drop-add-rhs",  "drop",  rf"(?<=[\w)\]}}])\s*\+(?![+:=])\s*{TERM}{END_ADD}", ""),
    # relational (a '<=' that is a non-blocking assignment is filtered out below)
    ("lt->le",        "rel",   r"(?<![<])<(?![<=])",               "<="),
    ("le->lt",        "rel",   r"(?<![<])<=(?!=)",                 "<"),
    ("gt->ge",        "rel",   r"(?<![>\-])>(?![>=])",             ">="),
    ("ge->gt",        "rel",   r"(?<![>])>=",                      ">"),
    ("eq->ne",        "eq",    r"(?<![=!<>])==(?!=)",              "!="),
    ("ne->eq",        "eq",    r"!=(?!=)",                         "=="),
    # logical and bitwise
    ("land->lor",     "logic", r"&&",                              "||"),
    ("lor->land",     "logic", r"\|\|",                            "&&"),
    ("and->or",       "bit",   r"(?<=[\w)\]}])(\s*)&(?!&)",        r"\1|"),
    ("or->and",       "bit",   r"(?<=[\w)\]}])(\s*)\|(?!\|)",      r"\1&"),
    ("xor->or",       "bit",   r"(?<=[\w)\]}])(\s*)\^",            r"\1|"),
    ("xor->and",      "bit",   r"(?<=[\w)\]}])(\s*)\^",            r"\1&"),
    # inverted conditions
    ("drop-not",      "cond",  r"(?<![!=])!(?!=)",                 ""),
    ("negate-if",     "cond",  rf"\bif\s*({GROUP})",               r"if (!\1)"),
    ("negate-ternary", "cond", rf"{START}({GROUP}|[A-Za-z_]\w*(?:\[[^\]]*\])?)(\s*\?)", r"\1(!\2)\3"),
    # dropped terms (rounding increments, saturation, sticky bits, flag sources)
    ("drop-or-rhs",   "drop",  rf"\s*\|\|\s*{TERM}{END}",          ""),
    ("drop-or-lhs",   "drop",  rf"{START}{TERM}\s*\|\|\s*",        r"\1"),
    ("drop-and-rhs",  "drop",  rf"\s*&&\s*{TERM}{END}",            ""),
    ("drop-and-lhs",  "drop",  rf"{START}{TERM}\s*&&\s*",          r"\1"),
    ("drop-bitor-rhs", "drop", rf"(?<=[\w)\]}}])\s*\|(?!\|)\s*{TERM}{END}", ""),
    # constants: +/-1 on a literal (decimal, or sized d/h/b); inside [...] it is a bit-range/index tweak
    ("lit+1",         "const", "LITERAL", "+1"),
    ("lit-1",         "const", "LITERAL", "-1"),
    # control: statement deletion, stuck-at on handshake/control signals, swapped handshakes
    ("delete-stmt",   "stmt",  "DELETE", ";"),
    ("stuck-at-0",    "stuck", "STUCK", "'0"),
    ("stuck-at-1",    "stuck", "STUCK", "'1"),
    ("drive-0",       "stuck", "DRIVE", "'0"),
    ("drive-1",       "stuck", "DRIVE", "'1"),
    ("swap-valid-ready", "swap", "SWAP_VR", ""),
    ("swap-stream",   "swap",  "SWAP_STREAM", ""),
]

SIZED = re.compile(r"(?<![\w'$])(\d+)'([sS]?)([dDhHbB])([0-9a-fA-F_]+)")
PLAIN = re.compile(r"(?<![\w'$.])(\d+)(?![\w'.])")

# A handshake or control signal: an identifier with one of these words among its '_'-separated parts
# (cfg_ready, a_valid, stall_q, busy, ...).
CONTROL_WORDS = {"valid", "ready", "stall", "cfg", "busy", "idle", "start", "done", "last", "first", "fire",
                 "take", "push", "pop", "full", "empty", "credit", "credits", "en", "we", "load", "hold",
                 "run", "running", "ack", "req", "go", "flush", "clear", "advance", "step", "issue"}
IDENT = re.compile(r"(?<![\w.'$`])([A-Za-z_]\w*)((?:\[[^\]]*\])*)")
KEYWORDS = {"if", "else", "begin", "end", "case", "unique", "endcase", "default", "assign", "for", "always_ff",
            "always_comb", "posedge", "negedge", "or", "and", "not", "int", "logic", "signed", "unsigned",
            "generate", "endgenerate", "localparam", "wire", "return", "automatic", "module", "endmodule"}
# an assignment statement (procedural or continuous): prefix, lvalue, operator, value
ASSIGN = re.compile(r"(?P<pre>(?:^|\bbegin\b|\belse\b|;|\)|:)\s*)(?P<assign>assign\s+)?"
                    r"(?P<lhs>[A-Za-z_]\w*(?:\.\w+)?(?:\[[^\]]*\])*)\s*(?P<op><=|=)(?!=)\s*(?P<rhs>[^;]+);")


def is_control(name: str) -> bool:
    """A signal (not an upper-case constant such as the state S_IDLE) named like a handshake or control."""
    return name not in KEYWORDS and not name.isupper() and bool(CONTROL_WORDS & set(name.lower().split("_")))


@dataclass
class Mutant:
    file: str
    line: int                 # 1-based
    col: int                  # 0-based column of the change
    op: str
    kind: str
    original: str             # the original line (stripped)
    mutated: str              # the mutated line (stripped)
    before: str               # the changed text, before and after
    after: str
    duts: tuple[str, ...] = ()

    @property
    def id(self) -> str:   # a swap may have several replacements at one place: they are told apart
        return f"{self.file}:{self.line}:{self.op}@{self.col}" + (f"->{self.after}" if self.kind == "swap" else "")


def literal_mutants(code: str, start: int, delta: int):
    """(span, replacement, is_index) for every literal of the code that tolerates +/-delta."""
    taken = []
    for m in SIZED.finditer(code, start):
        size, base, digits = m.group(1), m.group(3), m.group(4)
        radix = {"d": 10, "h": 16, "b": 2}[base.lower()]
        value = int(digits.replace("_", ""), radix) + delta
        taken.append(m.span())
        if value < 0 or value >= (1 << int(size)):
            continue
        width = len(digits.replace("_", ""))
        text = {10: str(value), 16: f"{value:0{width}X}", 2: f"{value:0{width}b}"}[radix]
        yield m.span(4), text, bracket_depth(code, m.start()) > 0
    for m in PLAIN.finditer(code, start):
        if any(a <= m.start() < b for a, b in taken):
            continue
        value = int(m.group(1)) + delta
        if value < 0:
            continue
        yield m.span(1), str(value), bracket_depth(code, m.start()) > 0


def assignments(code: str, start: int):
    """Every assignment statement of the line at or after `start` (a regex match with lhs, op, rhs)."""
    for m in ASSIGN.finditer(code):
        if m.start("lhs") >= start and not re.match(r"\s*(?:int|genvar)\b", code[m.start("lhs") - 4:]):
            if m.group("lhs") not in KEYWORDS and not code[:m.start("lhs")].rstrip().endswith("for ("):
                yield m


def read_sites(code: str, start: int):
    """(span, name, index text) of every control-signal read of the line: not an assignment's lvalue, not a
    port name (.name), not inside a concatenation (its width would change) or a bit-select."""
    lvalues = {m.start("lhs") for m in assignments(code, 0)}
    for m in IDENT.finditer(code, start):
        name = m.group(1)
        if not is_control(name) or m.start() in lvalues:
            continue
        if brace_depth(code, m.start()) > 0 or bracket_depth(code, m.start()) > 0:
            continue
        after = code[m.end():].lstrip()
        if after.startswith(("(", "::", "#")) or re.match(r"[A-Za-z_]\w*\s*\(", after):
            continue  # a function name, a package scope, a module instantiated (`credit_fifo #(..) u (`, `m u (`)
        yield m.span(), name, m.group(2)


def control_edits(op: str, repl: str, code: str, start: int, names: set[str]):
    """(span, replacement) of one control operator on one line; `names` are the file's identifiers."""
    if op == "DELETE":
        for m in assignments(code, start):
            if not m.group("assign") and not code.lstrip().startswith(("localparam", "wire")):
                yield (m.start("lhs"), m.end()), repl
    elif op == "DRIVE":
        for m in assignments(code, start):
            if is_control(m.group("lhs").split("[")[0].split(".")[0]) and m.group("rhs").strip() != repl:
                yield m.span("rhs"), repl
    elif op == "STUCK":
        for span, _, _ in read_sites(code, start):
            yield span, repl
    elif op in ("SWAP_VR", "SWAP_STREAM"):
        for span, name, index in read_sites(code, start):
            parts = name.split("_")
            if op == "SWAP_VR":
                swap = {"valid": "ready", "ready": "valid"}
                others = ["_".join(swap.get(p, p) for p in parts)]
            else:   # another stream's handshake: same name with a different first part (a_ready -> b_ready)
                if len(parts) < 2 or not ({"valid", "ready"} & set(parts[1:])):
                    continue
                others = sorted(n for n in names if n != name and n.split("_")[1:] == parts[1:]
                                and len(n.split("_")) == len(parts))
            for other in others:
                if other != name and other in names:
                    yield span, other + index


def mutants_of(file: str, text: str, duts: tuple[str, ...] = ()) -> list[Mutant]:
    lines = text.splitlines()
    found: dict[tuple[int, str], Mutant] = {}
    names = set(re.findall(r"\b[A-Za-z_]\w*\b", text))
    for n, code, start in code_lines(text):
        raw = lines[n - 1]
        for name, kind, pattern, repl in OPERATORS:
            if pattern == "LITERAL":
                edits = [((a, b), t, "index" if idx else "const")
                         for (a, b), t, idx in literal_mutants(code, start, int(repl))]
            elif pattern.isupper():
                edits = [(span, new, kind) for span, new in control_edits(pattern, repl, code, start, names)]
            else:
                edits = []
                for m in re.finditer(pattern, code):
                    if m.start() < start:
                        continue
                    if name == "le->lt" and is_procedural_nba(code, m.start()):
                        continue
                    if name == "negate-if" and re.fullmatch(r"\(\s*!\s*\w+\s*\)", m.group(1)):
                        continue  # if (!x): drop-not already makes if (x)
                    edits.append((m.span(), m.expand(repl), kind))
            for (a, b), new, k in edits:
                mutated = raw[:a] + new + raw[b:]
                if mutated == raw:
                    continue
                key = (n, mutated)
                if key in found:
                    continue
                op = name if pattern != "LITERAL" else f"{'index' if k == 'index' else 'const'}{repl}"
                found[key] = Mutant(file, n, a, op, k, raw.strip(), mutated.strip(), raw[a:b].strip() or raw[a:b],
                                    new.strip() if new.strip() else "(dropped)", duts)
    return sorted(found.values(), key=lambda m: (m.line, m.col, op_order(m.op)))


def op_order(op: str) -> int:
    names = [o[0] for o in OPERATORS]
    base = op if op in names else ("lit+1" if op.endswith("+1") else "lit-1")
    return names.index(base)


def all_mutants(rtl: Path) -> list[Mutant]:
    """Every candidate of every target file of the rtl/ copy `rtl`."""
    out = []
    for file, duts in targets(rtl).items():
        out.extend(mutants_of(file, (rtl / file).read_text(), duts))
    return out
