# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The short soak: tests/reliability/soak.py on a small scale with a fixed seed (`make reliability` runs 500 runs)."""

from __future__ import annotations

from reliability import soak

SHORT = soak.SoakConfig(runs=30, keysets=5, seed=6)


def test_short_soak_adds_no_extra_key(ansible):
    result = soak.run_soak(ansible, SHORT)
    assert result.runs == SHORT.runs
    assert result.extra_keys == 0 and not result.problems, "\n".join(result.problems)
    # The schedule really exercised something: keys were needed and made, faults were served and some runs failed.
    assert result.needed >= SHORT.keysets and 0 < result.generated <= result.needed
    assert result.faults_hit >= 10
    assert sum(result.failures.values()) >= 1 and "other" not in result.failures
    # No run added more than one key (a run that succeeded also left a satisfying key: soak._judge checks it).
    assert all(record.new_keys <= 1 for record in result.records)
