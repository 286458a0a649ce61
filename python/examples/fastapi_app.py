"""The FastAPI app of `make demo`: GET /orders requires scope "write"; GET /metrics is the
validator's Prometheus scrape (bearerguard.prometheus, over a registry of the app's own).

With a revocation hook secret (env BEARERGUARD_REVOCATION_HOOK_SECRET when run as a script), it
also serves POST /revocations: a form body `token=<token>` as RFC 7009 sends it, from whoever
learnt of a revocation or logout (the authorization server's event, an admin tool), with the
header `X-Hook-Secret: <secret>`. Wrong or missing secret: 403; no single `token`: 400;
otherwise the validator forgets the token (its cached verdict) and the answer is 204. Without
the secret the route does not exist (404). The token is never logged.

`create_app(config)` builds the app for a validator config (core JSON keys): the tests of
python/tests/test_testkit_fastapi.py pass the test kit's. Run as a script, it reads the config
from BEARERGUARD_CONFIG, listens on 127.0.0.1 on a free port and prints
{"ready": true, "port": N} once it accepts connections.
"""

import hashlib
import hmac
import json
import os
import socket
import sys
from typing import Annotated
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request, Response, Security
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from bearerguard import TokenInfo, UnavailableError, Validator, ValidatorConfig
from bearerguard.fastapi import BearerAuth, install
from bearerguard.prometheus import register


def create_app(config: ValidatorConfig, revocation_hook_secret: str | None = None) -> FastAPI:
    """The orders API, protected by a validator built from `config`; with
    `revocation_hook_secret`, POST /revocations too."""
    validator = Validator.from_config(config)
    bearer = BearerAuth(validator)
    app = FastAPI(title="orders")
    install(app)
    registry = CollectorRegistry()
    register(validator, registry=registry)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/orders")
    async def orders(token: Annotated[TokenInfo, Security(bearer, scopes=["write"])]) -> dict[str, object]:
        return {"subject": token.subject, "scopes": list(token.scopes), "source": token.source}

    if revocation_hook_secret is not None:
        add_revocation_hook(app, validator, revocation_hook_secret)
    return app


def add_revocation_hook(app: FastAPI, validator: Validator, secret: str) -> None:
    """POST /revocations: `token=<token>` (RFC 7009's form) with `X-Hook-Secret: <secret>`."""
    if not secret:
        raise ValueError("the revocation hook secret is empty")
    expected = hashlib.sha256(secret.encode()).digest()

    @app.post("/revocations", status_code=204)
    async def revocations(request: Request) -> Response:
        presented = hashlib.sha256(request.headers.get("x-hook-secret", "").encode()).digest()
        # Digests compared in constant time: neither how much of the secret a guess got right
        # nor the secret's length shows in the timing.
        if not hmac.compare_digest(presented, expected):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        tokens = form.get("token", [])
        if len(tokens) != 1 or not tokens[0]:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        # forget() blocks (the GIL released) until the validator's tiers have dropped the token:
        # off the event loop.
        try:
            await run_in_threadpool(validator.forget, tokens[0])
        except UnavailableError:  # the shared tier could not be told: the sender retries
            return JSONResponse({"error": "unavailable"}, status_code=503)
        return Response(status_code=204)


class Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        port = sockets[0].getsockname()[1] if sockets else 0
        print(json.dumps({"ready": True, "port": port}), flush=True)


if __name__ == "__main__":
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(
        json.loads(os.environ["BEARERGUARD_CONFIG"]),
        revocation_hook_secret=os.environ.get("BEARERGUARD_REVOCATION_HOOK_SECRET"),
    )
    server = Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
    sys.exit(0)
