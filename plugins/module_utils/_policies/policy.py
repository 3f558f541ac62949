# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# FOR INTERNAL COLLECTION USE ONLY: internal use only; may change without notice.
# The interfaces in this file serve the entra.b2c modules and are not a stable API.

"""Pure decision layer for IEF custom policies (trustFrameworkPolicy).

No I/O and no clock: callers pass policy contents (text or bytes) and what the tenant holds. Everything here parses
and checks one policy, compares two policies the way the service would read them, renders a readable diff, orders a
set by inheritance and plans which policies to upload.

Ids: B2C compares policy ids ignoring case (its messages upper-case them), so every lookup here goes through
``policy_key``; what is reported and uploaded keeps the spelling of the file.

Comparison: two policies are the same when their canonical forms (C14N 2.0, without comments) are equal after every
text node made only of whitespace is dropped. The XML declaration, attribute order and quoting, namespace declarations
that nothing uses, comments and indentation do not count; any other text does, to the last space.
"""

from __future__ import annotations

import fnmatch
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import is_guid
from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized

POLICY_NAMESPACE = "http://schemas.microsoft.com/online/cpim/schemas/2013/06"
POLICY_PREFIX = "B2C_1A_"
# Azure AD B2C service limits (learn.microsoft.com, active-directory-b2c/service-limits): file size and depth.
MAX_POLICY_BYTES = 1024 * 1024
MAX_INHERITANCE_LEVELS = 10
# The starter packs' placeholder for the tenant name: a file that still holds it was not templated.
PLACEHOLDER_TENANT = "yourtenant"

REASON_NEW = "new"
REASON_CHANGED = "changed"
REASON_UNCHANGED = "unchanged"
REASON_BASE_CHANGED = "base_changed"
REASON_NOT_ATTEMPTED = "not_attempted"
REASON_DELETED = "deleted"
REASON_ABSENT = "absent"

PRETTY_INDENT = "  "

_ROOT_TAG = f"{{{POLICY_NAMESPACE}}}TrustFrameworkPolicy"
_BASE_TAG = f"{{{POLICY_NAMESPACE}}}BasePolicy"
_BASE_TENANT_TAG = f"{{{POLICY_NAMESPACE}}}TenantId"
_BASE_POLICY_TAG = f"{{{POLICY_NAMESPACE}}}PolicyId"
# What the IEF schema (TrustFrameworkPolicy_0.3.0.0.xsd) allows in a PolicyId.
_POLICY_ID_RE = re.compile(r"[A-Za-z0-9_.\-]*[A-Za-z0-9_\-]", re.ASCII)


class PolicyError(UserError, ValueError):
    """A policy or policy set B2C would refuse, found before any request; the message says what to change."""

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems else [message]


@dataclass(frozen=True)
class Policy:
    """One parsed policy file. ``content`` is what gets uploaded, unchanged."""

    policy_id: str
    tenant_id: str
    public_policy_uri: str
    base_policy_id: str | None
    base_tenant_id: str | None
    # StorageReferenceId values of the policy's own Key elements, each once, in document order
    key_sets: tuple[str, ...]
    source: str
    content: str | bytes = field(repr=False)
    canonical: str = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return policy_key(self.policy_id)

    @property
    def base_key(self) -> str | None:
        return policy_key(self.base_policy_id) if self.base_policy_id else None

    @property
    def label(self) -> str:
        """The policy as messages name it: its id and where it came from."""
        return self.policy_id if self.source == self.policy_id else f"{self.policy_id} ({self.source})"


@dataclass(frozen=True)
class PolicyPlan:
    """What happens to one policy of a set: uploaded or not, why, and at which level of the inheritance order."""

    policy: Policy
    level: int
    upload: bool
    reason: str


def policy_key(policy_id: str) -> str:
    """The form under which B2C compares policy ids (it ignores case)."""
    return policy_id.upper()


def with_prefix(name: str) -> str:
    """A policy id from a module option: ``B2C_1A_`` is prepended unless the name already starts with it (any case)."""
    return name if has_prefix(name) else POLICY_PREFIX + name


def has_prefix(policy_id: str) -> bool:
    return policy_key(policy_id).startswith(POLICY_PREFIX) and len(policy_id) > len(POLICY_PREFIX)


def policy_id_option(name: object, option: str = "policy") -> str:
    """A policy id given as a module option, with the prefix added when missing; refuses what B2C cannot name."""
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f"{option}: give a policy id such as B2C_1A_SignUpOrSignin (the prefix may be left out)")
    policy_id = with_prefix(name.strip())
    if not _POLICY_ID_RE.fullmatch(policy_id) or policy_key(name.strip()) == POLICY_PREFIX:
        raise PolicyError(f"{option}: '{name}' is not a policy id; it may hold only letters, digits, '_', '-' and '.'")
    return policy_id


def tenant_is_comparable(tenant: str | None) -> bool:
    """A task's tenant can be compared with a policy's TenantId only when it is a domain name, not a GUID."""
    return bool(tenant) and "." in tenant and not is_guid(tenant)


def content_bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


# ---- safe parsing -------------------------------------------------------------------------------------------------
class DoctypeRefused(ET.ParseError):
    """A DOCTYPE declaration, refused before its internal subset (entities) is read: IEF policies need none."""


def _refuse_doctype(name: str | None, _pubid: str | None, _system: str | None) -> None:
    raise DoctypeRefused(
        f"it has a DOCTYPE declaration (<!DOCTYPE {name or ''}...>), which is never read: IEF policies need no DTD, "
        "and entities declared in one could expand without bound or read local files; remove the DOCTYPE")


class _NoDoctypeBuilder(ET.TreeBuilder):
    """TreeBuilder whose doctype() refuses: the parser calls it at the start of the declaration, so no entity it
    declares is ever defined or expanded (the default TreeBuilder of ET.fromstring is never told of a DOCTYPE)."""

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        _refuse_doctype(name, pubid, system)


def parse_xml(content: str | bytes) -> ET.Element:
    """ET.fromstring that refuses any DOCTYPE (DoctypeRefused, an ET.ParseError) before its entities are read."""
    parser = ET.XMLParser(target=_NoDoctypeBuilder())
    parser.feed(content)
    return parser.close()


# ---- one policy ---------------------------------------------------------------------------------------------------
def parse_policy(content: str | bytes, source: str = "content") -> Policy:
    """Parse one policy file; refuse what is not a policy the service could read (not XML, wrong root, missing ids)."""
    if not isinstance(content, (str, bytes)):
        raise PolicyError(f"{source}: a policy is XML text, not {type(content).__name__}")
    size = len(content_bytes(content))
    if size > MAX_POLICY_BYTES:
        raise PolicyError(f"{source}: {size} bytes is more than the {MAX_POLICY_BYTES // 1024} KB B2C accepts for one policy file")
    if not content.strip():
        raise PolicyError(f"{source}: the policy is empty")
    try:
        root = parse_xml(content)
    except DoctypeRefused as exc:
        raise PolicyError(f"{source}: {exc}; nothing was sent") from None
    except ET.ParseError as exc:
        # ParseError names the line and column only, never the text around them
        raise PolicyError(f"{source}: not well-formed XML ({exc}); B2C refuses a policy it cannot parse") from None
    if root.tag != _ROOT_TAG:
        raise PolicyError(f"{source}: the root element is {_show_tag(root.tag)}; a policy is a TrustFrameworkPolicy element "
                          f"in the namespace {POLICY_NAMESPACE}")
    attributes = {}
    for name in ("PolicyId", "TenantId", "PublicPolicyUri"):
        value = (root.get(name) or "").strip()
        if not value:
            raise PolicyError(f"{source}: TrustFrameworkPolicy has no {name} attribute; the IEF schema requires it")
        attributes[name] = value
    base_id = base_tenant = None
    base = root.find(_BASE_TAG)
    if base is not None:
        base_id = _child_text(base, _BASE_POLICY_TAG)
        base_tenant = _child_text(base, _BASE_TENANT_TAG)
        if not base_id or not base_tenant:
            missing = "PolicyId" if not base_id else "TenantId"
            raise PolicyError(f"{source}: BasePolicy of {attributes['PolicyId']} has no {missing}; give both TenantId and PolicyId")
    key_sets: dict[str, None] = {}
    for element in root.iter():
        reference = element.get("StorageReferenceId")
        if reference and reference.strip():
            key_sets.setdefault(reference.strip(), None)
    return Policy(policy_id=attributes["PolicyId"], tenant_id=attributes["TenantId"],
                  public_policy_uri=attributes["PublicPolicyUri"], base_policy_id=base_id, base_tenant_id=base_tenant,
                  key_sets=tuple(key_sets), source=source, content=content, canonical=canonical(content))


def check_policy(policy: Policy, expected_id: str | None = None, tenant: str | None = None) -> None:
    """Refuse, before any request, what the service would refuse on upload: every problem found, in one error.

    ``tenant`` is the task's tenant: compared with TenantId only when it is a domain name (a GUID cannot be mapped to
    the tenant's name without a request; the service still checks on upload).
    """
    problems = []
    where = policy.label
    if not _POLICY_ID_RE.fullmatch(policy.policy_id):
        problems.append(f"{where}: PolicyId '{policy.policy_id}' may hold only letters, digits, '_', '-' and '.'")
    elif not has_prefix(policy.policy_id):
        problems.append(f"{where}: PolicyId '{policy.policy_id}' lacks the {POLICY_PREFIX} prefix every custom policy id needs; "
                        f"rename it {POLICY_PREFIX}{policy.policy_id}")
    if expected_id is not None and policy_key(policy.policy_id) != policy_key(with_prefix(expected_id)):
        problems.append(f"{where}: PolicyId '{policy.policy_id}' is not the policy this task names, "
                        f"'{with_prefix(expected_id)}'; change one of them")
    problems.extend(_tenant_problems(policy, tenant))
    if policy.base_policy_id is not None:
        if not has_prefix(policy.base_policy_id):
            problems.append(f"{where}: BasePolicy PolicyId '{policy.base_policy_id}' lacks the {POLICY_PREFIX} prefix; "
                            "a custom policy can only inherit from another custom policy")
        if policy.base_policy_id and policy_key(policy.base_policy_id) == policy.key:
            problems.append(f"{where}: the policy names itself as its BasePolicy")
    if problems:
        raise PolicyError(several_problems(problems), problems)


def load_policy(content: str | bytes, source: str = "content", expected_id: str | None = None,
                tenant: str | None = None) -> Policy:
    """parse_policy and check_policy in one step."""
    policy = parse_policy(content, source)
    check_policy(policy, expected_id, tenant)
    return policy


def _tenant_problems(policy: Policy, tenant: str | None) -> list[str]:
    where = policy.label
    problems = []
    for what, value in (("TenantId", policy.tenant_id), ("BasePolicy TenantId", policy.base_tenant_id)):
        if value is None:
            continue
        if PLACEHOLDER_TENANT in value.lower():
            problems.append(f"{where}: {what} '{value}' still holds the starter pack's placeholder; template the file "
                            "(the template lookup) so it names your tenant")
        elif is_guid(value):
            problems.append(f"{where}: {what} '{value}' is a GUID; B2C wants the tenant's domain name here, "
                            "such as contoso.onmicrosoft.com")
        elif tenant_is_comparable(tenant) and value.lower() != str(tenant).strip().lower():
            problems.append(f"{where}: {what} '{value}' is not the tenant of this task, '{tenant}'")
    if (policy.base_tenant_id is not None and policy.base_tenant_id.lower() != policy.tenant_id.lower()
            and not any("BasePolicy TenantId" in problem for problem in problems)):
        problems.append(f"{where}: BasePolicy TenantId '{policy.base_tenant_id}' differs from TenantId '{policy.tenant_id}'; "
                        "B2C only lets a policy inherit from a policy of its own tenant")
    return problems


def stored_facts(content: str | bytes | None) -> tuple[str | None, str | None]:
    """(PolicyId, BasePolicy PolicyId) of a policy as the tenant answers it; (None, None) for what cannot be parsed.
    For reports only: a stored policy is never refused."""
    if content is None:
        return None, None
    try:
        root = parse_xml(content)
    except ET.ParseError:
        return None, None
    base = root.find(_BASE_TAG)
    return (root.get("PolicyId") or "").strip() or None, None if base is None else _child_text(base, _BASE_POLICY_TAG)


def _child_text(element: ET.Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _show_tag(tag: str) -> str:
    if tag.startswith("{"):
        namespace, _brace, local = tag[1:].partition("}")
        return f"{local} (namespace {namespace})"
    return f"{tag} (no namespace)"


# ---- comparison and diff ------------------------------------------------------------------------------------------
class _BetweenTags:
    """Parser target between XMLParser and C14NWriterTarget: drops every text node made only of whitespace (as .NET's
    XmlDocument does unless told to preserve whitespace), or with ``indent`` puts a stable indentation in its place.
    canonicalize(strip_text=True) would also trim the text around words, which counts; here other text passes untouched."""

    def __init__(self, target: Any, indent: str | None = None) -> None:
        self._target = target
        self._indent = indent
        self._text: list[str] = []
        self._depth = 0
        self._after_start = False  # the last tag event opened an element (an empty one gets no indentation inside)
        self._ns_pending = False  # start_ns() already settled the boundary of the element about to start

    def _boundary(self, closing: bool) -> None:
        text = "".join(self._text)
        self._text = []
        if text.strip():
            self._target.data(text)
        elif self._indent is not None and self._depth and not (closing and self._after_start):
            self._target.data("\n" + self._indent * (self._depth - 1 if closing else self._depth))

    def start_ns(self, prefix: str, uri: str) -> None:
        # namespace declarations come just before their element's start(): the boundary is that element's
        if not self._ns_pending:
            self._boundary(closing=False)
            self._ns_pending = True
        self._target.start_ns(prefix, uri)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if not self._ns_pending:
            self._boundary(closing=False)
        self._ns_pending = False
        self._depth += 1
        self._after_start = True
        self._target.start(tag, attrs)

    def end(self, tag: str) -> None:
        self._boundary(closing=True)
        self._depth -= 1
        self._after_start = False
        self._target.end(tag)

    def data(self, text: str) -> None:
        self._text.append(text)

    def pi(self, target: str, text: str | None) -> None:
        self._boundary(closing=False)
        self._target.pi(target, text)

    def close(self) -> None:
        """C14NWriterTarget has nothing to finish: its output is written as the events come."""

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        _refuse_doctype(name, pubid, system)  # as parse_xml: a DOCTYPE's entities are never read


def _c14n(content: str | bytes, indent: str | None) -> str:
    out = io.StringIO()
    # No comment() method on the filter: the parser then drops comments before they reach C14N.
    parser = ET.XMLParser(target=_BetweenTags(ET.C14NWriterTarget(out.write, with_comments=False), indent))
    parser.feed(content)
    parser.close()
    return out.getvalue()


def canonical(content: str | bytes) -> str:
    """The form two policies are compared in (raises PolicyError for what is not XML)."""
    try:
        return _c14n(content, None)
    except ET.ParseError as exc:
        raise PolicyError(f"not well-formed XML ({exc})") from None


def pretty(content: str | bytes) -> str:
    """A stable, indented rendering of a policy for diffs: canonical, so only what counts can differ."""
    try:
        return _c14n(content, PRETTY_INDENT) + "\n"
    except ET.ParseError:
        # What the service sent cannot be parsed: show it as it is rather than hide it
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        return text if text.endswith("\n") else text + "\n"


def same_policy(policy: Policy, stored: str | bytes | None) -> bool:
    """Whether the tenant's copy (as GET .../$value answers it) says the same as the local policy."""
    if stored is None:
        return False
    try:
        return canonical(stored) == policy.canonical
    except PolicyError:
        return False


def policy_diff(policy_id: str, before: str | bytes | None, after: str | bytes | None,
                before_source: str = "tenant", after_source: str = "local") -> dict[str, str]:
    """Ansible's diff of one policy (before/after texts the callback turns into a unified diff); absent is empty."""
    return {
        "before_header": f"{policy_id} ({before_source})",
        "after_header": f"{policy_id} ({after_source})",
        "before": "" if before is None else pretty(before),
        "after": "" if after is None else pretty(after),
    }


# ---- a set of policies --------------------------------------------------------------------------------------------
def dependency_levels(policies: Sequence[Policy], tenant_policy_ids: Iterable[str] = ()) -> list[list[Policy]]:
    """The set in upload order: level 0 holds policies whose base is outside the set (or none), level n+1 those whose
    base is at level n. Policies of one level do not depend on each other and can be uploaded in parallel.

    Refuses, naming the policies: an id defined twice, a base that is neither in the set nor among
    ``tenant_policy_ids``, an inheritance cycle, a chain deeper than B2C allows.
    """
    problems = []
    by_key: dict[str, Policy] = {}
    for policy in policies:
        other = by_key.get(policy.key)
        if other is not None:
            problems.append(f"{policy.policy_id} is defined twice, by {other.source} and by {policy.source}")
            continue
        by_key[policy.key] = policy
    in_tenant = {policy_key(policy_id) for policy_id in tenant_policy_ids}
    for policy in by_key.values():
        base = policy.base_key
        if base is not None and base not in by_key and base not in in_tenant:
            problems.append(f"{policy.label} inherits from {policy.base_policy_id}, which is neither in this set nor in "
                            "the tenant; add its file to the set or upload it first")
    problems.extend(_cycles(by_key))
    if problems:
        raise PolicyError(several_problems(problems), problems)
    levels: dict[str, int] = {}
    for key in by_key:
        _level_of(key, by_key, levels)
    too_deep = sorted(key for key, level in levels.items() if level >= MAX_INHERITANCE_LEVELS)
    if too_deep:
        problems = [f"{by_key[key].label} is {levels[key] + 1} levels deep in this set; B2C allows at most "
                    f"{MAX_INHERITANCE_LEVELS} levels of inheritance" for key in too_deep]
        raise PolicyError(several_problems(problems), problems)
    ordered: list[list[Policy]] = [[] for _level in range(max(levels.values(), default=-1) + 1)]
    for key in sorted(by_key):
        ordered[levels[key]].append(by_key[key])
    return ordered


def check_set(policies: Sequence[Policy]) -> list[list[Policy]]:
    """What can be refused in a set before the tenant is read: an id defined twice, a cycle, a chain too deep. Every
    base outside the set counts as present here; dependency_levels with the tenant's ids settles those."""
    bases = [policy.base_policy_id for policy in policies if policy.base_policy_id]
    return dependency_levels(policies, tenant_policy_ids=bases)


def _cycles(by_key: Mapping[str, Policy]) -> list[str]:
    """Each inheritance cycle once, as a chain of names (every policy has at most one base: a walk finds them all)."""
    problems = []
    done: set[str] = set()
    for start in sorted(by_key):
        path: list[str] = []
        on_path: dict[str, int] = {}
        key: str | None = start
        while key is not None and key in by_key and key not in done:
            if key in on_path:
                loop = path[on_path[key]:] + [key]
                problems.append("inheritance cycle: " + " -> ".join(
                    by_key[item].label if index < len(loop) - 1 else by_key[item].policy_id for index, item in enumerate(loop)))
                break
            on_path[key] = len(path)
            path.append(key)
            key = by_key[key].base_key
        done.update(path)
    return problems


def _level_of(key: str, by_key: Mapping[str, Policy], levels: dict[str, int]) -> int:
    chain = []
    current: str | None = key
    while current is not None and current in by_key and current not in levels:
        chain.append(current)
        current = by_key[current].base_key
    level = levels[current] if current is not None and current in levels else -1
    for item in reversed(chain):
        level += 1
        levels[item] = level
    return levels[key]


def plan_policy(policy: Policy, stored: str | bytes | None) -> tuple[bool, str]:
    """Upload or not, and why, for one policy against the tenant's copy (None: the tenant has none)."""
    if stored is None:
        return True, REASON_NEW
    if same_policy(policy, stored):
        return False, REASON_UNCHANGED
    return True, REASON_CHANGED


def plan_set(levels: Sequence[Sequence[Policy]], stored: Mapping[str, str | bytes | None],
             reupload_dependents: bool = False) -> list[PolicyPlan]:
    """One plan per policy, in upload order. ``stored`` maps policy_key(id) to the tenant's XML (absent or None: no
    such policy). B2C assembles a relying party from its bases when the policy runs, so an unchanged policy whose base
    changes needs no upload; ``reupload_dependents`` uploads it anyway, so the service re-validates it against the new
    base (a failure then shows now, not at the next sign-in)."""
    plans = []
    uploaded: set[str] = set()
    for level, policies in enumerate(levels):
        for policy in policies:
            upload, reason = plan_policy(policy, stored.get(policy.key))
            if not upload and reupload_dependents and policy.base_key in uploaded:
                upload, reason = True, REASON_BASE_CHANGED
            if upload:
                uploaded.add(policy.key)
            plans.append(PolicyPlan(policy, level, upload, reason))
    return plans


def upload_waves(plans: Sequence[PolicyPlan]) -> list[list[PolicyPlan]]:
    """The uploads of a plan grouped by level, empty levels left out: each wave after the one before, a wave's
    uploads in parallel."""
    waves: dict[int, list[PolicyPlan]] = {}
    for plan in plans:
        if plan.upload:
            waves.setdefault(plan.level, []).append(plan)
    return [waves[level] for level in sorted(waves)]


def removal_order(levels: Sequence[Sequence[Policy]]) -> list[list[Policy]]:
    """Deletion order for a set: what inherits first, bases last (the reverse of the upload order)."""
    return [list(level) for level in reversed(levels)]


# ---- reports of a set --------------------------------------------------------------------------------------------
def set_entry(plan: PolicyPlan, changed: bool, reason: str | None = None) -> dict[str, Any]:
    """One policy of a set as the module reports it."""
    policy = plan.policy
    return {"policy": policy.policy_id, "source": policy.source, "level": plan.level,
            "base_policy": policy.base_policy_id, "keysets": list(policy.key_sets), "changed": changed,
            "reason": reason or plan.reason}


def level_ids(levels: Sequence[Sequence[Policy]]) -> list[list[str]]:
    return [[policy.policy_id for policy in level] for level in levels]


def _listed(ids: Sequence[str]) -> str:
    return ", ".join(ids) if ids else "none"


def failure_message(refused: Sequence[tuple[Policy, str]], done: Sequence[str], not_attempted: Sequence[str],
                    verb: str = "uploaded") -> str:
    """Why a set's run stopped: each refused policy with where it came from and the service's words, what this run
    already changed and what it left alone."""
    stopped = [f"{policy.label}: {error}" for policy, error in refused]
    if len(refused) == 1:
        return (f"a policy was not {verb}: {stopped[0]}. Already {verb} in this run: {_listed(done)}. "
                f"Not attempted: {_listed(not_attempted)}.")
    # Several: each refusal on a line of its own, then what was done and what was not.
    return (itemized(f"{len(refused)} policies were not {verb}", stopped) +
            f"\nAlready {verb} in this run: {_listed(done)}.\nNot attempted: {_listed(not_attempted)}.")


# ---- what an upload sends -----------------------------------------------------------------------------------------
UPLOAD_CONTENT_TYPE = "application/xml; charset=utf-8"
_DECLARED_ENCODING_RE = re.compile(r"""\A(\ufeff?\s*<\?xml\b[^>]*?\bencoding\s*=\s*["'])([A-Za-z0-9._\-]+)(["'])""")
_UTF8_NAMES = ("utf-8", "utf8")


def declared_encoding(text: str) -> str | None:
    """The encoding an XML declaration names, None without one."""
    match = _DECLARED_ENCODING_RE.match(text)
    return match.group(2) if match else None


def upload_body(content: str | bytes) -> bytes:
    """The bytes an upload sends, always UTF-8 (the upload's content type says so: B2C users lost non-ASCII text when
    the charset was left to guesswork). Text and UTF-8 files go as they are; a file in another encoding (a UTF-16 byte
    order mark, or a declaration naming another encoding) is decoded and sent as UTF-8 with its declaration saying so.
    What the service then stores says the same as the file, so the comparison is unaffected."""
    if isinstance(content, bytes):
        if content.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = content.decode("utf-16")
        else:
            named = declared_encoding(content[:400].decode("latin-1"))
            if named is None or named.lower() in _UTF8_NAMES:
                return content
            try:
                text = content.decode(named)
            except (LookupError, UnicodeDecodeError):
                return content  # the service will say what it makes of it; the file is not ours to guess
    else:
        text = content
    named = declared_encoding(text)
    if named is not None and named.lower() not in _UTF8_NAMES:
        text = _DECLARED_ENCODING_RE.sub(lambda match: match.group(1) + "utf-8" + match.group(3), text, count=1)
    return text.encode("utf-8")


# ---- drift and prune ----------------------------------------------------------------------------------------------
def extra_ids(listed: Iterable[str], policies: Iterable[Policy]) -> list[str]:
    """The tenant's policies outside the set (ids as the service spells them), sorted ignoring case."""
    in_set = {policy.key for policy in policies}
    return sorted((policy_id for policy_id in listed if policy_key(policy_id) not in in_set), key=policy_key)


def missing_ids(listed: Iterable[str], policies: Iterable[Policy]) -> list[str]:
    """The set's policies the tenant does not hold (ids as the files spell them), sorted ignoring case."""
    in_tenant = {policy_key(policy_id) for policy_id in listed}
    return sorted((policy.policy_id for policy in policies if policy.key not in in_tenant), key=policy_key)


def prune_pattern_option(prune: bool, pattern: object, state: str = "present") -> str | None:
    """The prune_pattern to use, None when nothing is pruned; refuses, before any request, what cannot be meant."""
    if not prune:
        return None
    if state != "present":
        raise PolicyError("prune: only with state present; state absent deletes the set's own policies, nothing else")
    if not isinstance(pattern, str) or not pattern.strip():
        raise PolicyError("prune_pattern: required with prune; give a shell-style pattern of the policy ids this set "
                          "owns, such as B2C_1A_Contoso_*, so that policies of other teams are never deleted")
    return pattern.strip()


def matches_pattern(policy_id: str, pattern: str) -> bool:
    """Shell-style match of a policy id, ignoring case (as B2C compares ids)."""
    return fnmatch.fnmatchcase(policy_key(policy_id), policy_key(pattern))


def plan_prune(extra: Sequence[str], bases: Mapping[str, str | None], pattern: str,
               policies: Sequence[Policy]) -> list[list[str]]:
    """Deletion waves of the extras that match ``pattern``, what extends another first.

    ``bases`` maps policy_key of each extra the tenant still holds to its BasePolicy id (None: it extends none); an
    extra missing from it was deleted since the list and is left out. Refuses, naming both, to delete an extra that a
    policy of the set or a kept extra extends: B2C would be left with a policy whose base is gone.
    """
    held = [policy_id for policy_id in extra if policy_key(policy_id) in bases]
    doomed = {policy_key(policy_id): policy_id for policy_id in held if matches_pattern(policy_id, pattern)}
    problems = []
    for policy in policies:
        if policy.base_key in doomed:
            problems.append(f"{doomed[policy.base_key]} matches prune_pattern '{pattern}' but {policy.label} of the set "
                            "extends it")
    for policy_id in held:
        base = bases[policy_key(policy_id)]
        if policy_key(policy_id) not in doomed and base and policy_key(base) in doomed:
            problems.append(f"{doomed[policy_key(base)]} matches prune_pattern '{pattern}' but {policy_id}, which does "
                            "not match and is kept, extends it")
    if problems:
        raise PolicyError("prune: nothing was changed: " + "; ".join(problems) +
                          "; narrow prune_pattern, or widen it to what extends these too", problems)
    depth: dict[str, int] = {}
    for key in doomed:
        chain, current = [], key
        while current in doomed and current not in depth and current not in chain:
            chain.append(current)
            base = bases.get(current)
            current = policy_key(base) if base else ""
        level = depth.get(current, -1)
        for item in reversed(chain):
            level += 1
            depth[item] = level
    waves: dict[int, list[str]] = {}
    for key in sorted(doomed):
        waves.setdefault(depth[key], []).append(doomed[key])
    return [waves[level] for level in sorted(waves, reverse=True)]


# ---- backups ------------------------------------------------------------------------------------------------------
# Ansible's backup time stamp (module_utils.basic backup_local) with '-' for its ':', which Windows and many SMB shares
# (where AWX projects often live) refuse in a file name.
BACKUP_STAMP_FORMAT = "%Y-%m-%d@%H-%M-%S"
# What Windows refuses in a file name, besides the control characters.
_WINDOWS_REFUSED = frozenset('<>:"/\\|?*')
# Windows device names, refused as the part of a file name before its first dot (NUL.xml is the device NUL).
_WINDOWS_DEVICES = frozenset(["CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                              *(f"LPT{n}" for n in range(1, 10))])


def windows_safe(name: str) -> str:
    """``name`` as a file name that Windows, SMB shares and POSIX all accept: each character Windows refuses (and each
    control character) replaced by '_', a device name as its first part prefixed with '_', no trailing dot or space."""
    safe = "".join("_" if char in _WINDOWS_REFUSED or ord(char) < 32 else char for char in name).rstrip(". ") or "_"
    if safe.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        safe = "_" + safe
    return safe


def backup_name(policy_id: str, stamp: str, attempt: int = 0) -> str:
    """The file name of one policy's backup: its id and the run's time stamp (a number after it when taken), valid on
    Windows whatever the id and the stamp hold."""
    return windows_safe(f"{policy_id}.{stamp}{'' if not attempt else '.' + str(attempt)}.xml")


# ---- rollback after a refusal half-way ----------------------------------------------------------------------------
VERSION_PREVIOUS = "previous"
VERSION_NEW = "new"
VERSION_UNKNOWN = "unknown"


def write_may_have_landed(status: int | None) -> bool:
    """Whether a write that failed may still have been applied: Graph never answered (no status), or answered a server
    error after the request reached it. A refusal (4xx) leaves the policy as it was."""
    return status is None or status >= 500


@dataclass(frozen=True)
class RollbackStep:
    """Undoing one write of a failed run: the policy put back as ``previous``, the bytes the tenant answered before
    the run, or deleted when ``previous`` is None (the run created it). ``unsure``: the run's own write of it failed
    without a sure answer, so until this step is done the tenant may hold either version."""

    policy_id: str
    previous: bytes | None = field(repr=False)
    unsure: bool = False

    @property
    def key(self) -> str:
        return policy_key(self.policy_id)


def plan_rollback(plans: Sequence[PolicyPlan], previous: Mapping[str, bytes | None], written: Iterable[str],
                  unsure: Iterable[str] = ()) -> list[list[RollbackStep]]:
    """The waves that put the tenant back as it was before a run that stopped half-way, a wave's steps side by side.

    ``previous`` maps policy_key to the tenant's copy read before the run (absent or None: the tenant had none);
    ``written`` holds the keys of the policies this run wrote, ``unsure`` those of its writes that failed without a
    sure answer (treated as written). Each written policy the tenant held is put back, bases first - ordered by the
    bases its previous copy names, since that is the copy B2C validates; then each one the run created is deleted,
    what extends another first. Restores come before deletions: a policy put back no longer extends a base the run
    created by the time that base goes, and B2C validates an upload against its bases only, never against what
    extends it, so a base put back under a policy the run created is accepted."""
    unsure_keys = set(unsure)
    touched = set(written) | unsure_keys
    order = [plan for plan in plans if plan.policy.key in touched]
    bases = {plan.policy.key: plan.policy.base_key for plan in plans}
    restored = [plan for plan in order if previous.get(plan.policy.key) is not None]
    for plan in restored:
        base = stored_facts(previous[plan.policy.key])[1]
        bases[plan.policy.key] = policy_key(base) if base else None
    restoring = {plan.policy.key for plan in restored}
    waves: dict[tuple[int, int], list[RollbackStep]] = {}
    for plan in restored:
        step = RollbackStep(plan.policy.policy_id, previous[plan.policy.key], plan.policy.key in unsure_keys)
        waves.setdefault((0, _restored_above(plan.policy.key, bases, restoring)), []).append(step)
    for plan in order:
        if previous.get(plan.policy.key) is None:
            step = RollbackStep(plan.policy.policy_id, None, plan.policy.key in unsure_keys)
            waves.setdefault((1, -plan.level), []).append(step)
    return [waves[index] for index in sorted(waves)]


def _restored_above(key: str, bases: Mapping[str, str | None], restoring: set[str]) -> int:
    """How many of the policies being put back are above `key` in its chain (a loop in stored copies ends the walk)."""
    count, seen, current = 0, {key}, bases.get(key)
    while current and current not in seen:
        seen.add(current)
        count += current in restoring
        current = bases.get(current)
    return count


def rollback_versions(steps: Iterable[RollbackStep], done: Iterable[str],
                      failed: Mapping[str, int | None]) -> list[tuple[RollbackStep, str]]:
    """Which version each policy of a rollback is in now: ``previous`` (put back, or deleted again), ``new`` (B2C
    refused to undo it, or it was not attempted) or ``unknown`` (a request without a sure answer, in the run or in the
    rollback). ``done`` holds the keys undone, ``failed`` the HTTP status of each refused undo (None: no answer)."""
    done = set(done)
    versions = []
    for step in steps:
        if step.key in done:
            version = VERSION_PREVIOUS
        elif step.unsure or (step.key in failed and write_may_have_landed(failed[step.key])):
            version = VERSION_UNKNOWN
        else:
            version = VERSION_NEW
        versions.append((step, version))
    return versions


def rolled_back_message(steps: Sequence[RollbackStep]) -> str:
    """What a complete rollback did, for the task's message."""
    put_back = [step.policy_id for step in steps if step.previous is not None]
    deleted = [step.policy_id for step in steps if step.previous is None]
    done = []
    if put_back:
        done.append(f"put back the previous version of {_listed(put_back)}")
    if deleted:
        done.append(f"deleted {_listed(deleted)}, which this run had created")
    return (f"Rolled back: {' and '.join(done)}, so the tenant holds the policies it held before this run. Fix the "
            "cause and run again.")


def rollback_failed_message(versions: Sequence[tuple[RollbackStep, str]], refused: Mapping[str, str]) -> str:
    """Why a rollback stopped, which version each policy this run wrote is in now, and what to do. ``refused`` maps
    the key of each step B2C refused (or that got no answer) to the error's text."""
    stopped = "; ".join(
        f"{step.policy_id} was not {'put back' if step.previous is not None else 'deleted'}: {refused[step.key]}"
        for step, _version in versions if step.key in refused)
    now = ", ".join(f"{step.policy_id} {version}{_version_note(step, version)}" for step, version in versions)
    return (f"The rollback stopped: {stopped}. Now in the tenant: {now}. To finish, either fix what B2C refused and "
            "run this task again, which uploads what still differs (the new version), or deploy the previous version "
            "of the set (the files deployed before, or with backup the files in backup_files) to go back; "
            "entra.b2c.b2c_policy_info with content shows what the tenant holds.")


def _version_note(step: RollbackStep, version: str) -> str:
    if version == VERSION_PREVIOUS:
        return " (put back)" if step.previous is not None else " (deleted again: this run had created it)"
    if version == VERSION_NEW:
        return " (not put back)" if step.previous is not None else " (created by this run, not deleted)"
    return " (a request got no sure answer)"


def several_problems(problems: Sequence[str]) -> str:
    """The message of a refusal: its one problem, or the count and each problem on a line of its own. Refusals come
    before any write (some after the tenant's list was read), so nothing was changed."""
    if len(problems) == 1:
        return problems[0]
    return itemized(f"{len(problems)} problems, nothing was changed", problems)
