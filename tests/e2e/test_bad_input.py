# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input table (tests/reliability/bad_input.py): every module refuses invalid values before any request.

One play per module, one task per case: the task must fail cleanly with a message naming the option, and the
emulator must log no request for it; conftest's scan checks that no secret shows in any output.
"""

from __future__ import annotations

import pytest

from conftest import routes
from reliability import bad_input

TABLE = bad_input.table()


def summary(result: bad_input.TableRun) -> str:
    lines = ["%d %s %s (%s): %s | %s" % (verdict.number, verdict.case.module, verdict.case.option, verdict.case.problem,
                                         "; ".join(verdict.problems), verdict.msg[:200])
             for verdict in result.verdicts if verdict.problems]
    return "\n".join(lines + ["unexplained request: %s" % entry["path"] for entry in result.unclaimed])


def test_the_table_covers_every_module_and_option():
    covered = {(case.module, case.option) for case in TABLE}
    assert {module for module, _option in covered} == set(bad_input.MODULES)
    for module in bad_input.MODULES:
        assert len([case for case in TABLE if case.module == module]) >= 10, module
    for option in ("keyset", "use", "kty", "nbf", "exp", "valid_for", "renew_before", "create_keyset", "tenant_id",
                   "client_id", "client_secret", "client_certificate_path", "federated_token_file", "access_token",
                   "cloud", "graph_endpoint", "authority_host", "validate_certs", "allow_http", "ca_path", "timeout",
                   "token_cache"):
        assert ("b2c_keyset_key", option) in covered, option


@pytest.mark.parametrize("module", bad_input.MODULES)
def test_bad_values_are_refused_before_any_request(ansible, module):
    cases = [case for case in TABLE if case.module == module]
    result = bad_input.run_table(ansible, cases)
    assert len(result.verdicts) == len(cases)
    assert not [verdict for verdict in result.verdicts if verdict.problems] and not result.unclaimed, summary(result)
    assert all(verdict.refused and not verdict.requests for verdict in result.verdicts)


def test_a_string_for_a_list_of_dicts_is_refused_without_echoing_secrets(ansible):
    """ansible-core stops collecting no_log values at such a value and echoes the raw arguments: GraphModule masks its
    secret options itself (a leak fails the run in conftest's scan)."""
    (case,) = [case for case in TABLE if case.core_message]
    result = bad_input.run_table(ansible, [case])
    (verdict,) = result.verdicts
    assert verdict.refused and not verdict.requests and not verdict.problems, summary(result)
    assert "keysets" not in verdict.msg  # ansible-core's words: once it names the option, drop core_message


def test_accepted_key_set_names_stay_in_one_path_segment(ansible, control):
    names = {"a.b-c_d": "B2C_1A_a.b-c_d", "..x": "B2C_1A_..x", "b2c_1a_Lower": "B2C_1A_Lower", "B2C_1A_x": "B2C_1A_x",
             "9": "B2C_1A_9", "K" * 120: "B2C_1A_" + "K" * 120}
    tasks = [{"name": "info-%d" % index, "entra.b2c.b2c_keyset_info": {"keyset": name}}
             for index, name in enumerate(names)]
    run = ansible.playbook(tasks)
    assert run.rc == 0, run.output[-2000:]
    assert all(run.result("info-%d" % index)["keysets"] == [] for index in range(len(names)))
    graph = [entry for entry in control.requests() if entry["route"] not in ("discovery", "token")]
    assert [entry["path"] for entry in graph] == ["/beta/trustFramework/keySets/" + service for service in names.values()]
    assert routes(control, "keysets.get") == ["keysets.get"] * len(names)
