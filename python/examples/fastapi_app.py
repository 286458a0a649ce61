"""The FastAPI app of `make demo`: GET /orders requires scope "write"; GET /metrics is the
validator's Prometheus scrape (bearerguard.prometheus, over a registry of the app's own).

`create_app(config)` builds the app for a validator config (core JSON keys): the tests of
python/tests/test_testkit_fastapi.py pass the test kit's. Run as a script, it reads the config
from BEARERGUARD_CONFIG, listens on 127.0.0.1 on a free port and prints
{"ready": true, "port": N} once it accepts connections.
"""

import json
import os
import socket
import sys
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Response, Security
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from bearerguard import TokenInfo, Validator, ValidatorConfig
from bearerguard.fastapi import BearerAuth, install
from bearerguard.prometheus import register


def create_app(config: ValidatorConfig) -> FastAPI:
    """The orders API, protected by a validator built from `config`."""
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

    return app


class Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        port = sockets[0].getsockname()[1] if sockets else 0
        print(json.dumps({"ready": True, "port": port}), flush=True)


if __name__ == "__main__":
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(json.loads(os.environ["BEARERGUARD_CONFIG"]))
    server = Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
    sys.exit(0)
