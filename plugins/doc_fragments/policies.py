# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # What every custom policy module shares: the permission, and how policy ids are read.
    DOCUMENTATION = r"""
options: {}
notes:
  - The custom policy modules need the Microsoft Graph application permission C(Policy.ReadWrite.TrustFramework)
    (C(Policy.Read.All) is enough for M(entra.b2c.b2c_policy_info)) with admin consent; a signed-in admin also needs
    the Entra role B2C IEF Policy Administrator. They need no key set permission; the key set modules need their own.
  - Policy ids are compared ignoring case, as B2C compares them; results keep the spelling of the file.
  - Limits B2C sets and the modules check before any request - 1024 KB per policy file, 10 levels of inheritance.
"""
