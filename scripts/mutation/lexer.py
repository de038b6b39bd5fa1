"""The mutable code of an RTL file: every line that may be mutated, with its comments blanked (columns kept)."""
from __future__ import annotations

import re

# Lines that are declarations (never mutated) and lines whose right-hand side only is mutated.
DECL = re.compile(r"^\s*(?:input|output|inout|logic|reg|bit|int|integer|genvar|parameter|module|import|"
                  r"function|endfunction|task|package|typedef)\b")
DECL_WITH_VALUE = re.compile(r"^\s*(?:localparam|wire)\b[^=]*=")
STRUCTURAL = re.compile(r"^\s*for\s*\(\s*genvar\b|^\s*(?:always|always_ff|always_comb|initial)\b\s*(?:@|begin|$)")
NBA_LHS = re.compile(r"(?:^|;|\bbegin\b|\belse\b|\))\s*[\w.]+(?:\[[^\]]*\])*\s*$")


def blank_comments(lines: list[str]) -> list[str]:
    """The lines with comments and string contents replaced by spaces, keeping every column."""
    out = []
    in_block_comment = False
    for raw in lines:
        chars = list(raw)
        i = 0
        in_string = False
        while i < len(raw):
            if in_block_comment:
                if raw.startswith("*/", i):
                    chars[i] = chars[i + 1] = " "
                    in_block_comment = False
                    i += 2
                    continue
                chars[i] = " "
            elif in_string:
                chars[i] = " " if raw[i] != '"' else '"'
                if raw[i] == '"':
                    in_string = False
            elif raw.startswith("//", i):
                for j in range(i, len(raw)):
                    chars[j] = " "
                break
            elif raw.startswith("/*", i):
                chars[i] = chars[i + 1] = " "
                in_block_comment = True
                i += 2
                continue
            elif raw[i] == '"':
                in_string = True
            i += 1
        out.append("".join(chars))
    return out


def code_lines(text: str) -> list[tuple[int, str, int]]:
    """(line number, code text with comments blanked, first mutable column) of every line that may be
    mutated: no comments, nothing inside `ifndef SYNTHESIS ... `endif or initial blocks, no declarations
    (only the value of a localparam / wire initialiser), no generate-for headers."""
    out = []
    skip_depth = 0           # nesting of `ifndef SYNTHESIS / `ifdef inside it
    for n, code in enumerate(blank_comments(text.splitlines()), 1):
        stripped = code.strip()
        if skip_depth:
            if stripped.startswith("`ifdef") or stripped.startswith("`ifndef"):
                skip_depth += 1
            elif stripped.startswith("`endif"):
                skip_depth -= 1
            continue
        if stripped.startswith("`ifndef SYNTHESIS"):
            skip_depth = 1
            continue
        if not stripped or stripped.startswith("`") or DECL.match(code) or STRUCTURAL.match(code):
            continue
        if stripped.startswith("initial"):
            continue
        start = 0
        m = DECL_WITH_VALUE.match(code)
        if m:
            start = m.end()
        elif re.match(r"^\s*(?:localparam|wire)\b", code):
            continue
        out.append((n, code, start))
    return out


def paren_depth(code: str, pos: int) -> int:
    return code[:pos].count("(") - code[:pos].count(")")


def bracket_depth(code: str, pos: int) -> int:
    return code[:pos].count("[") - code[:pos].count("]")


def brace_depth(code: str, pos: int) -> int:
    return code[:pos].count("{") - code[:pos].count("}")


def is_procedural_nba(code: str, pos: int) -> bool:
    """A '<=' at parenthesis depth 0 after an lvalue that starts a statement: a non-blocking assignment."""
    return paren_depth(code, pos) == 0 and not code.lstrip().startswith("assign") and \
        bool(NBA_LHS.search(code[:pos]))
