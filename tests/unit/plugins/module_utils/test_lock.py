# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machine lock (plugins/module_utils/_core/lock.py): one holder per identity, others wait; files stay private."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core import lock as _lock
from ansible_collections.entra.b2c.plugins.module_utils._core.lock import LockError, machine_lock


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(_lock.tempfile, "gettempdir", lambda: str(tmp_path))
    return tmp_path


def hold_in_thread(identity: str, events: list) -> threading.Thread:
    def body():
        with machine_lock(identity):
            events.append("second holds " + identity)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def test_a_second_holder_of_the_same_identity_waits_for_the_first():
    events = []
    with machine_lock("graph\ntenant\nb2c_1a_k"):
        second = hold_in_thread("graph\ntenant\nb2c_1a_k", events)
        second.join(timeout=0.5)
        assert second.is_alive() and events == []
        events.append("first lets go")
    second.join(timeout=30)
    assert events == ["first lets go", "second holds graph\ntenant\nb2c_1a_k"]


def test_another_identity_does_not_wait():
    events = []
    with machine_lock("graph\ntenant\nb2c_1a_k"):
        other = hold_in_thread("graph\ntenant\nb2c_1a_other", events)
        other.join(timeout=30)
        assert events == ["second holds graph\ntenant\nb2c_1a_other"]


def test_lock_files_are_private_and_never_name_the_identity(private_tmp):
    with machine_lock("graph\ncontoso.onmicrosoft.com\nb2c_1a_k"):
        pass
    directory = private_tmp / f"entra-b2c-locks-{os.getuid()}"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    (lock_file,) = directory.iterdir()
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600 and "contoso" not in lock_file.name


def test_a_lock_directory_that_cannot_be_made_says_where(private_tmp):
    (private_tmp / f"entra-b2c-locks-{os.getuid()}").write_text("a file, not a directory")
    with pytest.raises(LockError, match="cannot create a lock file in .*entra-b2c-locks"):
        with machine_lock("x"):
            pass


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(private_tmp):
    directory = private_tmp / f"entra-b2c-locks-{os.getuid()}"
    with machine_lock("graph\ntenant\nb2c_1a_k"):
        pass
    (lock_file,) = directory.iterdir()
    lock_file.unlink()
    target = private_tmp / "elsewhere"
    target.write_text("not a lock")
    os.symlink(target, lock_file)
    with pytest.raises(LockError, match="is a symbolic link, which is never followed; remove it"):
        with machine_lock("graph\ntenant\nb2c_1a_k"):
            pass
    assert target.read_text() == "not a lock"


def test_a_lock_directory_of_another_user_is_refused(monkeypatch):
    real_uid = os.getuid()
    monkeypatch.setattr(_lock.os, "getuid", lambda: real_uid + 1)  # the directory made below is the real user's
    with pytest.raises(LockError, match=r"lock directory .*entra-b2c-locks-%d belongs to another user; remove it"
                                        % (real_uid + 1)):
        with machine_lock("x"):
            pass


@pytest.mark.parametrize("mode", [0o770, 0o730, 0o703, 0o777, 0o1777], ids=oct)
def test_a_lock_directory_others_may_write_in_is_refused_not_tightened(private_tmp, mode):
    """Whoever may write in it may remove a lock file another run holds, or plant one: the lock would not hold."""
    directory = private_tmp / f"entra-b2c-locks-{os.getuid()}"
    directory.mkdir()
    directory.chmod(mode)
    with pytest.raises(LockError) as caught:
        with machine_lock("x"):
            pytest.fail("the lock must not be taken")
    assert str(caught.value) == (f"lock directory {directory} has mode {mode:04o}: others may remove or replace the "
                                 f"lock files in it; chmod 700 {directory}, or remove it (it is created again, 0700)")
    assert stat.S_IMODE(directory.stat().st_mode) == mode and list(directory.iterdir()) == []


@pytest.mark.parametrize("mode", [0o700, 0o750, 0o755], ids=oct)
def test_a_lock_directory_others_may_only_read_is_used(private_tmp, mode):
    directory = private_tmp / f"entra-b2c-locks-{os.getuid()}"
    directory.mkdir()
    directory.chmod(mode)
    with machine_lock("x"):
        pass
    assert stat.S_IMODE(directory.stat().st_mode) == mode
