# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A local Microsoft Graph (beta) + Entra ID emulator: the B2C tenant of entra.b2c's tests and demo.

Real HTTPS (a CA made at start), real RS256 tokens, real RSA key material; stdlib + `cryptography` only.

    from emulator import Emulator
    with Emulator() as emu:
        emu.url, emu.ca_path, emu.tenant_id, emu.client_id, emu.client_secret
        emu.control.seed([...])

or `PYTHONPATH=tests python -m emulator --help`. What it serves:

- Entra ID: /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/discovery/v2.0/keys and
  /{tenant}/oauth2/v2.0/token (client credentials: secret, certificate assertion RS256/PS256, federated assertion).
- Graph beta: /beta/trustFramework/keySets[/{id}[/generateKey|getActiveKey|uploadSecret|uploadCertificate|
  uploadPkcs12|keys_v2/{kid}]].
- Test controls under /_emulator/ (reset, seed, state, requests, faults, apps, federated-token, access-token,
  revoke-tokens, config, replication); see `emulator.control.ControlClient`.
"""

from .server import Emulator

__all__ = ["Emulator"]
