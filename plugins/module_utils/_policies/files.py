# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which files of a directory are a policy set: the one rule of b2c_policies, b2c_policy_info and the ief_tenant role.

Internal use only: this module may change without notice.

A repository kept for the Azure AD B2C extension for VS Code is read as the extension reads it when it builds (its
src/PolicyBuild.ts): every XML file of the folder and its sub-folders, except under its output folder, which it
excludes with the glob **/Environments/** (any depth; "Environments" unless appsettings.json names another
EnvironmentsFolder). Sub-folders such as RelyingParties/ are where people move their relying parties, so a set split
into folders deploys as a whole. On top of the extension's rule, folders whose name starts with a dot (.git, .vscode,
.github) are never entered: they hold tools' copies, never the set. Folders reached through a symbolic link are not
entered either, so that a link back up cannot make the search loop (a linked file counts).

A .xml file the pattern (or the one-level search) leaves out is returned too, so that the callers can name it: a
relying party that silently stays behind deploys an incomplete set that nothing reports. Files whose name starts with
a dot (an editor's lock file, macOS's ._ copies) are never part of the set, and listed with the left out ones.

`select` is pure and decides; `walk` only lists; `find_policy_files` joins them.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Collection, Iterable
from typing import NamedTuple

# The extension's output folder (src/PolicyBuild.ts: findFiles(..., `**/${environmentFolder}/**`), "Environments" by
# default): copies of the set with the settings of one environment filled in, which would define every id twice.
GENERATED_FOLDERS = frozenset({"Environments"})
POLICY_SUFFIX = ".xml"


class FoundFiles(NamedTuple):
    """Paths relative to the directory searched, with "/" between folders, sorted."""

    files: list[str]
    left_out: list[str]


def entered(folder: str) -> bool:
    """Whether the search goes into a sub-folder of this name: not a dot folder, not the extension's output."""
    return not folder.startswith(".") and folder not in GENERATED_FOLDERS


def select(paths: Iterable[str], pattern: str, recursive: bool = True) -> FoundFiles:
    """The files of `paths` (relative, "/" between folders) that are the set - the name matches `pattern`, and with
    `recursive` false the file is not in a sub-folder - and the .xml files that are not (ignoring case: B2C reads
    .XML as well). The pattern is matched against the file's name, not its folders, so *.xml also finds
    RelyingParties/SignUpOrSignin.xml."""
    files, left_out = [], []
    for path in sorted(set(paths)):
        name = path.rsplit("/", 1)[-1]
        if (recursive or "/" not in path) and not name.startswith(".") and fnmatch.fnmatch(name, pattern):
            files.append(path)
        elif name.lower().endswith(POLICY_SUFFIX):
            left_out.append(path)
    return FoundFiles(files, left_out)


def _raise(error: OSError) -> None:
    raise error


def walk(directory: str, skip: Collection[str] = ()) -> list[str]:
    """Every file under `directory` (relative, "/" between folders, sorted), in the folders the search enters, and not
    in the folders of `skip` (absolute paths; the backup directory, whose copies of the tenant's policies are .xml
    files with the same ids). Raises OSError for a folder that cannot be listed, which would otherwise hide its files."""
    skipped = {os.path.normcase(os.path.abspath(path)) for path in skip}
    found = []
    for root, folders, names in os.walk(directory, onerror=_raise):  # symbolic links to folders are not followed
        folders[:] = [folder for folder in folders
                      if entered(folder) and os.path.normcase(os.path.abspath(os.path.join(root, folder))) not in skipped]
        relative = os.path.relpath(root, directory)
        prefix = "" if relative == os.curdir else relative.replace(os.sep, "/") + "/"
        found.extend(prefix + name for name in names if os.path.isfile(os.path.join(root, name)))
    return sorted(found)


def find_policy_files(directory: str, pattern: str, recursive: bool = True, skip: Collection[str] = ()) -> FoundFiles:
    """The set's files and the .xml files left out, as paths under `directory` (joined to it), sorted. The whole tree
    is searched even when `recursive` is false, so that the files of sub-folders are named as left out."""
    found = select(walk(directory, skip), pattern, recursive)
    return FoundFiles(*([os.path.join(directory, *path.split("/")) for path in paths] for paths in found))


def left_out_message(directory: str, left_out: Iterable[str], pattern: str, recursive: bool, pattern_name: str,
                     recursive_name: str, limit: int = 20) -> str:
    """The warning that names the .xml files left out of the set (paths relative to `directory`), and what left them
    out, in the option names of the caller (a module's options or a role's variables)."""
    names = [os.path.relpath(path, directory).replace(os.sep, "/") for path in left_out]
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    why = f"{pattern_name} ({pattern})" if recursive else f"{pattern_name} ({pattern}) with {recursive_name} false"
    hints = []
    if not recursive and any("/" in name for name in names):
        hints.append(f"{recursive_name}: true (the default) also takes the files of sub-folders")
    if any(name.rsplit("/", 1)[-1].startswith(".") for name in names):
        hints.append("a file whose name starts with a dot is never part of the set")
    count = f"{len(names)} .xml file{'' if len(names) == 1 else 's'}"
    return (f"{why} leaves out {count} of {directory}, not part of the set: {shown}"
            + (f" ({'; '.join(hints)})" if hints else ""))
