# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An opt-in file cache of Graph access tokens, shared by the tasks and forks of a play.

Internal use only: this module may change without notice.

The file is JSON, mode 0600 in a 0700 directory; the tokens in it are bearer tokens, unencrypted, so an existing
directory that is not the user's own or that others may enter (any group or other permission bit) is refused, never
tightened behind the user's back, and the lock file is never followed through a symbolic link. Writers take an exclusive flock on a sibling lock file, write a
temporary file and rename it over the cache, so concurrent forks never see a torn file and never lose each other's
entries. Readers need no lock. Entries are keyed by a hash of everything that identifies the token (authority,
tenant, client, scope, credential), never by the credential itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
import tempfile

from ansible_collections.entra.b2c.plugins.module_utils._core.lock import LinkedLockFile, open_lock_file

FORMAT_VERSION = 1
# Never follow a symbolic link planted where the cache or its lock file goes (every supported platform has it).
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
EXPIRY_MARGIN = 300  # seconds: a token this close to expiry is not handed out (a run may take minutes)


class TokenCacheError(Exception):
    """The cache file cannot be used; the message names the path and what to change."""


def cache_key(*parts: str | None) -> str:
    return hashlib.sha256(json.dumps([part or "" for part in parts]).encode("utf-8")).hexdigest()


def private_directory_problem(directory: str) -> str | None:
    """What makes an existing directory unfit to hold bearer tokens (not the user's own, or open to group or others),
    with what to change; None when it is fit or does not exist yet (it is then created 0700)."""
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot inspect the directory {directory} ({exc.strerror})"
    if info.st_uid != os.getuid():
        return (f"the directory {directory} belongs to another user; the cache holds bearer tokens unencrypted: give a "
                f"path in a directory of your own, such as ~/.cache/entra.b2c/tokens.json")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return (f"the directory {directory} has mode {mode:04o}; the cache holds bearer tokens unencrypted, so its "
                f"directory must be private: chmod 700 {directory}, or give a path in a directory of its own, such as "
                f"~/.cache/entra.b2c/tokens.json (created 0700)")
    return None


class TokenCache:
    def __init__(self, path: str):
        self.path = os.path.abspath(os.path.expanduser(path))

    def _check_directory(self) -> None:
        problem = private_directory_problem(os.path.dirname(self.path))
        if problem:
            raise TokenCacheError(f"token_cache: {problem}")

    # -- reading ---------------------------------------------------------------------------------------------------

    def _load(self) -> dict:
        self._check_directory()
        try:
            fd = os.open(self.path, os.O_RDONLY | NOFOLLOW)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TokenCacheError(f"token_cache: cannot open {self.path} ({exc.strerror})") from None
        with os.fdopen(fd, "r", encoding="utf-8") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
                raise TokenCacheError(
                    f"token_cache: {self.path} must belong to you and have mode 0600 (it holds access tokens); remove it "
                    f"or chmod 600 it")
            try:
                data = json.load(handle)
            except ValueError:
                return {}  # a damaged cache is only a cache: start afresh
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return {}
        tokens = data.get("tokens")
        return tokens if isinstance(tokens, dict) else {}

    def get(self, key: str, now: float) -> str | None:
        entry = self._load().get(key)
        if not isinstance(entry, dict):
            return None
        token, expires_on = entry.get("access_token"), entry.get("expires_on")
        if isinstance(token, str) and isinstance(expires_on, (int, float)) and expires_on - EXPIRY_MARGIN > now:
            return token
        return None

    # -- writing ---------------------------------------------------------------------------------------------------

    def put(self, key: str, token: str, expires_on: float, now: float) -> None:
        self._update(lambda tokens: tokens.__setitem__(key, {"access_token": token, "expires_on": int(expires_on)}),
                     now)

    def drop(self, key: str, now: float) -> None:
        self._update(lambda tokens: tokens.pop(key, None), now)

    def _update(self, change, now: float) -> None:
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise TokenCacheError(f"token_cache: cannot write in {directory} ({exc.strerror})") from None
        self._check_directory()
        lock_path = self.path + ".lock"
        try:
            lock_fd = open_lock_file(lock_path)
        except LinkedLockFile:
            raise TokenCacheError(f"token_cache: the lock file {lock_path} is a symbolic link, which is never followed; "
                                  f"remove it") from None
        except OSError as exc:
            raise TokenCacheError(f"token_cache: cannot write in {directory} ({exc.strerror})") from None
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            tokens = {key: entry for key, entry in self._load().items()
                      if isinstance(entry, dict) and isinstance(entry.get("expires_on"), (int, float))
                      and entry["expires_on"] > now}  # expired entries are pruned on every write
            change(tokens)
            temp_fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".token-cache-")  # created 0600
            try:
                with os.fdopen(temp_fd, "w", encoding="utf-8") as handle:
                    json.dump({"version": FORMAT_VERSION, "tokens": tokens}, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp_path, self.path)
            except BaseException:
                if os.path.exists(temp_path):
                    os.unlink(temp_path)
                raise
        except OSError as exc:
            raise TokenCacheError(f"token_cache: cannot write {self.path} ({exc.strerror})") from None
        finally:
            os.close(lock_fd)  # closing releases the flock
