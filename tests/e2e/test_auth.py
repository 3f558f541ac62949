# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every credential kind, the environment AWX injects, clouds and auth failures, end to end."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import key_task, keyset_keys, routes

READ_WRITE = ["TrustFrameworkKeySet.ReadWrite.All"]


def make_certificate(password=None, key_first=True):
    """A self-signed client certificate: (PEM with key and certificate, certificate PEM alone)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "b2c-automation")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return (key_pem + cert_pem if key_first else cert_pem + key_pem), cert_pem


def private_key_body(bundle: str) -> str:
    """The base64 body of the PEM's private key: a leak of any of it must be caught."""
    start = bundle.index("PRIVATE KEY-----") + len("PRIVATE KEY-----")
    return bundle[start:bundle.index("-----END", start)].strip().splitlines()[0]


def without_credential(ansible, **extra):
    return ansible.connection(client_secret=None, **extra)


def assert_generated(run, control, keyset="B2C_1A_Auth"):
    entry = run.task("key")
    assert entry["status"] == "ok", entry["result"].get("msg", run.output[-2000:])
    assert entry["result"]["changed"] is True
    assert len(keyset_keys(control, keyset)) == 1


def test_client_secret(ansible, control):
    assert_generated(ansible.playbook([key_task(keyset="Auth", use="sig")]), control)


@pytest.mark.parametrize("password, key_first", [(None, True), ("s3cret-pem-pass", False)])
def test_certificate(ansible, control, tmp_path, password, key_first):
    bundle, cert_pem = make_certificate(password, key_first)
    app = control.register_app(certificate_pem=cert_pem, permissions=READ_WRITE)
    pem_path = tmp_path / "client.pem"
    pem_path.write_text(bundle, encoding="ascii")
    ansible.secrets.update(filter(None, [password, private_key_body(bundle)]))
    defaults = without_credential(ansible, client_id=app["client_id"], client_certificate_path=str(pem_path),
                                  client_certificate_password=password)
    run = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults)
    assert_generated(run, control)
    if password:
        assert password not in run.output


def test_wrong_certificate_password_says_so(ansible, control, tmp_path):
    bundle, cert_pem = make_certificate("right-password")
    app = control.register_app(certificate_pem=cert_pem, permissions=READ_WRITE)
    pem_path = tmp_path / "client.pem"
    pem_path.write_text(bundle, encoding="ascii")
    ansible.secrets.update(["right-password", "wrong-password"])
    defaults = without_credential(ansible, client_id=app["client_id"], client_certificate_path=str(pem_path),
                                  client_certificate_password="wrong-password")
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    assert "client_certificate_password" in entry["result"]["msg"]
    assert "wrong-password" not in json.dumps(entry)


def test_unregistered_certificate_is_refused_with_the_aadsts_code(ansible, control, tmp_path):
    _bundle, registered = make_certificate()
    other_bundle, _other = make_certificate()
    app = control.register_app(certificate_pem=registered, permissions=READ_WRITE)
    pem_path = tmp_path / "client.pem"
    pem_path.write_text(other_bundle, encoding="ascii")
    defaults = without_credential(ansible, client_id=app["client_id"], client_certificate_path=str(pem_path))
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    assert "AADSTS700027" in entry["result"]["msg"]
    assert control.state()["keysets"] == []


def test_federated_token_file_is_read_as_the_client_assertion(ansible, control, tmp_path):
    app = control.register_app(federated={"subject": "system:serviceaccount:iam:ansible"}, permissions=READ_WRITE)
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(control.federated_token(subject="system:serviceaccount:iam:ansible"), encoding="ascii")
    defaults = without_credential(ansible, client_id=app["client_id"], federated_token_file=str(token_file))
    assert_generated(ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults), control)


def test_federated_token_for_another_subject_is_refused(ansible, control, tmp_path):
    app = control.register_app(federated={"subject": "repo:contoso/iam:ref:refs/heads/main"}, permissions=READ_WRITE)
    token_file = tmp_path / "token"
    token_file.write_text(control.federated_token(subject="repo:mallory/iam:ref:refs/heads/main"), encoding="ascii")
    defaults = without_credential(ansible, client_id=app["client_id"], federated_token_file=str(token_file))
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    assert "AADSTS70021" in entry["result"]["msg"]


def test_ready_access_token_needs_no_tenant_and_makes_no_token_request(ansible, control):
    token = control.access_token(roles=READ_WRITE)
    defaults = {"access_token": token, "graph_endpoint": ansible.emulator.url, "ca_path": ansible.emulator.ca_path}
    run = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults)
    assert_generated(run, control)
    assert "token" not in routes(control) and "discovery" not in routes(control)
    assert token not in run.output


def test_expired_access_token_fails_with_advice(ansible, control):
    token = control.access_token(roles=READ_WRITE, expires_in=-60)
    defaults = {"access_token": token, "graph_endpoint": ansible.emulator.url, "ca_path": ansible.emulator.ca_path}
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    assert "401" in entry["result"]["msg"] and "access_token" in entry["result"]["msg"]


def test_environment_as_awx_azure_credential_injects_it(ansible, control):
    """AWX's Microsoft Azure Resource Manager credential sets AZURE_CLIENT_ID, AZURE_TENANT and AZURE_SECRET."""
    emu = ansible.emulator
    env = {"AZURE_CLIENT_ID": emu.client_id, "AZURE_TENANT": emu.tenant_id, "AZURE_SECRET": emu.client_secret,
           "AZURE_SUBSCRIPTION_ID": "", "REQUESTS_CA_BUNDLE": emu.ca_path}
    defaults = {"graph_endpoint": emu.url, "authority_host": emu.url}
    run = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults, extra_env=env)
    assert_generated(run, control)
    assert emu.client_secret not in run.output


def test_argument_credential_wins_over_environment(ansible, control, tmp_path):
    """A kind given as an argument is used even when the environment holds another kind."""
    env = {"AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "does-not-exist")}
    assert_generated(ansible.playbook([key_task(keyset="Auth", use="sig")], extra_env=env), control)


def test_two_credential_kinds_fail_before_any_request(ansible, control, tmp_path):
    defaults = ansible.connection(access_token="x.y.z")
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    assert "client_secret" in entry["result"]["msg"] and "access_token" in entry["result"]["msg"]
    assert control.requests() == []


def test_no_credential_fails_before_any_request(ansible, control):
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=without_credential(ansible)).task("key")
    assert entry["status"] == "failed"
    assert "no credentials" in entry["result"]["msg"]
    assert control.requests() == []


def test_bad_secret_shows_the_aadsts_code(ansible, control):
    defaults = ansible.connection(client_secret="not-the-secret")
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    assert "AADSTS7000215" in entry["result"]["msg"]
    assert "not-the-secret" not in json.dumps(entry)


def test_read_only_app_gets_a_403_that_names_permission_and_role(ansible, control):
    app = control.register_app(permissions=["TrustFrameworkKeySet.Read.All"])
    defaults = ansible.connection(client_id=app["client_id"], client_secret=app["client_secret"])
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    msg = entry["result"]["msg"]
    assert "403" in msg and "TrustFrameworkKeySet.ReadWrite.All" in msg and "B2C IEF Keyset Administrator" in msg
    assert "request-id" in msg
    assert not [route for route in routes(control) if route in ("keys.generate",)]


def test_unknown_tenant_is_named(ansible, control):
    defaults = ansible.connection(tenant_id="nosuchtenant.onmicrosoft.com")
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    assert "nosuchtenant.onmicrosoft.com" in entry["result"]["msg"]
    assert "check tenant_id and cloud" in entry["result"]["msg"]  # msal 1.39 drops the AADSTS90002 body


@pytest.mark.parametrize("cloud, tenant_cloud, audience", [
    ("usgov", "usgov", "https://graph.microsoft.us"),
    ("AzureChinaCloud", "china", "https://microsoftgraph.chinacloudapi.cn"),
    ("usgov_dod", "usgov_dod", "https://dod-graph.microsoft.us"),
])
def test_cloud_sets_the_token_audience(ansible, control, cloud, tenant_cloud, audience):
    control.configure(cloud=tenant_cloud)
    run = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=ansible.connection(cloud=cloud))
    assert_generated(run, control)
    token_requests = [entry for entry in control.requests() if entry["route"] == "token"]
    assert [entry["scope"] for entry in token_requests] == [audience + "/.default"]


@pytest.mark.parametrize("cloud, tenant_cloud", [("usgov", "global"), (None, "china"), ("AzureChinaCloud", "usgov_dod")])
def test_a_wrong_cloud_fails_pointing_at_cloud(ansible, control, cloud, tenant_cloud):
    """Entra ID refuses a token for a Graph its tenant's cloud does not have (AADSTS500011), before any Graph call."""
    control.configure(cloud=tenant_cloud)
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=ansible.connection(cloud=cloud)).task("key")
    assert entry["status"] == "failed"
    msg = entry["result"]["msg"]
    assert "AADSTS500011" in msg and "set cloud to the tenant's national cloud" in msg, msg
    assert [entry["route"] for entry in control.requests()] == ["discovery", "token"]


def test_a_token_for_another_clouds_graph_fails_pointing_at_cloud(ansible, control):
    """A ready token minted in another cloud (or a graph_endpoint of another cloud): Graph answers 401 Invalid audience."""
    token = control.access_token(audience="https://graph.microsoft.us")
    ansible.secrets.add(token)
    defaults = ansible.connection(client_secret=None, tenant_id=None, client_id=None, access_token=token)
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed"
    msg = entry["result"]["msg"]
    assert "HTTP 401" in msg and "Invalid audience" in msg
    assert "the token is for https://graph.microsoft.com (cloud global), not for this Graph: set cloud" in msg
    assert keyset_keys(control, "B2C_1A_Auth") == [] and "keys.generate" not in routes(control)


def test_graph_endpoint_of_another_cloud_fails_pointing_at_cloud(ansible, control, emulator):
    """cloud usgov, authority_host usgov's, graph_endpoint a global tenant's Graph: 401 on the first Graph call."""
    from emulator import Emulator  # pylint: disable=import-outside-toplevel
    with Emulator(settings={"cloud": "usgov"}, client_id=emulator.client_id, client_secret=emulator.client_secret,
                  tenant_id=emulator.tenant_id) as usgov:
        bundle = ansible.workdir / "both-cas.pem"
        bundle.write_text(Path(emulator.ca_path).read_text() + Path(usgov.ca_path).read_text(), encoding="ascii")
        defaults = ansible.connection(cloud="usgov", authority_host=usgov.url, ca_path=str(bundle))
        run = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults)
        leaked = [secret for secret in usgov.control.secrets() if len(secret) >= 8 and secret in run.output]
    assert not leaked
    entry = run.task("key")
    assert entry["status"] == "failed"
    msg = entry["result"]["msg"]
    # the other cloud's token fails validation (its signature, before its audience): the message still names cloud
    assert "HTTP 401" in msg and "graph_endpoint is the Graph of cloud usgov" in msg, msg


def test_token_revoked_mid_run_is_replaced_once(ansible, control):
    tasks = [key_task(name="first", keyset="Auth", use="sig"),
             {"name": "revoke", "ansible.builtin.uri": {
                 "url": ansible.emulator.url + "/_emulator/revoke-tokens", "method": "POST",
                 "ca_path": ansible.emulator.ca_path, "body_format": "json", "body": {}}},
             key_task(name="key", keyset="Auth2", use="enc")]
    run = ansible.playbook(tasks)
    assert run.task("key")["status"] == "ok", run.task("key")["result"]
    assert len(keyset_keys(control, "B2C_1A_Auth2")) == 1


def test_ansible_runner_job_with_injected_environment(ansible, control, tmp_path):
    """The way AWX runs a job template: ansible-runner, a project dir, credentials as environment variables."""
    runner = os.path.join(os.path.dirname(sys.executable), "ansible-runner")
    if not os.path.exists(runner):
        pytest.skip("ansible-runner is not installed in this environment")
    emu = ansible.emulator
    private = tmp_path / "runner"
    (private / "project").mkdir(parents=True)
    (private / "env").mkdir()
    (private / "project" / "keys.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: key\n      entra.b2c.b2c_keyset_key:\n        keyset: RunnerSet\n        use: sig\n"
        "        graph_endpoint: %s\n        authority_host: %s\n" % (emu.url, emu.url), encoding="utf-8")
    env = ansible.env({
        "AZURE_CLIENT_ID": emu.client_id, "AZURE_TENANT": emu.tenant_id, "AZURE_SECRET": emu.client_secret,
        "REQUESTS_CA_BUNDLE": emu.ca_path})
    (private / "env" / "envvars").write_text(json.dumps(env), encoding="utf-8")
    done = subprocess.run([runner, "run", str(private), "-p", "keys.yml"], capture_output=True, text=True,
                          timeout=240, check=False, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert len(keyset_keys(control, "B2C_1A_RunnerSet")) == 1
    assert emu.client_secret not in done.stdout


def test_the_leak_scan_catches_a_leak(ansible, control):
    """The scan every run goes through must be able to fail: a task that prints the client secret trips it."""
    leak = {"name": "leak", "ansible.builtin.debug": {"msg": "secret is " + ansible.emulator.client_secret}}
    with pytest.raises(AssertionError, match="secrets leaked"):
        ansible.playbook([leak])


def test_tls_verification_off_warns(ansible, control):
    defaults = ansible.connection(ca_path=None, validate_certs=False)
    run = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults)
    entry = run.task("key")
    assert entry["status"] == "ok", entry["result"].get("msg")
    assert any("validate_certs is false" in warning for warning in entry["result"].get("warnings", []))


def test_tls_verification_is_on_by_default(ansible, control):
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=ansible.connection(ca_path=None)).task("key")
    assert entry["status"] == "failed"
    assert "TLS" in entry["result"]["msg"] or "certificate" in entry["result"]["msg"].lower()
    assert control.requests() == []  # the handshake failed: nothing reached the service


def test_plain_http_endpoint_is_refused_before_any_request(ansible, control):
    defaults = ansible.connection(graph_endpoint=ansible.emulator.url.replace("https://", "http://"))
    entry = ansible.playbook([key_task(keyset="Auth", use="sig")], defaults=defaults).task("key")
    assert entry["status"] == "failed" and "allow_http" in entry["result"]["msg"]
    assert control.requests() == []
