# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The flows of the key set modules and the options they share: one flow per module, each taking a RunContext.

Internal use only: this module may change without notice.

Data flows one way: options checked (no request yet) -> token -> the key set read, under its lock -> the pure rule of
_keysets/keys.py or _keysets/certs.py -> the set created and a key added, unless check mode -> public facts. The one
flow that adds keys is ensure_key (_keysets/ensure.py); Graph calls live in _keysets/api.py.
"""

from __future__ import annotations

from ansible_collections.entra.b2c.plugins.module_utils._core.context import (
    RunContext,
    failure,
    first_error,
    in_parallel,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed, UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import KeysetGraph
from ansible_collections.entra.b2c.plugins.module_utils._keysets.certs import (
    CertificateRule,
    Upload,
    certificate_upload,
    check_validity,
    decode_base64,
    load_certificate,
    load_pkcs12,
    pkcs12_upload,
    private_key_blocks,
    read_file,
)
from ansible_collections.entra.b2c.plugins.module_utils._keysets.ensure import KeyTarget, ensure_key, key_target
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import (
    KeyInputError,
    active_key,
    valid_now,
    keys_of,
    keyset_id,
    no_expiry_warning,
    parse_duration,
    public_facts,
)
from ansible_collections.entra.b2c.plugins.module_utils._keysets.report import BACKUP_SUFFIX, expiring, keyset_report

# The options of doc_fragments/keys.py, section by section (DOCUMENTATION, CREATE, WINDOW): a module that extends a
# section of the fragment takes the section's spec from here.
KEYSET_SPEC = dict(
    keyset=dict(type="str", required=True, aliases=["name", "keyset_id"], no_log=False),
)
CREATE_SPEC = dict(
    create_keyset=dict(type="bool", default=True, no_log=False),
)
WINDOW_SPEC = dict(
    nbf=dict(type="raw", aliases=["not_before"]),
    exp=dict(type="raw", aliases=["expires"]),
    valid_for=dict(type="str"),
    renew_before=dict(type="str", default="0"),
)
# The options an entry of b2c_keyset_key_batch may set, each defaulting to the module's own.
BATCH_DEFAULTS_SPEC = dict(
    use=dict(type="str", choices=["sig", "enc"]),
    kty=dict(type="str", default="RSA"),
    **WINDOW_SPEC,
    **CREATE_SPEC,
)


# ---- b2c_keyset_key and b2c_keyset_secret ----------------------------------------------------------------------------

def ensure_generated_key(run: RunContext) -> dict:
    return ensure_key(run, key_target(run.params, run.now))


def ensure_secret(run: RunContext) -> dict:
    params = run.params
    secret = params["secret"]
    target = key_target(dict(params, kty="oct"), run.now, secret=secret, always=params["update_secret"] == "always")
    if not secret or not secret.strip():
        raise KeyInputError("secret: is empty; give the secret value to upload", option="secret")
    return ensure_key(run, target)


# ---- b2c_keyset_key_batch --------------------------------------------------------------------------------------------

def item_options(params: dict, item: dict, index: int) -> dict:
    options = {name: item[name] if item.get(name) is not None else params.get(name) for name in BATCH_DEFAULTS_SPEC}
    options["keyset"] = item["keyset"]
    if item.get("exp") is not None or item.get("valid_for") is not None:
        options["exp"], options["valid_for"] = item.get("exp"), item.get("valid_for")  # an entry's lifetime wins whole
    if options["use"] is None:
        raise KeyInputError(f"keysets[{index}].use: give use (sig or enc) for key set {item['keyset']}, or a top-level "
                            f"use")
    if options["exp"] is not None and options["valid_for"] is not None:
        raise KeyInputError(f"keysets[{index}]: exp and valid_for are mutually exclusive (key set {item['keyset']})")
    return options


def targets_of(run: RunContext) -> list:
    """Every entry validated (no I/O), each key set listed once."""
    targets: list[KeyTarget] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(run.params["keysets"]):
        try:
            target = key_target(item_options(run.params, item, index), run.now)
        except KeyInputError as exc:
            raise KeyInputError(f"keysets[{index}] ({item['keyset']}): {exc}") from None
        first = seen.setdefault(target.keyset_id.lower(), index)
        if first != index:
            raise KeyInputError(f"keysets[{index}]: key set {target.keyset_id} is listed twice (also at "
                                f"keysets[{first}]); list each once")
        targets.append(target)
    return targets


def ensure_many(run: RunContext) -> dict:
    targets = targets_of(run)
    parallel = run.params["parallel"]
    if parallel < 1:
        raise KeyInputError(f"parallel: {parallel} must be 1 or more")
    run.connect()  # credentials and endpoints are validated once, before any request
    never_expiring: list = []  # key sets that got a key without expiry: one warning names them all

    def ensure(target: KeyTarget) -> dict:
        try:
            return ensure_key(run, target, never_expiring)
        except UserError as exc:
            return {"keyset": target.keyset_id, "changed": False, **failure(exc)}

    results = in_parallel(ensure, targets, parallel)

    if never_expiring:
        # The threads finish in any order: name the key sets as the entries list them.
        position = {target.keyset_id.lower(): index for index, target in enumerate(targets)}
        listed = sorted(never_expiring, key=lambda name: position.get(name.lower(), len(position)))
        run.warn(no_expiry_warning(listed, run.check_mode))
    diffs = [entry.pop("diff", None) for entry in results]
    outcome = {"changed": any(entry["changed"] for entry in results), "results": results}
    if run.diff:
        outcome["diff"] = {side: {"keysets": [d[side] for d in diffs if d is not None]} for side in ("before", "after")}
    failed = [entry for entry in results if entry.get("failed")]
    if failed:
        raise TaskFailed(itemized(f"{len(failed)} of {len(results)} key sets failed",
                                  [f"{entry['keyset']}: {entry['msg']}" for entry in failed]),
                         {**outcome, **first_error(results)})
    return outcome


# ---- b2c_keyset_certificate ------------------------------------------------------------------------------------------

def prepare_upload(run: RunContext) -> Upload:
    """Read, parse and check the one certificate source given; no request to Graph yet."""
    params = run.params
    password = params["pkcs12_password"]

    def certificate_only(option: str, data: str | bytes) -> Upload:
        hidden = private_key_blocks(data)
        if hidden:
            # The value of a str option is echoed in the task's invocation: mask the key, upload only the certificate.
            for block in hidden:
                run.mask(block)
            run.warn(f"{option} holds a private key as well; only the certificate is uploaded (to upload a private "
                     f"key with its certificate, use pkcs12 or pkcs12_path)")
        return certificate_upload(load_certificate(data, option))

    if params["certificate"] is not None:
        option = "certificate"
        upload = certificate_only(option, params["certificate"])
    elif params["certificate_path"] is not None:
        option = "certificate_path"
        upload = certificate_only(option, read_file(params["certificate_path"], option))
    else:
        if params["pkcs12"] is not None:
            option = "pkcs12"
            bundle = decode_base64(params["pkcs12"], option)
        else:
            option = "pkcs12_path"
            bundle = read_file(params["pkcs12_path"], option)
        upload = pkcs12_upload(bundle, password, load_pkcs12(bundle, password, option))
    if password is not None and not option.startswith("pkcs12"):
        run.warn("pkcs12_password is ignored: it only opens pkcs12 or pkcs12_path")
    check_validity(upload.certificate, run.now, option)
    return upload


def ensure_certificate(run: RunContext) -> dict:
    upload = prepare_upload(run)
    target = KeyTarget(keyset_id(run.params["keyset"]), run.params["create_keyset"], CertificateRule(upload))
    return ensure_key(run, target)


# ---- a key set kept as the tenant holds it (b2c_ief_tenant) --------------------------------------------------------

def keep_keyset(run: RunContext) -> dict:
    """A secret or certificate the tenant holds and the run cannot know (an exported repository holds no secret):
    read, never written. A set without a valid key (of `use`, when given) is refused: only its value can mend it."""
    params = run.params
    wanted_id = keyset_id(params["keyset"])
    keyset = run.api(KeysetGraph).get_keyset(wanted_id)
    use = params.get("use")
    usable = [key for key in keys_of(keyset) if valid_now(key, run.now) and (use is None or key.get("use") == use)]
    if not usable:
        state = "does not exist" if keyset is None else f"holds no valid key{f' for use {use}' if use else ''}"
        raise KeyInputError(f"key set {wanted_id} {state}, and this entry gives no value to upload (it keeps what the "
                            f"tenant holds); give {params['value_option']} to upload one")
    key = active_key(usable, run.now) or usable[-1]
    return {"changed": False, "keyset": keyset.get("id") or wanted_id, "reason": "kept", "key": public_facts(key),
            "keyset_keys": [public_facts(item) for item in keys_of(keyset)]}


# ---- b2c_keyset ------------------------------------------------------------------------------------------------------

def ensure_keyset(run: RunContext) -> dict:
    # Deleting creates nothing: a set whose id carries the prefix twice (made elsewhere) can still be removed.
    wanted_id = keyset_id(run.params["keyset"], doubled_prefix_ok=run.params["state"] == "absent")
    # The same lock as b2c_keyset_key's: a create or delete never interleaves with another run's read-decide-write.
    with run.keyset_lock(wanted_id):
        return ensure_keyset_locked(run, wanted_id)


def ensure_keyset_locked(run: RunContext, wanted_id: str) -> dict:
    params = run.params
    client = run.api(KeysetGraph)
    current = client.get_keyset(wanted_id)
    service_id = (current or {}).get("id") or wanted_id
    result = {"changed": False, "keyset": service_id, "backup_deleted": False}

    if params["state"] == "present":
        after = current
        if current is None:
            result["changed"] = True
            after = {"id": wanted_id, "keys": []}
            if not run.check_mode:
                with run.step(f"{wanted_id} created"):
                    after = client.create_keyset(wanted_id)
                result["keyset"] = after.get("id") or wanted_id
    else:
        after = None
        if current is not None:
            result["changed"] = True
            if not run.check_mode:
                # Its answer does not matter: False means a retry found the first attempt landed; either way the
                # set read above (under the lock) is gone because of this run.
                with run.step(f"{service_id} deleted"):
                    client.delete_keyset(service_id)
        if params["purge_backup"]:
            try:
                result["backup_deleted"] = delete_backup(run, service_id + BACKUP_SUFFIX, set_deleted=current is not None)
            except GraphError as exc:  # the key set itself may be gone already: say so with the failure
                raise TaskFailed(str(exc), result, cause=exc) from exc
            result["changed"] = result["changed"] or result["backup_deleted"]

    result["keyset_keys"] = [public_facts(key) for key in keys_of(after)]
    if run.diff:
        before_state = {"keyset": service_id if current is not None else None,
                        "keyset_keys": [public_facts(key) for key in keys_of(current)]}
        after_state = {"keyset": result["keyset"] if after is not None else None, "keyset_keys": result["keyset_keys"]}
        if result["backup_deleted"]:
            before_state["backup"], after_state["backup"] = service_id + BACKUP_SUFFIX, None
        result["diff"] = {"before": before_state, "after": after_state}
    return result


def delete_backup(run: RunContext, backup_id: str, set_deleted: bool) -> bool:
    """Delete the backup set; True when one was (or in check mode would be) deleted."""
    if run.check_mode and set_deleted:
        return True  # the delete this run would make leaves a backup behind
    client = run.api(KeysetGraph)
    # Read first: nothing is written when there is nothing to do, and the answer is right even when a retried
    # DELETE finds its own first attempt already landed.
    if client.get_keyset(backup_id) is None:
        return False
    if not run.check_mode:
        client.delete_keyset(backup_id)
    return True


# ---- b2c_keyset_info -------------------------------------------------------------------------------------------------

def keyset_info(run: RunContext) -> dict:
    params = run.params
    now = run.now
    wanted_id = None if params["keyset"] is None else keyset_id(params["keyset"], doubled_prefix_ok=True)
    within = None if params["expiring_within"] is None else parse_duration(params["expiring_within"], "expiring_within")
    client = run.api(KeysetGraph)

    if wanted_id is None:
        keysets = client.list_keysets()
    else:
        keyset = client.get_keyset(wanted_id)
        keysets = [] if keyset is None else [keyset]

    result = {"changed": False, "keysets": [keyset_report(keyset, now) for keyset in keysets]}
    if within is not None:
        result["expiring"] = expiring(keysets, within, now)
    return result
