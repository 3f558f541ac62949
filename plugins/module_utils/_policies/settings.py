# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# FOR INTERNAL COLLECTION USE ONLY: internal use only; may change without notice.
# The interfaces in this file serve the entra.b2c modules and are not a stable API.

"""Settings of the policy modules: placeholders filled in before any check, what is left refused. Pure: no I/O.

Two conventions are filled, so that policy files deploy as people download or keep them:

- the B2C VS Code extension's ``{Settings:Name}`` (its "B2C Policy Build" command, src/PolicyBuild.ts): ``Tenant``,
  ``Environment``, ``Filename`` (the file name without its extension), ``PolicyFilename`` (the same without
  ``B2C_1A_``) and every key of the environment's ``PolicySettings``; the ``Name`` part is matched ignoring case, as the
  extension's regular expressions (flag ``i``) match it;
- the starter packs' literals: ``yourtenant.onmicrosoft.com`` (the tenant's domain name), any other ``yourtenant``
  (the tenant's short name, as IEFPolicies fills it), and the bare words ``ProxyIdentityExperienceFrameworkAppId`` and
  ``IdentityExperienceFrameworkAppId`` (the application ids of the two IEF app registrations); and the social packs'
  ``facebook_clientid``, filled from the setting ``FacebookAppId`` (the name the extension's own appsettings.json
  examples give it). The social packs can go in without Facebook (local accounts work, only the Facebook button
  fails), so that one is left with a warning rather than refused: ``optional_left`` lists where.

Where this differs from the extension, on purpose: values are inserted as written (JavaScript's String.replace would
read ``$&``, ``$1`` or ``$$`` in a value as patterns), keys are matched as text (the extension builds a regular
expression from each key, so a ``.`` in a key matches any character), every placeholder is filled in one pass (a value
that itself holds a placeholder is not filled again), a setting whose value is null, a list or an object is refused
(the extension would insert ``null`` or ``[object Object]``), and a placeholder nothing fills is refused with its file
and line (the extension leaves it in the output, and B2C refuses the upload or, worse, accepts it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._core.identity import is_guid
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import PolicyError, tenant_is_comparable

# The options every policy module that uploads takes for settings (documented in doc_fragments/policy_settings.py).
SETTINGS_SPEC = dict(
    settings=dict(type="dict"),
    appsettings=dict(type="path"),
    environment=dict(type="str"),
)

TENANT = "Tenant"
ENVIRONMENT = "Environment"
FILENAME = "Filename"
POLICY_FILENAME = "PolicyFilename"
IEF_APP = "IdentityExperienceFrameworkAppId"
PROXY_APP = "ProxyIdentityExperienceFrameworkAppId"
FACEBOOK_APP = "FacebookAppId"
FACEBOOK_LITERAL = "facebook_clientid"
# What the extension fills before PolicySettings: a PolicySettings key of one of these names never takes effect there.
BUILT_IN = (TENANT, ENVIRONMENT, FILENAME, POLICY_FILENAME)
# Initial domain names of a tenant, whose first label is the tenant's short name (yourtenant alone).
INITIAL_DOMAINS = (".onmicrosoft.com", ".onmicrosoft.us", ".partner.onmschina.cn")

# One pass over the text; at each position the first alternative that matches wins, so the app id inside
# {Settings:IdentityExperienceFrameworkAppId} is never seen as a bare literal, and yourtenant.onmicrosoft.com is one
# placeholder, not yourtenant followed by text.
_PLACEHOLDER_RE = re.compile(
    r"(?i:\{Settings:(?P<setting>[^{}\r\n]*)\})"
    r"|(?P<domain>(?i:yourtenant\.onmicrosoft\.com))"
    r"|(?P<name>(?i:yourtenant))"
    r"|(?<![A-Za-z0-9_])(?P<app>(?:Proxy)?IdentityExperienceFrameworkAppId)(?![A-Za-z0-9_])"
    r"|(?<![A-Za-z0-9_])(?P<facebook>facebook_clientid)(?![A-Za-z0-9_])")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)


# ---- the settings -------------------------------------------------------------------------------------------------
def setting_text(value: Any, where: str) -> str:
    """A setting's value as the text that replaces its placeholder; numbers and booleans as the extension writes
    them (JavaScript's String(): true, 1, 1.5), anything else refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    shown = "null" if value is None else type(value).__name__
    raise PolicyError(f"{where}: the value is {shown}; a setting is text (a number or true/false is taken as written)")


def _key_problem(key: Any, where: str) -> str | None:
    if not isinstance(key, str) or not key.strip():
        return f"{where}: a setting needs a name"
    if any(char in key for char in "{}\r\n"):
        return f"{where}: '{key}' cannot name a setting; a name holds no braces and no line break"
    return None


def explicit_settings(settings: Mapping[str, Any] | None) -> dict[str, tuple[str, str]]:
    """The ``settings`` option as {name in lower case: (name, text)}; refuses names that differ only in case."""
    found: dict[str, tuple[str, str]] = {}
    problems = []
    for key, value in (settings or {}).items():
        where = f"settings.{key}"
        problem = _key_problem(key, where)
        if problem is None:
            try:
                text = setting_text(value, where)
            except PolicyError as exc:
                problem = str(exc)
        if problem is not None:
            problems.append(problem)
            continue
        other = found.get(key.lower())
        if other is not None:
            problems.append(f"settings: '{other[0]}' and '{key}' name the same placeholder ({{Settings:{key}}} is matched "
                            "ignoring case, as the VS Code extension matches it); keep one")
            continue
        found[key.lower()] = (key, text)
    _raise(problems, "bad setting(s)")
    return found


def appsettings_values(text: str | bytes, environment: str | None, source: str) -> dict[str, tuple[str, str]]:
    """What the VS Code B2C extension fills for one environment of its appsettings.json: ``Tenant``, ``Environment``
    (the environment's ``Name``) and every ``PolicySettings`` key (the first of keys that differ only in case, as the
    extension's case-insensitive replacement leaves the later ones nothing to fill); a PolicySettings key named like a
    built-in is ignored, as the extension fills the built-in first. Environments are matched by ``Name`` exactly, as
    its upload command finds them."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PolicyError(f"appsettings: {source} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PolicyError(f"appsettings: {source} is not valid JSON ({exc}); the VS Code extension could not read it "
                          "either") from None
    environments = data.get("Environments") if isinstance(data, dict) else None
    if not isinstance(environments, list):
        raise PolicyError(f"appsettings: {source} has no Environments list; the VS Code B2C extension's appsettings.json "
                          'holds {"Environments": [{"Name": ..., "Tenant": ..., "PolicySettings": {...}}]}')
    names = [entry.get("Name") for entry in environments if isinstance(entry, dict) and isinstance(entry.get("Name"), str)]
    listed = ", ".join(names) if names else "none"
    if environment is None or not str(environment).strip():
        raise PolicyError(f"environment: give the Name of the environment of {source} to deploy; it has: {listed}")
    match = next((entry for entry in environments if isinstance(entry, dict) and entry.get("Name") == environment), None)
    if match is None:
        near = [name for name in names if name.lower() == str(environment).lower()]
        hint = f" (names are matched exactly, as the extension matches them: did you mean '{near[0]}'?)" if near else ""
        raise PolicyError(f"environment: {source} has no environment named '{environment}'{hint}; it has: {listed}")
    where = f"appsettings {source}, environment '{environment}'"
    policy_settings = match.get("PolicySettings")
    if not isinstance(policy_settings, dict):
        raise PolicyError(f"{where}: it has no PolicySettings object; the VS Code extension refuses to build such an "
                          'environment too (add "PolicySettings": {} at least)')
    values: dict[str, tuple[str, str]] = {}
    problems = []
    for key, value in policy_settings.items():
        if key.lower() in (name.lower() for name in BUILT_IN) or key.lower() in values:
            continue
        problem = _key_problem(key, f"{where}: PolicySettings")
        if problem is None:
            try:
                values[key.lower()] = (key, setting_text(value, f"{where}: PolicySettings.{key}"))
            except PolicyError as exc:
                problem = str(exc)
        if problem is not None:
            problems.append(problem)
    if match.get(TENANT) is not None:
        try:
            values[TENANT.lower()] = (TENANT, setting_text(match[TENANT], f"{where}: Tenant"))
        except PolicyError as exc:
            problems.append(str(exc))
    values[ENVIRONMENT.lower()] = (ENVIRONMENT, environment)
    _raise(problems, "bad setting(s)")
    return values


def merge_settings(explicit: Mapping[str, tuple[str, str]], from_appsettings: Mapping[str, tuple[str, str]]
                   ) -> dict[str, tuple[str, str]]:
    """Explicit ``settings`` win over the appsettings' values of the same name (ignoring case)."""
    return {**from_appsettings, **explicit}


def policy_settings(settings: Mapping[str, Any] | None, appsettings: str | None, environment: str | None,
                    read: Callable[[str], bytes]) -> dict[str, tuple[str, str]]:
    """The settings of a task: ``appsettings`` + ``environment`` (read through ``read``, which raises PolicyError for a
    file it cannot read), then ``settings`` over them. Everything wrong is refused here, before any request."""
    explicit = explicit_settings(settings)
    if appsettings is None:
        if environment is not None:
            raise PolicyError("environment: names an environment of appsettings; give appsettings too (the path of the "
                              "VS Code B2C extension's appsettings.json)")
        return explicit
    return merge_settings(explicit, appsettings_values(read(appsettings), environment, appsettings))


# ---- filling one file ---------------------------------------------------------------------------------------------
def file_name(source: str) -> str | None:
    """The file name of a policy's source without its extension (``{Settings:Filename}``); None for content that
    came from no file (``content``, ``policies[0]``)."""
    base = source.replace("\\", "/").rsplit("/", 1)[-1]
    # As os.path.splitext splits it (leading dots belong to the name), in string operations: this file does no I/O.
    name = base.lstrip(".")
    stem, dot, _extension = name.rpartition(".")
    return base[:len(base) - len(name)] + stem if stem and dot else None


def _tenant_for(settings: Mapping[str, tuple[str, str]], task_tenant: str | None) -> str | None:
    """The domain that fills yourtenant.onmicrosoft.com: settings' Tenant, else the task's tenant_id when that is a
    domain name."""
    if TENANT.lower() in settings and settings[TENANT.lower()][1].strip():
        return settings[TENANT.lower()][1].strip()
    return task_tenant.strip() if task_tenant and tenant_is_comparable(task_tenant) else None


def short_name(tenant: str | None) -> str | None:
    """contoso for contoso.onmicrosoft.com; None for a domain that is not an initial domain name."""
    if not tenant:
        return None
    lowered = tenant.lower()
    for suffix in INITIAL_DOMAINS:
        if lowered.endswith(suffix) and len(tenant) > len(suffix) and "." not in tenant[:-len(suffix)]:
            return tenant[:-len(suffix)]
    return None


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _inside(spans: Sequence[tuple[int, int]], index: int) -> bool:
    return any(start <= index < end for start, end in spans)


class _Filler:
    """The replacement of each placeholder of one file, and what could not be filled."""

    def __init__(self, settings: Mapping[str, tuple[str, str]], task_tenant: str | None, source: str,
                 appsettings: str | None):
        self.settings = dict(settings)
        name = file_name(source)
        if name is not None:
            self.settings.setdefault(FILENAME.lower(), (FILENAME, name))
            self.settings.setdefault(POLICY_FILENAME.lower(), (POLICY_FILENAME, name.replace("B2C_1A_", "")))
        self.task_tenant = task_tenant
        self.tenant = _tenant_for(settings, task_tenant)
        self.appsettings = appsettings
        self.unfilled: list[tuple[int, str, str]] = []  # (index in the text, placeholder, what to set)

    def __call__(self, match: re.Match) -> str:
        if match.group("facebook") is not None:  # optional: left as it is when no FacebookAppId is set
            found = self.settings.get(FACEBOOK_APP.lower())
            return found[1] if found else match.group(0)
        value, advice = self._fill(match)
        if value is None:
            self.unfilled.append((match.start(), match.group(0), advice))
            return match.group(0)
        return value

    def _fill(self, match: re.Match) -> tuple[str | None, str]:
        if match.group("setting") is not None:
            return self._setting(match.group("setting"))
        if match.group("domain") is not None:
            return self.tenant, self._tenant_advice()
        if match.group("name") is not None:
            short = short_name(self.tenant)
            if short is None and self.tenant:
                return None, (f"the starter packs' tenant name; the tenant '{self.tenant}' is not an initial domain name "
                              "such as contoso.onmicrosoft.com, so its short name is unknown: write it in the file")
            return short, self._tenant_advice()
        key = match.group("app")
        found = self.settings.get(key.lower())
        return (found[1] if found else None), (
            f"the starter packs' placeholder for the application (client) id of the "
            f"{'ProxyIdentityExperienceFramework' if key == PROXY_APP else 'IdentityExperienceFramework'} app "
            f"registration: set settings.{key}")

    def _setting(self, name: str) -> tuple[str | None, str]:
        found = self.settings.get(name.strip().lower()) if name.strip() == name else None
        if found is not None:
            return found[1], ""
        if name.lower() == TENANT.lower():
            return None, "set settings.Tenant (the tenant's domain name, such as contoso.onmicrosoft.com)" + (
                ", or Tenant in the environment of " + self.appsettings if self.appsettings else "")
        if name.lower() == ENVIRONMENT.lower():
            return None, "give appsettings and environment, or set settings.Environment"
        if name.lower() in (FILENAME.lower(), POLICY_FILENAME.lower()):
            return None, (f"this content comes from no file: give the entry a source such as policies/Name.xml, or set "
                          f"settings.{name}")
        where = f"settings.{name}" + (f", or PolicySettings.{name} in the environment of {self.appsettings}"
                                      if self.appsettings else "")
        return None, f"no setting of that name: set {where}"

    def _tenant_advice(self) -> str:
        task = self.task_tenant or ""
        if task and is_guid(task):
            return ("the starter packs' tenant placeholder, and tenant_id is a GUID: set settings.Tenant to the tenant's "
                    "domain name (contoso.onmicrosoft.com), or use that domain name as tenant_id")
        return ("the starter packs' tenant placeholder: set settings.Tenant to the tenant's domain name "
                "(contoso.onmicrosoft.com), or give it as tenant_id")


def fill(content: str | bytes, source: str, settings: Mapping[str, tuple[str, str]], task_tenant: str | None,
         appsettings: str | None = None) -> tuple[str | bytes, list[str]]:
    """The content with its placeholders filled (the same object when nothing was filled, bytes stay bytes) and, one
    per placeholder left outside comments, ``<source>:<line>: <placeholder>: <what to set>``."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            lossy = content.decode("latin-1")
            if _PLACEHOLDER_RE.search(lossy):
                return content, [f"{source}: not UTF-8 text, so its placeholders cannot be filled; save it as UTF-8"]
            return content, []
    else:
        text = content
    filler = _Filler(settings, task_tenant, source, appsettings)
    filled = _PLACEHOLDER_RE.sub(filler, text)
    comments = [match.span() for match in _COMMENT_RE.finditer(text)]
    problems = [f"{source}:{_line(text, index)}: {placeholder}: {advice}"
                for index, placeholder, advice in filler.unfilled if not _inside(comments, index)]
    if filled == text:
        return content, problems
    return (filled.encode("utf-8") if isinstance(content, bytes) else filled), problems


def optional_left(sources: Sequence[tuple[str, str | bytes]]) -> list[str]:
    """Where a filled source still holds the social packs' ``facebook_clientid`` outside comments, as
    ``<source>:<line>``: B2C accepts it, and sign-in with Facebook fails until it is the Facebook app's id."""
    found = []
    for source, content in sources:
        text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
        comments = [match.span() for match in _COMMENT_RE.finditer(text)]
        found.extend(f"{source}:{_line(text, match.start())}" for match in _PLACEHOLDER_RE.finditer(text)
                     if match.group("facebook") is not None and not _inside(comments, match.start()))
    return found


def filled_empty(sources: Sequence[tuple[str, str | bytes]], settings: Mapping[str, tuple[str, str]]) -> list[str]:
    """Where a placeholder outside comments gets an empty value from its setting, as ``<source>:<line>: <placeholder>
    (<setting>)``: B2C accepts an empty value (an empty client_id, say), and what uses it fails at sign-in."""
    found = []
    for source, content in sources:
        text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
        comments = [match.span() for match in _COMMENT_RE.finditer(text)]
        for match in _PLACEHOLDER_RE.finditer(text):
            name = match.group("setting") if match.group("setting") is not None else (
                FACEBOOK_APP if match.group("facebook") is not None else None)
            setting = settings.get(name.strip().lower()) if name is not None else None
            if setting is not None and not str(setting[1]).strip() and not _inside(comments, match.start()):
                found.append(f"{source}:{_line(text, match.start())}: {match.group(0)} ({setting[0]})")
    return found


def empty_warning(places: Sequence[str]) -> str | None:
    """The warning for the placeholders filled with an empty value; None when there is none."""
    if not places:
        return None
    return (f"{len(places)} placeholder(s) filled with an empty value, which B2C accepts and sign-in then fails on: "
            f"{'; '.join(places)}; give each setting its value (ief_tenant_settings with the ief_tenant role, or "
            f"PolicySettings in appsettings.json), or leave it out to be told where it is missing")


def facebook_warning(places: Sequence[str]) -> str | None:
    """The warning for the ``facebook_clientid`` left in ``places``; None when there is none."""
    if not places:
        return None
    return (f"{FACEBOOK_LITERAL}, the starter packs' placeholder for the Facebook app's id, is left as it is in "
            f"{', '.join(places)}: B2C accepts it and local accounts work, but sign-in with Facebook fails until it "
            f"holds your Facebook app's id: set settings.{FACEBOOK_APP} (ief_tenant_settings.{FACEBOOK_APP} with the "
            "ief_tenant role)")


def fill_all(sources: Sequence[tuple[str, str | bytes]], settings: Mapping[str, tuple[str, str]],
             task_tenant: str | None, appsettings: str | None = None, refuse_left: bool = True
             ) -> list[tuple[str, str | bytes]]:
    """Every source filled; every placeholder left in any of them refused together, one per line. A deletion
    (``refuse_left`` false) needs only each file's PolicyId, so what is left there is no reason to refuse it."""
    filled, problems = [], []
    for source, content in sources:
        content, left = fill(content, source, settings, task_tenant, appsettings)
        filled.append((source, content))
        problems.extend(left)
    if refuse_left:
        _raise(problems, "placeholder(s) left after filling the settings")
    return filled


def _raise(problems: Sequence[str], what: str) -> None:
    if problems:
        raise PolicyError(f"{len(problems)} {what}, nothing was sent:\n" + "\n".join(problems), problems)
