# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The errors a flow raises to fail its task: the user's to fix, each with a message that says what to change.

Internal use only: this module may change without notice.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure the task reports as `msg` (no traceback): bad input, a refusal of Graph, a missing credential.

    Every layer's error derives from it, so that exactly one place (_core.context.outcome) turns them into failed
    results.
    """

    def graph_error(self) -> dict | None:
        """What Graph answered, as the task's `error` field; None when Graph did not answer (overridden by GraphError)."""
        return None


class TaskFailed(UserError):
    """The task fails with `msg` and the result fields it carries (what was done before the failure, for example).

    Raised from the error that caused it, whose Graph answer (if any) it keeps as the task's `error`.
    """

    def __init__(self, msg: str, result: dict | None = None, cause: BaseException | None = None):
        super().__init__(msg)
        self.result = dict(result or {})
        self.error = cause.graph_error() if isinstance(cause, UserError) else None

    def graph_error(self) -> dict | None:
        return self.error
