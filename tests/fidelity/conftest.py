# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fidelity tests: the emulator must answer like Microsoft Graph (beta) key sets and Entra ID's token endpoint.

One emulator per session (started in-process), reset before every test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

# `emulator` lives in tests/, the helpers next to this file (whatever pytest's import mode)
sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from fidelity_helpers import GRAPH_SCOPE, Certificate, Graph, make_certificate, msal_app  # noqa: E402  pylint: disable=wrong-import-position

# requests lets these override the `verify` given to a session (msal's `verify=` lands on one): unset them here
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    saved = {name: os.environ.pop(name) for name in CA_BUNDLE_VARIABLES if name in os.environ}
    try:
        with Emulator() as emu:
            yield emu
    finally:
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def fresh_tenant(emulator: Emulator) -> None:
    emulator.control.reset()


@pytest.fixture(scope="session")
def token(emulator: Emulator) -> str:
    """A Graph token of the ready app, from the token endpoint through msal (reset() lifts revocations)."""
    result = msal_app(emulator, emulator.client_id, emulator.client_secret).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    return result["access_token"]


@pytest.fixture
def graph(emulator: Emulator, token: str) -> Iterator[Graph]:
    client = Graph(emulator, token)
    yield client
    client.session.close()


@pytest.fixture(scope="session")
def certificate() -> Certificate:
    return make_certificate()
