# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Absolute paths of the build machine inside a collection tarball: what users install must never name them.

One implementation for noxfile.py's build session (which refuses such a tarball) and tests/e2e/test_docs.py (which
builds one and scans it). Hand-written because galaxy-importer and ansible-test check a collection's content, not
whether it names the directories of the machine it was built on. The directories are found at run time: the
repository, the directory holding it, $HOME, the Python prefixes and virtual environments of the running process, and
any the caller adds; none is written here.
"""

from __future__ import annotations

import os
import re
import sys
import tarfile

# Directories every machine has: a path under them (a shebang's interpreter, a documented backup directory) says
# nothing about the build machine, so they are never prefixes themselves, only their machine-specific subdirectories.
SHARED = frozenset(("/", "/bin", "/etc", "/home", "/lib", "/opt", "/srv", "/tmp", "/usr", "/usr/local", "/var"))
# A path goes on up to whitespace, a quote or a closing bracket.
PATH_TAIL = rb"[^\s'\"`<>()\[\]{}]*"


def machine_prefixes(repo_root, *extra) -> list:
    """The directories of this machine no file of the collection may name, longest first."""
    repo_root = os.path.abspath(str(repo_root))
    candidates = [repo_root, os.path.dirname(repo_root), os.environ.get("HOME"), os.path.expanduser("~"),
                  sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, os.environ.get("VIRTUAL_ENV"),
                  *extra]
    prefixes = set()
    for candidate in filter(None, candidates):
        for form in (os.path.abspath(str(candidate)), os.path.realpath(str(candidate))):
            form = form.rstrip("/") or "/"
            if form not in SHARED:
                prefixes.add(form)
    return sorted(prefixes, key=lambda prefix: (-len(prefix), prefix))


def machine_path_pattern(prefixes) -> re.Pattern:
    """A prefix as whole path components: /data/ci matches /data/ci and /data/ci/x, not /data/cix nor /x/data/ci."""
    alternatives = b"|".join(re.escape(os.fsencode(prefix)) for prefix in prefixes)
    return re.compile(rb"(?<![\w.~-])(?:" + alternatives + rb")(?![\w.~-])" + PATH_TAIL)


def machine_paths_in(tarball, prefixes) -> dict:
    """{member name: [the machine paths its name, link target or content holds]} for the tarball's members."""
    if not prefixes:
        return {}
    pattern = machine_path_pattern(prefixes)
    found = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            texts = [os.fsencode(member.name), os.fsencode(member.linkname or "")]
            if member.isfile():
                texts.append(archive.extractfile(member).read())
            paths = sorted({match.group().decode("utf-8", "replace") for text in texts
                            for match in pattern.finditer(text)})
            if paths:
                found[member.name] = paths
    return found


def describe(found: dict, limit: int = 20) -> str:
    """member: path, path; ... for an error message."""
    return "; ".join(f"{name}: {', '.join(paths[:3])}" for name, paths in sorted(found.items())[:limit])
