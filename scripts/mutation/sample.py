"""The reproducible sample, stratified by file, and the shards of a run."""
from __future__ import annotations

import random

from .operators import Mutant


def allocate(n: int, counts: dict[str, int]) -> dict[str, int]:
    """Quotas per file in proportion to its candidates (largest remainder), at least one per file when n
    allows: every file is represented as it is in the full candidate set."""
    files = [f for f in counts if counts[f]]
    total = sum(counts[f] for f in files)
    n = min(n, total)
    if n == total:
        return {f: counts[f] for f in files}
    floor = 1 if n >= len(files) else 0
    exact = {f: n * counts[f] / total for f in files}
    quota = {f: min(counts[f], max(floor, int(exact[f]))) for f in files}
    # hand out the rest to the files furthest below their share (largest remainder), then take back any
    # excess the one-per-file floor caused from the files furthest above it
    while sum(quota.values()) < n:
        f = max((f for f in files if quota[f] < counts[f]), key=lambda f: (exact[f] - quota[f], -files.index(f)))
        quota[f] += 1
    while sum(quota.values()) > n:
        f = max((f for f in files if quota[f] > floor), key=lambda f: (quota[f] - exact[f], files.index(f)))
        quota[f] -= 1
    return quota


def sample(mutants: list[Mutant], n: int, seed: int) -> list[Mutant]:
    """A reproducible sample of n mutants: per-file quotas in proportion (allocate), and within a file a
    round robin over the operator kinds (each kind's candidates shuffled), so every class is represented."""
    by_file: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_file.setdefault(m.file, []).append(m)
    quota = allocate(n, {f: len(v) for f, v in by_file.items()})
    chosen = []
    for file, q in quota.items():
        rng = random.Random(f"{seed}:{file}")
        kinds: dict[str, list[Mutant]] = {}
        for m in by_file[file]:
            kinds.setdefault(m.kind, []).append(m)
        order = sorted(kinds)
        rng.shuffle(order)
        for k in order:
            rng.shuffle(kinds[k])
        picked = []
        while len(picked) < q:
            for k in order:
                if kinds[k] and len(picked) < q:
                    picked.append(kinds[k].pop())
        chosen.extend(picked)
    index = {m.id: i for i, m in enumerate(mutants)}
    return sorted(chosen, key=lambda m: index[m.id])


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SystemExit(f"SHARD wants I/N (e.g. 2/8), got '{text}'") from None
    if not 1 <= i <= n:
        raise SystemExit(f"SHARD {text}: I must be in 1..N")
    return i, n


def shard(mutants: list[Mutant], i: int, n: int) -> list[Mutant]:
    """The i-th of n interleaved slices (1-based): every slice gets every file's mutants in proportion."""
    return mutants[i - 1::n]
