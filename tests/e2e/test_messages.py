# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Messages that tell the truth (issue 12), end to end with their exact words: a host that cannot be reached is named
with what went wrong, a key request whose outcome is unknown says a key may have been added, and a user name and
password credential is named as unsupported."""

from __future__ import annotations

import http.server
import re
import socket
import threading

import pytest

from conftest import key_task, keyset_keys, routes

NETWORK_ADVICE = "check %s and the network path from the host that runs the module (DNS, firewall, HTTPS_PROXY)"
REFUSED = "connection refused (nothing listens on that port)"
UNRESOLVED = "the host name does not resolve (DNS)"
# Names under .invalid never resolve (RFC 6761).
INVALID_HOST = "b2c-tests.invalid"


def closed_port() -> int:
    """A local port nothing listens on: bound, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pattern(text: str) -> str:
    """The exact message, with the seconds of waiting (jittered backoff) left open."""
    return re.escape(text).replace(re.escape("<N>"), r"\d+")


def failed_message(run) -> str:
    entry = run.task("key")
    assert entry["status"] == "failed", entry["result"]
    return entry["result"]["msg"]


def discovery_failure(tenant: str, host: str, reason: str) -> str:
    return (f"the OpenID discovery of tenant {tenant} failed: GET https://{host}/{tenant}/v2.0/.well-known/"
            f"openid-configuration failed: cannot reach {host} (authority_host): {reason}; gave up after 3 attempts "
            f"and <N> s of waiting; {NETWORK_ADVICE % 'authority_host'}; tenant_id and the credential are not in "
            f"question")


def graph_failure(host: str, reason: str) -> str:
    return (f"Graph GET /trustFramework/keySets/B2C_1A_Net failed: cannot reach {host} (graph_endpoint): {reason}; gave "
            f"up after 3 attempts and <N> s of waiting; {NETWORK_ADVICE % 'graph_endpoint'}")


@pytest.mark.parametrize("where", ["closed port", "unresolvable name"])
@pytest.mark.parametrize("option", ["authority_host", "graph_endpoint"])
def test_a_host_that_cannot_be_reached_is_named_with_what_went_wrong(ansible, control, option, where):
    host = "127.0.0.1:%d" % closed_port() if where == "closed port" else INVALID_HOST
    run = ansible.playbook([key_task(keyset="Net", use="sig")], defaults=ansible.connection(**{option: "https://" + host}))
    reason = REFUSED if where == "closed port" else UNRESOLVED
    if option == "authority_host":
        expected, reached = discovery_failure(ansible.emulator.tenant_id, host, reason), []
    else:
        expected, reached = graph_failure(host, reason), ["discovery", "token"]  # Entra ID was reached; Graph never was
    message = failed_message(run)
    assert re.fullmatch(pattern(expected), message), message
    assert "throttled" not in message
    assert routes(control) == reached


@pytest.mark.parametrize("option", ["authority_host", "graph_endpoint"])
def test_an_untrusted_certificate_is_named_with_host_and_reason(ansible, control, option):
    emu = ansible.emulator
    host = emu.url.split("://", 1)[1]
    if option == "authority_host":  # the CA is not given: the login host's certificate is not trusted
        defaults = ansible.connection(ca_path=None)
        expected = (f"the OpenID discovery of tenant {emu.tenant_id} failed: GET https://{host}/{emu.tenant_id}/v2.0/"
                    f".well-known/openid-configuration failed: TLS verification of {host} (authority_host) failed: "
                    f"<REASON>; give the CA bundle with ca_path, or validate_certs: false for a test endpoint only; "
                    f"tenant_id and the credential are not in question")
    else:  # a ready token: only Graph is asked, without the CA
        token = control.access_token(client_id=emu.client_id, roles=["TrustFrameworkKeySet.ReadWrite.All"])
        defaults = {"access_token": token, "graph_endpoint": emu.url}
        expected = (f"Graph GET /trustFramework/keySets/B2C_1A_Net failed: TLS verification of {host} (graph_endpoint) "
                    f"failed: <REASON>; give the CA bundle with ca_path, or validate_certs: false for a test endpoint "
                    f"only")
    message = failed_message(ansible.playbook([key_task(keyset="Net", use="sig")], defaults=defaults))
    # OpenSSL's words for an unknown CA differ between releases.
    assert re.fullmatch(re.escape(expected).replace(re.escape("<REASON>"), r"[a-z][a-z -]+"), message), message
    assert control.requests() == []


def test_a_port_that_speaks_no_tls_is_named(ansible, control):
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host = "127.0.0.1:%d" % server.server_port
        run = ansible.playbook([key_task(keyset="Net", use="sig")], defaults=ansible.connection(
            graph_endpoint="https://" + host))
    finally:
        server.shutdown()
        server.server_close()
    assert failed_message(run) == (
        f"Graph GET /trustFramework/keySets/B2C_1A_Net failed: the TLS handshake with {host} (graph_endpoint) failed: "
        f"wrong version number; check that graph_endpoint names an https endpoint (scheme, host and port)")


def test_a_key_request_without_answer_whose_re_read_fails_says_a_key_may_have_been_added(ansible, control):
    """The generateKey lands but its answer is lost, and the reads that would show it fail: the run cannot know, so it
    says a key may have been added and does not send the request again; the re-run finds the key and adds none."""
    control.seed([{"id": "B2C_1A_Lost", "keys": []}])
    control.add_fault("keysets.get", [{"delay": 0}] + [{"drop": True}] * 3, keyset="B2C_1A_Lost")
    control.add_fault("keys.generate", [{"commit": True, "drop": True}], keyset="B2C_1A_Lost")
    message = failed_message(ansible.playbook([key_task(keyset="Lost", use="sig", valid_for="30d")]))
    assert re.fullmatch(pattern(
        "Graph POST /trustFramework/keySets/B2C_1A_Lost/generateKey failed: connection failed or was dropped; a key may "
        "have been added, and reading the key set to find out failed (Graph GET /trustFramework/keySets/B2C_1A_Lost "
        "failed: connection failed or was dropped; gave up after 3 attempts and <N> s of waiting); the request was not "
        "sent again: re-run the task once Graph answers: it reads the key set first and adds a key only if none "
        "landed"), message), message
    assert routes(control, "keys.generate") == ["keys.generate"]
    assert len(keyset_keys(control, "B2C_1A_Lost")) == 1  # it had landed

    again = ansible.playbook([key_task(keyset="Lost", use="sig", valid_for="30d")]).result()
    assert again["changed"] is False and again["reason"] == "valid"
    assert len(keyset_keys(control, "B2C_1A_Lost")) == 1


def test_a_user_name_and_password_credential_is_named_as_unsupported(ansible, control):
    """AWX's Azure credential filled in with Username and Password (no Client ID) injects AZURE_AD_USER/AZURE_PASSWORD."""
    password = "awx-user-password-1"
    ansible.secrets.add(password)
    env = {"AZURE_AD_USER": "admin@emulatorb2c.onmicrosoft.com", "AZURE_PASSWORD": password,
           "AZURE_SUBSCRIPTION_ID": ""}
    defaults = {"graph_endpoint": ansible.emulator.url, "authority_host": ansible.emulator.url,
                "ca_path": ansible.emulator.ca_path}
    run = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults, extra_env=env)
    assert failed_message(run) == (
        "no supported credentials: the environment holds AZURE_AD_USER and AZURE_PASSWORD, a user name and password (as "
        "AWX's Azure credential injects them when its Username and Password are filled in), which this collection does "
        "not sign in with; give an app registration's credential instead: one of client_secret, "
        "client_certificate_path, federated_token_file, access_token (or their environment variables; in AWX, fill in "
        "the credential's Client ID, Client Secret and Tenant ID instead, which it injects as AZURE_CLIENT_ID, "
        "AZURE_SECRET and AZURE_TENANT)")
    assert "admin@emulatorb2c" not in run.output
    assert control.requests() == []


def test_several_problems_print_one_per_line_and_messages_name_what_to_change(ansible, control):
    """Issue part 6, in one run: a refusal of several problems is one line each (a policy set's files, a batch's key
    sets), a key set given with the prefix twice is refused before any request with the name meant (read and delete
    still take it), and a 403 on a policy call names the policy permission, not the key set one."""
    control.seed([{"id": "B2C_1A_OctA", "keys": [{"use": "sig", "kty": "oct"}]},
                  {"id": "B2C_1A_OctB", "keys": [{"use": "sig", "kty": "oct"}]},
                  {"id": "B2C_1A_B2C_1A_Portal", "keys": []}])
    broken = [{"content": "<broken", "source": "one.xml"}, {"content": "", "source": "two.xml"},
              {"content": "<a/>", "source": "three.xml"}]
    run = ansible.playbook([
        {"name": "set", "entra.b2c.b2c_policies": {"policies": broken}, "ignore_errors": True},
        {"name": "batch", "entra.b2c.b2c_keyset_key_batch": {"use": "sig", "valid_for": "30d", "keysets": [
            {"keyset": "OctA"}, {"keyset": "OctB"}]}, "ignore_errors": True},
        key_task(keyset="B2C_1A_B2C_1A_TokenSigningKeyContainer", use="sig", valid_for="30d"),
        {"name": "info", "entra.b2c.b2c_keyset_info": {"keyset": "B2C_1A_B2C_1A_Portal"}, "ignore_errors": True},
        {"name": "delete", "entra.b2c.b2c_keyset": {"keyset": "B2C_1A_B2C_1A_Portal", "state": "absent"},
         "ignore_errors": True},
        {"name": "policy", "entra.b2c.b2c_policy_info": {}, "ignore_errors": True},  # the ready app: key sets only
    ])
    lines = run.result("set")["msg"].splitlines()
    assert lines[0] == "3 problem(s) in the policy set, nothing was sent:" and len(lines) == 4, lines
    assert lines[1].startswith("- one.xml: not well-formed XML") and lines[2] == "- two.xml: the policy is empty"
    assert lines[3].startswith("- three.xml: the root element is a")

    batch = run.result("batch")["msg"].splitlines()
    assert batch[0] == "2 of 2 key sets failed:" and len(batch) == 3, batch
    assert batch[1].startswith("- B2C_1A_OctA: ") and batch[2].startswith("- B2C_1A_OctB: ")

    assert run.result("key")["msg"] == (
        "keyset: 'B2C_1A_B2C_1A_TokenSigningKeyContainer' carries the B2C_1A_ prefix twice, which would name the key "
        "set B2C_1A_B2C_1A_TokenSigningKeyContainer; did you mean B2C_1A_TokenSigningKeyContainer? The prefix may be "
        "given once or left out")
    assert [keyset["id"] for keyset in run.result("info")["keysets"]] == ["B2C_1A_B2C_1A_Portal"]
    assert run.result("delete")["changed"] is True

    denied = run.result("policy")["msg"]
    assert "HTTP 403" in denied and "Policy.ReadWrite.TrustFramework" in denied and "TrustFrameworkKeySet" not in denied
    assert "B2C IEF Policy Administrator" in denied and "Keyset Administrator" not in denied
    touched = {entry.get("keyset") for entry in control.requests()}
    assert "B2C_1A_B2C_1A_TokenSigningKeyContainer" not in touched and not control.policies()
    # nothing created; the doubly prefixed set deleted (B2C keeps its .bak backup)
    assert [keyset["id"] for keyset in control.state()["keysets"]] == ["B2C_1A_OctA", "B2C_1A_OctB",
                                                                       "B2C_1A_B2C_1A_Portal.bak"]
