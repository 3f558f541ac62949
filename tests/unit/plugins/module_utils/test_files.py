# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one bounded reader of local files (certificates, bundles, policies)."""

from __future__ import annotations

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._keysets.certs import CertificateError
from ansible_collections.entra.b2c.plugins.module_utils._keysets.certs import read_file as read_certificate
from ansible_collections.entra.b2c.plugins.module_utils._core.files import FileTooLarge, read_bounded
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import MAX_POLICY_BYTES, PolicyError
from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import read_file as read_policy


def test_a_file_within_the_bound_is_read_whole_and_one_past_it_is_refused(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_bounded(str(path), 10) == b"x" * 10
    with pytest.raises(FileTooLarge):
        read_bounded(str(path), 9)
    with pytest.raises(OSError):
        read_bounded(str(tmp_path / "missing"), 10)


def test_both_families_read_with_the_bound_and_say_which_option(tmp_path):
    big = tmp_path / "big.xml"
    big.write_bytes(b"<" * (MAX_POLICY_BYTES + 1))
    with pytest.raises(PolicyError, match=r"^path: .*big.xml is more than the 1024 KB B2C accepts for one policy file"):
        read_policy(str(big), "path")
    with pytest.raises(CertificateError, match=r"^certificate_path: .*big.xml is larger than 1048576 bytes"):
        read_certificate(str(big), "certificate_path")
    with pytest.raises(PolicyError, match=r"^path: cannot read the policy file"):
        read_policy(str(tmp_path / "missing.xml"), "path")
