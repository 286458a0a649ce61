"""The FastAPI app of `make demo`: GET /orders requires scope "write".

Reads the validator config (core JSON keys) from BEARERGUARD_CONFIG, listens on 127.0.0.1 on a
free port and prints {"ready": true, "port": N} once it accepts connections.
"""

import json
import os
import socket
import sys
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Security

from bearerguard import TokenInfo, Validator
from bearerguard.fastapi import BearerAuth, install

validator = Validator.from_config(json.loads(os.environ["BEARERGUARD_CONFIG"]))
bearer = BearerAuth(validator)
app = FastAPI(title="orders")
install(app)


@app.get("/orders")
async def orders(token: Annotated[TokenInfo, Security(bearer, scopes=["write"])]) -> dict[str, object]:
    return {"subject": token.subject, "scopes": list(token.scopes), "source": token.source}


class Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        port = sockets[0].getsockname()[1] if sockets else 0
        print(json.dumps({"ready": True, "port": port}), flush=True)


if __name__ == "__main__":
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
    sys.exit(0)
