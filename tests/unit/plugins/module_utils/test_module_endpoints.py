# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""graph_endpoint and authority_host from their arguments or AZURE_GRAPH_ENDPOINT / AZURE_AUTHORITY_HOST
(plugins/module_utils/_core/module.py); tests/e2e/test_endpoint_env.py runs them end to end."""

from __future__ import annotations

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._core.context import _endpoint_override

VARIABLE = "AZURE_GRAPH_ENDPOINT"


def override(argument, environ):
    return _endpoint_override({"graph_endpoint": argument}, "graph_endpoint", VARIABLE, environ)


def test_the_argument_wins_over_the_variable():
    assert override("https://a.example", {VARIABLE: "https://b.example"}) == ("https://a.example", "graph_endpoint")


def test_the_variable_when_no_argument_and_messages_name_it():
    assert override(None, {VARIABLE: " https://b.example:8443 "}) == (
        "https://b.example:8443", "graph_endpoint (from AZURE_GRAPH_ENDPOINT)")


@pytest.mark.parametrize("environ", [{}, {VARIABLE: ""}, {VARIABLE: "   "}])
def test_neither_gives_none(environ):
    assert override(None, environ)[0] is None
    assert override("", environ)[0] is None


@pytest.mark.parametrize("value, expected", [
    ("login.microsoftonline.us", "https://login.microsoftonline.us"),
    ("127.0.0.1:8443", "https://127.0.0.1:8443"),
    ("graph.example/", "https://graph.example/"),
    ("http://127.0.0.1:8443", "http://127.0.0.1:8443"),  # left for endpoint_root to refuse or allow
    ("graph endpoint", "graph endpoint"),  # not a host: endpoint_root refuses it with its own message
    ("graph.example/v1.0", "graph.example/v1.0"),
])
def test_a_bare_host_means_https_and_anything_else_is_kept(value, expected):
    assert override(value, {})[0] == expected
    assert override(None, {VARIABLE: value})[0] == expected
