# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A lock among the runs of one machine (forks of a play, parallel jobs), named by what it protects.

Internal use only: this module may change without notice.

B2C has no conditional writes, so two runs that both read "no valid key" would both add one; holding this lock from
the read to the write makes the second run see the first one's key. Runs on other machines are not covered (see
docs/reliability.md). The lock is an flock on a file in a directory of the user's own, released when the file closes,
so a run that dies never leaves it held. An existing directory that is not the user's own, or that group or others may
write in (and so remove or replace a lock file another run holds), is refused, never tightened behind the user's back.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError


class LockError(UserError):
    """The lock file cannot be made; the message names the directory and what to change."""


def lock_directory() -> str:
    return os.path.join(tempfile.gettempdir(), f"entra-b2c-locks-{os.getuid()}")


def directory_problem(directory: str, info: os.stat_result, uid: int) -> str | None:
    """What makes the lock directory unfit, with what to change; None when it is fit."""
    if info.st_uid != uid:
        return f"lock directory {directory} belongs to another user; remove it"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        return (f"lock directory {directory} has mode {mode:04o}: others may remove or replace the lock files in it; "
                f"chmod 700 {directory}, or remove it (it is created again, 0700)")
    return None


class LinkedLockFile(OSError):
    """A symbolic link stands where a lock file goes: it is never followed (it could point anywhere)."""


def open_lock_file(path: str) -> int:
    """The descriptor of the lock file at `path`, created with mode 0600 when missing; a planted link is refused
    (LinkedLockFile), other failures raise the OSError of open."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        if os.path.islink(path):
            raise LinkedLockFile(path) from None
        raise


@contextlib.contextmanager
def machine_lock(identity: str) -> Iterator[None]:
    """Hold the lock named by identity (any text; hashed into the file name) until the block ends."""
    directory = lock_directory()
    path = os.path.join(directory, hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32] + ".lock")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        problem = directory_problem(directory, os.stat(directory), os.getuid())
        if problem:
            raise LockError(problem)
        fd = open_lock_file(path)
    except LinkedLockFile:
        raise LockError(f"lock file {path} is a symbolic link, which is never followed; remove it") from None
    except OSError as exc:
        raise LockError(f"cannot create a lock file in {directory} ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
