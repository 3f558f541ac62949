# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# FOR INTERNAL COLLECTION USE ONLY: internal use only; may change without notice.
# The interfaces in this file serve the entra.b2c modules and are not a stable API.

"""Pure decision layer for B2C policy keys (trustFrameworkKeySet / trustFrameworkKey).

No I/O and no clock reads: callers pass ``now`` as integer epoch seconds. Everything
here parses raw option values, decides whether a key satisfies a request, plans the
action and strips private key parts from what gets reported.

The satisfy rule: with S = max(now, requested nbf), a key satisfies a request when its
``use`` and ``kty`` equal the request's (ignoring case), its ``status`` is not
``disabled``, its ``nbf`` is absent or <= S and its ``exp`` is absent or
> S + renew_before.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError

USES = ("sig", "enc")
KTYS = ("RSA", "oct")
PRIVATE_FIELDS = ("d", "p", "q", "dp", "dq", "qi", "k")
PUBLIC_FIELDS = ("kid", "use", "kty", "nbf", "exp", "status", "e", "n", "x5t", "x5c")

KEYSET_PREFIX = "B2C_1A_"
# B2C publishes no limit; 120 for the bare name keeps the service id (prefix included) within 127 characters.
MAX_KEYSET_NAME = 120
# 9999-12-31T23:59:59Z: the last second ISO 8601 (and Python's datetime) can write with four year digits.
MAX_TIME = 253402300799
# 100 years of 365.25 days: anything longer is a typo, not a key lifetime.
MAX_DURATION = 36525 * 86400

TIME_FORMS = "use epoch seconds or ISO 8601 such as 2027-01-31 or 2027-01-31T12:00:00Z"
DURATION_FORMS = "use seconds or a number with a unit s, m, h, d or w, such as 3600, 90d, 12w, 36h or 45m"

_EPOCH = datetime(1970, 1, 1)
_ONE_SECOND = timedelta(seconds=1)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

# re.ASCII everywhere: \s and the digit classes must not accept Unicode look-alikes.
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_DURATION_RE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[smhdw]?)", re.ASCII | re.IGNORECASE)
_ISO_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,][0-9]+)?)?"
    r"\s*(?:(?P<zulu>Z)|(?P<sign>[+-])(?P<off_hour>[0-9]{2})(?::?(?P<off_minute>[0-9]{2}))?)?)?",
    re.ASCII | re.IGNORECASE,
)
_KEYSET_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)


class KeyInputError(UserError, ValueError):
    """A module option holds a value this layer refuses; the message names the option and the fix."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class KeyRequest:
    """What the playbook asks for, parsed and normalized (times in epoch seconds, renew_before in seconds)."""

    use: str
    kty: str
    nbf: int | None
    exp: int | None
    renew_before: int


@dataclass(frozen=True)
class Plan:
    """Whether a key must be added, why, and which key satisfies when none must."""

    generate: bool
    reason: str
    key: dict | None


def _show(value: Any) -> str:
    """Quote a user value for a message, short enough to stay readable."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        return "a number too large to show"
    return text if len(text) <= 64 else text[:61] + "..."


def _fail(option: str, message: str) -> KeyInputError:
    return KeyInputError(f"{option}: {message}", option=option)


def iso_utc(epoch: int) -> str:
    """Epoch seconds as ISO 8601 UTC, e.g. ``2027-01-31T12:00:00Z``; ValueError outside years 1 to 9999."""
    try:
        moment = _EPOCH + timedelta(seconds=math.floor(epoch))
    except (OverflowError, ValueError, TypeError) as exc:
        raise ValueError(f"{epoch!r} seconds since 1970 cannot be written as an ISO 8601 time") from exc
    # Explicit padding: strftime('%Y') does not zero-pad years below 1000 on every platform.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def _datetime_epoch(moment: datetime) -> int:
    """Floor epoch seconds of a datetime; a naive one counts as UTC."""
    offset = moment.utcoffset() or timedelta(0)
    return (moment.replace(tzinfo=None) - _EPOCH - offset) // _ONE_SECOND


def _check_time_range(epoch: int, value: Any, option: str) -> int:
    if epoch < 0:
        raise _fail(option, f"{_show(value)} is before 1970-01-01T00:00:00Z; give a time from 1970 on ({TIME_FORMS})")
    if epoch > MAX_TIME:
        hint = " (epoch milliseconds? give seconds)" if epoch // 1000 <= MAX_TIME else ""
        raise _fail(option, f"{_show(value)} is after 9999-12-31T23:59:59Z{hint}; {TIME_FORMS}")
    return epoch


def _parse_iso(text: str) -> int | None:
    """Epoch seconds of an ISO 8601 date or datetime string, or None when it is not one."""
    match = _ISO_RE.fullmatch(text)
    if not match:
        return None
    parts = match.groupdict()
    try:
        moment = datetime(
            int(parts["year"]), int(parts["month"]), int(parts["day"]),
            int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0),
        )
    except ValueError:
        return None
    offset = 0
    if parts["sign"]:
        off_hour, off_minute = int(parts["off_hour"]), int(parts["off_minute"] or 0)
        if off_hour > 23 or off_minute > 59:
            return None
        offset = (off_hour * 3600 + off_minute * 60) * (-1 if parts["sign"] == "-" else 1)
    # Fractional seconds are dropped: that is the floor, since the fraction is never negative.
    return (moment - _EPOCH) // _ONE_SECOND - offset


def parse_time(value: Any, option: str) -> int | None:
    """A user-given time as epoch seconds (None when unset).

    Accepts int/float epoch seconds, numeric strings, ISO 8601 dates and datetimes (``T`` or a space between date
    and time, optional fractional seconds, ``Z`` or an offset such as ``+02:00``/``+0200``; naive means UTC), and
    ``datetime``/``date`` objects (YAML may produce those). Refuses times before 1970 or after year 9999.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail(option, f"{_show(value)} is not a valid time; {TIME_FORMS}")
    if isinstance(value, int):
        return _check_time_range(value, value, option)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(option, f"{_show(value)} is not a valid time; {TIME_FORMS}")
        return _check_time_range(math.floor(value), value, option)
    if isinstance(value, datetime):
        return _check_time_range(_datetime_epoch(value), value, option)
    if isinstance(value, date):
        return _check_time_range(_datetime_epoch(datetime(value.year, value.month, value.day)), value, option)
    if not isinstance(value, str):
        raise _fail(option, f"expected a time, got {type(value).__name__} {_show(value)}; {TIME_FORMS}")
    text = value.strip()
    if not text:
        return None
    if _NUMBER_RE.fullmatch(text):
        epoch = int(Decimal(text).to_integral_value(rounding=ROUND_FLOOR))
        return _check_time_range(epoch, value, option)
    epoch = _parse_iso(text)
    if epoch is None:
        raise _fail(option, f"{_show(value)} is not a valid time; {TIME_FORMS}")
    return _check_time_range(epoch, value, option)


def parse_duration(value: Any, option: str) -> int:
    """A user-given duration as whole seconds: a number of seconds or ``<number><unit>`` with unit s/m/h/d/w."""
    if isinstance(value, bool) or value is None:
        raise _fail(option, f"{_show(value)} is not a valid duration; {DURATION_FORMS}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(option, f"{_show(value)} is not a valid duration; {DURATION_FORMS}")
        if value < 0:
            raise _fail(option, f"{_show(value)} is negative; {DURATION_FORMS}")
        if value > MAX_DURATION:
            raise _fail(option, f"{_show(value)} is longer than 100 years; {DURATION_FORMS}")
        return math.floor(value)
    if not isinstance(value, str):
        raise _fail(option, f"expected a duration, got {type(value).__name__} {_show(value)}; {DURATION_FORMS}")
    text = value.strip()
    match = _DURATION_RE.fullmatch(text)
    if not match:
        if text.startswith("-") and _DURATION_RE.fullmatch(text[1:].lstrip()):
            raise _fail(option, f"{_show(value)} is negative; {DURATION_FORMS}")
        raise _fail(option, f"{_show(value)} is not a valid duration; {DURATION_FORMS}")
    factor = _DURATION_UNITS[match.group("unit").lower() or "s"]
    seconds = Decimal(match.group("number")) * factor
    if seconds > MAX_DURATION:
        raise _fail(option, f"{_show(value)} is longer than 100 years; {DURATION_FORMS}")
    return int(seconds.to_integral_value(rounding=ROUND_FLOOR))


def key_time(value: Any) -> int | None:
    """Tolerant reading of a key's nbf/exp as sent by the service: a number or numeric string, else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return math.floor(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    # adjusted() bounds the exponent so a string like '1e999999999' cannot make a giant int.
    if not number.is_finite() or number.adjusted() > 30:
        return None
    return int(number.to_integral_value(rounding=ROUND_FLOOR))


def _normalize_choice(value: Any, option: str, choices: Sequence[str]) -> str:
    if isinstance(value, str):
        wanted = value.strip().lower()
        for choice in choices:
            if choice.lower() == wanted:
                return choice
    listed = ", ".join(choices)
    raise _fail(option, f"{_show(value)} is not supported; choose one of {listed} (case does not matter)")


def normalize_kty(value: Any, option: str = "kty") -> str:
    """``RSA`` or ``oct`` from any casing; KeyInputError otherwise."""
    return _normalize_choice(value, option, KTYS)


def normalize_use(value: Any, option: str = "use") -> str:
    """``sig`` or ``enc`` from any casing; KeyInputError otherwise."""
    return _normalize_choice(value, option, USES)


def keyset_id(name: Any, option: str = "keyset", doubled_prefix_ok: bool = False) -> str:
    """The service id ``B2C_1A_<name>`` of a key set given with or without its prefix (matched ignoring case).

    The bare name must be 1 to MAX_KEYSET_NAME ASCII letters, digits, '_', '-' or '.', and not '.' or '..'. A name
    that carries the prefix twice (``B2C_1A_B2C_1A_X``) is refused unless ``doubled_prefix_ok``: it would make a set
    ``B2C_1A_B2C_1A_X`` that no policy written for ``B2C_1A_X`` finds. Modules that only read or delete pass True, so
    a set so named (made elsewhere) can still be reported and removed.
    """
    rule = f"use 1 to {MAX_KEYSET_NAME} ASCII letters, digits, '_', '-' or '.' after the optional {KEYSET_PREFIX} prefix"
    if not isinstance(name, str):
        raise _fail(option, f"expected a key set name, got {type(name).__name__} {_show(name)}; {rule}")
    if not name:
        raise _fail(option, f"is empty; {rule}")
    bare = name[len(KEYSET_PREFIX):] if name[:len(KEYSET_PREFIX)].upper() == KEYSET_PREFIX else name
    if not bare:
        raise _fail(option, f"{_show(name)} has no name after the {KEYSET_PREFIX} prefix; {rule}")
    if len(bare) > MAX_KEYSET_NAME:
        raise _fail(option, f"{_show(name)} is {len(bare)} characters long, over the limit of {MAX_KEYSET_NAME}; {rule}")
    if not _KEYSET_NAME_RE.fullmatch(bare):
        bad = next(char for char in bare if not _KEYSET_NAME_RE.fullmatch(char))
        raise _fail(option, f"{_show(name)} contains {bad!r}; {rule}")
    if bare in (".", ".."):
        raise _fail(option, f"{_show(name)} is not a usable name; {rule}")
    if not doubled_prefix_ok and bare[:len(KEYSET_PREFIX)].upper() == KEYSET_PREFIX and bare[len(KEYSET_PREFIX):]:
        raise _fail(option, f"{_show(name)} carries the {KEYSET_PREFIX} prefix twice, which would name the key set "
                            f"{KEYSET_PREFIX}{bare}; did you mean {KEYSET_PREFIX}{bare[len(KEYSET_PREFIX):]}? The "
                            f"prefix may be given once or left out")
    return KEYSET_PREFIX + bare


def _is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def build_request(
    use: Any, kty: Any, nbf: Any, exp: Any, valid_for: Any, renew_before: Any, now: int,
) -> KeyRequest:
    """Parse and check the raw module values into a KeyRequest, refusing what could never work.

    Refused: exp together with valid_for; valid_for of 0; nbf >= exp; an exp (given or computed) <= now; and an exp
    within renew_before of the activation (the new key would itself count as expiring, so every run would add a key).
    None or an empty string means unset for valid_for and renew_before (renew_before then is 0).
    """
    use = normalize_use(use)
    kty = normalize_kty(kty)
    nbf_epoch = parse_time(nbf, "nbf")
    exp_epoch = parse_time(exp, "exp")
    renew_seconds = 0 if _is_unset(renew_before) else parse_duration(renew_before, "renew_before")
    exp_option = "exp"
    if not _is_unset(valid_for):
        lifetime = parse_duration(valid_for, "valid_for")
        if exp_epoch is not None:
            raise _fail("exp", "cannot be combined with valid_for; give exp or valid_for, not both")
        if lifetime == 0:
            raise _fail("valid_for", f"{_show(valid_for)} is zero; a key needs a lifetime of at least one second")
        start = now if nbf_epoch is None else nbf_epoch
        exp_epoch = start + lifetime
        exp_option = "valid_for"
        if exp_epoch > MAX_TIME:
            raise _fail("valid_for", f"{_show(valid_for)} from {iso_utc(start)} runs past 9999-12-31T23:59:59Z; shorten it")
    if exp_epoch is not None:
        if nbf_epoch is not None and nbf_epoch >= exp_epoch:
            raise _fail("nbf", f"{iso_utc(nbf_epoch)} is not before exp ({iso_utc(exp_epoch)}); give an nbf earlier than exp")
        if exp_epoch <= now:
            if exp_option == "valid_for":
                detail, fix = "computed from nbf + valid_for ", "give a longer valid_for or a later nbf"
            else:
                detail, fix = "", "give an exp in the future"
            raise _fail(
                exp_option,
                f"the key would expire at {iso_utc(exp_epoch)} {detail}which is not after now ({iso_utc(now)}); {fix}",
            )
        start = now if nbf_epoch is None else max(now, nbf_epoch)
        if exp_epoch <= start + renew_seconds:
            raise _fail(
                "renew_before",
                f"{_show(renew_before)} reaches past the new key's expiry ({iso_utc(exp_epoch)}): the key would count as "
                f"expiring as soon as it is made and every run would add another; shorten renew_before or give a "
                f"longer {'valid_for' if exp_option == 'valid_for' else 'exp'}",
            )
    return KeyRequest(use=use, kty=kty, nbf=nbf_epoch, exp=exp_epoch, renew_before=renew_seconds)


def _start(request: KeyRequest, now: int) -> int:
    """S: the moment the request must be satisfied from (now, or a later requested activation)."""
    return now if request.nbf is None else max(now, request.nbf)


def _text(key: Mapping[str, Any], field: str) -> str | None:
    value = key.get(field)
    return value.strip().lower() if isinstance(value, str) else None


def _disabled(key: Mapping[str, Any]) -> bool:
    return _text(key, "status") == "disabled"


def _same_kind(key: Mapping[str, Any], request: KeyRequest) -> bool:
    return _text(key, "use") == request.use.lower() and _text(key, "kty") == request.kty.lower()


def _window_holds(key: Mapping[str, Any], moment: int) -> bool:
    nbf, exp = key_time(key.get("nbf")), key_time(key.get("exp"))
    return (nbf is None or nbf <= moment) and (exp is None or exp > moment)


def _starts_after(key: Mapping[str, Any], moment: int) -> bool:
    nbf = key_time(key.get("nbf"))
    return nbf is not None and nbf > moment


def satisfies(key: Mapping[str, Any], request: KeyRequest, now: int) -> bool:
    """True when the key meets the request from S = max(now, request.nbf) through S + renew_before."""
    if not _same_kind(key, request) or _disabled(key):
        return False
    start = _start(request, now)
    nbf, exp = key_time(key.get("nbf")), key_time(key.get("exp"))
    return (nbf is None or nbf <= start) and (exp is None or exp > start + request.renew_before)


def _activation_order(key: Mapping[str, Any]) -> tuple:
    nbf, exp = key_time(key.get("nbf")), key_time(key.get("exp"))
    return (-math.inf if nbf is None else nbf, math.inf if exp is None else exp)


def pick_active(keys: Iterable[Mapping[str, Any]]) -> dict | None:
    """The key B2C makes active among these: latest nbf (absent counts earliest), then latest exp (absent latest).

    Ties go to the first key in the given order. None when there are no keys.
    """
    return max(keys, key=_activation_order, default=None)


def valid_now(key: Mapping[str, Any], now: int) -> bool:
    """True when the key is not disabled and now lies in its window (nbf absent or <= now, exp absent or > now)."""
    return not _disabled(key) and _window_holds(key, now)


def active_key(keys: Iterable[Mapping[str, Any]], now: int) -> dict | None:
    """The key B2C uses now: pick_active over the keys valid now."""
    return pick_active(key for key in keys if valid_now(key, now))


def _display_kind(value: str, choices: Sequence[str]) -> str:
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    return value


def conflict(  # pylint: disable=redefined-outer-name  # keyset_id: the name callers know it by
    keys: Iterable[Mapping[str, Any]], request: KeyRequest, keyset_id: str, advice: Mapping[str, str] | None = None,
) -> str | None:
    """A plain-words refusal when the request's kty or use differs from any key in the set, else None.

    B2C refuses to mix RSA with oct (AADB2C95032) or sig with enc (AADB2C95042) in one key set, whatever the status or
    validity of the keys already there. Each problem ends with what to do: request the kind the set holds, or, for a
    field the module does not let users choose, the words `advice` gives for it (once after the problems sharing them).
    """
    keys = list(keys)
    problems = []
    for field_name, choices, wanted, code in (
        ("kty", KTYS, request.kty, "AADB2C95032"),
        ("use", USES, request.use, "AADB2C95042"),
    ):
        held = []
        for key in keys:
            value = key.get(field_name)
            if isinstance(value, str) and value.strip() and value.strip().lower() != wanted.lower():
                shown = _display_kind(value.strip(), choices)
                if shown not in held:
                    held.append(shown)
        if held:
            held_text = " and ".join(held)
            problems.append((
                f"key set {keyset_id} holds {held_text} keys; B2C cannot mix {held_text} and {wanted} keys in one key set "
                f"({code}).",
                (advice or {}).get(field_name) or f"Use another key set or request {field_name}={held[0]}.",
            ))
    sentences = []
    for index, (problem, fix) in enumerate(problems):
        sentences.append(problem)
        if index == len(problems) - 1 or problems[index + 1][1] != fix:
            sentences.append(fix)
    return " ".join(sentences) or None


def plan(keyset_exists: bool, keys: Sequence[Mapping[str, Any]], request: KeyRequest, now: int) -> Plan:
    """Decide whether to generate a key, and why."""
    if not keyset_exists:
        return Plan(generate=True, reason="keyset_missing", key=None)
    satisfying = [key for key in keys if satisfies(key, request, now)]
    if satisfying:
        return Plan(generate=False, reason="valid", key=pick_active(satisfying))
    start = _start(request, now)
    candidates = [key for key in keys if _same_kind(key, request) and not _disabled(key)]
    if not candidates:
        reason = "no_key"
    elif any(_window_holds(key, start) for key in candidates):
        # Valid at S yet not satisfying: its exp falls within renew_before.
        reason = "expiring"
    elif any(_starts_after(key, start) for key in candidates):
        reason = "not_yet_valid"
    else:
        reason = "expired"
    return Plan(generate=True, reason=reason, key=None)


def generate_body(request: KeyRequest, now: int) -> dict:
    """The generateKey payload: use, kty, nbf (the request's or now) and exp only when one is set."""
    body: dict = {"use": request.use, "kty": request.kty, "nbf": now if request.nbf is None else request.nbf}
    if request.exp is not None:
        body["exp"] = request.exp
    return body


def secret_body(request: KeyRequest, secret: str, now: int) -> dict:
    """The uploadSecret payload: generateKey's without kty (a secret is always oct), and the secret as k."""
    return {**{name: value for name, value in generate_body(request, now).items() if name != "kty"}, "k": secret}


def no_expiry_warning(keyset_ids: Sequence[str], check_mode: bool) -> str:
    """The warning for keys added without exp or valid_for: they can never expire, be removed or be rotated."""
    verb = "would add" if check_mode else "adds"
    if len(keyset_ids) == 1:
        subject, pronoun, has = f"The key this task {verb} to {keyset_ids[0]}", ("it", "it"), "has"
    else:
        subject, pronoun, has = f"The keys this task {verb} to {', '.join(keyset_ids)}", ("they", "them"), "have"
    return (f"{subject} {has} no expiry (neither exp nor valid_for is set): {pronoun[0]} will never expire, cannot be "
            f"removed (B2C keys cannot be deleted) and renew_before can never rotate {pronoun[1]}. Give new keys a "
            f"lifetime, for example valid_for: 365d with renew_before: 30d.")


def keys_of(keyset: Mapping[str, Any] | None) -> list:
    """The keys of a key set as Graph returned it (none for a missing set), skipping anything that is not a key."""
    return [key for key in (keyset or {}).get("keys") or [] if isinstance(key, Mapping)]


def _identity(key: Mapping[str, Any]) -> Any:
    """The kid, or for a key without one (never seen in practice) its whole content."""
    kid = key.get("kid")
    if kid:
        return ("kid", kid)
    return ("content", tuple(sorted((str(field), repr(value)) for field, value in key.items())))


def find_landed(
    keys_before: Iterable[Mapping[str, Any]], keys_after: Iterable[Mapping[str, Any]], request: KeyRequest, now: int,
) -> dict | None:
    """After an ambiguous generateKey failure: the new key (absent before) that satisfies the request, else None."""
    seen = {_identity(key) for key in keys_before}
    landed = [key for key in keys_after if _identity(key) not in seen and satisfies(key, request, now)]
    return pick_active(landed)


def _iso_or_none(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    try:
        return iso_utc(epoch)
    except ValueError:
        return None


def public_facts(key: Mapping[str, Any]) -> dict:
    """Only the public fields of a key (never a private part, not even as null), plus ISO not_before/expires."""
    facts = {field: copy.deepcopy(key[field]) for field in PUBLIC_FIELDS if field in key}
    nbf, exp = key_time(key.get("nbf")), key_time(key.get("exp"))
    if nbf is not None:
        facts["nbf"] = nbf
    if exp is not None:
        facts["exp"] = exp
    facts["not_before"] = _iso_or_none(nbf)
    facts["expires"] = _iso_or_none(exp)
    return facts


# -- rules: which key satisfies a module's target, and how to add one ------------------------------------------------


class KeyRule:
    """What differs between the modules that add keys (the flow itself is _keysets/ensure.py's): which existing key
    satisfies the target, what B2C would refuse, and the Graph action that adds a key. Pure, like the rest of this file.
    """

    action = ""  # the key-adding Graph action

    def plan(self, keyset_exists: bool, keys: Sequence[Mapping[str, Any]], now: int) -> Plan:
        raise NotImplementedError

    def conflict(self, keys: Sequence[Mapping[str, Any]], service_id: str) -> str | None:
        """What B2C would refuse to add to a set holding these keys, in words that say what to change; else None."""
        raise NotImplementedError

    def body(self, now: int) -> dict:
        """The body of the key-adding POST (it may hold a secret: never report it)."""
        raise NotImplementedError

    def planned(self, now: int) -> dict:
        """Public facts of the key the POST would add, for check mode's diff."""
        raise NotImplementedError

    def landed(self, keys_before: Iterable[Mapping[str, Any]], keys_after: Iterable[Mapping[str, Any]],
               now: int) -> dict | None:
        """After a POST whose outcome is unknown: the key it added, else None."""
        raise NotImplementedError

    def facts(self) -> dict:
        """Facts of the target the module returns besides the common ones."""
        return {}

    def notice(self, key: Mapping[str, Any], service_id: str) -> str | None:
        """A warning about the key that satisfies the target, if it deserves one."""
        return None


SECRET_ADVICE = "Use another key set: a secret is always an oct key."
ALWAYS_REASON = "update_secret"


@dataclass(frozen=True)
class WindowRule(KeyRule):
    """Generated keys and secrets: a key satisfies when `satisfies` says so (use, kty, status, window from S through
    S + renew_before)."""

    request: KeyRequest
    secret: str | None = dataclasses.field(default=None, repr=False)  # to upload (uploadSecret), else generateKey
    always: bool = False  # add a key on every run, even when one satisfies (b2c_keyset_secret's update_secret=always)

    @property
    def action(self) -> str:  # type: ignore[override]
        return "generateKey" if self.secret is None else "uploadSecret"

    def plan(self, keyset_exists: bool, keys: Sequence[Mapping[str, Any]], now: int) -> Plan:
        decision = plan(keyset_exists, keys, self.request, now)
        if self.always and not decision.generate:
            return Plan(generate=True, reason=ALWAYS_REASON, key=None)
        return decision

    def conflict(self, keys: Sequence[Mapping[str, Any]], service_id: str) -> str | None:
        return conflict(keys, self.request, service_id, None if self.secret is None else {"kty": SECRET_ADVICE})

    def body(self, now: int) -> dict:
        if self.secret is None:
            return generate_body(self.request, now)
        return secret_body(self.request, self.secret, now)

    def planned(self, now: int) -> dict:
        planned = public_facts(self.body(now))  # never the private parts of the body (a secret's k)
        planned.setdefault("kty", self.request.kty)
        return planned

    def landed(self, keys_before: Iterable[Mapping[str, Any]], keys_after: Iterable[Mapping[str, Any]],
               now: int) -> dict | None:
        return find_landed(keys_before, keys_after, self.request, now)
