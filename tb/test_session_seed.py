"""The session's seed (root conftest.py) re-runs the model tests' Hypothesis examples too: `make test SEED=N`
(pytest --seed=N) draws the same examples as the session it repeats, a different seed draws others, and
pytest-xdist workers draw what a single process draws."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

DRAWING_TEST = '''
import os
from hypothesis import given, settings, strategies as st

@settings(max_examples=8, database=None)
@given(st.integers())
def test_draws(x):
    with open(os.environ["DRAWS"], "a") as f:
        f.write(f"{x}\\n")
'''


def _draws(tmp_path: Path, tag: str, *args: str, ci: bool = False) -> list[str]:
    """The examples a pytest session with the repository's root conftest.py draws, in order; `ci` sets $CI,
    which makes Hypothesis load its derandomized "ci" profile."""
    (tmp_path / "test_draws.py").write_text(DRAWING_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    out = tmp_path / f"draws-{tag}"
    env = dict(os.environ, DRAWS=str(out), PYTHONPATH=str(ROOT))
    env.pop("FLEXBLOCK_SEED", None)
    env.pop("MODEL_SEED", None)
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-c", str(tmp_path / "pytest.ini"),
                        "-p", "no:cacheprovider", str(tmp_path / "test_draws.py"), *args],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return out.read_text().split()


def test_the_model_seed_decides_the_hypothesis_examples(tmp_path):
    first = _draws(tmp_path, "a", "--seed=5")
    assert len(first) >= 8
    assert _draws(tmp_path, "b", "--seed=6", "--model-seed=5") == first  # the model seed (= --seed by default)
    other = _draws(tmp_path, "c", "--seed=6")
    assert other != first
    assert _draws(tmp_path, "e", "--seed=6", ci=True) == other  # a CI machine draws from the seed too
    pytest.importorskip("xdist")
    assert _draws(tmp_path, "d", "--seed=5", "-n", "2") == first  # the workers draw what one process draws
