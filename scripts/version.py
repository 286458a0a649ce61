"""The one version of bearerguard: `[workspace.package] version` in the workspace Cargo.toml.

The crate and the wheel read it from there (cargo, maturin). The npm packages cannot, so this
script copies it into every place that repeats it:

    python3 scripts/version.py           # write the workspace version everywhere (`make version`)
    python3 scripts/version.py --check   # exit 1 naming each place that disagrees

Places: the workspace dependency the bindings use (`bearerguard = { path, version }`),
node/package.json (version and the optionalDependencies on the platform packages), every
node/npm/<platform>/package.json, node/package-lock.json (the root package), the version
check napi-rs generates into node/native.js, and a `## [<version>]` section in CHANGELOG.md
(checked only: its text is written by hand). Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "node"


def workspace_version() -> str:
    return str(tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"])


def platform_dirs() -> list[Path]:
    return sorted(p.parent for p in (NODE / "npm").glob("*/package.json"))


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# `bindingPackageVersion !== '0.1.0'` in napi-rs's generated loader.
NATIVE_CHECK = re.compile(r"(bindingPackageVersion !== ')([^']*)(')")
WORKSPACE_DEP = re.compile(r'^(bearerguard = \{ path = "core", version = ")([^"]*)(" \})$', re.M)


def found_versions() -> list[tuple[str, str | None]]:
    """(place, version found there) for every place that repeats the version."""
    places: list[tuple[str, str | None]] = []
    dep = WORKSPACE_DEP.search((ROOT / "Cargo.toml").read_text())
    places.append(("Cargo.toml [workspace.dependencies] bearerguard", dep.group(2) if dep else None))
    main = _json(NODE / "package.json")
    places.append(("node/package.json version", main["version"]))
    optional = main.get("optionalDependencies", {})
    for directory in platform_dirs():
        platform = _json(directory / "package.json")
        rel = directory.relative_to(ROOT).as_posix()
        places.append((f"{rel}/package.json version", platform["version"]))
        places.append((f"node/package.json optionalDependencies {platform['name']}", optional.get(platform["name"])))
    for name in sorted(set(optional) - {_json(d / "package.json")["name"] for d in platform_dirs()}):
        places.append((f"node/package.json optionalDependencies {name} (no node/npm/ directory)", None))
    lock = _json(NODE / "package-lock.json")
    places.append(("node/package-lock.json version", lock.get("version")))
    places.append(('node/package-lock.json packages[""].version', lock["packages"][""].get("version")))
    checks = set(m.group(2) for m in NATIVE_CHECK.finditer((NODE / "native.js").read_text()))
    places.append(("node/native.js platform package version check", checks.pop() if len(checks) == 1 else None))
    changelog = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## \[(\d[^\]]*)\]", changelog, re.M)
    places.append(("CHANGELOG.md newest release section", sections[0] if sections else None))
    return places


def mismatches(version: str) -> list[str]:
    return [f"{place}: {found!r}" for place, found in found_versions() if found != version]


def sync(version: str) -> None:
    cargo = ROOT / "Cargo.toml"
    cargo.write_text(WORKSPACE_DEP.sub(rf"\g<1>{version}\g<3>", cargo.read_text()))
    names = []
    for directory in platform_dirs():
        platform = _json(directory / "package.json")
        platform["version"] = version
        names.append(platform["name"])
        _write_json(directory / "package.json", platform)
    main = _json(NODE / "package.json")
    main["version"] = version
    main["optionalDependencies"] = {name: version for name in names}
    _write_json(NODE / "package.json", main)
    lock = _json(NODE / "package-lock.json")
    lock["version"] = version
    lock["packages"][""]["version"] = version
    lock["packages"][""]["optionalDependencies"] = dict(sorted(main["optionalDependencies"].items()))
    _write_json(NODE / "package-lock.json", lock)
    native = NODE / "native.js"
    native.write_text(NATIVE_CHECK.sub(rf"\g<1>{version}\g<3>", native.read_text()))


def main() -> int:
    version = workspace_version()
    if sys.argv[1:] not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    if not sys.argv[1:]:
        sync(version)
    wrong = mismatches(version)
    for line in wrong:
        print(f"version {version} expected; {line}", file=sys.stderr)
    if not wrong:
        print(f"version {version}: {len(found_versions())} places agree")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
