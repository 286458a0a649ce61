"""The packages `make dist` built (target/dist), checked as a user and a publisher would meet them.

Run by `make test-dist` after `make dist`: the wheel and the npm tarballs installed into fresh
environments with no Rust toolchain (smoke.py), the sdist built with cargo, `npm install
<checkout>/node` from an app, one version and one LICENSE everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "target" / "dist"
NODE = ROOT / "node"
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests" / "dist")]
import smoke  # noqa: E402  (tests/dist/smoke.py)
import version as versions  # noqa: E402  (scripts/version.py)

VERSION = versions.workspace_version()
LICENSE = (ROOT / "LICENSE").read_bytes()


def node_platform() -> str:
    return subprocess.run(["node", "-p", "require('./node/scripts/platform.js')()"], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout.strip()


def one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST} (run `make dist`), found {found}"
    return found[0]


def tar_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


# --- one version, one license --------------------------------------------------------------


def test_every_source_place_has_the_workspace_version() -> None:
    assert versions.mismatches(VERSION) == []


def test_the_crate_has_the_workspace_version() -> None:
    meta = json.loads(subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
                                     cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    found = {p["name"]: p["version"] for p in meta["packages"]}
    assert found == {"bearerguard": VERSION, "bearerguard-python": VERSION, "bearerguard-node": VERSION,
                     "bearerguard-cli": VERSION}


def test_the_built_packages_have_the_workspace_version() -> None:
    wheel = one("python/*.whl")
    assert wheel.name.startswith(f"bearerguard-{VERSION}-")
    with zipfile.ZipFile(wheel) as z:
        metadata = z.read(f"bearerguard-{VERSION}.dist-info/METADATA").decode()
    assert re.search(rf"^Version: {re.escape(VERSION)}$", metadata, re.M)
    sdist = tar_members(one("python/*.tar.gz"))
    assert re.search(rf"^Version: {re.escape(VERSION)}$", sdist[f"bearerguard-{VERSION}/PKG-INFO"].decode(), re.M)
    for tarball in sorted(DIST.glob("npm/*.tgz")):
        manifest = json.loads(tar_members(tarball)["package/package.json"])
        assert manifest["version"] == VERSION, tarball.name
    assert f"## [{VERSION}]" in (ROOT / "CHANGELOG.md").read_text()


def test_license_copies_are_the_repository_license() -> None:
    copies = [ROOT / "core" / "LICENSE", ROOT / "python" / "LICENSE", NODE / "LICENSE",
              *[d / "LICENSE" for d in versions.platform_dirs()]]
    assert LICENSE.startswith(b"\n                                 Apache License\n")
    assert [c.relative_to(ROOT).as_posix() for c in copies if c.read_bytes() != LICENSE] == []


def test_every_package_carries_the_license() -> None:
    with zipfile.ZipFile(one("python/*.whl")) as z:
        assert z.read(f"bearerguard-{VERSION}.dist-info/licenses/LICENSE") == LICENSE
    assert tar_members(one("python/*.tar.gz"))[f"bearerguard-{VERSION}/LICENSE"] == LICENSE
    for tarball in sorted(DIST.glob("npm/*.tgz")):
        assert tar_members(tarball)["package/LICENSE"] == LICENSE, tarball.name
    listed = subprocess.run(["cargo", "package", "--list", "-p", "bearerguard", "--allow-dirty", "--offline"],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    assert {"LICENSE", "README.md", "Cargo.toml", "src/lib.rs"} <= set(listed)
    assert not [f for f in listed if f.startswith(("tests/", "benches/", "examples/"))]


# --- Python ----------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="manylinux is a Linux tag")
def test_the_wheel_is_abi3_manylinux2014() -> None:
    wheel = one("python/*.whl")
    arch = platform.machine()
    assert wheel.name == f"bearerguard-{VERSION}-cp310-abi3-manylinux2014_{arch}.manylinux_2_17_{arch}.whl"
    shown = subprocess.run([str(Path(sys.executable).parent / "auditwheel"), "show", str(wheel)],
                           check=True, capture_output=True, text=True).stdout
    assert f'consistent with the following platform tag:\n"manylinux_2_17_{arch}"' in shown, shown
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert "bearerguard/py.typed" in names and "bearerguard/_native.pyi" in names
    assert [n for n in names if n.endswith(".so")] == ["bearerguard/_native.abi3.so"]


def test_the_wheel_in_a_fresh_virtualenv_without_rust_runs_the_readme() -> None:
    subprocess.run([sys.executable, str(ROOT / "tests" / "dist" / "smoke.py"), "python", str(DIST / "python")],
                   check=True)


def test_the_sdist_builds_with_cargo_in_a_fresh_virtualenv() -> None:
    sdist = one("python/*.tar.gz")
    members = tar_members(sdist)
    prefix = f"bearerguard-{VERSION}/"
    # The core's sources come along (its `include` list), its tests and benches do not.
    assert f"{prefix}core/src/lib.rs" in members and f"{prefix}pyproject.toml" in members
    assert not [m for m in members if m.startswith((f"{prefix}core/tests/", f"{prefix}python/tests/"))]
    with tempfile.TemporaryDirectory(prefix="bearerguard-sdist-") as work:
        venv = Path(work) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        # A debug build in the checkout's target dir: the same sources and build backend as a
        # user's `pip install bearerguard-<v>.tar.gz`, at a fraction of a release build's time.
        env = {**os.environ, "MATURIN_PEP517_ARGS": "--profile dev", "CARGO_TARGET_DIR": str(ROOT / "target")}
        env.pop("VIRTUAL_ENV", None)
        assert shutil.which("cargo", path=env["PATH"]) or (Path.home() / ".cargo" / "bin" / "cargo").exists()
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-binary", "bearerguard", str(sdist)], check=True, env=env)
        out = subprocess.run([str(python), "-c", "import bearerguard as b; print(b.__version__, b.__file__); "
                              "print(b.InvalidTokenError.__mro__[1].__name__)"],
                             cwd=work, check=True, capture_output=True, text=True).stdout.split()
        assert out[0] == VERSION
        assert Path(out[1]).resolve().is_relative_to(venv.resolve())
        assert out[2] == "BearerGuardError"


# --- Node ------------------------------------------------------------------------------------


def test_the_npm_tarballs_hold_what_they_should() -> None:
    main = tar_members(one(f"npm/bearerguard-{VERSION}.tgz"))
    names = {n.removeprefix("package/") for n in main}
    assert {"package.json", "README.md", "LICENSE", "index.js", "index.d.ts", "errors.js", "express.js",
            "express.d.ts", "native.js", "native.d.ts", "scripts/install.js", "scripts/platform.js",
            "adapter.js", "fastify.js", "fastify.d.ts", "koa.js", "koa.d.ts", "hono.js", "hono.d.ts",
            "nest.js", "nest.d.ts", "mcp.js", "mcp.mjs", "mcp-core.js", "mcp.d.ts",
            "cli.js", "testing.js", "testing.d.ts", "prometheus.js", "prometheus.d.ts"} == names
    manifest = json.loads(main["package/package.json"])
    assert "dependencies" not in manifest and "@napi-rs/cli" in manifest["devDependencies"]
    name = f"bearerguard-{node_platform()}"
    assert manifest["optionalDependencies"][name] == VERSION
    assert sorted(manifest["optionalDependencies"]) == sorted(
        json.loads((d / "package.json").read_text())["name"] for d in versions.platform_dirs())

    plat = tar_members(one(f"npm/{name}-{VERSION}.tgz"))
    platform_manifest = json.loads(plat["package/package.json"])
    assert platform_manifest["name"] == name
    assert f"package/{platform_manifest['main']}" in plat
    assert {"os", "cpu"} <= set(platform_manifest)
    assert plat[f"package/{platform_manifest['main']}"][:4] in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"MZ\x90\x00")


def test_the_tarballs_in_a_fresh_app_without_cargo_run_the_readme_and_the_express_example() -> None:
    subprocess.run([sys.executable, str(ROOT / "tests" / "dist" / "smoke.py"), "node", str(DIST / "npm")], check=True)


def test_the_committed_loader_is_the_one_napi_generates() -> None:
    # `make node-build` (napi build) has just regenerated native.js and native.d.ts in place.
    diff = subprocess.run(["git", "diff", "--stat", "--", "node/native.js", "node/native.d.ts"], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout
    assert diff == "", f"napi build changed the committed loader; commit node/native.js and native.d.ts:\n{diff}"


def git_state() -> tuple[str, dict[str, str]]:
    """`git status --porcelain` and a hash of each file it lists (so edits to dirty files count)."""
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    hashes = {}
    for line in status.splitlines():
        path = ROOT / line[3:].split(" -> ")[-1]
        hashes[line[3:]] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
    return status, hashes


@pytest.fixture
def no_addon_in_checkout() -> Iterator[Path]:
    """node/ without its built addon (put back afterwards if the install did not rebuild it)."""
    addon = NODE / f"bearerguard.{node_platform()}.node"
    with tempfile.TemporaryDirectory(prefix="bearerguard-addon-") as keep:
        aside = Path(keep) / addon.name
        if addon.exists():
            shutil.move(addon, aside)
        try:
            yield addon
        finally:
            if aside.exists() and not addon.exists():
                shutil.move(aside, addon)


def test_npm_install_of_the_checkout_builds_from_source_and_leaves_git_status_as_it_was(
    no_addon_in_checkout: Path,
) -> None:
    before = git_state()
    if os.environ.get("CI"):
        assert before[0] == "", f"CI's checkout is not clean before the install:\n{before[0]}"
    lock = (NODE / "package-lock.json").read_bytes()
    with tempfile.TemporaryDirectory(prefix="bearerguard-checkout-install-") as app:
        Path(app, "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "private": True}))
        run = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--foreground-scripts", str(NODE)],
                             cwd=app, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "building it from source with cargo (release)" in run.stderr, run.stderr
        assert no_addon_in_checkout.exists()
        loaded = subprocess.run(["node", "-e", "const { Validator } = require('bearerguard'); "
                                 "console.log(typeof Validator, Object.keys(require.cache).find((f) => f.endsWith('.node')))"],
                                cwd=app, check=True, capture_output=True, text=True).stdout.split()
        assert loaded == ["function", str(no_addon_in_checkout)]
    assert (NODE / "package-lock.json").read_bytes() == lock
    assert not (NODE / "node_modules" / f"bearerguard-{node_platform()}").exists()
    assert git_state() == before


def test_npm_install_of_the_checkout_with_the_platform_tarball_loads_it_without_cargo() -> None:
    # --install-links copies the checkout's package (its `files`, no Rust sources) instead of
    # linking it, so its optional dependency resolves in the app, to the packed platform package.
    before = git_state()
    name = f"bearerguard-{node_platform()}"
    with tempfile.TemporaryDirectory(prefix="bearerguard-checkout-tarball-") as app:
        Path(app, "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "private": True}))
        env = smoke.without_rust(dict(os.environ))
        run = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--foreground-scripts", "--install-links",
                              str(NODE), str(one(f"npm/{name}-{VERSION}.tgz"))],
                             cwd=app, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "building" not in run.stderr
        loaded = subprocess.run(["node", "-e", "require('bearerguard'); "
                                 "console.log(Object.keys(require.cache).find((f) => f.endsWith('.node')))"],
                                cwd=app, env=env, check=True, capture_output=True, text=True).stdout.strip()
        assert loaded == str(Path(app, "node_modules", name, f"bearerguard.{node_platform()}.node"))
    assert git_state() == before
