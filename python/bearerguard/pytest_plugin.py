"""The pytest plugin of the test kit: the fixture ``bearerguard_server``.

Registered (entry point ``pytest11``) when bearerguard is installed; otherwise add
``pytest_plugins = ["bearerguard.pytest_plugin"]`` to a ``conftest.py``. See
`bearerguard.testing` for what the server does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bearerguard.testing import AuthorizationServer

__all__ = ["bearerguard_server"]


@pytest.fixture
def bearerguard_server() -> Iterator[AuthorizationServer]:
    """A fresh in-process authorization server for one test, closed after it."""
    with AuthorizationServer() as server:
        yield server
