# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""B2C's replication delay: a key set just created is not usable at once.

Public deployment scripts pause after a create before adding a key (Azure/azure-saas: "Waiting 10 seconds for key-set
to settle"); until then a key operation answers the documented AADB2C95052 text ("... is not created. Please use
'Create api' ...") or AADB2C90073. The window is a setting (0 by default: Microsoft's own setup tools add a key right
after the create, so it does not always happen).
"""

from __future__ import annotations

import pytest
from fidelity_helpers import graph_error, wait_until_replicated

WINDOW = 2.0


@pytest.fixture
def replicating(emulator):
    emulator.control.configure(replication_delay=WINDOW)


def test_key_operations_fail_until_the_set_replicated(graph, emulator, replicating):
    keyset = graph.create("Fresh")
    for response in (graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"}),
                     graph.post(f"/{keyset}/uploadSecret", {"use": "sig", "k": "c2VjcmV0"}),
                     graph.get(f"/{keyset}/getActiveKey")):
        assert response.status_code == 400
        error = graph_error(response)
        assert error["code"] == "AADB2C95052" and "is not created" in error["message"]
    # the set itself reads fine, and no key landed
    assert graph.get(f"/{keyset}").json() == {"@odata.context": graph.get(f"/{keyset}").json()["@odata.context"],
                                              "id": keyset, "keys": []}
    assert keyset in emulator.control.replicating()  # so every answer above came from inside the window
    wait_until_replicated(emulator.control, keyset)
    assert graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"}).status_code == 200
    assert len(graph.get(f"/{keyset}").json()["keys"]) == 1


def test_the_window_counts_from_each_sets_own_create(graph, emulator, replicating):
    emulator.control.seed([{"id": "B2C_1A_Old", "keys": []}])
    assert graph.post("/B2C_1A_Old/generateKey", {"use": "sig", "kty": "RSA"}).status_code == 200
    keyset = graph.create("New")
    assert graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"}).status_code == 400


def test_variant_90073_and_404(graph, emulator, replicating):
    emulator.control.configure(replication_error="AADB2C90073", not_found_status=404)
    keyset = graph.create("Variant")
    response = graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"})
    assert response.status_code == 404 and graph_error(response)["code"] == "AADB2C90073"


def test_variant_get_fails_too(graph, emulator, replicating):
    emulator.control.configure(replication_get_fails=True)
    keyset = graph.create("Hidden")
    assert graph_error(graph.get(f"/{keyset}"))["code"] == "AADB2C90073"
    assert keyset in [item["id"] for item in graph.get().json()["value"]]  # the list already shows it
    assert graph_error(graph.post("", {"id": "Hidden"}))["code"] == "AADB2C95028"  # and it exists for a create
    assert keyset in emulator.control.replicating()
    wait_until_replicated(emulator.control, keyset)
    assert graph.get(f"/{keyset}").status_code == 200


def test_a_recreated_set_replicates_again_and_delete_is_not_delayed(graph, replicating):
    keyset = graph.create("Again")
    assert graph.delete(f"/{keyset}").status_code == 204
    assert graph.delete(f"/{keyset}.bak").status_code == 204
    graph.create("Again")
    assert graph_error(graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"}))["code"] == "AADB2C95052"


def test_off_by_default(graph):
    keyset = graph.create("Instant")
    assert graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"}).status_code == 200


def test_window_is_bounded(emulator):
    from emulator.control import ControlError
    with pytest.raises(ControlError, match="replication_delay"):
        emulator.control.configure(replication_delay=-1)
    with pytest.raises(ControlError, match="replication_error"):
        emulator.control.configure(replication_error="AADB2C90000")
