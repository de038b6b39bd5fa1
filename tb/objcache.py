#!/usr/bin/env python3
"""Compile Verilator's runtime once per regression, not once per build: a compiler wrapper for Verilator's
makefiles (`make -f Vtop.mk OBJCACHE="python tb/objcache.py CACHE_DIR"`, set by tb/runner.py).

Every Verilator build compiles the same runtime sources (verilated.cpp, verilated_vpi.cpp, ... from
Verilator's include directory) with the same flags; for small units that is most of the build. A compile
of one of those sources is looked up in CACHE_DIR by the hash of its command line and of the source and
Verilator's configuration header, copied from there when present, else compiled and stored (atomically:
parallel builds may race). Every other compile (the design's own C++) runs unchanged.

    objcache.py CACHE_DIR g++ <flags> -c -o verilated.o /.../share/verilator/include/verilated.cpp
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    cache, cmd = Path(argv[0]), argv[1:]
    src = Path(cmd[-1])
    runtime = ("-c" in cmd and "-o" in cmd and src.suffix == ".cpp" and src.is_absolute()
               and src.parent.name == "include" and src.parent.parent.name == "verilator")
    if not runtime:
        os.execvp(cmd[0], cmd)
    out = Path(cmd[cmd.index("-o") + 1])
    dep = out.with_suffix(".d")
    h = hashlib.sha1("\0".join(cmd).encode())
    h.update(src.read_bytes())
    config = src.parent / "verilated_config.h"
    if config.exists():
        h.update(config.read_bytes())  # the Verilator version
    key = h.hexdigest()[:20]
    cached_obj, cached_dep = cache / f"{key}.o", cache / f"{key}.d"
    if cached_obj.exists() and cached_dep.exists():
        shutil.copyfile(cached_obj, out)
        shutil.copyfile(cached_dep, dep)
        return 0
    # Two builds that miss together (the first Verilator builds of a parallel regression) would both compile
    # the file: the second waits for the first's entry instead (an exclusive lock per entry).
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cached_obj.exists() and cached_dep.exists():
            shutil.copyfile(cached_obj, out)
            shutil.copyfile(cached_dep, dep)
            return 0
        return compile_and_store(cmd, out, dep, cached_obj, cached_dep)


def compile_and_store(cmd: list[str], out: Path, dep: Path, cached_obj: Path, cached_dep: Path) -> int:
    cache = cached_obj.parent
    rc = subprocess.call(cmd)
    if rc == 0 and dep.exists():
        cache.mkdir(parents=True, exist_ok=True)
        for src_file, dst in ((dep, cached_dep), (out, cached_obj)):  # the object last: it marks a complete entry
            tmp = dst.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(src_file, tmp)
            os.replace(tmp, dst)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
