# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# FOR INTERNAL COLLECTION USE ONLY: internal use only; may change without notice.
# The interfaces in this file serve the entra.b2c modules and are not a stable API.

"""A new version of a policy set beside the live one: ``id_prefix`` inserted after ``B2C_1A_`` into the set's ids.

Pure: no I/O. B2C caches a policy for up to 30 minutes, so Microsoft advises releasing a change under new ids, switching
the applications over, and keeping the old set for a rollback; IEFPolicies injects a prefix at upload the same way.
With ``V2_``, B2C_1A_TrustFrameworkBase is deployed as B2C_1A_V2_TrustFrameworkBase, and so on, chained to each other.

What is rewritten in each file, and nothing else: the TrustFrameworkPolicy's PolicyId; its PublicPolicyUri when the
URI ends with an id of the set (http://contoso.onmicrosoft.com/B2C_1A_TrustFrameworkBase); BasePolicy's PolicyId when
it names a policy of the set. Ids are compared ignoring case, as B2C compares them. A base outside the set (one the
tenant alone holds) keeps its id, so a new version of the relying parties can extend the live bases. Key set names
(StorageReferenceId="B2C_1A_TokenSigningKeyContainer") are not policy ids and are never touched.

The prefix goes into the file's own bytes at those places: everything else stays byte for byte (no re-serialization),
so the comparison with the tenant's copy, and a diff, show only what the file itself changes.

A prefix the ids already carry is inserted again: ``V2_`` over files that say B2C_1A_V2_Base gives B2C_1A_V2_V2_Base.
One rule that holds for every file keeps the files the source of every release; guessing from how ids begin would
misread ids that only look prefixed (``V`` over B2C_1A_VerifyEmail).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.parsers import expat

from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    POLICY_NAMESPACE,
    POLICY_PREFIX,
    PolicyError,
    has_prefix,
    policy_key,
)

# What the IEF schema allows inside a PolicyId (policy.py checks whole ids with the same characters).
_PREFIX_RE = re.compile(r"[A-Za-z0-9_.\-]+", re.ASCII)
# expat's names with namespace_separator "}": the namespace, "}", the local name.
_ROOT = f"{POLICY_NAMESPACE}}}TrustFrameworkPolicy"
_BASE = f"{POLICY_NAMESPACE}}}BasePolicy"
_POLICY_ID = f"{POLICY_NAMESPACE}}}PolicyId"
# A start tag as it is written, from its "<" (expat gives where it begins, not where it ends), and one attribute of it.
_START_TAG_RE = re.compile(rb"""<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?>""")
_ATTRIBUTE_RE = re.compile(rb"""\s([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_XML_SPACE = b" \t\r\n"
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")

POLICY_ID = "PolicyId"
BASE_POLICY_ID = "BasePolicy PolicyId"
PUBLIC_POLICY_URI = "PublicPolicyUri"


def id_prefix_option(prefix: object) -> str | None:
    """The id_prefix to insert, None without one; refuses, before any request, what cannot go into a policy id."""
    if prefix is None:
        return None
    if not isinstance(prefix, str) or not prefix:
        raise PolicyError("id_prefix: empty; give the text inserted after B2C_1A_ into every policy id of the set, "
                          "such as V2_, or leave id_prefix out")
    if policy_key(prefix).startswith(POLICY_PREFIX):
        rest = prefix[len(POLICY_PREFIX):]
        raise PolicyError(f"id_prefix: '{prefix}' begins with {POLICY_PREFIX}, which every policy id already has; give "
                          f"only what goes after it{f', {rest}' if rest else ', such as V2_'}")
    if not _PREFIX_RE.fullmatch(prefix):
        raise PolicyError(f"id_prefix: '{prefix}' may hold only letters, digits, '_', '-' and '.', as a policy id may; "
                          "such as V2_")
    return prefix


@dataclass(frozen=True)
class _Written:
    """One id of a file: what the parser reads (stripped, as policy.py reads it) and where its text is in the bytes."""

    what: str  # POLICY_ID, BASE_POLICY_ID or PUBLIC_POLICY_URI
    value: str
    start: int
    end: int


class _NotAPolicy(Exception):
    """What cannot be read as a policy: passed on unchanged, for load_set to refuse with the set's other problems."""


class _NotPlainText(Exception):
    """A policy whose ids cannot be found in its bytes: refused, since leaving one unchanged would deploy a policy of
    the new version under the live id, or chained to the live base."""


def prefixed_sources(sources: Sequence[tuple[str, str | bytes]], prefix: str) -> list[tuple[str, str | bytes]]:
    """The (source, content) pairs of a set with ``prefix`` inserted after ``B2C_1A_`` into every PolicyId of the set
    and every reference to one of them (BasePolicy's PolicyId, the end of PublicPolicyUri); the rest of each file byte
    for byte. Bytes stay bytes, text stays text (a UTF-16 file becomes text: the upload sends it as UTF-8 anyway).

    A source that is not a policy (not XML, a DOCTYPE, another root, no PolicyId) is passed on as it is, for load_set
    to refuse with the set's other problems. An id written other than as plain text (a character reference, a comment
    inside it, an encoding the offsets cannot follow) is refused, every such id of the set together."""
    readings, problems = [], []
    for source, content in sources:
        try:
            readings.append(_read(content))
        except _NotPlainText as exc:
            readings.append(None)
            problems.append(f"{source}: {exc}")
    in_set = {policy_key(written.value) for reading in readings if reading is not None
              for written in reading[1] if written.what == POLICY_ID}
    prefixed = []
    for (source, content), reading in zip(sources, readings):
        if reading is None:
            prefixed.append((source, content))
            continue
        data, found, as_text = reading
        places = []
        for written in found:
            try:
                place = _insertion_point(data, written, in_set)
            except _NotPlainText as exc:
                problems.append(f"{source}: {exc}")
                continue
            if place is not None:
                places.append(place)
        data = _inserted(data, sorted(places), prefix.encode("ascii"))
        prefixed.append((source, data.decode("utf-8") if as_text else data))
    if problems:
        raise PolicyError(itemized(f"{len(problems)} id(s) that id_prefix cannot rewrite, nothing was sent", problems),
                          problems)
    return prefixed


def _read(content: str | bytes) -> tuple[bytes, list[_Written], bool] | None:
    """(the bytes the offsets point into, the ids written there, whether the result goes back as text); None for what
    is not a policy. Text is read as UTF-8 whatever its declaration says, as the parser reads text."""
    try:
        if isinstance(content, str):
            data, encoding, as_text = content.encode("utf-8"), "utf-8", True
        elif content.startswith(_UTF16_MARKS):
            data, encoding, as_text = content.decode("utf-16").encode("utf-8"), "utf-8", True
        else:
            data, encoding, as_text = content, None, False
        return data, _written_ids(data, encoding), as_text
    except (UnicodeError, expat.ExpatError, _NotAPolicy):
        return None


class _IdFinder:
    """expat callbacks: the root's PolicyId and PublicPolicyUri, and the text of the first BasePolicy's first PolicyId
    (what policy.py reads), each with the span of its text in ``data``."""

    def __init__(self, parser: expat.XMLParserType, data: bytes) -> None:
        self.parser = parser
        self.data = data
        self.found: list[_Written] = []
        self.path: list[str] = []
        self.bases = 0  # BasePolicy elements of the root seen so far
        self.base_id: dict = {}  # "start" and "text" while its content is read, then "end"

    def start(self, name: str, attributes: dict) -> None:
        if not self.path:
            if name != _ROOT:
                raise _NotAPolicy()
            self.found.extend(_attributes_written(self.data, self._start_tag(), attributes))
        elif self.path == [_ROOT] and name == _BASE:
            self.bases += 1
        elif self.path == [_ROOT, _BASE] and name == _POLICY_ID and self.bases == 1 and not self.base_id:
            tag = self._start_tag()
            # <PolicyId/> holds no text to rewrite (and policy.py refuses it)
            self.base_id = {"end": None} if tag.group().endswith(b"/>") else {"start": tag.end(), "text": []}
        self.path.append(name)

    def end(self, name: str) -> None:
        self.path.pop()
        if self.path == [_ROOT, _BASE] and name == _POLICY_ID and "text" in self.base_id and "end" not in self.base_id:
            self.base_id["end"] = self.parser.CurrentByteIndex
            value = "".join(self.base_id["text"]).strip()
            if value:
                self.found.append(_Written(BASE_POLICY_ID, value, self.base_id["start"], self.base_id["end"]))

    def text(self, chunk: str) -> None:
        if self.path == [_ROOT, _BASE, _POLICY_ID] and "text" in self.base_id and "end" not in self.base_id:
            self.base_id["text"].append(chunk)

    def _start_tag(self) -> re.Match:
        """The start tag being read, as it is written; expat says where it begins, not where it ends."""
        tag = _START_TAG_RE.match(self.data, self.parser.CurrentByteIndex)
        if tag is None:
            raise _NotPlainText("its tags cannot be found in its bytes (a file neither UTF-8, Latin-1 nor UTF-16 with "
                                "a byte order mark), so id_prefix cannot be inserted; save it as UTF-8")
        return tag

    @staticmethod
    def refuse_doctype(*_args: object) -> None:
        raise _NotAPolicy()  # before its entities are read; parse_xml refuses it for load_set


def _written_ids(data: bytes, encoding: str | None) -> list[_Written]:
    """The ids of one policy and where each is written; _NotAPolicy (or expat's error) for what is not a policy."""
    parser = expat.ParserCreate(encoding, "}")
    finder = _IdFinder(parser, data)
    parser.StartDoctypeDeclHandler = finder.refuse_doctype
    parser.StartElementHandler = finder.start
    parser.EndElementHandler = finder.end
    parser.CharacterDataHandler = finder.text
    parser.Parse(data, True)
    if not any(written.what == POLICY_ID for written in finder.found):
        raise _NotAPolicy()
    return finder.found


def _attributes_written(data: bytes, tag: re.Match, attributes: dict) -> list[_Written]:
    """PolicyId and PublicPolicyUri of the root's start tag ``tag``, those it has with a value."""
    spans = {}
    for match in _ATTRIBUTE_RE.finditer(data, tag.start(), tag.end()):
        quoted = 2 if match.group(2) is not None else 3
        spans[match.group(1)] = match.span(quoted)
    found = []
    for name in (POLICY_ID, PUBLIC_POLICY_URI):
        value = (attributes.get(name) or "").strip()
        if not value:
            continue
        if name.encode("ascii") not in spans:
            raise _NotPlainText(_not_plain(_Written(name, value, 0, 0)))
        found.append(_Written(name, value, *spans[name.encode("ascii")]))
    return found


def _insertion_point(data: bytes, written: _Written, in_set: set[str]) -> int | None:
    """Where the prefix goes into ``written``: right after the ``B2C_1A_`` of the id of the set it holds (for
    PublicPolicyUri, the id it ends with); None when it holds no id of the set; _NotPlainText when the id is not written
    as the plain text the parser read, so that no offset can be trusted."""
    raw = data[written.start:written.end]
    if written.what == PUBLIC_POLICY_URI:
        policy_id = written.value.rpartition("/")[2]
        if policy_key(policy_id) not in in_set or not has_prefix(policy_id):
            return None
        raw = raw.rstrip(_XML_SPACE)
        if not policy_id.isascii() or not raw.endswith(policy_id.encode("ascii")):
            raise _NotPlainText(_not_plain(written))
        return written.start + len(raw) - len(policy_id) + len(POLICY_PREFIX)
    if policy_key(written.value) not in in_set or not has_prefix(written.value):
        return None
    if not written.value.isascii() or raw.strip(_XML_SPACE) != written.value.encode("ascii"):
        raise _NotPlainText(_not_plain(written))
    return written.start + len(raw) - len(raw.lstrip(_XML_SPACE)) + len(POLICY_PREFIX)


def _not_plain(written: _Written) -> str:
    return (f"{written.what} '{written.value}' is not written as plain text (a character reference or a comment in "
            "it), so id_prefix cannot be inserted into it; write the id as plain text")


def _inserted(data: bytes, places: Sequence[int], insert: bytes) -> bytes:
    """``data`` with ``insert`` at each of the ascending offsets ``places``."""
    parts, previous = [], 0
    for place in places:
        parts.extend((data[previous:place], insert))
        previous = place
    parts.append(data[previous:])
    return b"".join(parts)
