# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The policy modules' file reading and wave running (no Graph: the end-to-end suite runs the flows for real)."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import PolicyError, parse_policy
from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import (
    directory_sources,
    in_parallel,
    in_waves,
    item_sources,
    load_set,
    tenant_bases,
)

TENANT = "contoso.onmicrosoft.com"


def xml(policy_id, base=None, tenant=TENANT):
    base_block = f"<BasePolicy><TenantId>{tenant}</TenantId><PolicyId>{base}</PolicyId></BasePolicy>" if base else ""
    return (f'<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" '
            f'PolicySchemaVersion="0.3.0.0" TenantId="{tenant}" PolicyId="{policy_id}" '
            f'PublicPolicyUri="http://{tenant}/{policy_id}">{base_block}</TrustFrameworkPolicy>')


def test_a_directory_gives_its_matching_files_by_name_as_bytes(tmp_path):
    (tmp_path / "b.xml").write_bytes(b"\xef\xbb\xbf<b/>")
    (tmp_path / "a.xml").write_text("<a/>", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / ".hidden.xml").write_text("<h/>", encoding="utf-8")
    (tmp_path / "sub.xml").mkdir()
    assert directory_sources(str(tmp_path), "*.xml") == [(str(tmp_path / "a.xml"), b"<a/>"),
                                                         (str(tmp_path / "b.xml"), b"\xef\xbb\xbf<b/>")]
    assert [source for source, _content in directory_sources(str(tmp_path), "*.txt")] == [str(tmp_path / "notes.txt")]


@pytest.mark.parametrize("where, pattern, fragment", [
    ("missing", "*.xml", "is not a directory"),
    ("file", "*.xml", "is not a directory"),
    ("dir", "*.json", "no file in"),
    ("dir", "sub/*.xml", "must be a file name pattern"),
    ("dir", "", "must be a file name pattern"),
])
def test_a_directory_that_gives_no_policy_is_refused(tmp_path, where, pattern, fragment):
    (tmp_path / "a.xml").write_text("<a/>", encoding="utf-8")
    path = {"missing": tmp_path / "nope", "file": tmp_path / "a.xml", "dir": tmp_path}[where]
    with pytest.raises(PolicyError, match=fragment):
        directory_sources(str(path), pattern)


def test_list_entries_are_a_path_or_a_content_named_by_their_source(tmp_path):
    (tmp_path / "p.xml").write_text("<p/>", encoding="utf-8")
    sources = item_sources([{"path": str(tmp_path / "p.xml")}, {"content": "<c/>"},
                            {"content": "<d/>", "source": "templates/d.xml"}])
    assert sources == [(str(tmp_path / "p.xml"), b"<p/>"), ("policies[1]", "<c/>"), ("templates/d.xml", "<d/>")]


@pytest.mark.parametrize("items, fragment", [
    ([{"content": "<c/>"}, {"path": "/x", "content": "<c/>"}], "policies[1]: give exactly one of path and content "
                                                               "(got path and content)"),
    ([{"source": "s"}], "policies[0]: give exactly one of path and content (got neither)"),
    ([{"path": "/no/such/file.xml"}], "policies[0]: cannot read the policy file /no/such/file.xml"),
    ([], "the list is empty"),
])
def test_bad_list_entries_are_refused(items, fragment):
    with pytest.raises(PolicyError) as caught:
        item_sources(items)
    assert fragment in str(caught.value)


def test_every_problem_of_every_file_is_reported_at_once():
    sources = [("a.xml", xml("B2C_1A_A")), ("b.xml", "<broken"), ("c.xml", xml("C", tenant="fabrikam.onmicrosoft.com"))]
    with pytest.raises(PolicyError) as caught:
        load_set(sources, TENANT)
    problems = caught.value.problems
    assert len(problems) == 3
    # one problem a line, under the count
    assert str(caught.value).splitlines() == ["3 problem(s) in the policy set, nothing was sent:"] + [
        "- " + problem for problem in problems]
    assert problems[0].startswith("b.xml: not well-formed XML")
    assert "lacks the B2C_1A_ prefix" in problems[1] and "is not the tenant of this task" in problems[2]
    assert [policy.policy_id for policy in load_set(sources[:1], TENANT)] == ["B2C_1A_A"]


def test_in_parallel_keeps_the_order_and_runs_side_by_side():
    barrier = threading.Barrier(3, timeout=10)

    def meet(item):
        barrier.wait()  # only passes when three calls run at the same time
        return item * 2

    assert in_parallel(meet, [1, 2, 3], parallel=3) == [2, 4, 6]
    assert in_parallel(lambda item: item, [], parallel=3) == []


def test_waves_run_in_order_and_stop_after_a_failing_wave():
    seen = []

    def act(item, done):
        seen.append((item, sorted(done)))
        if item == "b2":
            raise GraphError("refused", status=400, code="AADB2C")

    done, failed, not_attempted = in_waves([["a"], ["b1", "b2", "b3"], ["c"], ["d"]], act, lambda item: item, 2)
    assert done == ["a", "b1", "b3"] and list(failed) == ["b2"] and not_attempted == {"c", "d"}
    assert sorted(seen) == [("a", []), ("b1", ["a"]), ("b2", ["a"]), ("b3", ["a"])]

    done, failed, not_attempted = in_waves([["a"], ["b"]], lambda item, done: None, lambda item: item, 1)
    assert (done, failed, not_attempted) == (["a", "b"], {}, set())


def test_an_error_that_is_not_graphs_is_not_swallowed():
    def act(item, done):
        raise KeyError(item)

    with pytest.raises(KeyError):
        in_waves([["a"]], act, lambda item: item, 1)


class FakeTenant:
    """A run context whose policy API is a tenant holding `stored` (id -> XML): records each read."""

    def __init__(self, stored):
        self.stored = stored
        self.reads = []

    def api(self, _factory):
        return self

    def get_xml(self, policy_id):
        self.reads.append(policy_id)
        return self.stored.get(policy_id.upper())


def test_tenant_bases_reads_only_the_bases_outside_the_set_up_to_the_root():
    tenant = FakeTenant({"B2C_1A_EXT": xml("B2C_1A_Ext", "B2C_1A_Loc").encode(), "B2C_1A_LOC": xml("B2C_1A_Loc", "B2C_1A_Base"),
                         "B2C_1A_BASE": xml("B2C_1A_Base"), "B2C_1A_OTHER": xml("B2C_1A_Other")})
    rps = [parse_policy(xml("B2C_1A_A", "B2C_1A_Ext")), parse_policy(xml("B2C_1A_B", "b2c_1a_ext"))]
    copies = tenant_bases(tenant, rps, parallel=4)
    assert sorted(copies) == ["B2C_1A_BASE", "B2C_1A_EXT", "B2C_1A_LOC"]
    assert sorted(read.upper() for read in tenant.reads) == ["B2C_1A_BASE", "B2C_1A_EXT", "B2C_1A_LOC"]  # each once

    whole = FakeTenant({})
    assert tenant_bases(whole, [parse_policy(xml("B2C_1A_Base")), parse_policy(xml("B2C_1A_Rp", "B2C_1A_Base"))], 4) == {}
    assert whole.reads == []  # every base in the set: no request

    gone = FakeTenant({})
    assert tenant_bases(gone, rps[:1], 4) == {"B2C_1A_EXT": None} and gone.reads == ["B2C_1A_Ext"]
