# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit and property tests for the pure key decision layer (plugins/module_utils/_keysets/keys.py)."""

from __future__ import annotations

import ast
import calendar
import importlib
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import (
    KTYS,
    MAX_DURATION,
    MAX_KEYSET_NAME,
    MAX_TIME,
    PRIVATE_FIELDS,
    PUBLIC_FIELDS,
    USES,
    KeyInputError,
    KeyRequest,
    Plan,
    WindowRule,
    active_key,
    build_request,
    conflict,
    find_landed,
    generate_body,
    iso_utc,
    key_time,
    keys_of,
    keyset_id,
    no_expiry_warning,
    normalize_kty,
    normalize_use,
    parse_duration,
    parse_time,
    pick_active,
    plan,
    public_facts,
    satisfies,
    valid_now,
)
from hypothesis import given, settings
from hypothesis import strategies as st

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 604800
NOW = calendar.timegm((2026, 6, 1, 12, 0, 0))  # 2026-06-01T12:00:00Z
KEYSET = "B2C_1A_TokenSigningKeyContainer"

# Property tests: no example database, so a run leaves no .hypothesis directory behind; no deadline on 2 shared cores.
PROPERTY = settings(database=None, deadline=None, max_examples=300)


def utc(*parts: int) -> int:
    """Epoch seconds of a UTC calendar time, computed independently of the code under test."""
    return calendar.timegm((*parts, 0, 0, 0)[:6] + (0, 0, 0))


def request(use="sig", kty="RSA", nbf=None, exp=None, renew_before=0) -> KeyRequest:
    return KeyRequest(use=use, kty=kty, nbf=nbf, exp=exp, renew_before=renew_before)


def key(kid="k1", use="sig", kty="RSA", **fields) -> dict:
    return {"kid": kid, "use": use, "kty": kty, **fields}


def refusal(option: str, func, *args) -> str:
    """Call func, expect a KeyInputError for option, and hand back its message."""
    with pytest.raises(KeyInputError) as caught:
        func(*args)
    message = str(caught.value)
    assert message.startswith(f"{option}: "), message
    assert caught.value.option == option
    assert isinstance(caught.value, ValueError)
    return message


# ---------------------------------------------------------------------------------------------------- parse_time


@pytest.mark.parametrize("value", [None, "", "   "])
def test_parse_time_unset(value):
    assert parse_time(value, "nbf") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1700000000, 1700000000),
        (MAX_TIME, MAX_TIME),
        (1700000000.9, 1700000000),
        (0.5, 0),
        ("1700000000", 1700000000),
        (" 1700000000 ", 1700000000),
        ("+1700000000", 1700000000),
        ("1700000000.75", 1700000000),
        ("1700000000.", 1700000000),
        (".5", 0),
        ("-0", 0),
        ("2027-01-31", utc(2027, 1, 31)),
        ("2027-01-31T12:00", utc(2027, 1, 31, 12)),
        ("2027-01-31T12:00:00", utc(2027, 1, 31, 12)),
        ("2027-01-31T12:00:07Z", utc(2027, 1, 31, 12, 0, 7)),
        ("2027-01-31t12:00:07z", utc(2027, 1, 31, 12, 0, 7)),
        ("2027-01-31 12:00:07", utc(2027, 1, 31, 12, 0, 7)),
        ("2027-01-31T12:00:07.999Z", utc(2027, 1, 31, 12, 0, 7)),
        ("2027-01-31T12:00:07,5", utc(2027, 1, 31, 12, 0, 7)),
        ("2027-01-31T12:00:07.123456789", utc(2027, 1, 31, 12, 0, 7)),
        ("2027-01-31T14:00:00+02:00", utc(2027, 1, 31, 12)),
        ("2027-01-31T14:00:00+0200", utc(2027, 1, 31, 12)),
        ("2027-01-31T14:00:00+02", utc(2027, 1, 31, 12)),
        ("2027-01-31T10:30:00-01:30", utc(2027, 1, 31, 12)),
        ("2027-01-31T12:00:00 +00:00", utc(2027, 1, 31, 12)),
        ("2027-01-31T12:00-00:00", utc(2027, 1, 31, 12)),
        ("2027-01-01T01:00:00+02:00", utc(2026, 12, 31, 23)),
        ("  2027-01-31  ", utc(2027, 1, 31)),
        ("1970-01-01T00:00:00Z", 0),
        ("9999-12-31T23:59:59Z", MAX_TIME),
        ("2028-02-29", utc(2028, 2, 29)),
    ],
)
def test_parse_time_forms(value, expected):
    assert parse_time(value, "nbf") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2027, 1, 31, 12, 0, 0), utc(2027, 1, 31, 12)),
        (datetime(2027, 1, 31, 12, 0, 0, 999999), utc(2027, 1, 31, 12)),
        (datetime(2027, 1, 31, 14, 0, 0, tzinfo=timezone(timedelta(hours=2))), utc(2027, 1, 31, 12)),
        (datetime(2027, 1, 31, 12, 0, 0, tzinfo=timezone.utc), utc(2027, 1, 31, 12)),
        (date(2027, 1, 31), utc(2027, 1, 31)),
    ],
)
def test_parse_time_accepts_yaml_datetime_objects(value, expected):
    assert parse_time(value, "exp") == expected


@pytest.mark.parametrize(
    "value",
    [
        "2025-13-01",
        "2027-02-30",
        "2027-00-10",
        "2027-01-31T24:00",
        "2027-01-31T12:60",
        "2027-01-31T12:00:60",
        "2027-01-31T12:00:00+24:00",
        "2027-01-31T12:00:00+02:60",
        "2027-01-31T12:00:00ZZ",
        "2027-01-31T",
        "2027-01-31Z",
        "2027-01-31T12",
        "2027-1-31",
        "27-01-31",
        "2027/01/31",
        "31.01.2027",
        "tomorrow",
        "now",
        "17e8",
        "1,700,000,000",
        "1_700_000_000",
        "0x10",
        "nan",
        "inf",
        "1700000000s",
        "\u0661\u0667\u0660\u0660",  # Arabic-Indic digits: not ASCII
        "2027-01-31T12:00:00\u00a0Z",
        True,
        False,
        float("nan"),
        float("inf"),
        [1700000000],
        {"at": 1700000000},
        b"1700000000",
    ],
)
def test_parse_time_rejects_garbage_naming_the_option(value):
    message = refusal("exp", parse_time, value, "exp")
    assert "epoch seconds or ISO 8601" in message


def test_parse_time_message_matches_the_documented_example():
    message = refusal("exp", parse_time, "2025-13-01", "exp")
    assert message == "exp: '2025-13-01' is not a valid time; use epoch seconds or ISO 8601 such as 2027-01-31 or 2027-01-31T12:00:00Z"


@pytest.mark.parametrize(
    "value",
    [-1, -1.5, "-1", "-0.5", "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.5Z", "1970-01-01T01:00:00+02:00", "0001-01-01"],
)
def test_parse_time_refuses_times_before_1970(value):
    assert "before 1970-01-01T00:00:00Z" in refusal("nbf", parse_time, value, "nbf")


@pytest.mark.parametrize("value", [MAX_TIME + 1, str(MAX_TIME + 1), "9999-12-31T23:59:59-00:01", 1e300, "9" * 400])
def test_parse_time_refuses_times_after_year_9999(value):
    assert "after 9999-12-31T23:59:59Z" in refusal("nbf", parse_time, value, "nbf")


def test_parse_time_hints_at_milliseconds():
    assert "milliseconds" in refusal("exp", parse_time, 1700000000000, "exp")
    assert "milliseconds" not in refusal("exp", parse_time, 10**20, "exp")


def test_parse_time_shortens_long_values_in_messages():
    message = refusal("exp", parse_time, "x" * 5000, "exp")
    assert len(message) < 300


def test_huge_numbers_are_refused_not_crashed_on():
    assert "after 9999" in refusal("exp", parse_time, 10**5000, "exp")
    assert "after 9999" in refusal("exp", parse_time, "9" * 5000, "exp")
    assert "100 years" in refusal("valid_for", parse_duration, 10**5000, "valid_for")
    assert "100 years" in refusal("valid_for", parse_duration, "9" * 5000 + "w", "valid_for")


# ------------------------------------------------------------------------------------------------ parse_duration


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (3600, 3600),
        (3600.9, 3600),
        (MAX_DURATION, MAX_DURATION),
        ("0", 0),
        ("3600", 3600),
        ("3600s", 3600),
        ("45m", 45 * MINUTE),
        ("36h", 36 * HOUR),
        ("90d", 90 * DAY),
        ("12w", 12 * WEEK),
        ("90D", 90 * DAY),
        ("12W", 12 * WEEK),
        ("36H", 36 * HOUR),
        (" 90d ", 90 * DAY),
        ("90 d", 90 * DAY),
        ("1.5h", 90 * MINUTE),
        (".5m", 30),
        ("2.", 2),
        ("0s", 0),
        ("0d", 0),
        ("36525d", MAX_DURATION),
    ],
)
def test_parse_duration_forms(value, expected):
    assert parse_duration(value, "valid_for") == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", True, False, "5y", "5dd", "d", "5 days", "1e3", "5-d", "five", "0x10", "P90D", "1,5h", "\u0665d", [90], float("nan"), float("inf")],
)
def test_parse_duration_rejects_garbage_naming_the_option(value):
    message = refusal("renew_before", parse_duration, value, "renew_before")
    assert "90d" in message  # the message shows what to write instead


@pytest.mark.parametrize("value", [-1, -0.5, "-1", "-5d", " -12w"])
def test_parse_duration_refuses_negative(value):
    assert "negative" in refusal("valid_for", parse_duration, value, "valid_for")


@pytest.mark.parametrize("value", [MAX_DURATION + 1, "36526d", "5219w", "100000000000000000000000w", 1e300])
def test_parse_duration_refuses_more_than_100_years(value):
    assert "100 years" in refusal("valid_for", parse_duration, value, "valid_for")


# ---------------------------------------------------------------------------------------------------- key_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, 1700000000),
        (0, 0),
        (1700000000.7, 1700000000),
        ("1700000000", 1700000000),
        (" 1700000000 ", 1700000000),
        ("1700000000.9", 1700000000),
        ("1.7e9", 1700000000),
        (None, None),
        ("", None),
        ("  ", None),
        ("soon", None),
        ("NaN", None),
        ("Infinity", None),
        ("1e999999999", None),
        (float("nan"), None),
        (float("inf"), None),
        (True, None),
        ([1700000000], None),
        ({}, None),
    ],
)
def test_key_time_is_tolerant(value, expected):
    assert key_time(value) == expected


# ------------------------------------------------------------------------------------------- kty, use, keyset id


@pytest.mark.parametrize(("value", "expected"), [("RSA", "RSA"), ("rsa", "RSA"), ("Rsa", "RSA"), (" rsa ", "RSA"), ("oct", "oct"), ("OCT", "oct")])
def test_normalize_kty(value, expected):
    assert normalize_kty(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("sig", "sig"), ("SIG", "sig"), ("enc", "enc"), ("Enc", "enc")])
def test_normalize_use(value, expected):
    assert normalize_use(value) == expected


@pytest.mark.parametrize("value", ["EC", "", None, 1, "RSA-OAEP", "r s a"])
def test_normalize_kty_refuses_unknown_listing_choices(value):
    assert "choose one of RSA, oct" in refusal("kty", normalize_kty, value)
    assert refusal("key_type", normalize_kty, value, "key_type").startswith("key_type: ")


@pytest.mark.parametrize("value", ["signing", "", None, "sig enc"])
def test_normalize_use_refuses_unknown_listing_choices(value):
    assert "choose one of sig, enc" in refusal("use", normalize_use, value)


def test_choice_constants():
    assert USES == ("sig", "enc")
    assert KTYS == ("RSA", "oct")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("TokenSigningKeyContainer", "B2C_1A_TokenSigningKeyContainer"),
        ("B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenSigningKeyContainer"),
        ("b2c_1a_TokenSigningKeyContainer", "B2C_1A_TokenSigningKeyContainer"),
        ("B2c_1A_X", "B2C_1A_X"),
        ("my.key-set_1", "B2C_1A_my.key-set_1"),
        ("...", "B2C_1A_..."),
        ("B2C_1A", "B2C_1A_B2C_1A"),
        ("x" * MAX_KEYSET_NAME, "B2C_1A_" + "x" * MAX_KEYSET_NAME),
        ("B2C_1A_" + "x" * MAX_KEYSET_NAME, "B2C_1A_" + "x" * MAX_KEYSET_NAME),
    ],
)
def test_keyset_id(name, expected):
    assert keyset_id(name) == expected


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "is empty"),
        ("B2C_1A_", "no name after the B2C_1A_ prefix"),
        ("b2c_1a_", "no name after the B2C_1A_ prefix"),
        (".", "not a usable name"),
        ("..", "not a usable name"),
        ("B2C_1A_..", "not a usable name"),
        ("a/b", "'/'"),
        ("a?b", "'?'"),
        ("a#b", "'#'"),
        ("a%2F", "'%'"),
        ("my keys", "' '"),
        (" keys", "' '"),
        ("keys\n", "'\\n'"),
        ("cl\u00e9", "'\u00e9'"),
        ("x" * (MAX_KEYSET_NAME + 1), f"limit of {MAX_KEYSET_NAME}"),
        (None, "expected a key set name"),
        (5, "expected a key set name"),
    ],
)
def test_keyset_id_refuses_bad_names(name, fragment):
    message = refusal("keyset", keyset_id, name)
    assert fragment in message
    assert refusal("name", keyset_id, name, "name").startswith("name: ")


@pytest.mark.parametrize("name", ["B2C_1A_B2C_1A_X", "b2c_1a_B2C_1A_X", "B2C_1A_b2c_1a_X"])
def test_a_doubled_prefix_is_refused_with_the_name_meant(name):
    """The service adds the prefix once: B2C_1A_B2C_1A_X would make a set no policy written for B2C_1A_X finds."""
    message = refusal("keyset", keyset_id, name)
    assert message == (f"keyset: {name!r} carries the B2C_1A_ prefix twice, which would name the key set "
                       f"B2C_1A_{name[7:]}; did you mean B2C_1A_X? The prefix may be given once or left out")
    # Reading or deleting creates nothing: a set so named, made elsewhere, can still be named.
    assert keyset_id(name, doubled_prefix_ok=True) == "B2C_1A_" + name[7:]


# ----------------------------------------------------------------------------------------------- build_request


def test_build_request_normalizes_and_defaults():
    assert build_request("SIG", "rsa", None, None, None, "0", NOW) == KeyRequest("sig", "RSA", None, None, 0)
    assert build_request("enc", "OCT", "", "", "", "", NOW) == KeyRequest("enc", "oct", None, None, 0)
    assert build_request("sig", "RSA", None, None, None, None, NOW).renew_before == 0


def test_build_request_parses_every_field():
    built = build_request("sig", "RSA", "2026-07-01", "2027-07-01T00:00:00Z", None, "30d", NOW)
    assert built == KeyRequest("sig", "RSA", utc(2026, 7, 1), utc(2027, 7, 1), 30 * DAY)


def test_build_request_valid_for_counts_from_now_without_nbf():
    assert build_request("sig", "RSA", None, None, "90d", "0", NOW).exp == NOW + 90 * DAY


def test_build_request_valid_for_counts_from_nbf():
    built = build_request("sig", "RSA", "2026-07-01", None, "12w", "0", NOW)
    assert (built.nbf, built.exp) == (utc(2026, 7, 1), utc(2026, 7, 1) + 12 * WEEK)


def test_build_request_valid_for_from_past_nbf_still_in_the_future():
    built = build_request("sig", "RSA", NOW - DAY, None, "2d", "0", NOW)
    assert built.exp == NOW + DAY


def test_build_request_past_nbf_is_fine():
    assert build_request("sig", "RSA", NOW - 365 * DAY, NOW + DAY, None, "0", NOW).nbf == NOW - 365 * DAY


def test_build_request_refuses_exp_with_valid_for():
    message = refusal("exp", build_request, "sig", "RSA", None, NOW + 10 * DAY, "5d", "0", NOW)
    assert "valid_for" in message


@pytest.mark.parametrize("exp_offset", [0, -1, -DAY])
def test_build_request_refuses_nbf_not_before_exp(exp_offset):
    nbf = NOW + 10 * DAY
    message = refusal("nbf", build_request, "sig", "RSA", nbf, nbf + exp_offset, None, "0", NOW)
    assert "exp" in message
    assert iso_utc(nbf) in message


@pytest.mark.parametrize("exp", [NOW, NOW - 1, "2020-01-01"])
def test_build_request_refuses_exp_not_in_the_future(exp):
    message = refusal("exp", build_request, "sig", "RSA", None, exp, None, "0", NOW)
    assert "not after now" in message
    assert iso_utc(NOW) in message


def test_build_request_refuses_computed_exp_in_the_past():
    message = refusal("valid_for", build_request, "sig", "RSA", NOW - 10 * DAY, None, "1d", "0", NOW)
    assert "nbf + valid_for" in message


def test_build_request_refuses_computed_exp_equal_to_now():
    refusal("valid_for", build_request, "sig", "RSA", NOW - DAY, None, "1d", "0", NOW)


@pytest.mark.parametrize("valid_for", ["0", 0, "0d"])
def test_build_request_refuses_zero_valid_for(valid_for):
    assert "zero" in refusal("valid_for", build_request, "sig", "RSA", None, None, valid_for, "0", NOW)


def test_build_request_refuses_valid_for_running_past_9999():
    refusal("valid_for", build_request, "sig", "RSA", MAX_TIME - DAY, None, "2d", "0", NOW)


@pytest.mark.parametrize(
    ("nbf", "exp", "valid_for", "renew_before"),
    [
        (None, NOW + 30 * DAY, None, "30d"),  # exp == S + renew_before
        (None, NOW + 10 * DAY, None, "30d"),
        (None, None, "30d", "30d"),
        (None, None, "1d", "2d"),
        (NOW + 100 * DAY, NOW + 110 * DAY, None, "10d"),  # S is the future nbf
    ],
)
def test_build_request_refuses_renew_before_reaching_past_the_new_key(nbf, exp, valid_for, renew_before):
    message = refusal("renew_before", build_request, "sig", "RSA", nbf, exp, valid_for, renew_before, NOW)
    assert "every run would add another" in message


def test_build_request_renew_before_boundary():
    built = build_request("sig", "RSA", None, NOW + 30 * DAY + 1, None, "30d", NOW)
    assert built.exp == NOW + 30 * DAY + 1


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("signing", "RSA", None, None, None, "0"), "use"),
        (("sig", "EC", None, None, None, "0"), "kty"),
        (("sig", "RSA", "someday", None, None, "0"), "nbf"),
        (("sig", "RSA", None, "2025-13-01", None, "0"), "exp"),
        (("sig", "RSA", None, None, "3 months", "0"), "valid_for"),
        (("sig", "RSA", None, None, None, "-1d"), "renew_before"),
    ],
)
def test_build_request_names_the_option_of_a_parse_error(args, option):
    refusal(option, build_request, *args, NOW)


# ---------------------------------------------------------------------------------------------------- satisfies


def test_satisfies_plain_match():
    assert satisfies(key(nbf=NOW - DAY, exp=NOW + DAY), request(), NOW)
    assert satisfies(key(), request(), NOW)


def test_satisfies_ignores_case_of_use_kty_and_status():
    assert satisfies(key(use="SIG", kty="rsa", status="Enabled"), request(), NOW)
    assert satisfies(key(use="enc", kty="OCT"), request(use="enc", kty="oct"), NOW)
    assert not satisfies(key(status="DISABLED"), request(), NOW)


@pytest.mark.parametrize(
    "other",
    [{"use": "enc"}, {"kty": "oct"}, {"status": "disabled"}, {"use": None}, {"kty": 1}, {"kty": None}],
)
def test_satisfies_rejects_other_kind_or_disabled(other):
    assert not satisfies(key(**other), request(), NOW)


def test_satisfies_status_absent_or_other_is_fine():
    assert satisfies(key(status=None), request(), NOW)
    assert satisfies(key(status="enabled"), request(), NOW)


def test_satisfies_nbf_boundary_at_now():
    assert satisfies(key(nbf=NOW), request(), NOW)
    assert not satisfies(key(nbf=NOW + 1), request(), NOW)


def test_satisfies_nbf_boundary_at_future_request_nbf():
    start = NOW + 30 * DAY
    assert satisfies(key(nbf=start), request(nbf=start), NOW)
    assert satisfies(key(nbf=NOW + DAY), request(nbf=start), NOW)
    assert not satisfies(key(nbf=start + 1), request(nbf=start), NOW)


def test_satisfies_past_request_nbf_means_s_is_now():
    assert not satisfies(key(nbf=NOW + 1), request(nbf=NOW - DAY), NOW)
    assert not satisfies(key(exp=NOW), request(nbf=NOW - DAY), NOW)


def test_satisfies_exp_boundary():
    renew = 30 * DAY
    assert not satisfies(key(exp=NOW + renew), request(renew_before=renew), NOW)
    assert satisfies(key(exp=NOW + renew + 1), request(renew_before=renew), NOW)
    assert not satisfies(key(exp=NOW), request(), NOW)
    assert satisfies(key(exp=NOW + 1), request(), NOW)


def test_satisfies_exp_boundary_from_future_nbf():
    start, renew = NOW + 100 * DAY, 10 * DAY
    wanted = request(nbf=start, renew_before=renew)
    assert not satisfies(key(nbf=NOW, exp=start + renew), wanted, NOW)
    assert satisfies(key(nbf=NOW, exp=start + renew + 1), wanted, NOW)


def test_satisfies_reads_string_times_and_ignores_unreadable_ones():
    assert satisfies(key(nbf=str(NOW - 1), exp=str(NOW + 1)), request(), NOW)
    assert not satisfies(key(exp=str(NOW)), request(), NOW)
    assert satisfies(key(nbf="garbage", exp=""), request(), NOW)


# ------------------------------------------------------------------------------------- selection and validity


def test_pick_active_prefers_latest_nbf():
    older, newer = key("a", nbf=NOW - 10 * DAY, exp=NOW + 99 * DAY), key("b", nbf=NOW - DAY, exp=NOW + DAY)
    assert pick_active([older, newer])["kid"] == "b"
    assert pick_active([newer, older])["kid"] == "b"


def test_pick_active_absent_nbf_counts_earliest():
    assert pick_active([key("a", exp=NOW + 99 * DAY), key("b", nbf=0)])["kid"] == "b"


def test_pick_active_ties_on_nbf_go_to_latest_exp_and_absent_exp_is_latest():
    keys = [key("a", nbf=NOW, exp=NOW + DAY), key("b", nbf=NOW, exp=NOW + 2 * DAY), key("c", nbf=NOW, exp=NOW + DAY)]
    assert pick_active(keys)["kid"] == "b"
    assert pick_active([*keys, key("d", nbf=NOW)])["kid"] == "d"
    assert pick_active([key("e"), key("f", exp=NOW + DAY)])["kid"] == "e"


def test_pick_active_full_tie_keeps_first_and_empty_is_none():
    assert pick_active([key("a", nbf=NOW), key("b", nbf=NOW)])["kid"] == "a"
    assert pick_active([]) is None


def test_valid_now():
    assert valid_now(key(), NOW)
    assert valid_now(key(nbf=NOW, exp=NOW + 1), NOW)
    assert not valid_now(key(nbf=NOW + 1), NOW)
    assert not valid_now(key(exp=NOW), NOW)
    assert not valid_now(key(status="disabled"), NOW)


def test_active_key_only_among_keys_valid_now():
    keys = [
        key("old", nbf=NOW - 10 * DAY, exp=NOW + 10 * DAY),
        key("future", nbf=NOW + DAY),
        key("disabled", nbf=NOW - DAY, status="disabled"),
        key("expired", nbf=NOW - DAY, exp=NOW),
    ]
    assert active_key(keys, NOW)["kid"] == "old"
    assert active_key(keys, NOW + DAY)["kid"] == "future"
    assert active_key(keys[1:], NOW) is None


# ---------------------------------------------------------------------------------------------------- conflict


def test_conflict_none_for_same_kind_or_empty_set():
    assert conflict([], request(), KEYSET) is None
    assert conflict([key(kty="rsa", use="SIG", status="disabled")], request(), KEYSET) is None
    assert conflict([{"kid": "x"}], request(), KEYSET) is None


def test_conflict_on_kty_whatever_the_status_or_validity():
    keys = [key(kty="RSA", status="disabled", exp=NOW - DAY)]
    message = conflict(keys, request(kty="oct"), "B2C_1A_X")
    assert message == (
        "key set B2C_1A_X holds RSA keys; B2C cannot mix RSA and oct keys in one key set (AADB2C95032). "
        "Use another key set or request kty=RSA."
    )


def test_conflict_on_use():
    message = conflict([key(use="SIG")], request(use="enc"), KEYSET)
    assert message == (
        f"key set {KEYSET} holds sig keys; B2C cannot mix sig and enc keys in one key set (AADB2C95042). "
        "Use another key set or request use=sig."
    )


def test_conflict_on_both_names_both():
    message = conflict([key(use="enc", kty="oct")], request(), KEYSET)
    assert "AADB2C95032" in message
    assert "AADB2C95042" in message


def test_conflict_with_unknown_kty_shows_it():
    assert "holds EC keys" in conflict([key(kty="EC")], request(), KEYSET)


def test_conflict_advice_for_a_field_the_module_fixes_replaces_the_request_hint():
    fixed = "Use another key set: a secret is always an oct key."
    message = conflict([key(use="enc", kty="RSA")], request(kty="oct"), KEYSET, {"kty": fixed})
    assert message == (
        f"key set {KEYSET} holds RSA keys; B2C cannot mix RSA and oct keys in one key set (AADB2C95032). {fixed} "
        f"key set {KEYSET} holds enc keys; B2C cannot mix enc and sig keys in one key set (AADB2C95042). "
        "Use another key set or request use=enc."
    )


def test_conflict_advice_shared_by_both_problems_is_said_once():
    fixed = "Use another key set: B2C makes an uploaded certificate an RSA sig key."
    message = conflict([key(use="enc", kty="oct")], request(), KEYSET, {"kty": fixed, "use": fixed})
    assert message.count(fixed) == 1 and message.endswith("(AADB2C95042). " + fixed)
    assert "request kty=" not in message and "request use=" not in message


# -------------------------------------------------------------------------------------------------------- plan


def test_plan_keyset_missing():
    assert plan(False, [], request(), NOW) == Plan(True, "keyset_missing", None)


def test_plan_valid_returns_the_active_satisfying_key():
    keys = [key("a", nbf=NOW - 10 * DAY), key("b", nbf=NOW - DAY), key("c", nbf=NOW + DAY), key("d", use="enc", nbf=NOW)]
    result = plan(True, keys, request(), NOW)
    assert result == Plan(False, "valid", keys[1])


@pytest.mark.parametrize(
    "keys",
    [[], [key(use="enc")], [key(kty="oct")], [key(status="disabled")], [key(status="disabled", exp=NOW + DAY, use="SIG")]],
)
def test_plan_no_key(keys):
    result = plan(True, keys, request(), NOW)
    assert (result.generate, result.reason, result.key) == (True, "no_key", None)


def test_plan_expiring():
    wanted = request(renew_before=30 * DAY)
    result = plan(True, [key(nbf=NOW - DAY, exp=NOW + 30 * DAY)], wanted, NOW)
    assert (result.generate, result.reason) == (True, "expiring")


def test_plan_not_yet_valid():
    result = plan(True, [key(nbf=NOW + 1)], request(), NOW)
    assert (result.generate, result.reason) == (True, "not_yet_valid")


def test_plan_expired():
    result = plan(True, [key(exp=NOW)], request(), NOW)
    assert (result.generate, result.reason) == (True, "expired")


def test_plan_reason_precedence():
    expired, future = key("x", exp=NOW - DAY), key("f", nbf=NOW + DAY)
    expiring = key("e", exp=NOW + DAY)
    wanted = request(renew_before=2 * DAY)
    assert plan(True, [expired, future, expiring], wanted, NOW).reason == "expiring"
    assert plan(True, [expired, future], wanted, NOW).reason == "not_yet_valid"
    assert plan(True, [expired, key("d", status="disabled")], wanted, NOW).reason == "expired"


def test_plan_reason_measured_at_future_nbf():
    start = NOW + 100 * DAY
    # Valid now but gone by S: expired as far as the request goes.
    assert plan(True, [key(exp=NOW + DAY)], request(nbf=start), NOW).reason == "expired"
    # Starts after S.
    assert plan(True, [key(nbf=start + 1)], request(nbf=start), NOW).reason == "not_yet_valid"


def test_future_nbf_request_is_idempotent():
    built = build_request("sig", "RSA", NOW + 30 * DAY, None, "90d", "7d", NOW)
    first = plan(True, [key("old", exp=NOW + 10 * DAY)], built, NOW)
    assert (first.generate, first.reason) == (True, "expired")
    body = generate_body(built, NOW)
    assert body == {"use": "sig", "kty": "RSA", "nbf": NOW + 30 * DAY, "exp": NOW + 120 * DAY}
    keys = [key("old", exp=NOW + 10 * DAY), {"kid": "new", **body}]
    for later in (NOW, NOW + 60, NOW + 20 * DAY):
        again = plan(True, keys, built, later)
        assert (again.generate, again.reason, again.key["kid"]) == (False, "valid", "new")


# -------------------------------------------------------------------------------------------------- WindowRule


def test_window_rule_generates_a_key_with_the_request_window():
    rule = WindowRule(request(exp=NOW + 9 * DAY))
    assert rule.action == "generateKey"
    assert rule.body(NOW) == {"use": "sig", "kty": "RSA", "nbf": NOW, "exp": NOW + 9 * DAY}
    assert rule.planned(NOW)["expires"] == iso_utc(NOW + 9 * DAY)
    assert rule.plan(True, [key(exp=NOW + DAY)], NOW) == Plan(False, "valid", key(exp=NOW + DAY))
    assert rule.facts() == {} and rule.notice(key(), KEYSET) is None


def test_window_rule_for_a_secret_uploads_it_and_never_shows_it():
    rule = WindowRule(request(kty="oct"), secret="s3cr3t-value")
    assert rule.action == "uploadSecret"
    assert rule.body(NOW) == {"use": "sig", "k": "s3cr3t-value", "nbf": NOW}
    planned = rule.planned(NOW)
    assert planned["kty"] == "oct" and "k" not in planned and "s3cr3t-value" not in repr(planned)
    assert "s3cr3t-value" not in repr(rule)
    assert "a secret is always an oct key" in rule.conflict([key(kty="RSA")], KEYSET)


def test_window_rule_always_adds_a_key_even_when_one_satisfies():
    rule = WindowRule(request(kty="oct"), secret="value", always=True)
    assert rule.plan(True, [key(kty="oct")], NOW) == Plan(True, "update_secret", None)
    assert rule.plan(True, [], NOW).reason == "no_key"
    assert rule.plan(False, [], NOW).reason == "keyset_missing"


def test_window_rule_landed_key_is_the_new_satisfying_one():
    rule = WindowRule(request())
    before = [key("old", exp=NOW - DAY)]
    assert rule.landed(before, before, NOW) is None
    assert rule.landed(before, [*before, key("new")], NOW)["kid"] == "new"


@pytest.mark.parametrize("keyset, expected", [
    (None, []), ({"id": "x"}, []), ({"keys": None}, []), ({"keys": [key(), "junk", None]}, [key()]),
])
def test_keys_of_a_keyset(keyset, expected):
    assert keys_of(keyset) == expected


# ------------------------------------------------------------------------------------------------ generate_body


def test_generate_body_defaults_nbf_to_now_and_omits_exp():
    assert generate_body(request(), NOW) == {"use": "sig", "kty": "RSA", "nbf": NOW}


def test_generate_body_uses_request_times():
    wanted = request(use="enc", kty="oct", nbf=NOW + DAY, exp=NOW + 9 * DAY)
    assert generate_body(wanted, NOW) == {"use": "enc", "kty": "oct", "nbf": NOW + DAY, "exp": NOW + 9 * DAY}


# -------------------------------------------------------------------------------------------------- find_landed


def test_find_landed_finds_the_new_satisfying_key():
    before = [key("a", exp=NOW - DAY)]
    landed = key("b", nbf=NOW)
    assert find_landed(before, [*before, landed], request(), NOW) is landed


def test_find_landed_ignores_keys_that_were_there_or_do_not_satisfy():
    old_good = key("a", nbf=NOW - DAY)
    assert find_landed([old_good], [old_good], request(), NOW) is None
    assert find_landed([old_good], [old_good, key("b", use="enc")], request(), NOW) is None
    assert find_landed([], [key("c", nbf=NOW + DAY)], request(), NOW) is None


def test_find_landed_picks_the_active_among_several_new():
    first, second = key("n1", nbf=NOW - 5), key("n2", nbf=NOW - 1)
    assert find_landed([], [first, second], request(), NOW) is second


def test_find_landed_without_kid_compares_content():
    before = [{"use": "sig", "kty": "RSA", "nbf": NOW - DAY}]
    landed = {"use": "sig", "kty": "RSA", "nbf": NOW}
    assert find_landed(before, [*before, landed], request(), NOW) is landed
    assert find_landed(before, list(before), request(), NOW) is None


# ------------------------------------------------------------------------------------------------- public_facts


def test_public_facts_strips_private_parts_present_or_null():
    raw = key(
        nbf=str(NOW), exp=NOW + DAY, status="enabled", e="AQAB", n="modulus", x5t="thumb", x5c=["cert"],
        d="D-SECRET", p="P-SECRET", q="Q-SECRET", dp="DP-SECRET", dq="DQ-SECRET", qi="QI-SECRET", k=None,
        extra="dropped",
    )
    facts = public_facts(raw)
    assert facts == {
        "kid": "k1", "use": "sig", "kty": "RSA", "nbf": NOW, "exp": NOW + DAY, "status": "enabled",
        "e": "AQAB", "n": "modulus", "x5t": "thumb", "x5c": ["cert"],
        "not_before": "2026-06-01T12:00:00Z", "expires": "2026-06-02T12:00:00Z",
    }
    assert "SECRET" not in repr(facts)
    assert not set(PRIVATE_FIELDS) & set(facts)


def test_public_facts_absent_times_stay_absent():
    facts = public_facts({"kid": "k", "k": None})
    assert facts == {"kid": "k", "not_before": None, "expires": None}


def test_public_facts_unreadable_times():
    facts = public_facts(key(nbf="soon", exp=None))
    assert (facts["nbf"], facts["exp"], facts["not_before"], facts["expires"]) == ("soon", None, None, None)
    assert public_facts(key(exp=10**15))["expires"] is None


def test_public_facts_does_not_share_or_change_the_key():
    raw = key(x5c=["cert"], d="secret")
    facts = public_facts(raw)
    facts["x5c"].append("other")
    assert raw == key(x5c=["cert"], d="secret")


# ------------------------------------------------------------------------------------------------------ iso_utc


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (utc(2027, 1, 31, 12), "2027-01-31T12:00:00Z"),
        (MAX_TIME, "9999-12-31T23:59:59Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (utc(1, 1, 1), "0001-01-01T00:00:00Z"),
    ],
)
def test_iso_utc(epoch, text):
    assert iso_utc(epoch) == text


@pytest.mark.parametrize("epoch", [MAX_TIME + 1, 10**20, utc(1, 1, 1) - 1])
def test_iso_utc_out_of_range(epoch):
    with pytest.raises(ValueError, match="cannot be written"):
        iso_utc(epoch)


# ---------------------------------------------------------------------------------------------- property tests

times = st.integers(min_value=0, max_value=MAX_TIME)


@PROPERTY
@given(times)
def test_property_parse_time_round_trips_iso_utc(epoch):
    assert parse_time(iso_utc(epoch), "nbf") == epoch


@PROPERTY
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    st.sampled_from(["T", "t", " "]),
    st.booleans(),
)
def test_property_parse_time_honours_offsets(moment, offset_minutes, separator, colon):
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    offset = f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    text = f"{moment:%Y-%m-%d}{separator}{moment:%H:%M:%S}.{moment.microsecond:06d}{offset}"
    expected = calendar.timegm(moment.timetuple()) - offset_minutes * 60
    assert parse_time(text, "exp") == expected


UNITS = {"s": 1, "m": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}


@PROPERTY
@given(st.sampled_from(sorted(UNITS)), st.data())
def test_property_parse_duration_of_number_and_unit(unit, data):
    factor = UNITS[unit]
    number = data.draw(st.integers(min_value=0, max_value=MAX_DURATION // factor))
    written = data.draw(st.sampled_from([unit, unit.upper()]))
    assert parse_duration(f"{number}{written}", "valid_for") == number * factor
    assert parse_duration(f" {number} {written} ", "valid_for") == number * factor


# Key sets drawn around NOW so the boundaries (nbf == S, exp == S + renew_before) come up often.
offsets = st.one_of(
    st.sampled_from([0, 1, -1, DAY, -DAY, 30 * DAY, 30 * DAY + 1]),
    st.integers(min_value=-400 * DAY, max_value=400 * DAY),
)
maybe_time = st.one_of(st.none(), offsets.map(lambda offset: NOW + offset), offsets.map(lambda offset: str(NOW + offset)))
keys_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "kid": st.text(alphabet="abcdefghij", min_size=1, max_size=4),
            "use": st.sampled_from(["sig", "SIG", "enc"]),
            "kty": st.sampled_from(["RSA", "rsa", "oct", "OCT"]),
        },
        optional={
            "nbf": maybe_time,
            "exp": maybe_time,
            "status": st.sampled_from(["enabled", "disabled", "Disabled", None]),
        },
    ),
    max_size=6,
)


@st.composite
def requests(draw) -> KeyRequest:
    """A request as build_request makes it from valid module values."""
    nbf = draw(st.one_of(st.none(), offsets.map(lambda offset: NOW + offset)))
    renew_before = draw(st.sampled_from([0, DAY, 30 * DAY]))
    start = NOW if nbf is None else max(NOW, nbf)
    mode = draw(st.sampled_from(["none", "exp", "valid_for"]))
    exp = valid_for = None
    if mode != "none":
        target = start + renew_before + draw(st.integers(min_value=1, max_value=400 * DAY))
        if mode == "exp":
            exp = iso_utc(target)
        else:
            valid_for = f"{target - (NOW if nbf is None else nbf)}s"
    use, kty = draw(st.sampled_from(USES)), draw(st.sampled_from(KTYS))
    return build_request(use.upper(), kty.lower(), nbf, exp, valid_for, f"{renew_before}s", NOW)


def oracle_satisfies(raw: dict, wanted: KeyRequest) -> bool:
    """design.md's rule, spelled out separately from the implementation."""
    start = max(NOW, wanted.nbf if wanted.nbf is not None else NOW)
    nbf = None if raw.get("nbf") is None else int(raw["nbf"])
    exp = None if raw.get("exp") is None else int(raw["exp"])
    return (
        raw["use"].lower() == wanted.use
        and raw["kty"].lower() == wanted.kty.lower()
        and str(raw.get("status")).lower() != "disabled"
        and (nbf is None or nbf <= start)
        and (exp is None or exp > start + wanted.renew_before)
    )


@PROPERTY
@given(keys_strategy, requests())
def test_property_plan_generates_exactly_when_nothing_satisfies(keys, wanted):
    result = plan(True, keys, wanted, NOW)
    satisfying = [raw for raw in keys if oracle_satisfies(raw, wanted)]
    assert [raw for raw in keys if satisfies(raw, wanted, NOW)] == satisfying
    assert result.generate is (not satisfying)
    if satisfying:
        assert result.reason == "valid"
        assert result.key is pick_active(satisfying)
    else:
        assert result.reason in ("no_key", "expiring", "not_yet_valid", "expired")
        assert result.key is None


@PROPERTY
@given(keys_strategy, requests())
def test_property_generated_key_satisfies_the_next_run(keys, wanted):
    first = plan(True, keys, wanted, NOW)
    if first.generate:
        keys = [*keys, {"kid": "generated", **generate_body(wanted, NOW)}]
    again = plan(True, keys, wanted, NOW)
    assert (again.generate, again.reason) == (False, "valid")
    assert satisfies(again.key, wanted, NOW)
    if first.generate:
        assert find_landed(keys[:-1], keys, wanted, NOW)["kid"] == "generated"


@PROPERTY
@given(requests())
def test_property_missing_keyset_then_generated_key_is_valid(wanted):
    first = plan(False, [], wanted, NOW)
    assert (first.generate, first.reason) == (True, "keyset_missing")
    second = plan(True, [{"kid": "new", **generate_body(wanted, NOW)}], wanted, NOW)
    assert second.reason == "valid"


public_values = st.one_of(st.none(), st.integers(), st.text(alphabet="abcXYZ019-_", max_size=8), st.lists(st.text(alphabet="abc", max_size=4), max_size=2))
secret_values = st.one_of(st.none(), st.just(""), st.text(alphabet="xyz", max_size=6).map(lambda text: "SECRET" + text))


@PROPERTY
@given(
    st.dictionaries(st.sampled_from(PUBLIC_FIELDS), public_values),
    st.dictionaries(st.sampled_from(PRIVATE_FIELDS), secret_values),
    st.dictionaries(st.text(alphabet="uvw", min_size=1, max_size=3), public_values),
)
def test_property_public_facts_never_hold_private_fields(public, private, extra):
    facts = public_facts({**extra, **public, **private})
    assert not set(PRIVATE_FIELDS) & set(facts)
    assert set(facts) <= set(PUBLIC_FIELDS) | {"not_before", "expires"}
    assert set(public) <= set(facts)
    assert "SECRET" not in repr(facts)
    for field, iso_field in (("nbf", "not_before"), ("exp", "expires")):
        parsed = key_time(public.get(field))
        if parsed is not None and 0 <= parsed <= MAX_TIME:
            assert facts[field] == parsed
            assert parse_time(facts[iso_field], field) == parsed


# -- purity: the decision layers import nothing that does I/O or reads the clock ----------------------------------


COLLECTION = "ansible_collections.entra.b2c"
MODULE_UTILS = COLLECTION + ".plugins.module_utils"
# The modules whose docstrings promise no I/O and no clock reads, and the collection modules they import: a pure module
# may import from the collection only modules of this list, or its promise would hold only as far as the next import.
PURE_MODULES = tuple(MODULE_UTILS + "." + name for name in (
    "_keysets.keys", "_keysets.report", "_policies.policy", "_policies.refs", "_policies.settings", "_apps.ief_apps",
    "_core.errors", "_core.messages", "_core.identity",
))
# Importing any of these (or anything from them) fails: they touch files, the network, processes or the clock, or, like
# importlib, would hide an import from this check. ansible (ansible-core) and the HTTP and token libraries are here
# because a pure module needs none of them.
IO_OR_CLOCK_MODULES = frozenset({
    "os", "posix", "nt", "sys", "io", "builtins", "shutil", "tempfile", "glob", "pathlib", "fileinput", "mmap", "fcntl",
    "socket", "ssl", "select", "selectors", "asyncio", "http", "urllib", "ftplib", "smtplib", "subprocess",
    "multiprocessing", "signal", "logging", "time", "sched", "uuid", "importlib", "ctypes",
    "ansible", "requests", "urllib3", "msal",
})
# Except the in-memory streams of io, which read and write no file.
ALLOWED_NAMES = {"io": frozenset({"StringIO", "BytesIO"})}
# Names of otherwise pure modules that open files themselves.
FILE_READERS = frozenset({
    "xml.etree.ElementTree.parse", "xml.etree.ElementTree.iterparse", "xml.dom.minidom.parse", "xml.sax.parse",
})
IO_BUILTINS = frozenset({"open", "input", "print", "breakpoint", "__import__", "exec", "eval"})
CLOCK_METHODS = frozenset({"now", "utcnow", "today"})  # datetime.now(), datetime.utcnow(), date.today()


def _forbidden(dotted: str) -> str | None:
    """Why a fully qualified name must not be used by a pure module, or None."""
    parts = dotted.split(".")
    if parts[0] in ALLOWED_NAMES:
        return None if len(parts) == 1 or parts[1] in ALLOWED_NAMES[parts[0]] else "does I/O"
    if parts[0] in IO_OR_CLOCK_MODULES:
        return "does I/O or reads the clock"
    if any(dotted == name or dotted.startswith(name + ".") for name in FILE_READERS):
        return "reads files"
    return None


def impurities(source: str, module: str) -> list[str]:
    """What in `source` (the text of `module`) does I/O or reads the clock: every import anywhere in the file (inside
    functions too, relative ones resolved), the names used through them, I/O builtins and clock methods."""
    package = module.rpartition(".")[0]
    aliases: dict[str, str] = {}  # local name -> the fully qualified name it is bound to
    found = []

    def check_import(target: str, line: int) -> None:
        if target.startswith("ansible_collections."):
            if not any(target == pure or target.startswith(pure + ".") for pure in PURE_MODULES):
                found.append(f"line {line}: imports {target}, which is not one of the pure modules")
            return
        why = _forbidden(target)
        if why:
            found.append(f"line {line}: imports {target}, which {why}")
        stdlib = getattr(sys, "stdlib_module_names", None)  # Python 3.10+; on 3.9 the lists above still apply
        if stdlib is not None and target.split(".")[0] not in stdlib:
            found.append(f"line {line}: imports {target}, which is not in the standard library")

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check_import(alias.name, node.lineno)
                bound = alias.asname or alias.name.split(".")[0]
                aliases[bound] = alias.name if alias.asname else bound
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = anchor + ("." + base if base else "")
            for alias in node.names:
                # `from pkg import name` binds a name of pkg or its submodule pkg.name: either way pkg.name says which.
                check_import(base + "." + alias.name, node.lineno)
                aliases[alias.asname or alias.name] = base + "." + alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = []
            inner: ast.expr = node
            while isinstance(inner, ast.Attribute):
                chain.insert(0, inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in aliases:
                dotted = ".".join([aliases[inner.id]] + chain)
                why = _forbidden(dotted)
                if why:
                    found.append(f"line {node.lineno}: uses {dotted}, which {why}")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in IO_BUILTINS and node.func.id not in aliases:
                found.append(f"line {node.lineno}: calls {node.func.id}()")
            elif isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_METHODS:
                found.append(f"line {node.lineno}: calls .{node.func.attr}(), which reads the clock")
    return found


@pytest.mark.parametrize("module", PURE_MODULES, ids=lambda module: module[len(MODULE_UTILS) + 1:])
def test_module_is_pure(module):
    """The decision layers take what they need (policy texts, the tenant's answers, `now`) as arguments; none may
    import anything that does I/O or reads the clock, so they stay deterministic and testable without a tenant."""
    path = importlib.import_module(module).__file__
    with open(path, encoding="utf-8") as handle:
        assert impurities(handle.read(), module) == []


@pytest.mark.parametrize("snippet, finding", [
    ("def load():\n    from os import path\n", "imports os.path"),
    ("import os.path as p\n", "imports os.path"),
    ("from . import api\n", "imports " + MODULE_UTILS + "._keysets.api, which is not one of the pure modules"),
    ("from .._core import graph\n", "imports " + MODULE_UTILS + "._core.graph, which is not one of the pure modules"),
    ("from ansible.module_utils.basic import AnsibleModule\n", "imports ansible.module_utils.basic.AnsibleModule"),
    ("import io\nio.open('x')\n", "uses io.open, which does I/O"),
    ("import xml.etree.ElementTree as ET\nET.parse('x.xml')\n", "uses xml.etree.ElementTree.parse, which reads files"),
    ("from datetime import datetime\ndatetime.now()\n", "calls .now(), which reads the clock"),
    ("from time import monotonic\n", "imports time.monotonic"),
    ("open('x')\n", "calls open()"),
])
def test_purity_check_finds_what_hides_from_a_text_search(snippet, finding):
    found = impurities(snippet, MODULE_UTILS + "._keysets.keys")
    assert any(finding in item for item in found), found


def test_purity_check_allows_what_the_pure_modules_need():
    snippet = ("from __future__ import annotations\nimport io\nfrom datetime import datetime, timedelta\n"
               "from .._core.errors import UserError\n"
               "buffer = io.StringIO()\ndatetime.fromtimestamp(0) + timedelta(days=1)\n")
    assert impurities(snippet, MODULE_UTILS + "._keysets.keys") == []


# -- the warning for keys without an expiry -----------------------------------------------------------------------


def test_no_expiry_warning_names_one_key_set_and_the_fix():
    text = no_expiry_warning(["B2C_1A_Signing"], check_mode=False)
    assert text == ("The key this task adds to B2C_1A_Signing has no expiry (neither exp nor valid_for is set): it will "
                    "never expire, cannot be removed (B2C keys cannot be deleted) and renew_before can never rotate it. "
                    "Give new keys a lifetime, for example valid_for: 365d with renew_before: 30d.")
    assert no_expiry_warning(["B2C_1A_Signing"], check_mode=True).startswith(
        "The key this task would add to B2C_1A_Signing has no expiry")


def test_no_expiry_warning_names_every_key_set_of_a_batch_in_one_sentence():
    text = no_expiry_warning(["B2C_1A_A", "B2C_1A_B"], check_mode=False)
    assert text.startswith("The keys this task adds to B2C_1A_A, B2C_1A_B have no expiry")
    assert "they will never expire" in text and "rotate them." in text
