# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""graph_endpoint and authority_host from AZURE_GRAPH_ENDPOINT and AZURE_AUTHORITY_HOST: an argument wins, option by
option, as for every other option."""

from __future__ import annotations

import pytest

from conftest import key_task, keyset_keys, routes

CLOSED = "https://127.0.0.1:9"  # nothing listens there: a request sent to it fails


def endpoints_env(emulator, graph=None, authority=None) -> dict:
    return {"AZURE_GRAPH_ENDPOINT": graph or emulator.url, "AZURE_AUTHORITY_HOST": authority or emulator.url}


def without_endpoints(ansible, **overrides) -> dict:
    return ansible.connection(graph_endpoint=None, authority_host=None, **overrides)


@pytest.mark.compat
def test_endpoints_from_the_environment(ansible, control):
    run = ansible.playbook([key_task(keyset="FromEnv", use="sig", valid_for="30d")],
                           defaults=without_endpoints(ansible), extra_env=endpoints_env(ansible.emulator))
    assert run.result()["changed"] is True, run.output[-3000:]
    assert len(keyset_keys(control, "B2C_1A_FromEnv")) == 1
    assert "token" in routes(control) and "keys.generate" in routes(control)


@pytest.mark.parametrize("option", ["graph_endpoint", "authority_host"])
def test_an_argument_wins_over_the_environment(ansible, control, option):
    variable = {"graph_endpoint": "AZURE_GRAPH_ENDPOINT", "authority_host": "AZURE_AUTHORITY_HOST"}[option]
    # The argument (through module_defaults) is right and the variable points nowhere: it works.
    good = ansible.playbook([key_task(keyset="ArgWins", use="sig", valid_for="30d")],
                            extra_env={variable: CLOSED})
    assert good.result()["changed"] is True, good.output[-3000:]
    # The variable is right and the argument points nowhere: the argument is still the one used, and fails.
    control.clear_requests()
    bad = ansible.playbook([key_task(keyset="ArgWins2", use="sig", valid_for="30d")],
                           defaults=ansible.connection(**{option: CLOSED}),
                           extra_env={variable: ansible.emulator.url})
    assert bad.task("key")["status"] == "failed"
    # The emulator never saw the requests meant for the overridden host.
    never_reached = "keysets.get" if option == "graph_endpoint" else "token"
    assert never_reached not in routes(control), routes(control)
    assert keyset_keys(control, "B2C_1A_ArgWins2") == []


def test_a_bare_host_means_https(ansible, control):
    """azure-identity's AZURE_AUTHORITY_HOST values are often bare hosts (login.microsoftonline.us)."""
    bare = ansible.emulator.url.split("://", 1)[1]
    run = ansible.playbook([key_task(keyset="Bare", use="sig", valid_for="30d")], defaults=without_endpoints(ansible),
                           extra_env=endpoints_env(ansible.emulator, graph=bare, authority=bare))
    assert run.result()["changed"] is True, run.output[-3000:]


@pytest.mark.parametrize("variable, value, message", [
    ("AZURE_GRAPH_ENDPOINT", "{url}/v1.0",
     "graph_endpoint (from AZURE_GRAPH_ENDPOINT): '{url}/v1.0' must be a scheme, host and optional port only, such as "
     "https://127.0.0.1:8443; the collection appends the API path itself"),
    ("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9",
     "authority_host (from AZURE_AUTHORITY_HOST): 'http://127.0.0.1:9' is plain http"),
])
def test_a_wrong_value_in_the_environment_is_named_before_any_request(ansible, control, variable, value, message):
    url = ansible.emulator.url
    environment = endpoints_env(ansible.emulator)
    environment[variable] = value.format(url=url)
    run = ansible.playbook([key_task(keyset="Wrong", use="sig", valid_for="30d")], defaults=without_endpoints(ansible),
                           extra_env=environment)
    assert run.task("key")["status"] == "failed"
    assert run.result()["msg"].startswith(message.format(url=url)), run.result()["msg"]
    assert control.requests() == []
