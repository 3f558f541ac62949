# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test bootstraps pip into each virtual environment it makes with ``get-pip-<version>.py`` fetched from a host
our machines cannot reach, cached as ``~/.ansible/test/cache/get_pip_<version with underscores>.py``. noxfile.py
copies this file there under that name, next to the pip wheel of that version (from ``pip download``). Like the real
script, it runs pip from the wheel and installs the arguments it was given plus pip (and setuptools and wheel unless
``--no-setuptools`` / ``--no-wheel`` are passed); it uses the index pip is configured with.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys

PREFIX = "get_pip_"


def pip_version(script_path: str) -> str:
    """The pip version this copy stands in for, from its file name: get_pip_23_1_2.py -> 23.1.2."""
    name = os.path.splitext(os.path.basename(script_path))[0]
    if not name.startswith(PREFIX):
        raise SystemExit(f"{script_path}: expected a name like get_pip_23_1_2.py")
    return name[len(PREFIX):].replace("_", ".")


def install_arguments(argv: list[str], wheel_dir: str) -> list[str]:
    """pip arguments equivalent to what the real get-pip.py would run for argv."""
    options = [arg for arg in argv if arg not in ("--no-setuptools", "--no-wheel")]
    packages = ["pip"]
    if "--no-setuptools" not in argv and importlib.util.find_spec("setuptools") is None:
        packages.append("setuptools")
    if "--no-wheel" not in argv and importlib.util.find_spec("wheel") is None:
        packages.append("wheel")
    return ["install", "--upgrade", "--force-reinstall", "--find-links", wheel_dir] + options + packages


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    version = pip_version(__file__)
    wheels = sorted(glob.glob(os.path.join(here, f"pip-{version}-*.whl")))
    if not wheels:
        sys.stderr.write(f"pip {version} wheel missing from {here}: rerun the nox session (noxfile.py seed_pip_bootstrap downloads it)\n")
        return 1
    # pip runs from its wheel, as the real bootstrap script does with the copy embedded in it.
    sys.path.insert(0, wheels[0])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    return pip_main(install_arguments(sys.argv[1:], here))


if __name__ == "__main__":
    sys.exit(main())
