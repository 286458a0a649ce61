"""Installed-package smoke tests: the built packages, installed as a user installs them, with no
Rust toolchain on PATH, run the README quickstarts against the real authorization server.

    python tests/dist/smoke.py python DIST_DIR   # the wheel in DIST_DIR, in a fresh virtualenv
    python tests/dist/smoke.py node DIST_DIR     # the npm tarballs in DIST_DIR, in a fresh app

`make test-dist` runs both (through tests/dist/test_dist.py) and so does the release workflow on
every platform it builds for. Only the standard library is used: it runs under any Python 3.10+.
The authorization server (tests/authorization-server) must be installed (`make setup`).
Exit status 0 when every step passed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = os.name == "nt"
# Test dependencies of python/tests/test_readme.py (and its conftest, test_frameworks and
# test_mcp); the MCP SDKs come with the extras, pinned as in python/requirements-dev.txt.
PYTHON_TEST_DEPS = ["pytest>=8", "httpx>=0.27", "uvicorn>=0.30", "mcp==2.3.0", "fastmcp==4.1.7"]


def without_rust(env: dict[str, str]) -> dict[str, str]:
    """`env` with every PATH entry that holds cargo or rustc removed, and no rustup fallback."""
    keep = [d for d in env.get("PATH", "").split(os.pathsep)
            if d and not any(shutil.which(tool, path=d) for tool in ("cargo", "rustc"))]
    env = {**env, "PATH": os.pathsep.join(keep), "CARGO_HOME": str(Path(tempfile.gettempdir()) / "no-cargo-home")}
    for tool in ("cargo", "rustc"):
        if shutil.which(tool, path=env["PATH"]):
            sys.exit(f"smoke: {tool} is still on PATH")
    return env


def run(args: list[str], **kwargs: object) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run(args, check=True, **kwargs)  # type: ignore[call-overload]


def one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        sys.exit(f"smoke: expected one {pattern} in {directory}, found {[f.name for f in found]}")
    return found[0]


def smoke_python(dist: Path, work: Path) -> None:
    wheel = one(dist, "*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / ("Scripts/python.exe" if WINDOWS else "bin/python")
    env = without_rust(dict(os.environ))
    env["PATH"] = os.pathsep.join([str(python.parent), env["PATH"]])
    # --only-binary: pip may not build anything from source, bearerguard included.
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"]
    run([*pip, f"bearerguard[fastapi,flask,mcp,fastmcp,prometheus] @ {wheel.as_uri()}", *PYTHON_TEST_DEPS], env=env)
    # Imported from the virtualenv, not from the checkout's python/ directory.
    where = subprocess.run([str(python), "-c", "import bearerguard, sys; print(bearerguard.__file__, bearerguard.__version__)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.split()
    print("bearerguard imported from", where[0], "version", where[1], flush=True)
    if not Path(where[0]).resolve().is_relative_to(venv.resolve()):
        sys.exit(f"smoke: bearerguard was imported from {where[0]}, outside {venv}")
    run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT / "python"),
         str(ROOT / "python" / "tests" / "test_readme.py")], cwd=work, env=env)


def smoke_node(dist: Path, work: Path) -> None:
    tarballs = sorted(dist.glob("*.tgz"))
    main = one(dist, "bearerguard-[0-9]*.tgz")
    if len(tarballs) < 2:
        sys.exit(f"smoke: expected the main package and a platform package in {dist}")
    app = work / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps({"name": "smoke-app", "version": "1.0.0", "private": True}))
    env = without_rust(dict(os.environ))
    npm = "npm.cmd" if WINDOWS else "npm"
    # As a user would from the registry: the main package, and the platform package npm would
    # pick for it from optionalDependencies (given as its tarball: unpublished versions are not
    # on the registry; the other platforms' entries are skipped as optional).
    run([npm, "install", "--no-audit", "--no-fund", "--foreground-scripts", str(main),
         *[str(t) for t in tarballs if t != main], "express@^5", "@modelcontextprotocol/sdk@1.32.2", "prom-client@15.1.3"], cwd=app, env=env)
    package = app / "node_modules" / "bearerguard"
    built = sorted(p.name for p in package.glob("*.node"))
    if built or (package / "Cargo.toml").exists():
        sys.exit(f"smoke: the installed main package holds {built or 'Rust sources'}")
    where = subprocess.run(["node", "-e", "require('bearerguard'); console.log(Object.keys(require.cache)"
                            ".find((f) => f.endsWith('.node')))"],
                           cwd=app, env=env, check=True, capture_output=True, text=True).stdout.strip()
    print("addon loaded from", where, flush=True)
    if "bearerguard-" not in where or not Path(where).resolve().is_relative_to((app / "node_modules").resolve()):
        sys.exit(f"smoke: the addon was loaded from {where}, not from a platform package in the app")
    env["BEARERGUARD_TEST_APP"] = str(app)
    run(["node", "--test", str(ROOT / "node" / "test" / "readme.test.mjs"),
         str(ROOT / "tests" / "dist" / "express-example.test.mjs")], cwd=app, env=env)


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("python", "node"):
        sys.exit(__doc__)
    dist = Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory(prefix=f"bearerguard-smoke-{sys.argv[1]}-") as work:
        (smoke_python if sys.argv[1] == "python" else smoke_node)(dist, Path(work))
    print(f"smoke {sys.argv[1]}: passed", flush=True)


if __name__ == "__main__":
    main()
