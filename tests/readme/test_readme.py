"""The README's quick start and embedding sections, run as written (issue 17), so they cannot
drift from the code: each fenced block is taken from README.md and run.

What "as written" means here, and where it cannot be literal:
* Commands run in this checkout with ``HOME`` in a temporary directory (the dev chain's
  ``~/.batara/dev`` lands there). A full copy of the checkout would compile the workspace again
  (cargo fingerprints absolute paths): ~25 minutes for a test. The C build and the root ``npm
  install`` run in temporary copies of the files they use, with ``target/`` linked.
* ``scripts/test.sh`` is this suite's own runner and is not started from inside it.
* ``path/to/node-home`` (the analysis block's placeholder) becomes the dev chain's home.
* The C block is a fragment: it runs inside ``int main(void) { … }``.
* The Rust block is a doc test of batara-core (``cargo test --doc``: README.md is included there).
* ``pip install ./python`` is this checkout's own build (``PYTHONPATH=python``, as the Python
  tests use it: scripts/python-dev.sh put the extension there).
* ``npm install`` runs with ``BATARA_SKIP_BUILD=1`` (the debug addon from scripts/node-dev.sh is
  in place; building the release addon again is scripts/package.sh's job).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


class Block(NamedTuple):
    lang: str
    code: str


def section(title: str) -> list[Block]:
    """The fenced blocks of the `## title` section, in order."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert m, f"README has no section {title!r}"
    return [Block(lang, code) for lang, code in re.findall(r"^```(\w*)\n(.*?)^```", m.group(1), re.S | re.M)]


def of(blocks: list[Block], lang: str) -> list[str]:
    return [b.code for b in blocks if b.lang == lang]


class DevChain(NamedTuple):
    home: Path
    env: dict[str, str]


def start_dev(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str]:
    """`scripts/dev.sh ARGS` as the README runs it; returns the process and its banner."""
    p = subprocess.Popen(
        ["scripts/dev.sh", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert p.stdout is not None
    banner = ""
    deadline = time.monotonic() + 600  # a build may run first
    while "Press Ctrl-C" not in banner:
        line = p.stdout.readline()
        if not line:
            _, err = p.communicate(timeout=30)
            raise AssertionError(f"scripts/dev.sh exited {p.returncode}: {banner}\n{err[-3000:]}")
        banner += line
        assert time.monotonic() < deadline, banner
    return p, banner


def ctrl_c(p: subprocess.Popen[str]) -> int:
    p.send_signal(signal.SIGINT)
    try:
        return p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevChain]:
    """The quick start: `scripts/dev.sh` with HOME in a temporary directory, its banner against
    the README's sample, the "from another terminal" block, Ctrl-C, and a resume."""
    home = tmp_path_factory.mktemp("home")
    # The toolchain stays where it is (rustup and cargo find it through HOME otherwise).
    env = {**os.environ, "HOME": str(home)}
    env.setdefault("RUSTUP_HOME", str(Path.home() / ".rustup"))
    env.setdefault("CARGO_HOME", str(Path.home() / ".cargo"))
    env.pop("BATARA_HOME", None)
    # `pip install ./python` is what the README says; this checkout's build is that install.
    env["PYTHONPATH"] = str(ROOT / "python")
    blocks = section("Quick start")
    first = of(blocks, "sh")[0]
    assert [line.split()[0] for line in first.splitlines()] == ["scripts/dev.sh", "scripts/test.sh"]
    p, banner = start_dev(env)
    try:
        # Every line of the README's sample output that has no elision is printed as shown.
        sample = of(blocks, "text")[0]
        for line in sample.splitlines():
            if "…" not in line and line.strip():
                assert line in banner, f"{line!r} not in the banner:\n{banner}"
        for i in range(10):
            assert f"key file {home}/.batara/dev/accounts/account{i}.json" in banner
        other = of(blocks, "sh")[1]
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", other], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, f"{other}\n{r.stdout}\n{r.stderr}"
        assert '"status": "success"' in r.stdout, r.stdout
        assert '"chain_id":"batara-dev"' in r.stdout.replace(" ", ""), r.stdout
        assert ctrl_c(p) == 0, "Stop it with Ctrl-C"
        # "run scripts/dev.sh again and the chain resumes where it was"
        p, banner = start_dev(env)
        assert "Batara dev chain batara-dev (height 1)" in banner, banner
        assert ctrl_c(p) == 0
        yield DevChain(home / ".batara" / "dev", env)
    finally:
        if p.poll() is None:
            p.kill()


def test_quick_start(dev: DevChain) -> None:
    assert (dev.home / "genesis.json").is_file()


def test_embedding_python(dev: DevChain) -> None:
    python, analysis = of(section("Embedding: Rust, Python, Node.js, C"), "python")
    r = subprocess.run([sys.executable, "-c", python], env=dev.env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(10**24 + 1000), "success"], r.stdout
    assert "path/to/node-home" in analysis
    code = "import matplotlib\nmatplotlib.use('Agg')\n" + analysis.replace(
        "path/to/node-home", str(dev.home)
    )
    r = subprocess.run([sys.executable, "-c", code + "\nprint(len(t.blocks))"], env=dev.env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "2", r.stdout  # genesis and the quick start's transfer


def test_embedding_node(tmp_path: Path, dev: DevChain) -> None:
    (js,) = of(section("Embedding: Rust, Python, Node.js, C"), "js")
    app = tmp_path / "app"
    (app / "node_modules" / "@batara").mkdir(parents=True)
    (app / "node_modules" / "@batara" / "node").symlink_to(ROOT / "node-js")
    (app / "readme.mjs").write_text(js)
    r = subprocess.run(["node", "readme.mjs"], cwd=app, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{10**24 + 1000}n", r.stdout


def test_embedding_c(tmp_path: Path) -> None:
    blocks = section("Embedding: Rust, Python, Node.js, C")
    (fragment,) = of(blocks, "c")
    build = of(blocks, "sh")[-1]
    assert build.startswith("cc -I include examples/c/embed.c -o embed")
    # A copy of what the build line reads, with the built library where it says.
    shutil.copytree(ROOT / "include", tmp_path / "include")
    shutil.copytree(ROOT / "examples" / "c", tmp_path / "examples" / "c")
    (tmp_path / "target").symlink_to(ROOT / os.environ.get("CARGO_TARGET_DIR", "target"))
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", build], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "bob balance 1000000000000000000001234" in r.stdout, r.stdout
    # The fragment, compiled as a program of its own against the same library.
    (tmp_path / "fragment.c").write_text(
        '#include <stdbool.h>\n#include <stdio.h>\n#include "batara.h"\n'
        f"int main(void) {{\n{fragment}return 0;\n}}\n"
    )
    cc = build.splitlines()[0].replace("examples/c/embed.c -o embed", "fragment.c -o fragment")
    r = subprocess.run(["bash", "-c", cc + " && ./fragment"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "", f"the transfer failed: {r.stdout}"


def test_install_from_a_checkout_then_node_example_and_npx(tmp_path: Path) -> None:
    """`npm install` at the root, then `node examples/node/quickstart.mjs` and `npx batara`,
    in a copy holding what they read (before: ERR_MODULE_NOT_FOUND, and npx asked the public
    registry for a package named `batara`)."""
    install = re.search(r"`npm install` at the repository root", README)
    assert install, "the README's install line for a checkout"
    copy = tmp_path / "checkout"
    copy.mkdir()
    for f in ["package.json", "package-lock.json"]:
        shutil.copy(ROOT / f, copy / f)
    # With its node_modules (the typecheck's devDependencies), so npm has nothing to download.
    shutil.copytree(ROOT / "node-js", copy / "node-js", symlinks=True)
    shutil.copytree(ROOT / "examples" / "node", copy / "examples" / "node")
    env = {**os.environ, "BATARA_SKIP_BUILD": "1", "npm_config_audit": "false",
           "npm_config_fund": "false"}
    r = subprocess.run(["npm", "install"], cwd=copy, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["node", "examples/node/quickstart.mjs"], cwd=copy, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "bob has" in r.stdout, r.stdout
    # --no-install: a registry lookup would be an error, not a download.
    r = subprocess.run(["npx", "--no-install", "batara", "--version"], cwd=copy, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    version = json.loads((ROOT / "node-js" / "package.json").read_text())["version"]
    assert version in r.stdout, r.stdout


def test_governance_section(dev: DevChain) -> None:
    """The Governance section's commands against the dev chain: a delegation, a proposal that
    goes straight to its vote, a split vote, and the query that shows them."""
    (sh,) = of(section("Governance"), "sh")
    p, _ = start_dev(dev.env)
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", sh], cwd=ROOT, env=dev.env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{sh}\n{r.stdout}\n{r.stderr}"
        shown = json.loads(r.stdout[r.stdout.rindex("\n{\n") + 1:])
        assert shown["status"] == "voting_period", shown
        assert shown["content"]["changes"][0]["values"] == {"max_block_txs": 5000}
        (vote,) = shown["votes"]
        assert [o["weight_ppm"] for o in vote["options"]] == [700_000, 300_000]
        assert shown["current_tally"]["yes"] == str(21 * 10**17)
    finally:
        assert ctrl_c(p) == 0


def test_contracts_section(dev: DevChain) -> None:
    """The Contracts section: its commands against the dev chain, and its Python fragment with a
    node and two funded keys (the token built as the section says)."""
    blocks = section("Contracts")
    (sh,) = of(blocks, "sh")
    (py,) = of(blocks, "python")
    p, _ = start_dev(dev.env)
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", sh], cwd=ROOT, env=dev.env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{sh}\n{r.stdout}\n{r.stderr}"
        assert '"result": 1' in r.stdout, r.stdout
        assert '"status": "success"' in r.stdout, r.stdout
    finally:
        assert ctrl_c(p) == 0
    token = ROOT / "examples" / "contracts" / "token"
    npm = shutil.which("npm")
    assert npm is not None
    if not (token / "node_modules" / ".bin" / "asc").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=token, check=True)
    subprocess.run([npm, "run", "--silent", "build"], cwd=token, check=True)
    body = "".join("    " + line + "\n" for line in py.splitlines())
    program = (
        "import batara\n"
        "with batara.Node.dev(accounts=2) as node:\n"
        "    alice, bob = node.accounts\n"
        f"{body}"
        '    assert token.query("balance_of", {"owner": bob.address}) == "5"\n'
        '    print("token ok")\n'
    )
    r = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=dev.env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{program}\n{r.stdout}\n{r.stderr}"
    assert "token ok" in r.stdout
