"""The FastAPI app of `make demo` (python/examples/fastapi_app.py) keeps the demo's contract:
config from BEARERGUARD_CONFIG, a ready line with the port, GET /orders requiring "write"."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

APP = Path(__file__).resolve().parents[1] / "examples" / "fastapi_app.py"


def test_demo_app_decisions(auth_server: Any, expired_jwt: str) -> None:
    config = auth_server.config(leeway_secs=0, realm="orders")
    env = {**os.environ, "BEARERGUARD_CONFIG": json.dumps(config)}
    app = subprocess.Popen([sys.executable, str(APP)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        ready = json.loads(app.stdout.readline())
        assert ready["ready"] is True
        base = f"http://127.0.0.1:{ready['port']}/orders"
        requests = [
            (f"Bearer {auth_server.token('jwt', 'read write')}", 200),
            (f"Bearer {auth_server.token('opaque', 'read write')}", 200),
            (None, 401),
            ("Bearer not-a-real-token", 401),
            (f"Bearer {expired_jwt}", 401),
            (f"Bearer {auth_server.token('opaque', 'read')}", 403),
        ]
        statuses = [httpx.get(base, headers={"Authorization": a} if a else {}).status_code for a, _ in requests]
        assert statuses == [status for _, status in requests]
    finally:
        app.terminate()
        app.wait(10)
