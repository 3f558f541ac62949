# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized


def test_one_item_stays_on_the_line_of_its_head():
    assert itemized("1 of 2 key sets failed", ["B2C_1A_A: refused"]) == "1 of 2 key sets failed: B2C_1A_A: refused"


def test_several_items_are_one_a_line_under_their_head():
    text = itemized("11 problems", [f"f{index}.xml: empty" for index in range(11)])
    lines = text.splitlines()
    assert lines[0] == "11 problems:" and len(lines) == 12
    assert lines[1:] == [f"- f{index}.xml: empty" for index in range(11)]
    assert max(len(line) for line in lines) < 40
