#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_ief_apps
short_description: Register the two Identity Experience Framework apps of an Azure AD B2C tenant, as Microsoft's tutorial does
version_added: 0.1.0
description:
  - Makes sure the B2C tenant has the two app registrations custom policies need, with their service principals and
    admin consent, exactly as Microsoft's tutorial "Create user flows and custom policies" describes them, and returns
    their application (client) ids for the policies' C(IdentityExperienceFrameworkAppId) and
    C(ProxyIdentityExperienceFrameworkAppId).
  - C(IdentityExperienceFramework) - accounts in this directory only (C(AzureADMyOrg)), the Web redirect URI
    C(https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com), the application ID URI C(api://<appId>), the scope
    C(user_impersonation) (C(Access IdentityExperienceFramework)), the Microsoft Graph delegated permissions
    C(openid) and C(offline_access), and admin consent to them.
  - C(ProxyIdentityExperienceFramework) - accounts in this directory only, the public client (mobile and desktop)
    redirect URI C(myapp://auth), public client flows allowed (C(isFallbackPublicClient), the manifest's
    C(allowPublicClient)), delegated access to C(user_impersonation) of the first app and to Graph's C(openid) and
    C(offline_access), and admin consent to all three.
  - Finds each app by O(identity_experience_framework_app_id) / O(proxy_identity_experience_framework_app_id) when
    given, else by display name, else by the C(uniqueName) the module creates it with (see the notes), so an app it
    created and someone renamed is still found (and keeps its new name); two apps with the same name are refused, naming
    both. Creates what is missing and adds only what differs (a redirect URI, the scope, a permission, a grant);
    redirect URIs, scopes and permissions the apps hold beyond the tutorial's are kept, and nothing is removed. A second
    run makes no write.
  - Two runs started together (two AWX jobs of one template, say) make each app, service principal and grant once. Apps
    and service principals are created through Microsoft Graph's upsert by alternate key - a C(PATCH) of the
    application by its C(uniqueName), of the service principal by its C(appId), with the header C(Prefer) set to
    C(create-if-missing) - so the run whose create comes second updates what the first made, with the same values,
    reads it and carries on with it. A grant the other run made first is refused to this one (HTTP 409) and read
    instead.
  - An app or service principal create whose answer is lost (a timeout, a dropped connection) is sent again - the
    upsert lands once - and a grant's is never sent again blindly - the tenant is read first - so a run never makes a
    second object.
  - Admin consent is a delegated permission grant of consent type C(AllPrincipals) (what the portal's "Grant admin
    consent" button makes), from each app's service principal to the Microsoft Graph service principal of the tenant
    and, for the proxy app, to the first app's.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.graph
  - entra.b2c.attributes
  - entra.b2c.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - Reads the tenant and reports what would be created or changed, writing nothing. The app ids of apps that would
        be new are V(null).
  diff_mode:
    support: full
    details:
      - The public facts of both apps (ids, redirect URIs, scopes, required permissions) and the admin consent grants,
        before and after.
options:
  identity_experience_framework_app_id:
    description:
      - The application (client) id of an existing IdentityExperienceFramework app to use. It must exist; it is then
        updated to the tutorial's shape whatever its display name.
      - Without it, the app is found by O(identity_experience_framework_name), and created when there is none.
    type: str
  proxy_identity_experience_framework_app_id:
    description:
      - The application (client) id of an existing ProxyIdentityExperienceFramework app to use, as
        O(identity_experience_framework_app_id) is for the first app.
    type: str
  identity_experience_framework_name:
    description: The display name of the first app, to find it by and to create it with.
    type: str
    default: IdentityExperienceFramework
  proxy_identity_experience_framework_name:
    description: The display name of the proxy app, to find it by and to create it with.
    type: str
    default: ProxyIdentityExperienceFramework
  tenant_domain:
    description:
      - The tenant's C(<name>.onmicrosoft.com) domain (or just C(<name>)), which the redirect URI
        C(https://<name>.b2clogin.com/<name>.onmicrosoft.com) is made of.
      - Defaults to O(tenant_id) when that is a domain name; required when O(tenant_id) is a GUID or not given (with
        O(access_token)). Checked before any request.
    type: str
notes:
  - Needs the Microsoft Graph application permissions C(Application.ReadWrite.All) (or C(Application.ReadWrite.OwnedBy),
    which reaches only the apps this app registration created) and C(DelegatedPermissionGrant.ReadWrite.All), with
    admin consent. A run that only reads (nothing to change, or check mode) needs C(Application.Read.All) and
    C(Directory.Read.All) (or the write permissions above). A refusal names the permission the call needs.
  - There is no C(state=absent) on purpose - every custom policy that signs users in with local accounts depends on
    these two apps; delete them in the portal if you really mean to.
  - New apps and grants can take a few minutes to reach every sign-in (Entra ID replication).
  - An app the module creates gets the C(uniqueName) C(entra-b2c-<slug>-<hash>), computed from its display name alone
    (the option, as given), so every run computes the same - the slug is the name in lower case with each run of
    characters other than C(a-z) and C(0-9) made one C(-) (at most 40 characters), the hash the first 8 hexadecimal
    digits of the SHA-256 of the lower-cased name. C(IdentityExperienceFramework) gets
    C(entra-b2c-identityexperienceframework-8e2d0a88). Its C(user_impersonation) scope id is likewise computed from the
    tenant and that C(uniqueName).
  - C(uniqueName) is treated as write-once - it is set only when the module creates an app, never on an app it finds
    (one registered in the portal has none, and is updated by its object id). An app deleted in the last 30 days may
    still hold its C(uniqueName) in Deleted applications - restore it there, or give another display name.
seealso:
  - module: entra.b2c.b2c_policies
  - name: Create user flows and custom policies (Microsoft tutorial)
    description: The two app registrations this module makes.
    link: https://learn.microsoft.com/en-us/azure/active-directory-b2c/tutorial-create-user-flows?pivots=b2c-custom-policy
  - name: Upsert application (Microsoft Graph)
    description: The create by C(uniqueName) that two runs started together cannot make twice.
    link: https://learn.microsoft.com/en-us/graph/api/application-upsert?view=graph-rest-beta
  - name: Keys, then policies (user guide chapter)
    description: Deploying IEF custom policies with this collection.
    link: https://github.com/entra-b2c/entra.b2c/blob/main/docs/policies.md
"""

EXAMPLES = r"""
- name: The two IEF apps of the tenant, created or repaired
  entra.b2c.b2c_ief_apps:
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"
  register: ief_apps

- name: Upload the policies with the apps' ids
  entra.b2c.b2c_policies:
    path: build/policies
    settings:
      IdentityExperienceFrameworkAppId: "{{ ief_apps.identity_experience_framework_app_id }}"
      ProxyIdentityExperienceFrameworkAppId: "{{ ief_apps.proxy_identity_experience_framework_app_id }}"

- name: Apps registered earlier under other names, by their ids (the tenant given as a GUID needs tenant_domain)
  entra.b2c.b2c_ief_apps:
    tenant_id: 11111111-2222-3333-4444-555555555555
    tenant_domain: contoso.onmicrosoft.com
    identity_experience_framework_app_id: 6c3e8a56-1f5b-4a4e-9a57-0f5d2e1c9b10
    proxy_identity_experience_framework_app_id: 0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment (what would change):
#   ansible localhost -m entra.b2c.b2c_ief_apps --check --diff
"""

RETURN = r"""
identity_experience_framework_app_id:
  description: The application (client) id of IdentityExperienceFramework; V(null) in check mode when it would be new.
  returned: always
  type: str
  sample: 6c3e8a56-1f5b-4a4e-9a57-0f5d2e1c9b10
proxy_identity_experience_framework_app_id:
  description: The application (client) id of ProxyIdentityExperienceFramework; V(null) in check mode when it would be
    new.
  returned: always
  type: str
  sample: 0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d
identity_experience_framework:
  description: What the run found and did for IdentityExperienceFramework.
  returned: always
  type: dict
  contains:
    app_id:
      description: The application (client) id.
      type: str
    object_id:
      description: The application object's id (what Graph addresses it by).
      type: str
    service_principal_id:
      description: The object id of its service principal (enterprise application); V(null) in check mode when new.
      type: str
    display_name:
      description: The display name it was looked for (or created) with.
      type: str
    created:
      description: Whether the app was (or in check mode would be) created.
      type: bool
    changes:
      description: What was (or would be) created or changed, in words; empty when nothing.
      type: list
      elements: str
  sample:
    app_id: 6c3e8a56-1f5b-4a4e-9a57-0f5d2e1c9b10
    object_id: 1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a
    service_principal_id: 9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d
    display_name: IdentityExperienceFramework
    created: false
    changes: ["web redirect URI https://contoso.b2clogin.com/contoso.onmicrosoft.com added"]
proxy_identity_experience_framework:
  description: What the run found and did for ProxyIdentityExperienceFramework, in the shape of
    RV(identity_experience_framework).
  returned: always
  type: dict
admin_consent_changes:
  description:
    - "The admin consent grants made or extended, each as C(<client> -> <API>: <scopes> granted); empty when nothing."
  returned: always
  type: list
  elements: str
  sample: ["ProxyIdentityExperienceFramework -> IdentityExperienceFramework: user_impersonation granted"]
error:
  description:
    - What Microsoft Graph answered when the task failed on a Graph error, for playbooks to test with C(failed_when),
      C(until) or C(when) (C(msg) says the same in words, with what to do).
    - Absent when Graph did not answer (unreachable host, timeout, TLS failure), when signing in to Entra ID failed
      (its C(AADSTS) codes are in C(msg)) and when the task failed before any request (input refused, credentials
      missing); inside it, a key Graph did not give is null. It never holds credentials, tokens or key material.
  returned: when the task failed on an error Graph answered
  type: dict
  contains:
    status:
      description: The HTTP status Graph answered, such as V(400), V(403), V(404) or V(429).
      type: int
      returned: always
    code:
      description: Graph's error code (C(error.code) of its answer), such as C(AADB2C90073) or C(Authorization_RequestDenied).
      type: str
      returned: always
    message:
      description: Graph's own message (C(error.message) of its answer), without the collection's words around it.
      type: str
      returned: always
    request_id:
      description: The request id of Graph's answer (its C(request-id) header, else C(innerError)), which Microsoft support asks for.
      type: str
      returned: always
    date:
      description:
        - When Graph answered, as it gave it; C(innerError.date) (ISO 8601, UTC, such as C(2026-12-07T10:59:12)), else
          the HTTP C(Date) header.
      type: str
      returned: always
  sample:
    status: 403
    code: Authorization_RequestDenied
    message: Insufficient privileges to complete the operation.
    request_id: 2f8e5d4c-1b3a-4c6d-9e7f-0a1b2c3d4e5f
    date: "2026-12-07T10:59:12"
"""

from ansible_collections.entra.b2c.plugins.module_utils._apps.flow import IEF_APPS_SPEC, ensure_ief_apps
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule


MODULE_SPEC = dict(argument_spec=dict(**IEF_APPS_SPEC), supports_check_mode=True)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_ief_apps


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
