"""The harness for tests of many issuers (issue 13): `auth_server` and `auth_server_b` (started
with `--tenant b`) run at once, each its own issuer with its own clients."""

from __future__ import annotations

import httpx

from bearerguard import Validator
from conftest import AuthServer


def test_tenant_server_has_its_own_issuer_and_clients(auth_server: AuthServer, auth_server_b: AuthServer) -> None:
    a, b = auth_server, auth_server_b
    assert (a.tenant, b.tenant) == (None, "b")
    assert a.issuer != b.issuer
    assert a.resources == b.resources
    svc_a, svc_b = a.clients["svc"], b.clients["svc"]
    assert svc_b["client_id"] == f"b-{svc_a['client_id']}"
    assert svc_b["client_secret"] != svc_a["client_secret"]
    assert b.clients["rs_pkjwt"]["client_id"] == a.clients["rs_pkjwt"]["client_id"]

    # A client_credentials token from b with b's svc client, introspected at b with b's rs_basic.
    token = b.token("opaque", "read")
    info = Validator(**b.config("rs_basic")).validate(token)
    assert info.issuer == b.issuer
    assert info.client_id == svc_b["client_id"]

    # Separate registrations: each server refuses the other's svc credentials.
    def status(server: AuthServer, svc: dict[str, str]) -> int:
        form = {"grant_type": "client_credentials", "scope": "read", "resource": server.resources["opaque"]}
        auth = (svc["client_id"], svc["client_secret"])
        return httpx.post(server.ready["token_endpoint"], data=form, auth=auth).status_code

    assert status(a, svc_b) == 401
    assert status(b, svc_a) == 401
    assert status(b, svc_b) == 200
