#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_keyset_certificate
short_description: Ensure an Azure AD B2C policy key set holds a given certificate
version_added: 0.1.0
description:
  - Makes sure the Identity Experience Framework key set (policy key container) O(keyset) holds the given certificate,
    uploading it with Microsoft Graph's C(uploadCertificate) (a certificate alone, O(certificate) or
    O(certificate_path)) or C(uploadPkcs12) (a private key with its certificate, O(pkcs12) or O(pkcs12_path)).
  - Idempotent by thumbprint, the base64url SHA-1 of the certificate (C(x5t)). When a key of the set already carries
    that thumbprint nothing is uploaded, so repeated runs never add keys; B2C keys cannot be deleted.
  - Checks the input before any request to Graph and refuses an unreadable certificate, a certificate that has
    expired or is not valid yet, a non-RSA key, and a PKCS#12 bundle that O(pkcs12_password) does not open or that
    lacks its private key or certificate.
  - B2C makes an uploaded certificate an RSA signing (V(sig)) key. A key set holding V(oct) or V(enc) keys is refused
    before any write, as B2C would refuse the upload.
  - Creates the key set first when it does not exist, unless O(create_keyset=false).
  - The PKCS#12 bundle, its password and its private key never appear in the module's results, diff, warnings or
    errors.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.keys
  - entra.b2c.keys.CREATE
  - entra.b2c.graph
  - entra.b2c.keys.PERMISSION
  - entra.b2c.attributes
  - entra.b2c.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  certificate:
    description:
      - The certificate to upload, as PEM text or as the base64 text of its DER encoding.
      - Only the first certificate of a PEM holding several is used. A private key in the text is never uploaded
        (nor shown); to upload a private key with its certificate use O(pkcs12) or O(pkcs12_path).
      - Exactly one of O(certificate), O(certificate_path), O(pkcs12) and O(pkcs12_path) is required.
    type: str
  certificate_path:
    description:
      - Path of the certificate file to upload on the host that runs the module, PEM or DER (a C(.cer) or C(.crt)).
    type: path
  pkcs12:
    description:
      - A PKCS#12 bundle (C(.pfx) or C(.p12)) holding an RSA private key and its certificate, base64-encoded, for
        example V("{{ lookup('ansible.builtin.file', 'signing.pfx.b64') }}").
      - Treated as a secret, like the private key it holds.
    type: str
  pkcs12_path:
    description:
      - Path of a PKCS#12 bundle (C(.pfx) or C(.p12)) on the host that runs the module, holding an RSA private key
        and its certificate.
    type: path
  pkcs12_password:
    description:
      - The password of the PKCS#12 bundle in O(pkcs12) or O(pkcs12_path). Omit it for a bundle without one.
      - It is checked before any request to Graph, and sent to Graph with the bundle.
    type: str
requirements:
  - cryptography (to read certificates and PKCS#12 bundles)
notes:
  - A key of the set that carries the certificate's thumbprint counts even when it is disabled, since uploading the
    same certificate again would add a second copy; the module warns about it. Enable the key again instead.
  - To replace a certificate before it expires, upload its successor; B2C makes the key with the latest start of
    validity the active one.
seealso:
  - module: entra.b2c.b2c_keyset_key
  - name: trustFrameworkKeySet uploadCertificate (Microsoft Graph beta)
    description: The API this module calls for O(certificate) and O(certificate_path).
    link: https://learn.microsoft.com/en-us/graph/api/trustframeworkkeyset-uploadcertificate?view=graph-rest-beta
  - name: trustFrameworkKeySet uploadPkcs12 (Microsoft Graph beta)
    description: The API this module calls for O(pkcs12) and O(pkcs12_path).
    link: https://learn.microsoft.com/en-us/graph/api/trustframeworkkeyset-uploadpkcs12?view=graph-rest-beta
"""

EXAMPLES = r"""
- name: Upload the SAML signing certificate with its private key (once; later runs change nothing)
  entra.b2c.b2c_keyset_certificate:
    keyset: SamlIdpCert
    pkcs12_path: /etc/b2c/saml-signing.pfx
    pkcs12_password: "{{ vault_saml_pfx_password }}"
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"

- name: Set credentials once, then upload a partner's public certificate from the controller
  module_defaults:
    group/entra.b2c.graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: "{{ b2c_client_id }}"
      client_certificate_path: /etc/ansible/b2c-automation.pem
  block:
    - name: Partner certificate (PEM content read on the controller)
      entra.b2c.b2c_keyset_certificate:
        keyset: PartnerSigningCert
        certificate: "{{ lookup('ansible.builtin.file', 'files/partner.pem') }}"
      register: partner

    - name: Show its thumbprint
      ansible.builtin.debug:
        msg: "x5t {{ partner.thumbprint }}, valid until {{ partner.key.expires | default('(check mode)') }}"

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment:
#   ansible localhost -m entra.b2c.b2c_keyset_certificate \
#     -a "keyset=PartnerSigningCert certificate_path=/tmp/partner.cer" --check --diff
"""

RETURN = r"""
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
keyset:
  description: The key set id as the service names it.
  returned: always
  type: str
  sample: B2C_1A_SamlIdpCert
thumbprint:
  description: The certificate's thumbprint (C(x5t)), the base64url SHA-1 of its DER encoding without padding.
  returned: always
  type: str
  sample: 5SQ0W-vGBOT8kVNlTQWOP9YjpBI
key:
  description:
    - Public facts of the key that carries the certificate after the run; never a private key part.
    - V(null) in check mode when the key would be new.
  returned: always
  type: dict
  sample:
    kid: Gaid7K8sO8RavMX9fzHir_Wg0femGhbY9b-B4rVIxbE
    use: sig
    kty: RSA
    nbf: 1767225600
    exp: 1798761600
    not_before: "2026-01-01T00:00:00Z"
    expires: "2027-01-01T00:00:00Z"
    x5t: 5SQ0W-vGBOT8kVNlTQWOP9YjpBI
    x5c: [MIIC8jCCAdqgAwIBAgIQ...]
    e: AQAB
    n: 0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3
    status: enabled
keyset_keys:
  description:
    - Public facts of every key in the set after the run, same shape as RV(key).
  returned: always
  type: list
  elements: dict
reason:
  description:
    - Why the module acted or not. V(valid) when a key of the set already carries the certificate; otherwise
      V(keyset_missing) or V(no_key).
  returned: always
  type: str
  sample: valid
replication_wait:
  description:
    - Seconds the module paused because B2C had not yet replicated the key set this run created (it refuses keys
      with AADB2C95052 or AADB2C90073 for a while after a create). Shown with C(-v).
    - Past about a minute of waiting the module fails, saying that the key set is not ready yet and that no key was
      added.
  returned: when the module waited for a new key set
  type: float
  sample: 12.5
"""

from ansible_collections.entra.b2c.plugins.module_utils._keysets.flow import (
    CREATE_SPEC,
    KEYSET_SPEC,
    ensure_certificate,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule


MODULE_SPEC = dict(
    argument_spec=dict(
        **KEYSET_SPEC,
        certificate=dict(type="str", no_log=False),
        certificate_path=dict(type="path"),
        pkcs12=dict(type="str", no_log=True),
        pkcs12_path=dict(type="path"),
        pkcs12_password=dict(type="str", no_log=True),
        **CREATE_SPEC,
    ),
    required_one_of=[("certificate", "certificate_path", "pkcs12", "pkcs12_path")],
    mutually_exclusive=[("certificate", "certificate_path", "pkcs12", "pkcs12_path")],
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_certificate


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
