# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# FOR INTERNAL COLLECTION USE ONLY: internal use only; may change without notice.
# The interfaces in this file serve the entra.b2c modules and are not a stable API.

"""A small IEF linker: every reference of a policy resolved against its inheritance chain, before any upload.

Pure: no I/O. Callers pass the set's parsed policies and the tenant's copies of the bases outside the set.

B2C merges a policy with its bases: an element defined with the same Id in a derived policy merges with the base's, so
a definition anywhere on the chain (the policy itself and every base above it) satisfies a reference. B2C refuses an
upload whose references do not resolve ("... makes a reference to ClaimType with id "X" but neither the policy nor any
of its base policies contain such an element."); this module finds the same mistakes locally, with the file's line and
the nearest id the chain does define.

Zero false positives is the bar, so only what is certainly a reference is checked (REFERENCES below), ids are compared
ignoring case (as B2C does: Microsoft's starter pack, which B2C accepts, names the claim type "surname" as
"surName"), and a policy whose chain cannot be read completely is not checked at all. Not checked, on purpose:
Metadata items other than ContentDefinitionReferenceId (ClaimTypeOnWhichToEnable, IpAddressClaimReferenceId, ...),
SubjectNamingInfo's ClaimType (a protocol claim name), PartnerClaimType, LocalizedString ElementId, the predicates'
PredicateReference/PredicateValidationReference ids, ClaimsProviderSelection's ClaimsExchange ids, Precondition values
and StorageReferenceId (key sets are the tenant's, not the chain's).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.parsers import expat

from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    POLICY_NAMESPACE,
    Policy,
    PolicyError,
    policy_key,
)

CLAIM_TYPE = "ClaimType"
TECHNICAL_PROFILE = "TechnicalProfile"
CLAIMS_TRANSFORMATION = "ClaimsTransformation"
USER_JOURNEY = "UserJourney"
SUB_JOURNEY = "SubJourney"
CONTENT_DEFINITION = "ContentDefinition"
LOCALIZED_RESOURCES = "LocalizedResources"
DISPLAY_CONTROL = "DisplayControl"
CLIENT_DEFINITION = "ClientDefinition"

# (element, attribute) -> the kind it defines: the element's own Id
DEFINITIONS = {
    ("ClaimType", "Id"): CLAIM_TYPE,
    ("TechnicalProfile", "Id"): TECHNICAL_PROFILE,
    ("ClaimsTransformation", "Id"): CLAIMS_TRANSFORMATION,
    ("UserJourney", "Id"): USER_JOURNEY,
    ("SubJourney", "Id"): SUB_JOURNEY,
    ("ContentDefinition", "Id"): CONTENT_DEFINITION,
    ("LocalizedResources", "Id"): LOCALIZED_RESOURCES,
    ("DisplayControl", "Id"): DISPLAY_CONTROL,
    ("ClientDefinition", "Id"): CLIENT_DEFINITION,
}
# (element, attribute) -> the kind the attribute's value names (IEF reference pages and the starter packs)
REFERENCES = {
    ("InputClaim", "ClaimTypeReferenceId"): CLAIM_TYPE,
    ("OutputClaim", "ClaimTypeReferenceId"): CLAIM_TYPE,
    ("PersistedClaim", "ClaimTypeReferenceId"): CLAIM_TYPE,
    ("DisplayClaim", "ClaimTypeReferenceId"): CLAIM_TYPE,
    ("ValidationTechnicalProfile", "ReferenceId"): TECHNICAL_PROFILE,
    ("IncludeTechnicalProfile", "ReferenceId"): TECHNICAL_PROFILE,
    ("UseTechnicalProfileForSessionManagement", "ReferenceId"): TECHNICAL_PROFILE,
    ("ClaimsExchange", "TechnicalProfileReferenceId"): TECHNICAL_PROFILE,
    ("OrchestrationStep", "CpimIssuerTechnicalProfileReferenceId"): TECHNICAL_PROFILE,
    ("ValidationClaimsExchangeTechnicalProfile", "TechnicalProfileReferenceId"): TECHNICAL_PROFILE,
    ("InputClaimsTransformation", "ReferenceId"): CLAIMS_TRANSFORMATION,
    ("OutputClaimsTransformation", "ReferenceId"): CLAIMS_TRANSFORMATION,
    ("DefaultUserJourney", "ReferenceId"): USER_JOURNEY,
    ("Endpoint", "UserJourneyReferenceId"): USER_JOURNEY,
    ("Candidate", "SubJourneyReferenceId"): SUB_JOURNEY,
    ("OrchestrationStep", "ContentDefinitionReferenceId"): CONTENT_DEFINITION,
    ("LocalizedResourcesReference", "LocalizedResourcesReferenceId"): LOCALIZED_RESOURCES,
    ("DisplayClaim", "DisplayControlReferenceId"): DISPLAY_CONTROL,
    ("ClientDefinition", "ReferenceId"): CLIENT_DEFINITION,
}
# <Metadata><Item Key="K">id</Item></Metadata>: the items whose text names an element of the chain
METADATA_REFERENCES = {"ContentDefinitionReferenceId": CONTENT_DEFINITION}
HINT_CUTOFF = 0.5


@dataclass(frozen=True)
class Reference:
    kind: str
    target: str
    line: int


@dataclass(frozen=True)
class Scan:
    """What one policy file defines and references, with the line of each reference."""

    base_key: str | None
    definitions: Mapping[str, frozenset[str]]
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class Dangling:
    """A reference no policy of the chain defines."""

    policy: str  # how messages name the policy: its id and source
    line: int
    kind: str
    target: str
    hint: str | None = None

    def __str__(self) -> str:
        text = (f"{self.policy} line {self.line}: {self.kind} '{self.target}' is defined neither in the policy nor in "
                "any of its bases")
        return text + (f" (did you mean '{self.hint}'?)" if self.hint else " (no similar id is defined)")


@dataclass
class _Scanner:
    """expat callbacks: the local name of each element of the policy namespace, its line and the text of Items."""

    definitions: dict[str, set[str]] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    base_id: list[str] = field(default_factory=list)
    item: tuple[str, int] | None = None  # kind and line of the Metadata Item being read
    text: list[str] = field(default_factory=list)
    parser: object = None

    def start(self, name: str, attributes: dict[str, str]) -> None:
        uri, _space, local = name.rpartition(" ")
        local = local if uri == POLICY_NAMESPACE else ""
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(local)
        self.text = []
        self.item = None
        if not local:
            return
        line = self.parser.CurrentLineNumber  # type: ignore[attr-defined]
        for attribute, value in attributes.items():
            value = value.strip()
            if not value:
                continue
            kind = DEFINITIONS.get((local, attribute))
            if kind is not None:
                self.definitions.setdefault(kind, set()).add(value)
            kind = REFERENCES.get((local, attribute))
            if kind is not None:
                self.references.append(Reference(kind, value, line))
        if local == "Item" and parent == "Metadata" and attributes.get("Key") in METADATA_REFERENCES:
            self.item = (METADATA_REFERENCES[attributes["Key"]], line)

    def end(self, name: str) -> None:
        local = self.stack.pop()
        text = "".join(self.text).strip()
        if self.item is not None and local == "Item" and text:
            self.references.append(Reference(self.item[0], text, self.item[1]))
        if local == "PolicyId" and self.stack[-2:] == ["TrustFrameworkPolicy", "BasePolicy"] and text:
            self.base_id.append(text)
        self.item = None
        self.text = []

    def data(self, text: str) -> None:
        self.text.append(text)


def scan(content: str | bytes) -> Scan:
    """Definitions and references of one policy; PolicyError for what is not XML."""
    scanner = _Scanner()
    parser = expat.ParserCreate(namespace_separator=" ")
    scanner.parser = parser
    parser.StartElementHandler = scanner.start
    parser.EndElementHandler = scanner.end
    parser.CharacterDataHandler = scanner.data
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise PolicyError(f"not well-formed XML ({exc})") from None
    return Scan(base_key=policy_key(scanner.base_id[0]) if scanner.base_id else None,
                definitions={kind: frozenset(ids) for kind, ids in scanner.definitions.items()},
                references=tuple(scanner.references))


def outside_bases(policies: Sequence[Policy]) -> dict[str, str]:
    """The bases of the set's policies that are not in the set: policy_key -> id as the file spells it."""
    inside = {policy.key for policy in policies}
    return {policy.base_key: policy.base_policy_id for policy in policies
            if policy.base_key and policy.base_policy_id and policy.base_key not in inside}


def tenant_base(content: str | bytes | None) -> str | None:
    """The BasePolicy id of a tenant copy (None when it has none, is missing or cannot be read)."""
    if content is None:
        return None
    try:
        base = scan(content).base_key
    except PolicyError:
        return None
    return base


def dangling_references(policies: Sequence[Policy], tenant: Mapping[str, str | bytes | None] | None = None,
                        ) -> list[Dangling]:
    """Every reference of every policy of the set that its chain does not define, in the set's order.

    ``tenant`` maps policy_key(id) to the tenant's copy (as GET .../$value answers it) of the bases outside the set and
    of their own bases. A policy whose chain leaves the set and the given copies (a copy missing or not XML) is not
    checked: what cannot be known is not reported.
    """
    tenant = tenant or {}
    scans: dict[str, Scan | None] = {}
    for policy in policies:
        scans[policy.key] = scan(policy.content)
    for key, content in tenant.items():
        if key not in scans:
            try:
                scans[key] = scan(content) if content is not None else None
            except PolicyError:
                scans[key] = None
    found: list[Dangling] = []
    for policy in policies:
        chain = _chain(policy.key, scans)
        if chain is None:
            continue
        defined: dict[str, dict[str, str]] = {}
        for link in chain:
            for kind, ids in link.definitions.items():
                for item in ids:
                    defined.setdefault(kind, {}).setdefault(item.casefold(), item)
        for reference in chain[0].references:
            known = defined.get(reference.kind, {})
            if reference.target.casefold() in known:
                continue
            close = difflib.get_close_matches(reference.target, sorted(known.values()), n=1, cutoff=HINT_CUTOFF)
            found.append(Dangling(policy.label, reference.line, reference.kind, reference.target,
                                  close[0] if close else None))
    return found


def _chain(key: str, scans: Mapping[str, Scan | None]) -> list[Scan] | None:
    """The scans from the policy up to its root; None when a link is missing or unreadable (or the chain loops)."""
    chain: list[Scan] = []
    seen: set[str] = set()
    current: str | None = key
    while current is not None:
        found = scans.get(current)
        if found is None or current in seen:
            return None
        seen.add(current)
        chain.append(found)
        current = found.base_key
    return chain


def refuse_dangling(policies: Sequence[Policy], tenant: Mapping[str, str | bytes | None] | None = None) -> None:
    """Raise PolicyError listing every dangling reference, one per line, when there is any."""
    found = dangling_references(policies, tenant)
    if found:
        lines = [str(item) for item in found]
        raise PolicyError(f"{len(found)} reference(s) that no policy of the inheritance chain defines, nothing was sent "
                          "(B2C would refuse the upload):\n" + "\n".join(lines), lines)
