"""The release packages of scripts/package.sh, each installed into a clean environment with no Rust
toolchain on PATH (no cargo, rustc or rustup; no CARGO_* or ROCKSDB_* variables), then used the way
its README says: the quickstart of its language runs against the installed artifact.

    scripts/package.sh && .venv/bin/python -m pytest -q tests/packages

The artifacts are read from dist/ (or BATARA_DIST). A missing artifact fails the test: it never
skips.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("BATARA_DIST", ROOT / "dist"))
VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
TOOLCHAIN = ("cargo", "rustc", "rustup")


def artifact(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST} (run scripts/package.sh), found {found}"
    return found[0]


@pytest.fixture()
def clean_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment minus the Rust toolchain: PATH keeps only directories without
    cargo, rustc or rustup (a tool the tests need from such a directory is linked into a shim
    directory of its own), and no CARGO_*, RUSTUP_* or ROCKSDB_* variable is left."""
    shim = tmp_path / "shim-bin"
    shim.mkdir()
    keep = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and not any(Path(d, t).exists() for t in TOOLCHAIN):
            keep.append(d)
    path = os.pathsep.join([str(shim), *keep])
    for tool in ("python3", "node", "npm", "npx", "cc", "make", "pkg-config", "tar", "readelf", "sh"):
        if shutil.which(tool, path=path) is None and (found := shutil.which(tool)):
            (shim / tool).symlink_to(found)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARGO", "RUSTUP", "ROCKSDB", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        PATH=path,
        HOME=str(tmp_path / "home"),
        npm_config_cache=str(tmp_path / "npm-cache"),
        npm_config_update_notifier="false",
    )
    (tmp_path / "home").mkdir()
    for t in TOOLCHAIN:
        assert shutil.which(t, path=path) is None, f"{t} is still on the clean PATH"
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> str:
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


def has_symbol_table(binary: Path, env: dict[str, str]) -> bool:
    sections = run(["readelf", "-S", "-W", str(binary)], env, binary.parent)
    return ".symtab" in sections


# --- Python: the abi3 wheel ------------------------------------------------------------------


def test_wheel_metadata_and_contents() -> None:
    wheel = artifact(f"batara-{VERSION}-*.whl")
    # abi3 for every CPython >= 3.9, and a manylinux tag (maturin's audit picks the lowest policy
    # whose symbol versions the library stays within).
    assert re.fullmatch(rf"batara-{re.escape(VERSION)}-cp39-abi3-manylinux_\d+_\d+_x86_64\.whl", wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        dist_info = f"batara-{VERSION}.dist-info"
        meta = z.read(f"{dist_info}/METADATA").decode()
    for f in ("batara/__init__.py", "batara/py.typed", "batara/_native.pyi", "batara/cli.py"):
        assert f in names, f"{f} not in the wheel"
    assert [n for n in names if n.startswith("batara/_native") and n.endswith(".so")] == [
        "batara/_native.abi3.so"
    ]
    assert any(n.startswith(f"{dist_info}/licenses/") and n.endswith("LICENSE") for n in names), names
    assert f"Version: {VERSION}" in meta
    assert "License-Expression: Apache-2.0" in meta
    assert "Requires-Python: >=3.9" in meta
    assert "Provides-Extra: analysis" in meta and "Provides-Extra: agents" in meta
    assert "Embed a Batara node or dev chain in Python" in meta  # the README is the description


def test_wheel_passes_the_auditwheel_check_for_its_tag() -> None:
    """auditwheel (not maturin, which chose the tag) agrees: the extension links only libraries the
    manylinux policy allows, with symbol versions within it."""
    wheel = artifact(f"batara-{VERSION}-*.whl")
    tag = re.search(r"-(manylinux_\d+_\d+_x86_64)\.whl$", wheel.name)
    assert tag, wheel.name
    r = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    shown = " ".join(r.stdout.split())
    assert f'is consistent with the following platform tag: "{tag[1]}"' in shown, r.stdout


def test_wheel_installs_and_runs_without_cargo(tmp_path: Path, clean_env: dict[str, str]) -> None:
    wheel = artifact(f"batara-{VERSION}-*.whl")
    venv = tmp_path / "venv"
    run(["python3", "-m", "venv", str(venv)], clean_env, tmp_path)
    py = str(venv / "bin" / "python")
    # --no-index: the wheel alone, nothing fetched or built.
    run([py, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", "-q", str(wheel)], clean_env, tmp_path)
    work = tmp_path / "work"  # away from the checkout, so `import batara` is the installed one
    work.mkdir()
    where = run([py, "-c", "import batara; print(batara.__file__, batara.__version__)"], clean_env, work)
    assert where.startswith(str(venv)) and where.split()[1] == VERSION, where
    shutil.copy(ROOT / "examples" / "python" / "quickstart.py", work)
    out = run([py, "quickstart.py"], clean_env, work)
    assert re.search(r"transfer 0x[0-9a-f]{64}: success", out) and re.search(r"bob has \d+", out), out
    assert run([py, "-m", "batara", "--version"], clean_env, work).strip() == f"batara {VERSION}"
    assert run([str(venv / "bin" / "batara"), "--version"], clean_env, work).strip() == f"batara {VERSION}"
    native = next((venv / "lib").glob("python3*/site-packages/batara/_native.abi3.so"))
    assert not has_symbol_table(native, clean_env)
    # batara-agents: without the [agents] extra the anomaly model says what to install; with it
    # off, one run against a node that is not there raises endpoint_down (exit 1).
    agents = str(venv / "bin" / "batara-agents")
    cfg = work / "agents.toml"
    cfg.write_text('[[nodes]]\nname = "n"\nurl = "http://127.0.0.1:9"\n')
    r = subprocess.run([agents, "run", "--config", str(cfg), "--once"], env=clean_env, cwd=work,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "pip install 'batara[agents]'" in r.stderr, r
    cfg.write_text(cfg.read_text() + "[security]\nanomaly = false\n")
    r = subprocess.run([agents, "run", "--config", str(cfg), "--once"], env=clean_env, cwd=work,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and '"key": "endpoint_down/n"' in r.stdout, r


# --- Node.js: the npm tarball with its prebuilt addon ----------------------------------------


def npm_project(tmp_path: Path, env: dict[str, str], *install_args: str) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "package.json").write_text(json.dumps({"name": "proj", "version": "1.0.0", "private": True}))
    tarball = artifact(f"batara-node-{VERSION}.tgz")
    run(["npm", "install", "--no-audit", "--no-fund", "--offline", *install_args, str(tarball)], env, proj)
    return proj


def test_npm_tarball_contents() -> None:
    tarball = artifact(f"batara-node-{VERSION}.tgz")
    with tarfile.open(tarball) as t:
        names = {n.removeprefix("package/") for n in t.getnames()}
        pkg = json.load(t.extractfile("package/package.json"))  # type: ignore[arg-type]
    for f in ("index.js", "index.mjs", "index.d.ts", "addon.js", "cli.js", "README.md", "LICENSE"):
        assert f in names, f"{f} not in the tarball"
    assert [n for n in names if n.endswith(".node")] == ["prebuilds/linux-x64-gnu/batara.node"]
    assert "build.js" not in names  # nothing in the package can start a compile
    assert pkg["version"] == VERSION and pkg["license"] == "Apache-2.0"
    assert "scripts" not in pkg and "devDependencies" not in pkg
    assert (pkg["os"], pkg["cpu"], pkg["libc"]) == (["linux"], ["x64"], ["glibc"])


def test_npm_tarball_installs_and_runs_without_cargo(tmp_path: Path, clean_env: dict[str, str]) -> None:
    proj = npm_project(tmp_path, clean_env)
    installed = proj / "node_modules" / "@batara" / "node"
    assert (installed / "index.d.ts").is_file() and not (installed / "batara.node").exists()
    shutil.copy(ROOT / "examples" / "node" / "quickstart.mjs", proj)
    out = run(["node", "quickstart.mjs"], clean_env, proj)
    assert re.search(r"transfer 0x[0-9a-f]{64}: success", out) and re.search(r"bob has \d+", out), out
    assert run(["npx", "--no-install", "batara", "--version"], clean_env, proj).strip() == f"batara {VERSION}"
    cjs = run(["node", "-e", "const b = require('@batara/node'); console.log(typeof b.Node.dev, b.Keypair.devAccount(0).address)"], clean_env, proj)
    assert re.fullmatch(r"function bat1[a-z0-9]+\n", cjs), cjs
    assert not has_symbol_table(installed / "prebuilds" / "linux-x64-gnu" / "batara.node", clean_env)


def test_npm_tarball_refuses_a_platform_it_has_no_binary_for(tmp_path: Path, clean_env: dict[str, str]) -> None:
    tarball = artifact(f"batara-node-{VERSION}.tgz")
    riscv = tmp_path / "riscv.cjs"  # this process, as node sees it, runs on riscv64
    riscv.write_text("Object.defineProperty(process, 'arch', { value: 'riscv64' });\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "package.json").write_text(json.dumps({"name": "other", "version": "1.0.0", "private": True}))
    r = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--offline", str(tarball)],
        env={**clean_env, "NODE_OPTIONS": f"--require={riscv}"}, cwd=other, capture_output=True, text=True,
        timeout=120,
    )
    assert r.returncode != 0 and "EBADPLATFORM" in r.stderr, r.stdout + r.stderr
    assert not (other / "node_modules" / "@batara").exists()
    # Forced onto such a platform anyway, loading names the cause instead of compiling.
    proj = npm_project(tmp_path, clean_env)
    r = subprocess.run(
        ["node", "-r", str(riscv), "-e", "require('@batara/node')"],
        env=clean_env, cwd=proj, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode != 0
    assert "no native addon for linux-riscv64-gnu: this package carries linux-x64-gnu" in r.stderr, r.stderr
    assert "UNSUPPORTED_PLATFORM" in r.stderr, r.stderr


# --- C: the SDK archive ------------------------------------------------------------------------


@pytest.fixture()
def c_sdk(tmp_path: Path) -> Path:
    archive = artifact(f"batara-c-{VERSION}-*.tar.gz")
    with tarfile.open(archive) as t:
        t.extractall(tmp_path / "sdk", filter="data")
    (sdk,) = (tmp_path / "sdk").iterdir()
    return sdk


def check_embed_output(out: str) -> None:
    assert "bob balance 1000000000000000000001234 nonce 0" in out, out
    assert "rejected as expected: to: invalid address" in out, out


def test_c_archive_contents(c_sdk: Path, clean_env: dict[str, str]) -> None:
    for f in ("include/batara.h", "lib/libbatara.so", "lib/libbatara.a", "lib/pkgconfig/batara.pc",
              "lib/pkgconfig/batara-static.pc", "examples/embed.c", "examples/Makefile", "README.md", "LICENSE"):
        assert (c_sdk / f).is_file(), f"{f} not in the archive"
    assert not has_symbol_table(c_sdk / "lib" / "libbatara.so", clean_env)
    env = {**clean_env, "PKG_CONFIG_PATH": str(c_sdk / "lib" / "pkgconfig")}
    assert run(["pkg-config", "--modversion", "batara"], env, c_sdk).strip() == VERSION


def test_c_archive_builds_with_pkg_config_without_cargo(c_sdk: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    env = {**clean_env, "PKG_CONFIG_PATH": str(c_sdk / "lib" / "pkgconfig")}
    flags = run(["pkg-config", "--cflags", "--libs", "batara"], env, tmp_path).split()
    libdir = run(["pkg-config", "--variable=libdir", "batara"], env, tmp_path).strip()
    exe = tmp_path / "embed"
    run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", str(c_sdk / "examples" / "embed.c"), *flags,
         f"-Wl,-rpath,{libdir}", "-o", str(exe)], env, tmp_path)
    check_embed_output(run([str(exe)], env, tmp_path))


def test_c_archive_makefile_links_statically(c_sdk: Path, clean_env: dict[str, str]) -> None:
    examples = c_sdk / "examples"
    run(["make", "static"], clean_env, examples)
    exe = examples / "embed-static"
    needed = run(["readelf", "-d", str(exe)], clean_env, examples)
    assert "libbatara" not in needed, needed  # the library is inside the program
    check_embed_output(run([str(exe)], clean_env, examples))
    check_embed_output(run(["make", "run"], clean_env, examples))
