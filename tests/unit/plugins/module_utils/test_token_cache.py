# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core.auth import CLOUDS, AuthError, Credential, TokenProvider
from ansible_collections.entra.b2c.plugins.module_utils._core.token_cache import (
    EXPIRY_MARGIN,
    TokenCache,
    TokenCacheError,
    cache_key,
)

NOW = 1_800_000_000


def test_put_then_get(tmp_path):
    cache = TokenCache(str(tmp_path / "sub" / "tokens.json"))
    cache.put("k", "token-value", NOW + 3600, NOW)
    assert cache.get("k", NOW) == "token-value"
    assert cache.get("other", NOW) is None


def test_files_are_private(tmp_path):
    path = tmp_path / "dir" / "tokens.json"
    TokenCache(str(path)).put("k", "t", NOW + 3600, NOW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".token-cache-")] == []


def test_token_near_expiry_is_not_handed_out(tmp_path):
    cache = TokenCache(str(tmp_path / "t.json"))
    cache.put("k", "t", NOW + EXPIRY_MARGIN, NOW)
    assert cache.get("k", NOW) is None
    cache.put("k", "t", NOW + EXPIRY_MARGIN + 1, NOW)
    assert cache.get("k", NOW) == "t"


def test_expired_entries_are_pruned_on_write(tmp_path):
    path = tmp_path / "t.json"
    cache = TokenCache(str(path))
    cache.put("old", "t1", NOW + 10, NOW)
    cache.put("new", "t2", NOW + 7200, NOW + 20)
    assert set(json.loads(path.read_text())["tokens"]) == {"new"}


def test_drop(tmp_path):
    cache = TokenCache(str(tmp_path / "t.json"))
    cache.put("k", "t", NOW + 3600, NOW)
    cache.drop("k", NOW)
    assert cache.get("k", NOW) is None


def test_a_cache_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "t.json"
    cache = TokenCache(str(path))
    cache.put("k", "t", NOW + 3600, NOW)
    os.chmod(path, 0o644)
    with pytest.raises(TokenCacheError, match="0600"):
        cache.get("k", NOW)


def test_damaged_cache_is_ignored_and_rewritten(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("{not json")
    os.chmod(path, 0o600)
    cache = TokenCache(str(path))
    assert cache.get("k", NOW) is None
    cache.put("k", "t", NOW + 3600, NOW)
    assert cache.get("k", NOW) == "t"


def _put_many(path, worker):
    cache = TokenCache(path)
    for i in range(20):
        cache.put("w%d-%d" % (worker, i), "token", NOW + 3600, NOW)


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "t.json")
    workers = [multiprocessing.Process(target=_put_many, args=(path, n)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert all(worker.exitcode == 0 for worker in workers)
    tokens = json.loads(open(path, encoding="utf-8").read())["tokens"]
    assert len(tokens) == 8 * 20


def test_cache_key_separates_every_part():
    base = ("https://login", "tenant", "client", "scope", "client_secret", "fp")
    keys = {cache_key(*base)}
    for i in range(len(base)):
        changed = list(base)
        changed[i] = changed[i] + "x"
        keys.add(cache_key(*changed))
    assert len(keys) == len(base) + 1


class CountingProvider(TokenProvider):
    """A provider whose token requests are counted instead of sent."""

    def _acquire(self):
        self.acquired += 1
        return "token-%d" % self.acquired, 3600


def provider(cache, secret="s3cret", clock=lambda: NOW):
    credential = Credential(kind="client_secret", origin="client_secret", tenant_id="t", client_id="c", secret=secret)
    return CountingProvider(credential, CLOUDS["global"], "https://login.example", None, 30, cache=cache, clock=clock)


def test_provider_reuses_a_cached_token_across_runs(tmp_path):
    cache = TokenCache(str(tmp_path / "t.json"))
    first = provider(cache)
    assert first.token() == "token-1" and first.acquired == 1
    second = provider(cache)
    assert second.token() == "token-1" and second.acquired == 0
    assert "s3cret" not in (tmp_path / "t.json").read_text()


def test_provider_does_not_share_tokens_between_credentials(tmp_path):
    cache = TokenCache(str(tmp_path / "t.json"))
    provider(cache, secret="one").token()
    other = provider(cache, secret="two")
    other.token()
    assert other.acquired == 1


def test_refresh_replaces_the_cached_token(tmp_path):
    cache = TokenCache(str(tmp_path / "t.json"))
    first = provider(cache)
    first.token()
    assert first.refresh() == "token-2"
    assert provider(cache).token() == "token-2"


def test_cache_problems_become_auth_errors(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("{}")
    os.chmod(path, 0o666)
    with pytest.raises(AuthError, match="token_cache"):
        provider(TokenCache(str(path))).token()


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701, 0o777])
def test_a_directory_others_may_enter_is_refused_and_left_as_it_is(tmp_path, mode):
    directory = tmp_path / "shared"
    directory.mkdir()
    os.chmod(directory, mode)
    cache = TokenCache(str(directory / "tokens.json"))
    for use in (lambda: cache.get("k", NOW), lambda: cache.put("k", "t", NOW + 3600, NOW)):
        with pytest.raises(TokenCacheError, match=r"mode %04o.*bearer tokens unencrypted.*chmod 700" % mode):
            use()
    assert stat.S_IMODE(directory.stat().st_mode) == mode  # refused, never tightened behind the user's back
    assert list(directory.iterdir()) == []  # nothing written: no cache, no lock file


def test_a_private_directory_of_ones_own_is_used(tmp_path):
    directory = tmp_path / "private"
    directory.mkdir(mode=0o700)
    cache = TokenCache(str(directory / "tokens.json"))
    cache.put("k", "t", NOW + 3600, NOW)
    assert cache.get("k", NOW) == "t"


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("not yours to lock")
    os.symlink(target, tmp_path / "tokens.json.lock")
    cache = TokenCache(str(tmp_path / "tokens.json"))
    with pytest.raises(TokenCacheError, match=r"tokens\.json\.lock is a symbolic link.*remove it"):
        cache.put("k", "t", NOW + 3600, NOW)
    assert target.read_text() == "not yours to lock"
    assert not (tmp_path / "tokens.json").exists()


def test_a_symlinked_cache_file_is_refused(tmp_path):
    real = tmp_path / "real.json"
    TokenCache(str(real)).put("k", "t", NOW + 3600, NOW)
    os.symlink(real, tmp_path / "tokens.json")
    with pytest.raises(TokenCacheError, match="cannot open"):
        TokenCache(str(tmp_path / "tokens.json")).get("k", NOW)
