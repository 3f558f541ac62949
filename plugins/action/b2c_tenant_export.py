# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of entra.b2c.b2c_tenant_export: runs the module in the controller's worker process when it can."""

from __future__ import annotations

from ansible_collections.entra.b2c.plugins.modules import b2c_tenant_export
from ansible_collections.entra.b2c.plugins.plugin_utils._in_process import GraphAction


class ActionModule(GraphAction):
    """Runs entra.b2c.b2c_tenant_export; see plugins/plugin_utils/_in_process.py."""

    # Imported with the plugin: the strategy loads it in the parent before it forks workers, which inherit the module
    # and what it imports (requests, the module_utils), so only the first task of a run pays for the imports.
    module = b2c_tenant_export
