"""What the FastAPI and Flask adapters answer for a refusal, in one place so they agree.

A refusal answers with the error's status, ``Cache-Control: no-store``, the RFC 6750
``WWW-Authenticate`` value when the error has one, and the body ``{"error": code}``: the stable
code only, never the detail. Server-side failures are logged here: ``configuration`` and
``internal`` (500) at error level, ``unavailable`` (503) as a warning, refusals of the client's
request at debug level. The logged detail is the core's fixed text, which never holds a token or
a secret.
"""

from __future__ import annotations

import logging

from bearerguard._native import RESOURCE_METADATA_CACHE_CONTROL, Validator
from bearerguard.errors import BearerGuardError

logger = logging.getLogger("bearerguard")


def refusal(error: BearerGuardError) -> tuple[int, dict[str, str], dict[str, str]]:
    """The status, headers and JSON body that answer `error`."""
    headers = {"Cache-Control": "no-store"}
    if error.www_authenticate:
        headers["WWW-Authenticate"] = error.www_authenticate
    return error.status_code, headers, {"error": error.code}


def log_refusal(error: BearerGuardError) -> None:
    """Logs `error` at the level its kind deserves."""
    if error.status_code == 503:
        logger.warning("authorization server unavailable: %s (%s)", error.code, error.detail)
    elif error.status_code >= 500:
        logger.error("bearerguard cannot decide: %s (%s)", error.code, error.detail)
    else:
        logger.debug("request refused: %s (%s)", error.code, error.detail)


def resource_metadata(validator: Validator) -> tuple[str, str, dict[str, str]]:
    """Where the RFC 9728 metadata document is served, its JSON text and its headers."""
    path, body = validator.resource_metadata_path, validator.resource_metadata_json
    if path is None or body is None:
        raise ValueError("serving the resource metadata needs a validator built with a `resource`")
    headers = {"Cache-Control": RESOURCE_METADATA_CACHE_CONTROL, "Access-Control-Allow-Origin": "*"}
    return path, body, headers
