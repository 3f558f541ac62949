# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability checks against the emulator: the fault matrix, the soak and the bad-input table.

`python -m reliability` (tests/ on sys.path; `make reliability` runs it) writes docs/reliability.md; the e2e suite runs
the same code in tests/e2e/test_faults.py, test_soak.py and test_bad_input.py.
"""
