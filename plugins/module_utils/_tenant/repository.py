# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A live tenant as a repository (b2c_tenant_export), pure: the tenant's values turned back into the placeholders the
ief_tenant role fills, proven by filling them again; appsettings.json, the role's variables and the inventory README.

Internal use only: this module may change without notice.

The contract is the round trip: the role run from the repository against the tenant it came from writes nothing. So a
value is put back as a placeholder only where filling the placeholder gives the same text again (settings.fill, the
code the role runs), and a value that would also stand for text it must not (inside a longer word, or the value of two
names) is refused, naming where.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import KEYSET_PREFIX, active_key, key_time, valid_now
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    POLICY_NAMESPACE,
    POLICY_PREFIX,
    parse_xml,
    windows_safe,
)
from ansible_collections.entra.b2c.plugins.module_utils._policies.settings import fill, short_name

POLICIES_DIR = "policies"
APPSETTINGS = "appsettings.json"
VARIABLES = "ief_tenant.yml"
README = "README.md"
TENANT = "Tenant"
TENANT_NAME = "TenantName"  # the short name, as in https://contoso.b2clogin.com
IEF_APP = "IdentityExperienceFrameworkAppId"
PROXY_APP = "ProxyIdentityExperienceFrameworkAppId"
B2CLOGIN = ".b2clogin.com"
# The role renews a key expiring within this margin (policy_keys_renew_before's default): an export describes a key
# set whose key expires sooner with renew_before 0, so that the first run changes nothing.
DEFAULT_RENEW_SECONDS = 30 * 86400
_NS = f"{{{POLICY_NAMESPACE}}}"


class ExportError(UserError):
    """What stops an export before it writes a file."""


@dataclass(frozen=True)
class Substitution:
    """A value of the tenant put back as a placeholder: `find` (ignoring case) is written as `placeholder`."""

    name: str  # the setting, as messages and appsettings.json name it
    value: str  # what the setting holds
    find: str
    placeholder: str
    where: str  # how messages name where the value came from


def substitutions(domain: str, app_ids: Mapping[str, str | None], settings: Mapping[str, Any]) -> list[Substitution]:
    """Every value the export puts back as a placeholder: the tenant's domain, its short name in b2clogin host names,
    the IEF apps' ids and each value of `settings`; one value under two names is refused."""
    found = [Substitution(TENANT, domain, domain, "{Settings:Tenant}", "the tenant's domain")]
    short = short_name(domain)
    if short:
        found.append(Substitution(TENANT_NAME, short, short + B2CLOGIN, "{Settings:TenantName}" + B2CLOGIN,
                                  "the tenant's short name in b2clogin host names"))
    for name, app_id in app_ids.items():
        if app_id:
            found.append(Substitution(name, app_id, app_id, "{Settings:%s}" % name, f"the application id of {name[:-5]}"))
    problems = []
    for name, value in (settings or {}).items():
        text = "" if value is None else str(value)
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", str(name)) or name.lower() in (TENANT.lower(), TENANT_NAME.lower()):
            problems.append(f"settings.{name}: not a setting name the export can write (letters, digits, _ . -; Tenant "
                            f"and TenantName are the export's own)")
            continue
        if len(text.strip()) < 3:
            problems.append(f"settings.{name}: '{text}' is too short to stand for one value only; give the whole value")
            continue
        found.append(Substitution(name, text, text, "{Settings:%s}" % name, f"settings.{name}"))
    by_value: dict[str, Substitution] = {}
    for item in found:
        other = by_value.setdefault(item.value.lower(), item)
        if other is not item:
            problems.append(f"'{item.value}' is {other.where} and {item.where}: one value under two names cannot be put "
                            f"back as one placeholder; remove one of them from settings")
    if problems:
        raise ExportError(itemized("the export wrote nothing", problems))
    return found


def _inside_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is part of a longer word: a letter, digit or _ next to it, or a . or - joining it to
    one (login.contoso.onmicrosoft.com, 1800-2)."""
    def joined(index: int, step: int) -> bool:
        if not 0 <= index < len(text):
            return False
        char = text[index]
        if char.isalnum() or char == "_":
            return True
        beyond = index + step
        return char in ".-" and 0 <= beyond < len(text) and (text[beyond].isalnum() or text[beyond] == "_")
    return joined(start - 1, -1) or joined(end, 1)


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def put_back(text: str, source: str, subs: Sequence[Substitution]) -> tuple[str, list[str]]:
    """The text with each value written as its placeholder, longest first (so a value inside a longer one stays in
    it); and, one per occurrence, where a value stands inside a longer word (refused: the placeholder would stand for
    text it must not)."""
    problems: list[str] = []
    ordered = sorted(subs, key=lambda item: len(item.find), reverse=True)
    pattern = re.compile("|".join(re.escape(item.find) for item in ordered), re.IGNORECASE)
    by_find = {item.find.lower(): item for item in ordered}

    def replace(match: re.Match) -> str:
        item = by_find[match.group(0).lower()]
        if _inside_word(text, match.start(), match.end()):
            problems.append(f"{source}:{_line(text, match.start())}: '{item.value}' ({item.where}) stands inside "
                            f"'{_word_around(text, match.start(), match.end())}'")
            return match.group(0)
        return item.placeholder

    return pattern.sub(replace, text), problems


def _word_around(text: str, start: int, end: int) -> str:
    left = start
    while left > 0 and not text[left - 1].isspace() and text[left - 1] not in "<>\"'=":
        left -= 1
    right = end
    while right < len(text) and not text[right].isspace() and text[right] not in "<>\"'=":
        right += 1
    return text[left:right]


def round_trip_problem(original: str, exported: str, source: str, subs: Sequence[Substitution]) -> str | None:
    """None when filling the exported text as the role fills it gives the tenant's text back; else where it does not
    (the tenant's text holds something the role would fill: a placeholder, yourtenant, a bare app id word)."""
    settings = {item.name.lower(): (item.name, item.value) for item in subs}
    filled, _left = fill(exported, source, settings, None)
    if filled == original:
        return None
    filled_lines, original_lines = str(filled).splitlines(), original.splitlines()
    for number, (got, want) in enumerate(zip(filled_lines, original_lines), start=1):
        if got != want:
            return (f"{source}:{number}: deploying the exported file would change this line of the tenant's policy "
                    f"(it holds text the role fills, such as a {{Settings:...}} placeholder, 'yourtenant' or a bare "
                    f"IdentityExperienceFrameworkAppId): {want.strip()[:160]}")
    return f"{source}: deploying the exported file would not give the tenant's policy back"


def policy_file(policy_id: str) -> str:
    """The repository path of a policy: policies/<id without B2C_1A_>.xml, a name Windows accepts too."""
    name = policy_id[len(POLICY_PREFIX):] if policy_id.upper().startswith(POLICY_PREFIX.upper()) else policy_id
    return f"{POLICIES_DIR}/{windows_safe(name)}.xml"


# ---- appsettings.json ---------------------------------------------------------------------------------------------
def appsettings_text(existing: str | None, environment: str, subs: Sequence[Substitution], source: str) -> str:
    """The VS Code extension's appsettings.json with the environment `environment` holding the tenant and the values
    put back; the file's other environments (and other keys of this one) kept as they are."""
    data: dict = {"Environments": []}
    if existing is not None:
        try:
            data = json.loads(existing)
        except ValueError as exc:
            raise ExportError(f"{source} is not valid JSON ({exc}); fix or remove it, the export wrote nothing") from None
        if not isinstance(data, dict) or not isinstance(data.get("Environments", []), list):
            raise ExportError(f"{source} holds no Environments list as the VS Code B2C extension writes it; fix or "
                              f"remove it, the export wrote nothing")
        data.setdefault("Environments", [])
    values = {item.name: item.value for item in subs}
    entry = next((item for item in data["Environments"] if isinstance(item, dict) and item.get("Name") == environment),
                 None)
    if entry is None:
        entry = {"Name": environment}
        data["Environments"].append(entry)
    entry[TENANT] = values.pop(TENANT)
    settings = entry.get("PolicySettings") if isinstance(entry.get("PolicySettings"), dict) else {}
    settings.update(values)
    entry["PolicySettings"] = settings
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---- the role's variables -------------------------------------------------------------------------------------------
@dataclass
class KeysetEntry:
    """One key set as ief_tenant.yml describes it."""

    keyset: str
    kind: str  # generated, secret, certificate; "" when the set cannot be described (no valid key)
    use: str | None = None
    kty: str | None = None
    expires: int | None = None
    note: str = ""


def keyset_entries(keysets: Sequence[Mapping[str, Any]], now: int) -> list[KeysetEntry]:
    """The tenant's key sets (backups left out) as the role's entries: a set of generated keys by use and kty; a
    secret (kty oct: generated and uploaded ones look alike) and a certificate (x5t) as entries without a value, which
    keep what the tenant holds. A set without a valid key is described in a comment only: any entry would add a key."""
    entries = []
    for keyset in sorted(keysets, key=lambda item: str(item.get("id", "")).lower()):
        set_id = str(keyset.get("id") or "")
        if not set_id or set_id.lower().endswith(".bak"):
            continue
        name = set_id[len(KEYSET_PREFIX):] if set_id.upper().startswith(KEYSET_PREFIX.upper()) else set_id
        keys = [key for key in keyset.get("keys") or [] if isinstance(key, dict)]
        valid = [key for key in keys if valid_now(key, now)]
        active = active_key(valid, now) if valid else None
        if active is None:
            entries.append(KeysetEntry(name, "", note="holds no valid key: not described (an entry would add one)"))
            continue
        kind = "certificate" if active.get("x5t") else "secret" if str(active.get("kty", "")).lower() == "oct" else "generated"
        entries.append(KeysetEntry(name, kind, use=active.get("use"), kty=active.get("kty"),
                                   expires=key_time(active.get("exp"))))
    return entries


def _yaml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML scalar, quoted and escaped alike


def variables_text(domain: str, environment: str, entries: Sequence[KeysetEntry], apps: bool, now: int) -> str:
    """ief_tenant.yml: the role's variables, paths relative to the repository. Written as text (a dozen lines of
    YAML whose values are JSON strings) so that the module needs no YAML library where it runs."""
    lines = ["---",
             "# Written by entra.b2c.b2c_tenant_export from %s: the variables of the role entra.b2c.ief_tenant for this"
             % domain,
             "# repository (paths relative to it). Deploy with:",
             "#   ansible-playbook entra.b2c.ief_tenant -e @ief_tenant.yml",
             "# A run against the tenant it was exported from writes nothing; check with --check --diff first.",
             f"ief_tenant_policies_dir: {POLICIES_DIR}",
             f"ief_tenant_appsettings: {APPSETTINGS}",
             f"ief_tenant_environment: {_yaml(environment)}",
             "# The files are the tenant's policies as they are, not Jinja templates.",
             "ief_tenant_template: false"]
    if not apps:
        lines += ["# The tenant has no IdentityExperienceFramework and ProxyIdentityExperienceFramework apps of those "
                  "names:", "# the role leaves apps alone.", "ief_tenant_apps: false"]
    lines.append("policy_keys_keysets:" + ("" if any(entry.kind for entry in entries) else " []"))
    for entry in entries:
        if not entry.kind:
            lines.append(f"  # {entry.keyset}: {entry.note}")
            continue
        lines.append(f"  - keyset: {_yaml(entry.keyset)}")
        if entry.kind != "generated":
            lines.append(f"    type: {entry.kind}")
        if entry.use and entry.kind != "certificate":
            lines.append(f"    use: {_yaml(entry.use)}")
        if entry.kind == "generated":
            lines.append(f"    kty: {_yaml(str(entry.kty or 'RSA'))}")
            if entry.expires is not None and entry.expires - now <= DEFAULT_RENEW_SECONDS:
                lines.append('    renew_before: "0"  # its key expires within 30 days: remove to renew it ahead')
        else:
            lines.append(f"    # no {'secret' if entry.kind == 'secret' else 'certificate'}: the tenant's is kept, "
                         f"never read nor replaced; give one to upload a new value")
    return "\n".join(lines) + "\n"


# ---- the inventory README -----------------------------------------------------------------------------------------
@dataclass
class PolicyFacts:
    policy_id: str
    base: str | None
    file: str
    journeys: list = field(default_factory=list)  # UserJourney ids it defines
    default_journey: str | None = None  # a relying party's
    rest: list = field(default_factory=list)  # (technical profile, ServiceUrl)
    providers: list = field(default_factory=list)  # (technical profile, protocol, where)
    keysets: list = field(default_factory=list)


def policy_facts(policy_id: str, base: str | None, content: str | bytes) -> PolicyFacts:
    """What the inventory shows of one policy, read from its XML (the collection's parser: no DOCTYPE)."""
    facts = PolicyFacts(policy_id, base, policy_file(policy_id))
    root = parse_xml(content)
    for journey in root.iter(f"{_NS}UserJourney"):
        if journey.get("Id"):
            facts.journeys.append(journey.get("Id"))
    party = root.find(f"{_NS}RelyingParty")
    if party is not None:
        default = party.find(f"{_NS}DefaultUserJourney")
        facts.default_journey = default.get("ReferenceId") if default is not None else None
    providers = root.find(f"{_NS}ClaimsProviders")  # a relying party's own technical profile calls nothing
    for profile in providers.iter(f"{_NS}TechnicalProfile") if providers is not None else ():
        protocol = profile.find(f"{_NS}Protocol")
        if protocol is None:
            continue
        metadata = {item.get("Key"): (item.text or "").strip() for item in profile.iter(f"{_NS}Item") if item.get("Key")}
        name, handler = protocol.get("Name") or "", protocol.get("Handler") or ""
        if "RestfulProvider" in handler:
            facts.rest.append((profile.get("Id"), metadata.get("ServiceUrl", "")))
        elif name in ("OAuth1", "OAuth2", "OpenIdConnect", "SAML2"):
            where = (metadata.get("METADATA") or metadata.get("authorization_endpoint") or metadata.get("ProviderName")
                     or metadata.get("PartnerEntity") or "")
            facts.providers.append((profile.get("Id"), name, where))
    for key in root.iter(f"{_NS}Key"):
        if key.get("StorageReferenceId"):
            facts.keysets.append(key.get("StorageReferenceId"))
    return facts


def _cell(text: Any) -> str:
    return str(text if text not in (None, "") else "-").replace("|", "\\|").replace("\n", " ")


def _iso(seconds: int | None) -> str:
    return "never" if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d")


def readme_text(domain: str, environment: str, facts: Sequence[PolicyFacts], entries: Sequence[KeysetEntry]) -> str:
    """The repository's README.md: what is in the tenant at a glance. Regenerated on each export, and the same when
    the tenant is (no date of its own)."""
    by_id = {item.policy_id.lower(): item for item in facts}
    lines = [f"# B2C tenant {domain}", "",
             "Written by `entra.b2c.b2c_tenant_export` and regenerated by each export: edits here are lost. The "
             f"policies are in `{POLICIES_DIR}/`, the settings of environment `{environment}` in `{APPSETTINGS}`, and "
             f"the `entra.b2c.ief_tenant` role's variables in `{VARIABLES}`:", "",
             "```sh", "ansible-playbook entra.b2c.ief_tenant -e @ief_tenant.yml --check --diff", "```", "",
             f"## Policies ({len(facts)})", "", "```mermaid", "graph TD"]
    for item in facts:
        node = re.sub(r"[^A-Za-z0-9_]", "_", item.policy_id)
        lines.append(f"  {node}[\"{item.policy_id}\"]")
    for item in facts:
        if item.base:
            base = by_id.get(item.base.lower())
            base_node = re.sub(r"[^A-Za-z0-9_]", "_", base.policy_id if base else item.base)
            if base is None:
                lines.append(f"  {base_node}[\"{item.base} (not exported)\"]")
            lines.append(f"  {base_node} --> {re.sub(r'[^A-Za-z0-9_]', '_', item.policy_id)}")
    lines += ["```", "", "| Policy | Base | File | User journeys it defines |", "|---|---|---|---|"]
    for item in facts:
        lines.append(f"| {_cell(item.policy_id)} | {_cell(item.base)} | [{_cell(item.file)}]({item.file}) | "
                     f"{_cell(', '.join(item.journeys))} |")
    parties = [item for item in facts if item.default_journey]
    lines += ["", f"## Relying parties ({len(parties)})", "", "| Policy | Default user journey |", "|---|---|"]
    lines += [f"| {_cell(item.policy_id)} | {_cell(item.default_journey)} |" for item in parties]
    named_by: dict[str, list[str]] = {}
    for item in facts:
        for name in item.keysets:
            named_by.setdefault(name.lower(), []).append(item.policy_id)
    lines += ["", f"## Key sets ({len(entries)})", "", "| Key set | Kind | Use | Key type | Expires | Named by |",
              "|---|---|---|---|---|---|"]
    for entry in entries:
        full = entry.keyset if entry.keyset.upper().startswith(KEYSET_PREFIX.upper()) else KEYSET_PREFIX + entry.keyset
        users = sorted(set(named_by.get(full.lower(), [])))
        lines.append(f"| {_cell(full)} | {_cell(entry.kind or 'no valid key')} | {_cell(entry.use)} | {_cell(entry.kty)} "
                     f"| {_iso(entry.expires) if entry.kind else '-'} | {_cell(', '.join(users))} |")
    rest = [(item.policy_id, profile, url) for item in facts for profile, url in item.rest]
    lines += ["", f"## REST endpoints ({len(rest)})", "", "| Technical profile | Policy | ServiceUrl |", "|---|---|---|"]
    lines += [f"| {_cell(profile)} | {_cell(policy)} | {_cell(url)} |" for policy, profile, url in rest]
    providers = [(item.policy_id, profile, protocol, where) for item in facts for profile, protocol, where in item.providers]
    lines += ["", f"## Identity providers ({len(providers)})", "", "| Technical profile | Policy | Protocol | Metadata |",
              "|---|---|---|---|"]
    lines += [f"| {_cell(profile)} | {_cell(policy)} | {_cell(protocol)} | {_cell(where)} |"
              for policy, profile, protocol, where in providers]
    return "\n".join(lines) + "\n"
