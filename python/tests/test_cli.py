"""``python -m bearerguard``: the Rust command line through the installed package, against the
real authorization server (the command's own tests are cli/tests/cli.rs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def bearerguard(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bearerguard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_bearerguard_checks_tokens_against_the_real_server(auth_server: Any, tmp_path: Path) -> None:
    config = tmp_path / "api.json"
    config.write_text(json.dumps(auth_server.config("rs_basic")))
    secret = auth_server.clients["rs_basic"]["client_secret"]
    opaque = auth_server.token("opaque", "read")
    jwt = auth_server.token("jwt", "read")

    accepted = bearerguard("check", "--config", str(config), "--scope", "read", "-", stdin=opaque)
    assert accepted.returncode == 0, accepted.stderr
    answer = json.loads(accepted.stdout)
    assert answer["active"] is True and answer["source"] == "introspection"
    assert answer["claims"]["client_id"] == "svc-client"

    under = bearerguard("check", "--config", str(config), "--scope", "admin", "--header", f"Bearer {jwt}")
    assert under.returncode == 3, under.stdout
    assert json.loads(under.stdout)["error"] == "insufficient_scope"

    refused = bearerguard("check", "--config", str(config), "not-a-valid-token")
    assert refused.returncode == 1 and json.loads(refused.stdout)["active"] is False

    keys = bearerguard("discover", auth_server.issuer)
    assert keys.returncode == 0, keys.stderr
    kids = {k["kid"] for k in json.loads(keys.stdout)["jwks"]["keys"]}
    assert set(auth_server.ready["signing_keys"].values()) <= kids

    usage = bearerguard("check", opaque)
    assert usage.returncode == 2

    for run in (accepted, under, refused, keys, usage):
        for secret_text in (secret, opaque, jwt):
            assert secret_text not in run.stdout and secret_text not in run.stderr


def test_python_m_bearerguard_help_teaches() -> None:
    run = bearerguard("--help")
    assert run.returncode == 0
    assert "Exit status" in run.stdout and "discover" in run.stdout and "Examples" in run.stdout
