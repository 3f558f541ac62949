# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input table: invalid values for the options of every module, each refused before any HTTP request.

Every case is one task of a play (ignore_errors), a module execution with one bad value among valid ones. A case
passes when the task fails cleanly (no crash), its message names the option, and the emulator logged no request for
it (each case has its own key set name, so a request that slips out is traced back to its case).

The shared connection options are tried in full on b2c_keyset_key and with a representative few on the other modules
(they all parse them through the same GraphModule).
"""

from __future__ import annotations

import base64
import datetime
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .harness import COLLECTION, crashed, describe_value

MODULES = ("b2c_keyset_key", "b2c_keyset_key_batch", "b2c_keyset", "b2c_keyset_info", "b2c_keyset_secret",
           "b2c_keyset_certificate")
SECRET_VALUE = "bad-input-secret-5c1e9"  # the value b2c_keyset_secret would upload: scanned for like any secret
BAD_NAMES = (
    ("slash", "a/b"), ("question mark", "a?b"), ("hash", "a#b"), ("percent", "a%2Fb"), ("space", "a b"),
    ("dot dot", ".."), ("prefixed dot dot", "B2C_1A_.."), ("path climb", "../../users"), ("unicode", "Schlüssel"),
    ("300 characters", "K" * 300), ("empty", ""), ("prefix only", "B2C_1A_"), ("newline", "a\nb"),
    ("wrong type (list)", ["a", "b"]),
)
# A few names per module besides b2c_keyset_key, which gets them all.
SOME_BAD_NAMES = ("slash", "dot dot", "unicode", "300 characters", "empty")
UNSET = object()


@dataclass(frozen=True)
class BadInput:
    module: str
    option: str  # the option the message must name
    problem: str  # what is wrong with the value, for the table
    value: Any
    overrides: dict = field(default_factory=dict)  # other arguments the case needs besides the bad one
    words: tuple = ()  # further words the message must hold (a nested option's name)
    core_message: bool = False  # ansible-core words the refusal and does not name the option: only refusal is checked


@dataclass
class Verdict:
    case: BadInput
    number: int
    refused: bool
    msg: str
    requests: list
    problems: list


def _certificate_pem(days_before: int, days_after: int, ec: bool = False) -> str:
    # pylint: disable=import-outside-toplevel  # cryptography only for the certificate cases
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec as ec_keys
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = ec_keys.generate_private_key(ec_keys.SECP256R1()) if ec else rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bad-input.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now + datetime.timedelta(days=days_before))
            .not_valid_after(now + datetime.timedelta(days=days_after)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def shared_cases(module: str, full: bool) -> list:
    """The connection options every module takes (entra.b2c.graph), with invalid values."""
    every = [
        ("timeout", "wrong type", "soon", {}),
        ("cloud", "unknown choice", "mars", {}),
        ("graph_endpoint", "a path after the host", "https://graph.example/beta", {}),
        ("ca_path", "missing file", "/nonexistent/ca.pem", {}),
    ]
    if not full:
        return [BadInput(module, option, problem, value, overrides) for option, problem, value, overrides in every]
    no_secret = {"client_secret": ""}
    rest = [
        ("tenant_id", "empty", "", {}),
        ("tenant_id", "slash (another path)", "contoso.onmicrosoft.com/../other", {}),
        ("tenant_id", "question mark", "contoso?x=1", {}),
        ("tenant_id", "hash", "contoso#x", {}),
        ("tenant_id", "space", "con toso", {}),
        ("tenant_id", "unicode", "contosö.onmicrosoft.com", {}),
        ("tenant_id", "300 characters", "t" * 300, {}),
        ("client_id", "empty", "", {}),
        ("client_secret", "empty (no credential left)", "", {}),
        ("client_certificate_path", "missing file", "/nonexistent/client.pem", no_secret),
        ("client_certificate_path", "not a PEM", "/etc/hostname", no_secret),
        ("federated_token_file", "missing file", "/nonexistent/token.jwt", no_secret),
        ("access_token", "newline inside", "eyJhbGciOi.J9\nInjected: header", no_secret),
        ("access_token", "two credential kinds", "eyJ0eXAiOiJKV1QifQ.e30.c2ln", {}),
        ("cloud", "wrong type (list)", ["global"], {}),
        ("graph_endpoint", "not https", "ftp://graph.example", {}),
        ("graph_endpoint", "plain http without allow_http", "http://graph.example", {}),
        ("graph_endpoint", "user info", "https://user:pw@graph.example", {}),
        ("graph_endpoint", "invalid port", "https://graph.example:99999", {}),
        ("graph_endpoint", "not a URL", "graph endpoint", {}),
        ("authority_host", "a path after the host", "https://login.example/tenant", {}),
        ("authority_host", "plain http", "http://login.example", {}),
        ("validate_certs", "wrong type", "maybe", {}),
        ("allow_http", "wrong type", "perhaps", {}),
        ("timeout", "zero", 0, {}),
        ("timeout", "negative", -5, {}),
        ("timeout", "not a number (nan)", "nan", {}),
        ("timeout", "infinite", "inf", {}),
        ("timeout", "absurd (1e12 s)", 1e12, {}),
        ("token_cache", "a directory", "/", {}),
    ]
    return [BadInput(module, option, problem, value, overrides)
            for option, problem, value, overrides in every + rest]


def name_cases(module: str, option: str, names=None) -> list:
    chosen = [(problem, value) for problem, value in BAD_NAMES if names is None or problem in names]
    return [BadInput(module, option, "key set name: " + problem, value) for problem, value in chosen]


def time_cases(module: str, prefix: str = "") -> list:
    """Times and durations: unparseable, absurd, contradictory. `prefix` nests them in keysets[0] for the batch."""
    cases = [
        ("nbf", "unparseable", "tomorrow", {}),
        ("nbf", "impossible date", "2027-02-30", {}),
        ("nbf", "day-first date", "31/01/2027", {}),
        ("nbf", "before 1970", -1, {}),
        ("nbf", "absurd (year 3e12)", 10 ** 20, {}),
        ("nbf", "wrong type (bool)", True, {}),
        ("nbf", "hour 25", "2027-01-01T25:00:00Z", {}),
        ("exp", "unparseable", "yesterday", {}),
        ("exp", "in the past", "2001-01-01", {}),
        ("exp", "absurd (epoch milliseconds)", 1900000000000, {}),
        ("nbf", "not before exp", "2031-01-01", {"exp": "2030-01-01"}),
        ("exp", "together with valid_for", "2030-01-01", {"valid_for": "30d"}),
        ("valid_for", "unparseable", "forever", {}),
        ("valid_for", "zero", "0", {}),
        ("valid_for", "negative", "-1d", {}),
        ("valid_for", "unknown unit", "1y", {}),
        ("valid_for", "ISO 8601 duration", "P90D", {}),
        ("valid_for", "absurd (10^30 s)", 10 ** 30, {}),
        ("valid_for", "over 100 years", "6000w", {}),
        ("renew_before", "unparseable", "soon", {}),
        ("renew_before", "negative", "-5m", {}),
        ("renew_before", "longer than the key lives", "31d", {"valid_for": "30d"}),
    ]
    if not prefix:
        return [BadInput(module, option, problem, value, overrides) for option, problem, value, overrides in cases]
    return [BadInput(module, "keysets", problem, value, {"nested": overrides, "nested_option": option}, words=(option,))
            for option, problem, value, overrides in cases]


def table() -> list:
    expired_pem = _certificate_pem(-400, -30)
    future_pem = _certificate_pem(30, 400)
    ec_pem = _certificate_pem(-1, 30, ec=True)
    cases = []

    module = "b2c_keyset_key"
    cases += name_cases(module, "keyset")
    cases += [BadInput(module, "use", "unknown choice", "sign"), BadInput(module, "use", "empty", ""),
              BadInput(module, "use", "wrong type (list)", ["sig"]), BadInput(module, "use", "missing", UNSET),
              BadInput(module, "kty", "unknown choice", "EC"), BadInput(module, "kty", "empty", ""),
              BadInput(module, "kty", "wrong type (number)", 5),
              BadInput(module, "create_keyset", "wrong type", "perhaps")]
    cases += time_cases(module)
    cases += shared_cases(module, full=True)

    module = "b2c_keyset_key_batch"
    cases += [BadInput(module, "keysets", "key set name: " + problem, value, {"nested_option": "keyset"})
              for problem, value in BAD_NAMES if problem in SOME_BAD_NAMES + ("path climb",)]
    cases += [BadInput(module, "keysets", "wrong type (a string)", "notalist", core_message=True),
              BadInput(module, "keysets", "entry without keyset", [{"use": "sig"}], words=("keyset",)),
              BadInput(module, "keysets", "unknown entry option", [{"keyset": "A", "bogus": 1}], words=("bogus",)),
              BadInput(module, "keysets", "a key set listed twice", [{"keyset": "Twice"}, {"keyset": "B2C_1A_Twice"}]),
              BadInput(module, "keysets", "entry use: unknown choice", "sign", {"nested_option": "use"},
                       words=("use",)),
              BadInput(module, "use", "missing everywhere", UNSET, {"keysets": [{"keyset": "NoUse"}]}),
              BadInput(module, "use", "unknown choice", "sign"), BadInput(module, "kty", "unknown choice", "EC"),
              BadInput(module, "parallel", "zero", 0), BadInput(module, "parallel", "negative", -3),
              BadInput(module, "parallel", "wrong type", "many"),
              BadInput(module, "create_keyset", "wrong type", "perhaps"),
              BadInput(module, "nbf", "unparseable", "tomorrow"), BadInput(module, "exp", "in the past", "2001-01-01"),
              BadInput(module, "valid_for", "zero", "0"), BadInput(module, "renew_before", "negative", "-5m")]
    cases += [case for case in time_cases(module, prefix="keysets[0]")
              if case.words[0] in ("nbf", "exp", "valid_for") and case.problem in (
                  "unparseable", "in the past", "zero", "not before exp", "together with valid_for")]
    cases += shared_cases(module, full=False)

    module = "b2c_keyset"
    cases += name_cases(module, "keyset", SOME_BAD_NAMES)
    cases += [BadInput(module, "state", "unknown choice", "gone"), BadInput(module, "state", "wrong type", ["absent"]),
              BadInput(module, "purge_backup", "wrong type", "maybe")]
    cases += shared_cases(module, full=False)

    module = "b2c_keyset_info"
    cases += name_cases(module, "keyset", SOME_BAD_NAMES)
    cases += [BadInput(module, "expiring_within", "unparseable", "soon"),
              BadInput(module, "expiring_within", "negative", "-1d"),
              BadInput(module, "expiring_within", "over 100 years", "6000w"),
              BadInput(module, "expiring_within", "not a number (nan)", "nan"),
              BadInput(module, "expiring_within", "absurd (10^30 s)", 10 ** 30)]
    cases += shared_cases(module, full=False)

    module = "b2c_keyset_secret"
    cases += name_cases(module, "keyset", SOME_BAD_NAMES)
    cases += [BadInput(module, "secret", "empty", ""), BadInput(module, "secret", "blank", "   "),
              BadInput(module, "secret", "missing", UNSET), BadInput(module, "use", "unknown choice", "sign"),
              BadInput(module, "update_secret", "unknown choice", "sometimes"),
              BadInput(module, "create_keyset", "wrong type", "perhaps"),
              BadInput(module, "nbf", "unparseable", "tomorrow"), BadInput(module, "exp", "in the past", "2001-01-01"),
              BadInput(module, "valid_for", "zero", "0"), BadInput(module, "valid_for", "absurd (10^30 s)", 10 ** 30),
              BadInput(module, "renew_before", "longer than the key lives", "31d", {"valid_for": "30d"})]
    cases += shared_cases(module, full=False)

    module = "b2c_keyset_certificate"
    cases += name_cases(module, "keyset", SOME_BAD_NAMES)
    cases += [BadInput(module, "certificate", "not a certificate", "hello"),
              BadInput(module, "certificate", "broken PEM", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
              BadInput(module, "certificate", "expired", expired_pem),
              BadInput(module, "certificate", "not valid yet", future_pem),
              BadInput(module, "certificate", "not RSA (EC)", ec_pem),
              BadInput(module, "certificate_path", "missing file", "/nonexistent/cert.pem", {"certificate": UNSET}),
              BadInput(module, "certificate_path", "not a certificate", "/etc/hostname", {"certificate": UNSET}),
              BadInput(module, "certificate_path", "endless device", "/dev/zero", {"certificate": UNSET}),
              BadInput(module, "pkcs12", "not base64", "not base64!", {"certificate": UNSET}),
              BadInput(module, "pkcs12", "base64 of something else", base64.b64encode(b"junk" * 20).decode("ascii"),
                       {"certificate": UNSET}),
              BadInput(module, "pkcs12_path", "missing file", "/nonexistent/bundle.pfx", {"certificate": UNSET}),
              BadInput(module, "certificate", "no source at all", UNSET, words=("pkcs12",)),
              BadInput(module, "certificate", "two sources", expired_pem, {"pkcs12": "AAAA"}, words=("pkcs12",)),
              BadInput(module, "create_keyset", "wrong type", "perhaps")]
    cases += shared_cases(module, full=False)
    return cases


def case_args(case: BadInput, number: int, material_pem: str) -> dict:
    """The module arguments of one case: valid ones, its own key set, and the bad value."""
    keyset = keyset_of(number)
    base = {
        "b2c_keyset_key": {"keyset": keyset, "use": "sig"},
        "b2c_keyset_key_batch": {"use": "sig", "keysets": [{"keyset": keyset}]},
        "b2c_keyset": {"keyset": keyset},
        "b2c_keyset_info": {"keyset": keyset},
        # A variable, not the value: ansible-core 2.19+ quotes the playbook's lines around a failed task.
        "b2c_keyset_secret": {"keyset": keyset, "use": "sig", "secret": "{{ bad_input_secret }}"},
        "b2c_keyset_certificate": {"keyset": keyset, "certificate": material_pem},
    }[case.module]
    args = dict(base)
    overrides = dict(case.overrides)
    nested_option = overrides.pop("nested_option", None)
    nested = overrides.pop("nested", {})
    if nested_option:
        args["keysets"] = [dict({"keyset": keyset}, **nested, **{nested_option: case.value})]
    else:
        args[case.option] = case.value
    args.update(overrides)
    return {name: value for name, value in args.items() if value is not UNSET}


def keyset_of(number: int) -> str:
    return "BadIn%03d" % number


@dataclass
class TableRun:
    verdicts: list
    unclaimed: list  # requests no case could be blamed for (none expected: every case refuses before any request)
    isolated: int = 0  # cases run alone to find out which one sent a request that names no key set


def _task(case: BadInput, number: int, material_pem: str) -> dict:
    return {"name": "bad-%03d" % number, COLLECTION + case.module: case_args(case, number, material_pem),
            "ignore_errors": True}


def run_table(runner, cases: list, first_number: int = 1, material_pem: Optional[str] = None) -> TableRun:
    """Run the cases as one play (one task each); judge every case by its result and the request log.

    Graph requests name their key set, so they are traced to their case at once. A request that names none (token,
    discovery, or one a bad tenant sent elsewhere) is traced by running cases alone, suspects first, until every such
    request is accounted for.
    """
    control = runner.emulator.control
    runner.secrets.add(SECRET_VALUE)
    material_pem = material_pem or _certificate_pem(-1, 60)
    numbered = list(enumerate(cases, start=first_number))
    variables = runner.workdir / "bad-input-vars.yml"
    variables.write_text('bad_input_secret: "%s"\n' % SECRET_VALUE, encoding="utf-8")
    extra_args = ["-e", "@%s" % variables]
    control.clear_faults()
    control.clear_requests()
    run = runner.playbook([_task(case, number, material_pem) for number, case in numbered], extra_args=extra_args)
    log = control.requests()
    results = {entry["task"]: entry for entry in run.results}
    requests = {number: [entry for entry in log if (entry.get("keyset") or "").endswith(keyset_of(number))]
                for number, _case in numbered}
    claimed = {entry["seq"] for entries in requests.values() for entry in entries}
    unexplained = len([entry for entry in log if entry["seq"] not in claimed])
    verdicts = {number: judge(case, number, results.get("bad-%03d" % number), requests[number])
                for number, case in numbered}

    isolated = 0
    if unexplained:
        ordered = sorted(numbered, key=lambda item: (not verdicts[item[0]].problems, item[1].option not in SHARED_OPTIONS))
        for number, case in ordered:
            if unexplained <= 0:
                break
            control.clear_requests()
            runner.playbook([_task(case, number, material_pem)], extra_args=extra_args)
            isolated += 1
            alone = [entry for entry in control.requests() if not (entry.get("keyset") or "").endswith(keyset_of(number))]
            if alone:
                unexplained -= len(alone)
                verdicts[number] = judge(case, number, results.get("bad-%03d" % number), requests[number] + alone)
    leftover = [entry for entry in log if entry["seq"] not in claimed] if unexplained > 0 else []
    return TableRun([verdicts[number] for number, _case in numbered], leftover, isolated)


SHARED_OPTIONS = frozenset(("tenant_id", "client_id", "client_secret", "client_certificate_path",
                            "client_certificate_password", "federated_token_file", "access_token", "cloud",
                            "graph_endpoint", "authority_host", "validate_certs", "allow_http", "ca_path", "timeout",
                            "token_cache"))


def judge(case: BadInput, number: int, entry: Optional[dict], requests: list) -> Verdict:
    result = (entry or {}).get("result") or {}
    msg = str(result.get("msg") or "")
    refused = entry is not None and entry["status"] == "failed"
    verdict = Verdict(case, number, refused, msg, ["%s %s" % (item["method"], item["path"]) for item in requests], [])
    if entry is None:
        verdict.problems.append("no result recorded")
        return verdict
    if not refused:
        verdict.problems.append("accepted (changed=%s)" % result.get("changed"))
    elif crashed(entry):
        verdict.problems.append("the module crashed instead of refusing the value")
    elif not case.core_message:
        for word in (case.option,) + case.words:
            if not re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(word), msg):
                verdict.problems.append("the message does not name %s" % word)
    if requests:
        verdict.problems.append("%d HTTP request(s) before refusing: %s" % (len(requests), verdict.requests))
    return verdict


def shown(case: BadInput) -> str:
    return describe_value(case.value) if case.value is not UNSET else "(missing)"
