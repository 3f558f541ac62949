# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`python -m emulator` (with PYTHONPATH=tests; from an installed collection: `PYTHONPATH=<collections dir> python -m
ansible_collections.entra.b2c.tests.emulator`): serve in the foreground until SIGINT/SIGTERM.

Once listening it writes exactly one JSON line on stdout (url, ca_path, tenant_id, tenant_domain, client_id,
client_secret); logs go to stderr. The ready app holds every permission the collection's modules need (--permissions).
--tenants N serves N tenants side by side, one server each, and writes one such line per tenant.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from .apps import IEF_APP_PERMISSIONS
from .config import CLOUDS, EXISTS_STATUSES, NOT_FOUND_STATUSES, REPLICATION_ERRORS
from .identity import READ_WRITE_ALL
from .policies import POLICY_READ_WRITE
from .server import DEFAULT_TENANT_DOMAIN, Emulator


# The ready app of `python -m emulator` / `make emulator` can run every module of the collection, so that the docs'
# examples run as written against it.
READY_APP_PERMISSIONS = (READ_WRITE_ALL, POLICY_READ_WRITE, *IEF_APP_PERMISSIONS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__ or 'emulator'}", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--data", metavar="FILE", help="key sets are loaded from FILE at start (if it exists) and saved to it after each write")
    parser.add_argument("--state-dir", metavar="DIR", help="where ca.pem and the server certificate go (default: a new temporary directory)")
    parser.add_argument("--latency-ms", type=float, default=0, help="sleep this long before answering each Graph/identity request")
    parser.add_argument("--apps", metavar="FILE", help="JSON list of extra app registrations (the shape of POST /_emulator/apps)")
    parser.add_argument("--tenant-id", help="tenant GUID (default: random)")
    parser.add_argument("--tenant-domain", default=DEFAULT_TENANT_DOMAIN, help="tenant domain (default: %(default)s)")
    parser.add_argument("--client-id", help="client id of the ready app (default: random)")
    parser.add_argument("--client-secret", help="client secret of the ready app (default: random)")
    parser.add_argument("--cloud", default="global", choices=list(CLOUDS),
                        help="the tenant's national cloud: tokens are issued for its Graph root only (default: %(default)s)")
    parser.add_argument("--replication-delay", type=float, default=0, metavar="SECONDS",
                        help="key operations on a set created less than SECONDS ago fail as B2C's do before it replicated")
    parser.add_argument("--replication-error", default="AADB2C95052", choices=REPLICATION_ERRORS,
                        help="the error those key operations answer (default: %(default)s)")
    parser.add_argument("--replication-get-fails", action="store_true",
                        help="a GET of the set itself also fails (AADB2C90073) during that window")
    parser.add_argument("--not-found-status", type=int, default=400, choices=NOT_FOUND_STATUSES,
                        help="HTTP status of AADB2C90073 and AADB2C95052 (default: %(default)s)")
    parser.add_argument("--exists-status", type=int, default=400, choices=EXISTS_STATUSES,
                        help="HTTP status of AADB2C95028 (default: %(default)s)")
    parser.add_argument("--generic-error-code", action="store_true",
                        help='B2C errors carry the code "AADB2C", their meaning only in the message, as some real answers do')
    parser.add_argument("--permissions", default=",".join(READY_APP_PERMISSIONS), metavar="LIST",
                        help="comma-separated Graph application permissions of the ready app (default: key sets, "
                             "custom policies and the IEF app registrations: %(default)s)")
    parser.add_argument("--tenants", type=int, default=1, metavar="N",
                        help="serve N tenants side by side (to promote from one to another), each on its own port with its "
                             "own state, CA and ready app, and print a JSON line for each. Tenant k (2..N) is "
                             "--tenant-domain with k after its first label (emulatorb2c2.onmicrosoft.com), listens on "
                             "--port + k - 1 when --port is given, keeps its CA in --state-dir/tenant-k; --tenant-id, "
                             "--client-id and --client-secret are the first tenant's, --apps are registered in each "
                             "(default: %(default)s)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="stderr log level")
    args = parser.parse_args(argv)
    if args.tenants < 1:
        parser.error("--tenants: give 1 or more")
    if args.tenants > 1 and args.data:
        parser.error("--data keeps the key sets of one tenant: leave it out with --tenants")
    return args


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    return {"cloud": args.cloud, "replication_delay": args.replication_delay, "replication_error": args.replication_error,
            "replication_get_fails": args.replication_get_fails, "not_found_status": args.not_found_status,
            "exists_status": args.exists_status, "generic_error_code": args.generic_error_code}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    apps: list[dict[str, Any]] = []
    if args.apps:
        with open(args.apps, encoding="utf-8") as handle:
            apps = json.load(handle)
        if not isinstance(apps, list):
            raise SystemExit(f"{args.apps}: expected a JSON list of app registrations")

    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    emulators = [tenant_emulator(args, number, apps) for number in range(1, args.tenants + 1)]
    try:
        for emulator in emulators:
            emulator.start()
        for emulator in emulators:
            sys.stdout.write(json.dumps(emulator.info()) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        for emulator in emulators:
            emulator.stop()
        logging.getLogger("emulator").info("stopped")
    return 0


def tenant_emulator(args: argparse.Namespace, number: int, apps: list[dict[str, Any]]) -> Emulator:
    """The emulator of tenant `number` (1 is the one the options describe; see --tenants for the others)."""
    permissions = [name.strip() for name in args.permissions.split(",") if name.strip()]
    if number == 1:
        return Emulator(latency_ms=args.latency_ms, data_file=args.data, state_dir=args.state_dir, port=args.port,
                        host=args.host, tenant_id=args.tenant_id, tenant_domain=args.tenant_domain,
                        client_id=args.client_id, client_secret=args.client_secret, apps=apps,
                        settings=settings_of(args), permissions=permissions)
    label, _dot, rest = args.tenant_domain.partition(".")
    state_dir = os.path.join(args.state_dir, f"tenant-{number}") if args.state_dir else None
    if state_dir:
        os.makedirs(state_dir, exist_ok=True)
    return Emulator(latency_ms=args.latency_ms, state_dir=state_dir, port=args.port + number - 1 if args.port else 0,
                    host=args.host, tenant_domain=f"{label}{number}.{rest}" if rest else f"{label}{number}",
                    apps=apps, settings=settings_of(args), permissions=permissions)


if __name__ == "__main__":
    sys.exit(main())
