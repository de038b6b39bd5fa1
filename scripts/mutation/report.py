"""The mutation report: totals, kill rates per file and per operator class, every mutant, the survivors with
their diffs; as Markdown and JSON. `merge` combines the JSON reports of the shards of one run."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from .run import Result

STATES = ("killed", "timeout", "survived", "invalid")


def report_name(shard: str | None, files: list[str]) -> str:
    """The JSON report's file name in sim_build/mutation: shard-I-of-N.json for a slice of a run (what the
    CI workflow uploads and `--merge DIR` globs), file-<stems>[-shard-I-of-N].json for a run of whole files."""
    parts = ["file-" + "-".join(sorted(Path(f).stem for f in files))] if files else []
    parts += [f"shard-{shard.replace('/', '-of-')}"] if shard else []
    return "-".join(parts or ["report"]) + ".json"


def summary(results: list) -> dict:
    """Kill rate = killed / (killed + timeout + survived): only a failing test kills; a timeout (no test
    failed before the time limit) is reported but not counted as a kill."""
    count = {k: sum(_get(r, "result") == k for r in results) for k in STATES}
    valid = count["killed"] + count["timeout"] + count["survived"]
    return {"total": len(results), **count, "valid": valid,
            "kill_rate": round(count["killed"] / valid, 4) if valid else None}


def _get(r, key):
    return r[key] if isinstance(r, dict) else getattr(r, key)


def by(results: list, key: str) -> dict[str, dict]:
    groups = defaultdict(list)
    for r in results:
        groups[_get(r, key)].append(r)
    return {k: summary(v) for k, v in sorted(groups.items())}


def rate_table(results: list, key: str, title: str, candidates: dict[str, int] | None = None) -> str:
    head = f"| {title} |" + (" candidates |" if candidates else "") + " run | killed | timeout | survived | invalid | kill rate |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    groups = by(results, key)
    for k in sorted(set(groups) | set(candidates or {})):   # a file/class with candidates but none run: a gap
        s = groups.get(k) or summary([])
        rate = f"{s['kill_rate']:.1%}" if s["kill_rate"] is not None else "n/a"
        cand = f" {candidates.get(k, 0)} |" if candidates else ""
        lines.append(f"| {k} |{cand} {s['total']} | {s['killed']} | {s['timeout']} | {s['survived']} | "
                     f"{s['invalid']} | {rate} |")
    return "\n".join(lines)


def table(results: list) -> str:
    def cell(s: str, width: int) -> str:
        s = s.replace("|", "\\|")
        return s if len(s) <= width else s[: width - 1] + "…"
    lines = ["| # | file:line | operator | original -> mutated | DUTs run | result | killed by |",
             "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(results, 1):
        runs, duts = _get(r, "runs"), _get(r, "duts")
        ran = sorted({run["dut"] for run in runs}, key=duts.index) if runs else []
        killer = "; ".join(_get(r, "killed_by")[:2]) + (" ..." if len(_get(r, "killed_by")) > 2 else "")
        if _get(r, "result") in ("invalid", "timeout"):
            killer = _get(r, "detail").splitlines()[0] if _get(r, "detail") else ""
        lines.append(f"| {i} | {_get(r, 'file')}:{_get(r, 'line')} | {_get(r, 'op')} | "
                     f"`{cell(_get(r, 'before'), 40)}` -> `{cell(_get(r, 'after'), 40)}` "
                     f"| {', '.join(ran) or '-'} | {_get(r, 'result')} | {cell(killer, 70)} |")
    return "\n".join(lines)


def report_text(results: list, meta: dict) -> str:
    s = summary(results)
    shards = meta.get("shards")
    out = ["# Mutation check of the FlexBlock RTL\n",
           f"seed {meta.get('seed')} (simulation seed {meta.get('sim_seed')}), configs '{meta.get('configs')}', "
           f"{len(results)} mutants of {meta.get('candidates')} candidates"
           + (f" ({meta.get('selection')})" if meta.get("selection") else "")
           + (f", merged from shards {', '.join(shards)}" if shards else "")
           + f", {meta.get('elapsed_s', 0) / 60:.1f} min of simulation\n",
           f"**total {s['total']}: killed {s['killed']}, timeout {s['timeout']}, survived {s['survived']}, "
           f"invalid {s['invalid']}** — kill rate over the {s['valid']} valid mutants (only a failing test "
           "kills; timeouts count as not killed): "
           + (f"{s['kill_rate']:.1%}" if s["valid"] else "n/a"), "",
           "## Per file\n", rate_table(results, "file", "file", meta.get("candidates_per_file")), "",
           "## Per operator class\n", rate_table(results, "kind", "class", meta.get("candidates_per_kind")), "",
           "## Every mutant\n", table(results), ""]
    survivors = [r for r in results if _get(r, "result") in ("survived", "timeout")]
    if survivors:
        out.append("## Survivors and timeouts\n")
        for r in survivors:
            out.append(f"### {_get(r, 'id')} ({_get(r, 'result')})\n")
            if _get(r, "rtl_assertions"):
                out.append("RTL assertions fired (an $error alone does not fail a test): "
                           + "; ".join(_get(r, "rtl_assertions")))
            out.append("```diff\n" + _get(r, "diff").rstrip() + "\n```\n")
    flagged = [r for r in results if _get(r, "rtl_assertions") and _get(r, "result") != "survived"]
    if flagged:
        out.append("## RTL assertions seen in other mutants\n")
        for r in flagged:
            out.append(f"- {_get(r, 'id')} ({_get(r, 'result')}): {_get(r, 'rtl_assertions')[0]}")
    return "\n".join(out) + "\n"


def write_report(results: list, meta: dict, json_path: Path, md_path: Path | None) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "summary": summary(results), "per_file": by(results, "file"),
            "mutants": [asdict(r) if isinstance(r, Result) else r for r in results]}
    tmp = json_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(json_path)
    if md_path:
        md_path.write_text(report_text(results, meta))


def merge(paths: list[Path]) -> tuple[list[dict], dict]:
    """The mutants and meta of several shard reports of one run (same seed, RTL, benches and selection)."""
    reports = [json.loads(p.read_text()) for p in paths]
    if not reports:
        raise SystemExit("no shard reports to merge")
    first = reports[0]["meta"]
    for p, rep in zip(paths, reports):
        for key in ("seed", "rtl_sha1", "judges_sha1", "configs", "selection"):
            if rep["meta"].get(key) != first.get(key):
                raise SystemExit(f"{p}: {key} {rep['meta'].get(key)!r} differs from {paths[0]}'s "
                                 f"{first.get(key)!r}: not shards of one run")
    seen, mutants = set(), []
    for rep in reports:
        for m in rep["mutants"]:
            if m["id"] in seen:
                raise SystemExit(f"mutant {m['id']} is in two shard reports")
            seen.add(m["id"])
            mutants.append(m)
    mutants.sort(key=lambda m: (m["file"], m["line"], m["id"]))
    meta = dict(first, shards=[rep["meta"].get("shard") or "?" for rep in reports],
                elapsed_s=sum(rep["meta"].get("elapsed_s", 0) for rep in reports))
    meta.pop("shard", None)
    return mutants, meta
