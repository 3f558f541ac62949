# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A write reports itself the moment it completes, through the door that can show it; a failed one does not."""

from __future__ import annotations

import re

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext


def test_a_completed_write_is_shown_with_its_duration():
    shown: list = []
    run = RunContext({}, progress=shown.append)
    with run.step("B2C_1A_TrustFrameworkBase uploaded"):
        pass
    assert len(shown) == 1 and re.fullmatch(r"B2C_1A_TrustFrameworkBase uploaded \(\d+\.\d s\)", shown[0]), shown


def test_a_failed_write_shows_nothing_and_the_error_goes_on():
    shown: list = []
    run = RunContext({}, progress=shown.append)
    with pytest.raises(RuntimeError):
        with run.step("never"):
            raise RuntimeError("refused")
    assert shown == []


def test_without_a_door_that_shows_progress_a_step_is_silent():
    with RunContext({}).step("B2C_1A_X created"):
        pass
