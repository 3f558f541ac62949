# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Authentication and connection options shared by every module of the collection.
    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - The B2C tenant, as its GUID or its C(contoso.onmicrosoft.com) domain name.
      - Falls back to the environment variables E(AZURE_TENANT_ID), then E(AZURE_TENANT) (as AWX injects it).
      - Not needed with O(access_token).
    type: str
    aliases: [tenant]
  client_id:
    description:
      - Application (client) id of the app registration in the B2C tenant.
      - Falls back to E(AZURE_CLIENT_ID). Not needed with O(access_token).
    type: str
  client_secret:
    description:
      - A client secret of the app registration.
      - When no credential option is given, E(AZURE_CLIENT_SECRET) or E(AZURE_SECRET) is used.
      - Exactly one credential kind (O(client_secret), O(client_certificate_path), O(federated_token_file) or
        O(access_token)) may be given as module arguments; a kind given as an argument wins over the environment.
    type: str
  client_certificate_path:
    description:
      - Path of a PEM file holding the private key and the certificate registered on the app, in either order.
      - The SHA-1 thumbprint is computed from the certificate.
      - When no credential option is given, E(AZURE_CLIENT_CERTIFICATE_PATH) or E(AZURE_X509_CERTIFICATE_PATH) is used.
    type: path
  client_certificate_password:
    description:
      - Password of an encrypted private key in O(client_certificate_path).
      - Falls back to E(AZURE_CLIENT_CERTIFICATE_PASSWORD).
    type: str
  federated_token_file:
    description:
      - Workload identity federation; path of a file whose JWT (issued by a trusted identity provider, for example a
        Kubernetes service account or a CI system) is sent as the client assertion.
      - The file is read each time a token is acquired, so rotated tokens are picked up.
      - When no credential option is given, E(AZURE_FEDERATED_TOKEN_FILE) is used.
    type: path
  access_token:
    description:
      - A ready Microsoft Graph access token; no token request is made at all.
      - When no credential option is given, E(AZURE_ACCESS_TOKEN) is used.
    type: str
  cloud:
    description:
      - The national cloud of the tenant; it selects the Graph and login hosts and the token audience.
      - V(global) (the default), V(usgov), V(usgov_dod) or V(china). The azure.azcollection names V(AzureCloud),
        V(AzureUSGovernment) and V(AzureChinaCloud) are accepted too.
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT).
    type: str
  graph_endpoint:
    description:
      - Override of the Graph host, as scheme, host and optional port only, for example V(https://127.0.0.1:8443);
        a bare host means C(https://). The module appends C(/beta/...).
      - It changes where requests go, not the token audience, which stays the cloud's Graph root.
      - Falls back to E(AZURE_GRAPH_ENDPOINT); a value given to the module wins.
    type: str
  authority_host:
    description:
      - Override of the login authority host, as scheme, host and optional port only; a bare host such as
        V(login.microsoftonline.us) means C(https://). The module appends C(/<tenant_id>).
      - Falls back to E(AZURE_AUTHORITY_HOST), the variable the Azure Identity libraries read for the same purpose; a
        value given to the module wins.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificates of Graph and the authority. Turning it off warns; prefer O(ca_path).
    type: bool
    default: true
  allow_http:
    description:
      - Accept a plain C(http://) O(graph_endpoint), for a local test double only; tokens then travel unencrypted
        and the module warns. O(authority_host) must be https in any case.
    type: bool
    default: false
  ca_path:
    description:
      - A CA bundle for TLS to Graph and the authority.
      - Falls back to E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE); an explicit value wins over both.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request. Throttled or failed requests are retried within their own budget.
    type: float
    default: 30
  token_cache:
    description:
      - Path of a file that caches Graph access tokens between tasks, forks and runs, so a play acquires one token
        and reuses it until it nears expiry. Opt-in; without it every task acquires its own token.
      - The file is created with mode 0600 (its directory 0700), written atomically and safely shared by concurrent
        forks. It holds access tokens, never credentials, but they are bearer tokens stored unencrypted. A file
        readable by others, an existing directory that is not yours or has any permission for group or others, and
        a symbolic link in place of the file or of its lock file are refused, never tightened or followed.
      - Falls back to E(ENTRA_B2C_TOKEN_CACHE). Not used with O(access_token).
    type: path
requirements:
  - requests
  - msal (only when a token must be acquired, that is with every credential kind but O(access_token))
notes:
  - Set these options once per play with C(module_defaults) and the action group C(group/entra.b2c.graph).
"""
