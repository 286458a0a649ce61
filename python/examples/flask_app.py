"""A Flask API protected by bearerguard: GET /orders requires scope "write".

`create_app(config)` builds the app for a validator config (core JSON keys): the tests of
python/tests/test_testkit_flask.py pass the test kit's. Run as a script, it reads the config
from BEARERGUARD_CONFIG and serves on 127.0.0.1:5000 (PORT to change it).
"""

import json
import os

from flask import Flask, g

from bearerguard import Validator, ValidatorConfig
from bearerguard.flask import BearerAuth


def create_app(config: ValidatorConfig) -> Flask:
    """The orders API, protected by a validator built from `config`."""
    require_token = BearerAuth(Validator.from_config(config))
    app = Flask(__name__)

    @app.get("/orders")
    @require_token("write")
    def orders() -> dict[str, object]:
        token = g.token_info
        return {"subject": token.subject, "scopes": list(token.scopes), "source": token.source}

    return app


if __name__ == "__main__":
    create_app(json.loads(os.environ["BEARERGUARD_CONFIG"])).run("127.0.0.1", int(os.environ.get("PORT", "5000")))
