# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options every module shares (doc_fragments/graph.py documents them), without the transport.

Internal use only: this module may change without notice.

Kept apart from module.py, auth.py and graph.py so that the roles' checks (filter plugins, templated in a worker that
exits after its task) read the options without importing requests, msal and AnsibleModule for nothing.
"""

from __future__ import annotations

from ansible.module_utils.common.parameters import env_fallback

CLOUD_ENV = ("AZURE_CLOUD_ENVIRONMENT",)

# Credential options have no env fallback here on purpose: an argument must win over the environment as a whole kind,
# which resolve_credential decides after parsing.
GRAPH_ARGUMENT_SPEC = dict(
    tenant_id=dict(type="str", aliases=["tenant"], fallback=(env_fallback, ["AZURE_TENANT_ID", "AZURE_TENANT"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    client_secret=dict(type="str", no_log=True),
    client_certificate_path=dict(type="path"),
    client_certificate_password=dict(type="str", no_log=True),
    federated_token_file=dict(type="path", no_log=False),
    access_token=dict(type="str", no_log=True),
    cloud=dict(type="str", fallback=(env_fallback, list(CLOUD_ENV))),
    graph_endpoint=dict(type="str"),
    authority_host=dict(type="str"),
    validate_certs=dict(type="bool", default=True),
    allow_http=dict(type="bool", default=False),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=30),
    token_cache=dict(type="path", no_log=False, fallback=(env_fallback, ["ENTRA_B2C_TOKEN_CACHE"])),
)
