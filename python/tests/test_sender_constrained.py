"""Sender-constrained tokens issued by the real authorization server (oidc-provider): DPoP-bound
(RFC 9449) and certificate-bound (RFC 8705) tokens, JWT and opaque, through validate_request.
Proofs are made here with `cryptography`, as a client would make them."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bearerguard import InvalidDpopProofError, InvalidTokenError, MissingTokenError, Validator

URL = "https://api.example.test/orders"


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class DpopKey:
    """A client's DPoP key (ES256): `proof(htm, htu, **claims)` signs a proof with it."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64(numbers.x.to_bytes(32, "big")),
            "y": b64(numbers.y.to_bytes(32, "big")),
        }

    def proof(self, htm: str, htu: str, **claims: Any) -> str:
        header = b64({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk})
        payload = b64({"htm": htm, "htu": htu, "iat": int(time.time()), "jti": str(uuid.uuid4()), **claims})
        r, s = decode_dss_signature(self.key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
        return f"{header}.{payload}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode()).digest())


def issue(auth_server: Any, client: str, resource: str, headers: dict[str, str]) -> dict[str, Any]:
    c = auth_server.clients[client]
    form = {"grant_type": "client_credentials", "scope": "read", "resource": auth_server.resources[resource]}
    r = httpx.post(
        auth_server.ready["token_endpoint"], data=form, headers=headers, auth=(c["client_id"], c["client_secret"])
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.parametrize("resource", ["jwt", "opaque"])
def test_a_dpop_bound_token_with_a_good_proof_is_accepted_and_misuse_refused(auth_server: Any, resource: str) -> None:
    key = DpopKey()
    issued = issue(auth_server, "svc", resource, {"DPoP": key.proof("POST", auth_server.ready["token_endpoint"])})
    assert issued["token_type"] == "DPoP"
    token = issued["access_token"]
    validator = Validator(**auth_server.config(sender_constraint="allow"))
    proof = key.proof("GET", URL, ath=ath(token))
    info = validator.validate_request([f"DPoP {token}"], method="GET", url=URL, dpop=[proof])
    assert info.client_id == "svc-client"
    assert info.source == ("jwt" if resource == "jwt" else "introspection")
    with pytest.raises(InvalidDpopProofError):  # the same proof again: a replay
        validator.validate_request([f"DPoP {token}"], method="GET", url=URL, dpop=[proof])
    with pytest.raises(InvalidTokenError):  # a bound token sent as a bearer token
        validator.validate_request([f"Bearer {token}"], method="GET", url=URL)
    with pytest.raises(InvalidTokenError):  # a good proof by another key
        validator.validate_request(
            [f"DPoP {token}"], method="GET", url=URL, dpop=[DpopKey().proof("GET", URL, ath=ath(token))]
        )
    strict = Validator(**auth_server.config())  # the default policy: no DPoP scheme, bound tokens refused
    with pytest.raises(MissingTokenError):
        strict.validate_request([f"DPoP {token}"], method="GET", url=URL, dpop=[key.proof("GET", URL, ath=ath(token))])
    with pytest.raises(InvalidTokenError):
        strict.validate_request([f"Bearer {token}"], method="GET", url=URL)


@pytest.mark.parametrize("resource", ["jwt", "opaque"])
def test_a_certificate_bound_token_with_its_certificate_is_accepted(auth_server: Any, resource: str) -> None:
    client = auth_server.clients["svc_mtls"]
    pem = Path(client["certificate_pem"]).read_text()
    issued = issue(auth_server, "svc_mtls", resource, {client["certificate_header"]: urllib.parse.quote(pem, safe="")})
    token = issued["access_token"]
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    validator = Validator(**auth_server.config(sender_constraint="allow"))
    info = validator.validate_request([f"Bearer {token}"], method="GET", url=URL, client_certificate=der)
    assert info.client_id == "svc-mtls-client"
    with pytest.raises(InvalidTokenError):
        validator.validate_request([f"Bearer {token}"], method="GET", url=URL)
    with pytest.raises(InvalidTokenError):
        validator.validate_request(
            [f"Bearer {token}"], method="GET", url=URL, client_certificate=der[:-1] + bytes([der[-1] ^ 1])
        )
    proxied = Validator(**auth_server.config(sender_constraint="allow", client_certificate_header="client-cert"))
    headers = {"client-cert": f":{base64.b64encode(der).decode()}:"}
    assert proxied.validate_request([f"Bearer {token}"], method="GET", url=URL, headers=headers).client_id == (
        "svc-mtls-client"
    )
    with pytest.raises(InvalidTokenError):  # a validator that trusts no proxy ignores the header
        validator.validate_request([f"Bearer {token}"], method="GET", url=URL, headers=headers)
