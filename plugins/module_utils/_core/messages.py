# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a message lists several problems: one per line, so a refusal of eleven problems reads as eleven lines.

Internal use only: this module may change without notice.
"""

from __future__ import annotations

from collections.abc import Sequence


def itemized(head: str, items: Sequence[str]) -> str:
    """``head: item`` for one item; for several, ``head:`` then each item on a line of its own, as ``- item``.

    Ansible shows a failed task's ``msg`` with its line breaks (ansible-core 2.19 and later, and the YAML result format
    before that), so each problem starts on a line of its own.
    """
    if len(items) == 1:
        return f"{head}: {items[0]}"
    return f"{head}:" + "".join(f"\n- {item}" for item in items)
