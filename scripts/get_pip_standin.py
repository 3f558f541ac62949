# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the pip bootstrap script ansible-test downloads.

Hand-written because ansible-test fetches ``get-pip-<version>.py`` from a host our machines cannot reach and offers no
setting for another source, only its cache, ``~/.ansible/test/cache/get_pip_<version with underscores>.py``, where its
own error message says to save the script. With ENTRA_B2C_OFFLINE_PIP_BOOTSTRAP=1 (the Makefile's default) noxfile.py
copies this file there under that name. Like the real script, run by the Python of a new virtual environment without
pip, it installs pip of that version plus the arguments it was given (and setuptools and wheel unless
``--no-setuptools`` / ``--no-wheel`` are passed), from the index pip is configured with. The first pip comes from the
standard library's ensurepip, which bundles one and needs no network.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

PREFIX = "get_pip_"


def pip_version(script_path: str) -> str:
    """The pip version this copy stands in for, from its file name: get_pip_23_1_2.py -> 23.1.2."""
    name = os.path.splitext(os.path.basename(script_path))[0]
    if not name.startswith(PREFIX):
        raise SystemExit(f"{script_path}: expected a name like get_pip_23_1_2.py")
    return name[len(PREFIX):].replace("_", ".")


def install_arguments(argv: list[str], version: str) -> list[str]:
    """pip arguments equivalent to what the real get-pip.py would run for argv."""
    options = [arg for arg in argv if arg not in ("--no-setuptools", "--no-wheel")]
    # ansible-test names pip==<version> itself; the real script installs its embedded pip whatever the arguments.
    packages = [] if any(arg.split("==")[0].lower() == "pip" for arg in options) else [f"pip=={version}"]
    if "--no-setuptools" not in argv and importlib.util.find_spec("setuptools") is None:
        packages.append("setuptools")
    if "--no-wheel" not in argv and importlib.util.find_spec("wheel") is None:
        packages.append("wheel")
    return ["install", "--upgrade", "--force-reinstall"] + options + packages


def main() -> int:
    version = pip_version(__file__)
    quiet = {"stdout": subprocess.DEVNULL}
    done = subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=False, **quiet)
    if done.returncode:
        sys.stderr.write(f"{sys.executable} -m ensurepip failed: this Python cannot bootstrap pip {version} offline "
                         "(unset ENTRA_B2C_OFFLINE_PIP_BOOTSTRAP to let ansible-test download its script)\n")
        return done.returncode
    return subprocess.run([sys.executable, "-m", "pip", *install_arguments(sys.argv[1:], version)],
                          check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
