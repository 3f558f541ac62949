# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Local files the modules read (certificates, bundles, policies), each read with a bound.

Internal use only: this module may change without notice.
"""

from __future__ import annotations


class FileTooLarge(OSError):
    """The file holds more than the reader's bound: it was not read past it."""


def read_bounded(path: str, limit: int) -> bytes:
    """The bytes of the file at `path`, at most `limit` of them: a larger file raises FileTooLarge rather than be held
    whole. Other failures raise the OSError of open or read."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"{path} is larger than {limit} bytes")
    return data
