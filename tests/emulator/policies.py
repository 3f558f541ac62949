# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""IEF custom policies (Graph beta trustFrameworkPolicy): routes, the tenant's policies and B2C's upload validation.

What is modelled, and the public evidence for each behaviour, is in the "Policies" section of
tests/emulator/README.md. This module imports neither `routes` nor `service` (they import it): handlers get the
`Response` class from the service that registers them.

Written independently of plugins/module_utils/_policies/policy.py on purpose: the emulator must not share the client's bugs.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from typing import Any, Callable
from urllib.parse import parse_qs

from . import errors
from .errors import GraphError

POLICY_NAMESPACE = "http://schemas.microsoft.com/online/cpim/schemas/2013/06"
POLICY_PREFIX = "B2C_1A_"
# Microsoft Graph permissions of the trustFrameworkPolicy API (Graph beta reference)
POLICY_READ_ALL = "Policy.Read.All"
POLICY_READ_WRITE = "Policy.ReadWrite.TrustFramework"

ROUTE_NAMES = ("policies.list", "policies.create", "policies.entity", "policies.get", "policies.put", "policies.delete")
NEEDED_ROLES = {
    "policies.list": frozenset({POLICY_READ_ALL, POLICY_READ_WRITE}),
    "policies.entity": frozenset({POLICY_READ_ALL, POLICY_READ_WRITE}),
    "policies.get": frozenset({POLICY_READ_ALL, POLICY_READ_WRITE}),
    "policies.create": frozenset({POLICY_READ_WRITE}),
    "policies.put": frozenset({POLICY_READ_WRITE}),
    "policies.delete": frozenset({POLICY_READ_WRITE}),
}
# application/xml: Graph's reference; application/octet-stream: what the azure-ad-b2c/deploy-trustframework-policy
# action sends (the Graph JS client's putStream). Anything else is refused [guess: 415].
ACCEPTED_CONTENT_TYPES = ("application/xml", "application/octet-stream")
XML_CONTENT_TYPE = "application/xml"
# Azure AD B2C service limits: file size, inheritance depth, policies per tenant
MAX_POLICY_BYTES = 1024 * 1024
MAX_INHERITANCE_LEVELS = 10
MAX_POLICIES = 200
# A transient failure users report on upload (a fault item for ControlClient.add_fault); transient_upload_fault()
# writes it exactly as users posted it, naming the policy and the tenant
TRANSIENT_TEXT = "Object reference not set to an instance of an object."
TRANSIENT_UPLOAD_FAULT = {"status": 400, "code": "AADB2C",
                          "message": "Validation failed: 1 validation error(s) found in policy. " + TRANSIENT_TEXT}


def transient_upload_fault(policy_id: str, tenant: str) -> dict[str, Any]:
    """The transient upload failure as B2C words it (advanced-policies #47): header, then the .NET text, no separator."""
    return {"status": 400, "code": "AADB2C", "message": f'Validation failed: 1 validation error(s) found in policy '
                                                        f'"{policy_id.upper()}" of tenant "{tenant}".{TRANSIENT_TEXT}'}


def conflict_upload_fault(policy_id: str) -> dict[str, Any]:
    """An upload that loses to another upload of the same policy at the same moment [guess: nothing public shows what
    B2C answers; a 409 like any conflict, with the generic code]."""
    return {"status": 409, "code": "AADB2C",
            "message": f"The policy '{policy_id}' is being changed by another request at the same time. Try again later."}


_POLICY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _tag(local: str) -> str:
    return f"{{{POLICY_NAMESPACE}}}{local}"


def route(method: str, segments: list[str]) -> tuple[str, str | None, GraphError | None]:
    """(route name, policy id, error to answer) for /beta/trustFramework/policies/... ; segments after 'policies'."""
    if not segments:
        names = {"GET": "policies.list", "POST": "policies.create"}
        return (names[method], None, None) if method in names else ("unknown", None, _not_allowed(method))
    policy_id = segments[0]
    if not _POLICY_ID_PATTERN.match(policy_id) or not policy_id.strip("."):
        return "unknown", None, errors.bad_request(f"Invalid policy id '{policy_id}': use only letters, digits, '_', '-' and '.'.")
    if len(segments) == 1:
        names = {"GET": "policies.entity", "DELETE": "policies.delete"}
        return (names[method], policy_id, None) if method in names else ("unknown", policy_id, _not_allowed(method))
    if len(segments) == 2 and segments[1].lower() == "$value":
        names = {"GET": "policies.get", "PUT": "policies.put"}
        return (names[method], policy_id, None) if method in names else ("unknown", policy_id, _not_allowed(method))
    return "unknown", policy_id, errors.bad_request(f"Resource not found for the segment '{segments[1]}'.")


def _not_allowed(method: str) -> GraphError:
    return GraphError(405, "BadRequest", f"The HTTP method '{method}' is not allowed on this resource.")


def posted_policy_id(body: bytes) -> str | None:
    """The PolicyId of a POST body, so faults and the request log can name the policy a create makes."""
    try:
        return ET.fromstring(body).get("PolicyId") or None
    except ET.ParseError:
        return None


# ---- errors in the service's words --------------------------------------------------------------------------------
def _b2c(message: str, status: int = 400) -> GraphError:
    return GraphError(status, "AADB2C", message)


def not_xml(detail: str) -> GraphError:
    return _b2c(f"The policy being uploaded is not XML or is not correctly formatted: {detail}.")


def policy_not_found(policy_id: str, tenant_object_id: str) -> GraphError:
    return _b2c(f"Policy with 'policyId': {policy_id.upper()} cannot be found in the directory '{tenant_object_id}'.", 404)


def validation_failed(policy_id: str, tenant: str, problems: list[str]) -> GraphError:
    # The service concatenates the header and each error without a separator (texts users posted). Its count is not
    # the number of sentences: some sentences come twice and count once (starter-pack #113, samples #481), so the
    # count here is that of distinct sentences and `problems` holds a repeated sentence twice.
    return _b2c(f'Validation failed: {len(dict.fromkeys(problems))} validation error(s) found in policy '
                f'"{policy_id.upper()}" of tenant "{tenant}".' + "".join(problems))


# ---- references that must resolve in the policy or one of its bases -------------------------------------------------
# element -> {attribute: kind}: what each element defines (its Id) and what its attributes refer to. The kinds are the
# element names B2C's message uses ("makes a reference to ClaimType with id ...": samples #53; TechnicalProfile:
# samples #481); the others follow the same pattern [guess].
_DEFINES = {"ClaimType": "ClaimType", "TechnicalProfile": "TechnicalProfile", "ClaimsTransformation": "ClaimsTransformation",
            "UserJourney": "UserJourney", "SubJourney": "SubJourney", "ContentDefinition": "ContentDefinition",
            "LocalizedResources": "LocalizedResources", "DisplayControl": "DisplayControl", "ClientDefinition": "ClientDefinition"}
_REFERS = {
    "InputClaim": {"ClaimTypeReferenceId": "ClaimType"}, "OutputClaim": {"ClaimTypeReferenceId": "ClaimType"},
    "PersistedClaim": {"ClaimTypeReferenceId": "ClaimType"},
    "DisplayClaim": {"ClaimTypeReferenceId": "ClaimType", "DisplayControlReferenceId": "DisplayControl"},
    "ValidationTechnicalProfile": {"ReferenceId": "TechnicalProfile"},
    "IncludeTechnicalProfile": {"ReferenceId": "TechnicalProfile"},
    "UseTechnicalProfileForSessionManagement": {"ReferenceId": "TechnicalProfile"},
    "ClaimsExchange": {"TechnicalProfileReferenceId": "TechnicalProfile"},
    "ValidationClaimsExchangeTechnicalProfile": {"TechnicalProfileReferenceId": "TechnicalProfile"},
    "OrchestrationStep": {"CpimIssuerTechnicalProfileReferenceId": "TechnicalProfile",
                          "ContentDefinitionReferenceId": "ContentDefinition"},
    "InputClaimsTransformation": {"ReferenceId": "ClaimsTransformation"},
    "OutputClaimsTransformation": {"ReferenceId": "ClaimsTransformation"},
    "DefaultUserJourney": {"ReferenceId": "UserJourney"}, "Endpoint": {"UserJourneyReferenceId": "UserJourney"},
    "Candidate": {"SubJourneyReferenceId": "SubJourney"},
    "LocalizedResourcesReference": {"LocalizedResourcesReferenceId": "LocalizedResources"},
    "ClientDefinition": {"ReferenceId": "ClientDefinition"},
}


def _local(tag: Any) -> str:
    prefix = f"{{{POLICY_NAMESPACE}}}"
    return tag[len(prefix):] if isinstance(tag, str) and tag.startswith(prefix) else ""


def _defined(chain: list[ET.Element]) -> set[tuple[str, str]]:
    return {(_DEFINES[_local(element.tag)], element.get("Id", "").strip().lower()) for root in chain
            for element in root.iter() if _local(element.tag) in _DEFINES and element.get("Id", "").strip()}


def _references(element: ET.Element, journey: str | None = None, step: str | None = None):
    """(kind, id, user journey, step order) of every reference under `element`, in document order."""
    name = _local(element.tag)
    if name == "UserJourney":
        journey = element.get("Id", "")
    if name == "OrchestrationStep" and journey is not None:
        step = element.get("Order", "")
    for attribute, kind in _REFERS.get(name, {}).items():
        value = (element.get(attribute) or "").strip()
        if value:
            yield kind, value, journey, step
    if name == "Item" and element.get("Key") == "ContentDefinitionReferenceId" and (element.text or "").strip():
        yield "ContentDefinition", element.text.strip(), journey, step
    for child in element:
        yield from _references(child, journey, step)


def dangling_sentences(root: ET.Element, chain: list[ET.Element], policy_id: str, tenant: str) -> list[str]:
    """B2C's sentence for each reference of `root` that no policy of `chain` (root first, then its bases) defines; ids
    are matched ignoring case (Microsoft's starter pack, which B2C accepts, references the claim type "surname" as
    "surName"). In an orchestration step the sentence comes after the step's prefix and twice (samples #481)."""
    defined = _defined(chain)
    sentences = []
    for kind, value, journey, step in _references(root):
        if (kind, value.lower()) in defined:
            continue
        sentence = (f'Policy "{policy_id}" of tenant "{tenant}" makes a reference to {kind} with id "{value}" but neither '
                    "the policy nor any of its base policies contain such an element.")
        if step is not None:
            sentence = (f'The following error occurred in orchestration step {step} in user journey "{journey}" in policy '
                        f'"{policy_id}" of tenant "{tenant}": {sentence}')
            sentences.append(sentence)
        sentences.append(sentence)
    return sentences


def _spaced_json(value: Any) -> str:
    """JSON the way B2C writes the inheritance chain: '{ "Key": value, ... }'."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(key)}: {_spaced_json(item)}" for key, item in value.items()) + " }"
    return json.dumps(value)


# ---- the re-serialised form $value answers -------------------------------------------------------------------------
def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(text: str) -> str:
    return (_escape_text(text).replace('"', "&quot;").replace("\t", "&#x9;").replace("\n", "&#xA;").replace("\r", "&#xD;"))


class _Serializer:
    """Writes a parsed policy the way a service that stores a parsed document might answer it: an XML declaration, tab
    indentation, whitespace-only text dropped, attributes in reverse order. The words, ids and comments stay."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes

    def _name(self, qualified: str) -> str:
        if not qualified.startswith("{"):
            return qualified
        uri, _brace, local = qualified[1:].partition("}")
        prefix = self.prefixes.get(uri, "")
        return f"{prefix}:{local}" if prefix else local

    def document(self, root: ET.Element) -> bytes:
        lines = ['<?xml version="1.0" encoding="utf-8"?>\n']
        self._element(root, 0, lines, root=True)
        return "".join(lines).encode("utf-8")

    def _element(self, element: ET.Element, depth: int, out: list[str], root: bool = False) -> None:
        indent = "\t" * depth
        if element.tag is ET.Comment:
            out.append(f"{indent}<!--{element.text or ''}-->\n")
            return
        attributes = [f'{self._name(name)}="{_escape_attribute(value)}"' for name, value in reversed(list(element.attrib.items()))]
        if root:
            declarations = [f'xmlns{":" + prefix if prefix else ""}="{_escape_attribute(uri)}"'
                            for uri, prefix in sorted(self.prefixes.items(), key=lambda item: item[1])]
            attributes = declarations + attributes
        start = self._name(element.tag) + "".join(" " + attribute for attribute in attributes)
        text = element.text if element.text and element.text.strip() else ""
        children = list(element)
        if not children:
            out.append(f"{indent}<{start}>{_escape_text(text)}</{self._name(element.tag)}>\n" if text else f"{indent}<{start} />\n")
            return
        out.append(f"{indent}<{start}>{_escape_text(text)}\n")
        for child in children:
            self._element(child, depth + 1, out)
            if child.tail and child.tail.strip():
                out.append(_escape_text(child.tail) + "\n")
        out.append(f"{indent}</{self._name(element.tag)}>\n")


def _parse(body: bytes) -> tuple[ET.Element, dict[str, str]]:
    """The root (comments kept) and the namespace prefixes the document declared (uri -> prefix, first one wins)."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    parser.feed(body)
    root = parser.close()
    prefixes: dict[str, str] = {}
    for _event, (prefix, uri) in ET.iterparse(io.BytesIO(body), events=("start-ns",)):
        prefixes.setdefault(uri, prefix)
    return root, prefixes


def reserialize(body: bytes) -> bytes:
    root, prefixes = _parse(body)
    taken = set(prefixes.values())
    for element in root.iter():
        for name in [element.tag if isinstance(element.tag, str) else ""] + list(element.attrib):
            if name.startswith("{"):
                uri = name[1:].partition("}")[0]
                if uri not in prefixes:
                    prefix = next(f"ns{index}" for index in range(len(taken) + 1) if f"ns{index}" not in taken)
                    prefixes[uri] = prefix
                    taken.add(prefix)
    return _Serializer(prefixes).document(root)


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, lower-cased; None without one."""
    for parameter in (content_type or "").split(";")[1:]:
        name, _equals, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return None


_DECLARED_ENCODING = re.compile(rb"""\A(\xef\xbb\xbf)?(\s*<\?xml\b[^>]*?\bencoding\s*=\s*["'])([A-Za-z0-9._\-]+)(["'])""")


def as_read(body: bytes, content_type: str | None) -> bytes:
    """The body as the service reads it: text in the charset the request names, else UTF-8 whatever the XML
    declaration says; bytes that do not decode become U+FFFD (what users saw when their client sent Latin-1 bytes
    without a charset: IEFPolicies#25, azure-docs#65924). Returned as UTF-8 with the declaration saying so."""
    charset = charset_of(content_type) or "utf-8"
    try:
        text = body.decode(charset, "replace")
    except LookupError:
        raise GraphError(415, "UnsupportedMediaType", f"The charset '{charset}' is not supported.") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    encoded = text.encode("utf-8")
    return _DECLARED_ENCODING.sub(lambda match: match.group(2) + b"utf-8" + match.group(4), encoded, count=1)


def _line_and_column(text: str, needle: str) -> tuple[int, int]:
    index = max(text.find(needle), 0)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# ---- the tenant's policies ------------------------------------------------------------------------------------------
class PolicyStore:
    """The tenant's custom policies, keyed by upper-case id (B2C compares ids ignoring case); the stored spelling is
    that of the latest upload. In memory only: not saved to the key set data file."""

    def __init__(self, tenant_domain: str, tenant_object_id: str, keyset_ids: Callable[[], set[str]]) -> None:
        self.tenant_domain = tenant_domain
        self.tenant_object_id = tenant_object_id
        self._keyset_ids = keyset_ids
        self.lock = threading.RLock()
        self._policies: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        with self.lock:
            self._policies.clear()

    def ids(self) -> list[str]:
        with self.lock:
            return [policy["id"] for policy in self._policies.values()]

    def describe(self, content: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            return [{"id": policy["id"], **({"content": policy["xml"].decode("utf-8")} if content else {})}
                    for policy in self._policies.values()]

    def _require(self, policy_id: str) -> dict[str, Any]:
        policy = self._policies.get(policy_id.upper())
        if policy is None:
            raise policy_not_found(policy_id, self.tenant_object_id)
        return policy

    def get(self, policy_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self._require(policy_id))

    def delete(self, policy_id: str) -> None:
        with self.lock:
            self._require(policy_id)
            del self._policies[policy_id.upper()]

    def upload(self, url_id: str | None, body: bytes, content_type: str | None) -> tuple[bool, dict[str, Any]]:
        """PUT (url_id given) or POST: validate as B2C does, then store; (created, stored policy)."""
        media_type = (content_type or "").split(";")[0].strip().lower()
        if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            # The body is parsed whatever its content type: a JSON body gets .NET's XmlException text, not a 415
            # (msgraph-beta-sdk-dotnet#734)
            raise not_xml("Data at the root level is invalid. Line 1, position 1")
        if media_type not in ACCEPTED_CONTENT_TYPES:
            raise GraphError(415, "UnsupportedMediaType",
                             f"The content type '{media_type or '(none)'}' is not supported: send the policy as application/xml.")
        body = as_read(body, content_type)
        if len(body) > MAX_POLICY_BYTES:
            raise _b2c(f"The policy is {len(body)} bytes; the largest policy file B2C accepts is {MAX_POLICY_BYTES // 1024} KB.")
        try:
            root, _prefixes = _parse(body)
        except ET.ParseError as exc:
            raise not_xml(str(exc)) from None
        if root.tag != _tag("TrustFrameworkPolicy"):
            raise not_xml(f"the root element must be TrustFrameworkPolicy in the namespace '{POLICY_NAMESPACE}'")
        policy_id = (root.get("PolicyId") or "").strip()
        shown_id = policy_id or url_id or "(none)"
        text = body.decode("utf-8", "replace")
        for name in ("PolicySchemaVersion", "TenantId", "PolicyId", "PublicPolicyUri"):
            if not (root.get(name) or "").strip():
                line, column = _line_and_column(text, "TrustFrameworkPolicy")
                raise validation_failed(shown_id, self.tenant_domain, [
                    f'Schema validation error found at line {line} col {column} in policy "{shown_id.upper()}" of tenant '
                    f'"{self.tenant_domain}": The required attribute \'{name}\' is missing.'])
        if url_id is not None and url_id.upper() != policy_id.upper():
            raise _b2c(f"The PolicyId '{policy_id}' in the policy xml does not match the policy id '{url_id}' of the request URL.")
        if not policy_id.upper().startswith(POLICY_PREFIX) or not _POLICY_ID_PATTERN.match(policy_id):
            raise _b2c(f"Policy id '{policy_id}' is not valid: the id of a custom policy starts with '{POLICY_PREFIX}' and "
                       "holds only letters, digits, '_', '-' and '.'.")
        problems = self._validate(root, policy_id)
        if problems:
            raise validation_failed(policy_id, self.tenant_domain, problems)
        stored = {"id": policy_id, "xml": reserialize(body), "base": self._base_id(root)}
        with self.lock:
            created = policy_id.upper() not in self._policies
            if created and len(self._policies) >= MAX_POLICIES:
                raise _b2c(f"The tenant already holds {MAX_POLICIES} policies, the most B2C allows.")
            self._policies[policy_id.upper()] = stored
            return created, dict(stored)

    @staticmethod
    def _base_id(root: ET.Element) -> str | None:
        base = root.find(_tag("BasePolicy"))
        if base is None:
            return None
        found = base.find(_tag("PolicyId"))
        return (found.text or "").strip() or None if found is not None else None

    def _validate(self, root: ET.Element, policy_id: str) -> list[str]:
        """The semantic errors B2C lists after 'Validation failed', in the words users posted."""
        problems = []
        tenant = (root.get("TenantId") or "").strip()
        if tenant.lower() != self.tenant_domain.lower():
            problems.append(f"TenantId in the policy xml '{tenant}' is not same as the one in login tenant '{self.tenant_domain}'.")
        base = root.find(_tag("BasePolicy"))
        if base is not None:
            base_tenant = ((base.find(_tag("TenantId")).text if base.find(_tag("TenantId")) is not None else "") or "").strip()
            base_id = self._base_id(root) or ""
            if base_tenant.lower() != self.tenant_domain.lower() or not base_id.upper().startswith(POLICY_PREFIX):
                problems.append(self._inheritance_refused(policy_id, base_id, base_tenant))
            else:
                with self.lock:
                    depth = self._depth(base_id)
                    chain = self._chain(base_id)
                if depth is None:
                    missing = (f"Policy with 'policyId': {base_id.upper()} cannot be found in the directory "
                               f"'{self.tenant_object_id}'.")
                    problems.extend([missing, missing])  # written twice, counted once (starter-pack #113)
                elif depth + 1 >= MAX_INHERITANCE_LEVELS:
                    problems.append(f"Policy '{policy_id}' would be {depth + 2} levels deep; B2C allows at most "
                                    f"{MAX_INHERITANCE_LEVELS} levels of inheritance.")
                if chain is not None:
                    problems.extend(dangling_sentences(root, [root] + chain, policy_id, self.tenant_domain))
        if base is None:
            problems.extend(dangling_sentences(root, [root], policy_id, self.tenant_domain))
        keysets = self._keyset_ids()
        seen = set()
        for element in root.iter():
            reference = (element.get("StorageReferenceId") or "").strip() if isinstance(element.tag, str) else ""
            if reference and reference not in keysets and reference not in seen:
                seen.add(reference)
                problems.append(f'Tenant "{self.tenant_domain}" does not have CryptographicKey referenced by '
                                f'storageReferenceId "{reference}".')
        return problems

    def _inheritance_refused(self, policy_id: str, base_id: str, base_tenant: str) -> str:
        """B2C's refusal with the inheritance chain it evaluated, as JSON after the sentence (azure-docs #5303)."""
        same_tenant = base_tenant.lower() == self.tenant_domain.lower()
        base_object_id = self.tenant_object_id if same_tenant else str(uuid.uuid5(uuid.NAMESPACE_DNS, base_tenant.lower()))
        if same_tenant:
            reason = (f"Policy '{policy_id}' in tenant '{self.tenant_object_id}' is blocked from inheriting policies from "
                      f"'{base_object_id}' as the basic policy constraint handler 'B2CBasicPoliciesOnly' cannot match the "
                      "policy id to a prefix or registered policy id.")
        else:
            reason = (f"Policy '{policy_id}' in tenant '{self.tenant_object_id}' is blocked from inheriting policies from "
                      f"'{base_object_id}' as policies may only inherit from policies of their own tenant.")
        chain = {"TenantId": base_tenant, "PolicyId": base_id, "TenantObjectId": base_object_id, "Root": True,
                 "Derived": {"TenantId": self.tenant_domain, "PolicyId": policy_id, "TenantObjectId": self.tenant_object_id,
                             "Rule": "All", "InheritanceAllowed": False, "Reason": reason}}
        return (f"Policy '{policy_id}' of tenant '{self.tenant_domain}' is not allowed to inherit from the specified base "
                f"policy. Inheritance chain: {_spaced_json(chain)}")

    def _chain(self, policy_id: str) -> list[ET.Element] | None:
        """The stored policy and its stored bases, parsed, up to the root; None when one is missing or unreadable.
        Called with the lock held."""
        chain, seen, current = [], set(), self._policies.get(policy_id.upper())
        while current is not None:
            if current["id"].upper() in seen:
                return None
            seen.add(current["id"].upper())
            try:
                chain.append(ET.fromstring(current["xml"]))
            except ET.ParseError:
                return None
            base = current.get("base")
            if not base:
                return chain
            current = self._policies.get(base.upper())
        return None

    def _depth(self, policy_id: str) -> int | None:
        """Levels above a stored policy (0: it has no base); None when it is not stored. Called with the lock held."""
        depth, current, seen = 0, self._policies.get(policy_id.upper()), set()
        if current is None:
            return None
        while current.get("base") and current["base"].upper() in self._policies and current["base"].upper() not in seen:
            seen.add(current["base"].upper())
            current = self._policies[current["base"].upper()]
            depth += 1
        return depth

    def seed(self, items: Any) -> list[str]:
        """Store policies as given (no B2C rule applies): [{"content": xml, "id"?: id}]; the id defaults to PolicyId."""
        if not isinstance(items, list):
            raise ValueError("'policies' must be a list")
        prepared = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("content"), str):
                raise ValueError("each policy needs 'content': the XML as a string")
            body = item["content"].encode("utf-8")
            policy_id = item.get("id") or posted_policy_id(body)
            if not isinstance(policy_id, str) or not _POLICY_ID_PATTERN.match(policy_id):
                raise ValueError(f"each policy needs a valid 'id' or a PolicyId in its content, not {policy_id!r}")
            try:
                base = self._base_id(ET.fromstring(body))
            except ET.ParseError:
                base = None
            prepared.append({"id": policy_id, "xml": body, "base": base})
        with self.lock:
            for policy in prepared:
                self._policies[policy["id"].upper()] = policy
        return [policy["id"] for policy in prepared]


class PolicyApi:
    """The Graph handlers and test controls of the policy endpoints, for `service.Service` to register."""

    def __init__(self, store: PolicyStore, response: Callable[..., Any], context: Callable[[str], str],
                 base_url: Callable[[], str]) -> None:
        self.store = store
        self._response = response
        self._context = context
        self._base_url = base_url
        self.handlers = {
            "policies.list": self._list,
            "policies.create": self._create,
            "policies.entity": self._entity,
            "policies.get": self._get,
            "policies.put": self._put,
            "policies.delete": self._delete,
        }

    def _xml(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> Any:
        return self._response(status, body, headers or {}, content_type=XML_CONTENT_TYPE)

    def _list(self, request: Any, route: Any) -> Any:
        return self._response(200, {"@odata.context": self._context("trustFramework/policies"),
                                    "value": [{"id": policy_id} for policy_id in self.store.ids()]})

    def _entity(self, request: Any, route: Any) -> Any:
        policy = self.store.get(route.policy)
        return self._response(200, {"@odata.context": self._context("trustFramework/policies/$entity"), "id": policy["id"]})

    def _get(self, request: Any, route: Any) -> Any:
        return self._xml(200, self.store.get(route.policy)["xml"])

    def _put(self, request: Any, route: Any) -> Any:
        created, policy = self.store.upload(route.policy, request.body, request.headers.get("Content-Type"))
        return self._xml(201 if created else 200, policy["xml"])

    def _create(self, request: Any, route: Any) -> Any:
        policy_id = posted_policy_id(request.body)
        if policy_id and policy_id.upper() in {known.upper() for known in self.store.ids()}:
            raise _b2c(f"Policy with 'policyId': {policy_id.upper()} already exists in the directory "
                       f"'{self.store.tenant_object_id}'.", 409)
        _created, policy = self.store.upload(None, request.body, request.headers.get("Content-Type"))
        location = f"{self._base_url()}/beta/trustFramework/policies/{policy['id']}/"
        return self._xml(201, policy["xml"], {"Location": location})

    def _delete(self, request: Any, route: Any) -> Any:
        self.store.delete(route.policy)
        return self._response(204)

    def control(self, method: str, request: Any) -> Any:
        """/_emulator/policies: GET lists ids (?content=true: and the stored XML); POST seeds {"policies": [...]}."""
        if method == "GET":
            content = parse_qs(request.query).get("content", ["false"])[0].lower() in ("1", "true", "yes")
            return self._response(200, {"policies": self.store.describe(content)})
        if method == "POST":
            try:
                body = json.loads(request.body.decode("utf-8") or "{}")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValueError(f"the body is not JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return self._response(200, {"policies": self.store.seed(body.get("policies"))})
        if method == "DELETE":
            self.store.reset()
            return self._response(200, {"cleared": True})
        return self._response(404, {"error": f"no control endpoint {method} /_emulator/policies"})


def log_facts(route: Any, target: str | None, request: Any = None) -> dict[str, Any] | None:
    """What the request log adds for a policy route: the policy it was about, and for an upload its Content-Type."""
    if not route.name.startswith("policies."):
        return None
    if route.name in ("policies.put", "policies.create") and request is not None:
        return {"policy": target, "content_type": request.headers.get("Content-Type")}
    return {"policy": target}
