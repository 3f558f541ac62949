# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit and property tests for the pure reporting layer (plugins/module_utils/_keysets/report.py)."""

from __future__ import annotations

import calendar
import json

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import PRIVATE_FIELDS, KeyRequest, satisfies
from ansible_collections.entra.b2c.plugins.module_utils._keysets.report import (
    expires_in_days,
    expiring,
    expiring_entry,
    is_backup,
    key_report,
    keyset_report,
)
from hypothesis import given, settings
from hypothesis import strategies as st

DAY = 86400
NOW = calendar.timegm((2026, 6, 1, 12, 0, 0))  # 2026-06-01T12:00:00Z

# No example database, so a run leaves no .hypothesis directory behind; no deadline on 2 shared cores.
PROPERTY = settings(database=None, deadline=None, max_examples=300)


def key(kid="k1", use="sig", kty="RSA", **fields) -> dict:
    return dict(kid=kid, use=use, kty=kty, **fields)


# -- expires_in_days --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, days", [
    (90 * DAY, 90.0),
    (DAY // 4, 0.25),
    (DAY + 864, 1.01),
    (DAY + 863, 1.0),       # floored, never more time than there is
    (864, 0.01),
    (863, 0.0),
    (1, 0.0),
    (0, 0.0),               # the second of expiry
    (-1, -0.01),            # expired a second ago: negative, not -0.0
    (-864, -0.01),
    (-865, -0.02),
    (-3 * DAY, -3.0),
])
def test_expires_in_days_boundaries(seconds, days):
    value = expires_in_days({"exp": NOW + seconds}, NOW)
    assert isinstance(value, float)
    assert value == days
    assert str(value) == str(days)  # two decimals at most, as JSON will show it


def test_expires_in_days_negative_zero_never_appears():
    assert str(expires_in_days({"exp": NOW - 1}, NOW)) == "-0.01"


@pytest.mark.parametrize("exp", [None, "", "soon", True, float("nan")])
def test_expires_in_days_without_a_usable_exp_is_none(exp):
    assert expires_in_days({"exp": exp}, NOW) is None
    assert expires_in_days({}, NOW) is None


def test_expires_in_days_reads_string_times_like_the_service_sends():
    assert expires_in_days({"exp": str(NOW + 2 * DAY)}, NOW) == 2.0


@PROPERTY
@given(seconds=st.integers(min_value=-(10 ** 12), max_value=10 ** 12))
def test_expires_in_days_is_a_floor_to_two_decimals(seconds):
    value = expires_in_days({"exp": NOW + seconds}, NOW)
    # Negative exactly when expired before now; never more time than there is; less by under 0.01 day.
    assert (value < 0) == (seconds < 0)
    assert value * DAY <= seconds + 1e-6 * abs(seconds)
    assert seconds - value * DAY < 864 + 1e-6 * abs(seconds)
    assert round(value, 2) == value


@PROPERTY
@given(first=st.integers(-(10 ** 10), 10 ** 10), second=st.integers(-(10 ** 10), 10 ** 10))
def test_expires_in_days_is_monotonic(first, second):
    low, high = sorted((first, second))
    assert expires_in_days({"exp": NOW + low}, NOW) <= expires_in_days({"exp": NOW + high}, NOW)


# -- key_report and keyset_report -------------------------------------------------------------------------------------

def test_key_report_is_public_facts_plus_days():
    raw = key(nbf=NOW - DAY, exp=NOW + DAY, status="enabled", e="AQAB", n="abc", d="PRIVATE", p="P", q="Q", dp="DP",
              dq="DQ", qi="QI", k=None)
    report = key_report(raw, NOW)
    assert report == {
        "kid": "k1", "use": "sig", "kty": "RSA", "nbf": NOW - DAY, "exp": NOW + DAY, "status": "enabled",
        "e": "AQAB", "n": "abc", "not_before": "2026-05-31T12:00:00Z", "expires": "2026-06-02T12:00:00Z",
        "expires_in_days": 1.0,
    }
    for private in PRIVATE_FIELDS:
        assert private not in report
    assert "PRIVATE" not in json.dumps(report)


def test_key_report_without_times():
    report = key_report(key(kty="oct"), NOW)
    assert report["not_before"] is None and report["expires"] is None and report["expires_in_days"] is None


def test_keyset_report_picks_the_latest_nbf_among_valid_keys():
    older = key("older", nbf=NOW - 30 * DAY, exp=NOW + 300 * DAY)
    newer = key("newer", nbf=NOW - DAY, exp=NOW + 100 * DAY)
    future = key("future", nbf=NOW + DAY, exp=NOW + 400 * DAY)
    disabled = key("disabled", nbf=NOW - 1, exp=NOW + 500 * DAY, status="disabled")
    report = keyset_report({"id": "B2C_1A_Sig", "keys": [older, newer, future, disabled]}, NOW)
    assert report["id"] == "B2C_1A_Sig"
    assert [k["kid"] for k in report["keyset_keys"]] == ["older", "newer", "future", "disabled"]
    assert report["active_key"]["kid"] == "newer"
    assert report["active_key"] == report["keyset_keys"][1]
    assert report["valid"] is True


@pytest.mark.parametrize("keys", [
    [],
    [key(nbf=NOW - 10 * DAY, exp=NOW - DAY)],
    [key(exp=NOW)],                                       # exp is exclusive: expired at its own second
    [key(nbf=NOW + 1)],                                   # not active yet
    [key(status="disabled"), key("k2", status="Disabled", exp=NOW + DAY)],
])
def test_keyset_report_without_a_valid_key(keys):
    report = keyset_report({"id": "B2C_1A_X", "keys": keys}, NOW)
    assert report["active_key"] is None
    assert report["valid"] is False
    assert len(report["keyset_keys"]) == len(keys)


@pytest.mark.parametrize("keyset", [{"id": "B2C_1A_X"}, {"id": "B2C_1A_X", "keys": None},
                                    {"id": "B2C_1A_X", "keys": ["not a key", None]}])
def test_keyset_report_tolerates_missing_or_odd_keys(keyset):
    assert keyset_report(keyset, NOW) == {"id": "B2C_1A_X", "keyset_keys": [], "active_key": None, "valid": False}


def test_key_valid_from_its_nbf_second():
    report = keyset_report({"id": "B2C_1A_X", "keys": [key(nbf=NOW)]}, NOW)
    assert report["valid"] is True and report["active_key"]["kid"] == "k1"


# -- expiring ---------------------------------------------------------------------------------------------------------

def test_expiring_reasons_across_a_tenant():
    keysets = [
        {"id": "B2C_1A_Fine", "keys": [key(nbf=NOW - DAY, exp=NOW + 90 * DAY)]},
        {"id": "B2C_1A_Soon", "keys": [key(nbf=NOW - DAY, exp=NOW + 10 * DAY)]},
        {"id": "B2C_1A_Expired", "keys": [key(nbf=NOW - 90 * DAY, exp=NOW - DAY)]},
        {"id": "B2C_1A_Empty", "keys": []},
        {"id": "B2C_1A_DisabledOnly", "keys": [key(status="disabled")]},
        {"id": "B2C_1A_Forever", "keys": [key(kty="oct")]},
    ]
    entries = expiring(keysets, 30 * DAY, NOW)
    assert [(entry["id"], entry["reason"]) for entry in entries] == [
        ("B2C_1A_Soon", "expiring"),
        ("B2C_1A_Expired", "no_valid_key"),
        ("B2C_1A_Empty", "no_valid_key"),
        ("B2C_1A_DisabledOnly", "no_valid_key"),
    ]
    soon = entries[0]
    assert soon["expires_in_days"] == 10.0
    assert soon["active_key"]["kid"] == "k1" and soon["active_key"]["expires_in_days"] == 10.0
    for entry in entries[1:]:
        assert entry["active_key"] is None and entry["expires_in_days"] is None


@pytest.mark.parametrize("exp_offset, listed", [
    (30 * DAY - 1, True),
    (30 * DAY, True),        # at now + within: expiring, like renew_before in b2c_keyset_key
    (30 * DAY + 1, False),
])
def test_expiring_boundary(exp_offset, listed):
    keyset = {"id": "B2C_1A_Sig", "keys": [key(nbf=NOW - DAY, exp=NOW + exp_offset)]}
    assert (expiring_entry(keyset, 30 * DAY, NOW) is not None) is listed


def test_zero_window_lists_only_sets_without_a_valid_key():
    keysets = [{"id": "B2C_1A_A", "keys": [key(exp=NOW + 1)]}, {"id": "B2C_1A_B", "keys": [key(exp=NOW)]}]
    assert [(entry["id"], entry["reason"]) for entry in expiring(keysets, 0, NOW)] == [("B2C_1A_B", "no_valid_key")]


def test_only_the_active_key_counts():
    # The newer key is active and fine; the older one still valid but expiring does not make the set expiring.
    fine = {"id": "B2C_1A_Sig", "keys": [key("old", nbf=NOW - 300 * DAY, exp=NOW + 5 * DAY),
                                         key("new", nbf=NOW - DAY, exp=NOW + 365 * DAY)]}
    assert expiring_entry(fine, 30 * DAY, NOW) is None
    # The active key (latest nbf) expires soon: listed, even though an older key would outlive it.
    soon = {"id": "B2C_1A_Sig", "keys": [key("old", nbf=NOW - 300 * DAY, exp=NOW + 365 * DAY),
                                         key("new", nbf=NOW - DAY, exp=NOW + 5 * DAY)]}
    entry = expiring_entry(soon, 30 * DAY, NOW)
    assert entry["reason"] == "expiring" and entry["active_key"]["kid"] == "new"


def test_backup_sets_are_never_listed():
    assert is_backup("B2C_1A_Sig.bak") and not is_backup("B2C_1A_Sig") and not is_backup(None)
    keysets = [{"id": "B2C_1A_Sig.bak", "keys": []}, {"id": "B2C_1A_Sig", "keys": []}]
    assert [entry["id"] for entry in expiring(keysets, DAY, NOW)] == ["B2C_1A_Sig"]


# -- properties -------------------------------------------------------------------------------------------------------

TIMES = st.one_of(st.none(), st.integers(NOW - 400 * DAY, NOW + 400 * DAY))
KEYS = st.builds(
    lambda kid, nbf, exp, status: {k: v for k, v in
                                   dict(kid=kid, use="sig", kty="RSA", nbf=nbf, exp=exp, status=status).items()
                                   if v is not None},
    kid=st.text("abcdef0123456789", min_size=4, max_size=8),
    nbf=TIMES, exp=TIMES, status=st.sampled_from([None, "enabled", "disabled"]),
)


@PROPERTY
@given(keys=st.lists(KEYS, max_size=6, unique_by=lambda k: k["kid"]), within=st.integers(0, 400 * DAY))
def test_expiring_agrees_with_the_renewal_rule(keys, within):
    """A set is listed exactly when b2c_keyset_key with renew_before=within would not keep its active key."""
    keyset = {"id": "B2C_1A_Sig", "keys": keys}
    report = keyset_report(keyset, NOW)
    entry = expiring_entry(keyset, within, NOW)
    assert report["valid"] is (report["active_key"] is not None)
    if not report["valid"]:
        assert entry is not None and entry["reason"] == "no_valid_key"
        return
    active = next(k for k in keys if k["kid"] == report["active_key"]["kid"])
    renewal = KeyRequest(use="sig", kty="RSA", nbf=None, exp=None, renew_before=within)
    assert (entry is None) is satisfies(active, renewal, NOW)
    if entry is not None:
        assert entry["reason"] == "expiring" and entry["active_key"] == report["active_key"]


@PROPERTY
@given(keys=st.lists(KEYS, max_size=6), within=st.integers(0, 400 * DAY))
def test_expiring_only_grows_with_the_window(keys, within):
    keyset = {"id": "B2C_1A_Sig", "keys": keys}
    if expiring_entry(keyset, within, NOW) is not None:
        assert expiring_entry(keyset, within + DAY, NOW) is not None
