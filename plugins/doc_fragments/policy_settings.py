# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The options of the policy modules that upload: placeholders filled before any check, and the key sets an
    # earlier task of the run ensures.
    DOCUMENTATION = r"""
options:
  settings:
    description:
      - Values filled into the policy files before anything is checked, compared or uploaded, so that files kept for
        the B2C VS Code extension or downloaded from Microsoft's starter packs deploy as they are.
      - Each key V(K) fills the VS Code extension's placeholder C({Settings:K}); the C(Settings:K) part is matched
        ignoring case, as the extension matches it. Without a value for them, C({Settings:Filename}) is the file name
        of the policy without its extension (from O(path), or the C(source) of a content entry) and
        C({Settings:PolicyFilename}) the same without C(B2C_1A_).
      - The keys V(IdentityExperienceFrameworkAppId) and V(ProxyIdentityExperienceFrameworkAppId) also fill the
        starter packs' bare words of those names (the application ids of the two IEF app registrations).
      - The key V(FacebookAppId) also fills the social starter packs' bare word C(facebook_clientid) (the Facebook
        app's id). Left unfilled, that one is not refused - B2C accepts it and only sign-in with Facebook fails - and
        the task warns where it is.
      - The starter packs' C(yourtenant.onmicrosoft.com) is filled with the key V(Tenant), else with O(tenant_id) when
        that is a domain name; any other C(yourtenant) (as in C(yourtenant.b2clogin.com)) with the tenant's short
        name, the first label of that C(.onmicrosoft.com) name.
      - Values are inserted as written (write C(&amp;) for C(&) in XML); numbers and booleans as text (V(true)).
        A value is not searched for placeholders again. Two keys that differ only in case are refused.
      - Wins over a value of the same name from O(appsettings).
      - Whatever placeholder nothing fills (outside XML comments) is refused before any request - every one of every
        file, one per line, as C(<file>:<line>:) then the placeholder and what to set. Jinja templating through the template
        lookup keeps working beside this; it runs before the module sees the content.
    type: dict
  appsettings:
    description:
      - Path of a B2C VS Code extension C(appsettings.json) (on the host that runs the module); the environment
        named by O(environment) fills C({Settings:Tenant}) from its C(Tenant), C({Settings:Environment}) with its
        C(Name) and C({Settings:K}) for each key K of its C(PolicySettings), as the extension's "B2C Policy Build"
        does. A C(PolicySettings) key named like one of those built-ins is ignored, as in the extension.
      - A file that cannot be read or is not JSON, an environment that is not there (the names it has are listed)
        or one without C(PolicySettings) is refused before any request.
      - The extension's build writes into an C(Environments) folder; the module reads the policy sources instead
        and fills them itself, so nothing needs building first.
    type: path
  environment:
    description:
      - The C(Name) of one of the C(Environments) of O(appsettings), matched exactly (case counts) as the extension
        matches it. Required with O(appsettings).
    type: str
  ensured_keysets:
    description:
      - Key sets (with or without the C(B2C_1A_) prefix) that an earlier task of this run creates, such as the
        C(entra.b2c.policy_keys) role's; they count as present when the key sets the policies reference are checked.
      - Before any upload (in check mode too) every key set that a policy to be uploaded names in
        C(StorageReferenceId) must exist in the tenant or be listed here, else the task fails naming each missing key
        set and the policies that reference it. The check costs one key set list request, and only when an uploaded
        policy references a key set; an app without C(TrustFrameworkKeySet.Read.All) gets a warning instead.
      - A key set created moments ago (by this run or another job) may still be refused by B2C's policy validation
        (C(does not have CryptographicKey referenced by storageReferenceId)); such an upload is sent again within
        the same replication wait as key additions (about a minute), and the policy's result reports the seconds waited
        in C(replication_wait).
    type: list
    elements: str
    default: []
"""
