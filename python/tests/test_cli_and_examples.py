"""The console script, the quickstart example, and the type stubs."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batara", *args], capture_output=True, text=True, timeout=60
    )


def test_console_script_runs_the_cli(tmp_path: Path) -> None:
    key = tmp_path / "k.json"
    r = run("keys", "new", "--out", str(key))
    assert r.returncode == 0, r.stderr
    addr = json.loads(r.stdout)["address"]
    assert run("keys", "show", str(key)).stdout.count(addr) == 1
    assert run("keys", "new", "--out", str(key)).returncode == 1
    assert run("no-such-command").returncode == 2


def test_quickstart_example_runs() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "bob has" in r.stdout


def test_stubs_type_check() -> None:
    sample = Path(__file__).with_name("typing_sample.py")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "batara", str(sample)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "python",
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_analysis_without_its_extra_names_the_install_command() -> None:
    # pandas hidden: the ImportError says how to get it, from PyPI and from a checkout.
    code = "import sys; sys.modules['pandas'] = None\nimport batara.analysis"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "pip install 'batara[analysis]'" in r.stderr, r.stderr
    assert "pip install './python[analysis]'" in r.stderr, r.stderr
