# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Shared helpers for scripts/test.sh and scripts/emulator.sh: test legs, interpreter discovery, leg virtual
# environments. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build"
VENVS="$ROOT/.venv"

# The two legs: the oldest ansible-core we support on its Python, and the newest on a current Python.
# Python minors are tried in this order when no PYTHON_<LEG> override is given.
declare -A LEG_PIN=([oldest]='ansible-core==2.16.*' [newest]='ansible-core==2.21.*')
declare -A LEG_MINORS=([oldest]='3.11' [newest]='3.12 3.13 3.14')
# Python versions the leg's ansible-core accepts as a controller (checked for PYTHON_<LEG> overrides).
declare -A LEG_PYTHON_RANGE=([oldest]='3.10 3.12' [newest]='3.12 3.14')
declare -A LEG_WANTED=([oldest]='Python 3.11' [newest]='Python >= 3.12')

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_leg() { [[ -n ${LEG_PIN[$1]:-} ]]; }

# The interpreter's real path when it runs (pyenv shims exist for versions that are not active and fail).
real_python() {
    "$1" -c 'import sys; print(sys.executable)' 2>/dev/null
}

python_minor() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

pyenv_root() {
    if command -v pyenv >/dev/null 2>&1; then
        pyenv root
    else
        printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}"
    fi
}

# version_in_range 3.11 "3.10 3.12" -> true when 3.10 <= 3.11 <= 3.12
version_in_range() {
    local version=$1 low high
    read -r low high <<<"$2"
    [[ $(printf '%s\n%s\n' "$low" "$version" | sort -V | head -n1) == "$low" ]] &&
        [[ $(printf '%s\n%s\n' "$version" "$high" | sort -V | head -n1) == "$version" ]]
}

# Print the real path of the leg's interpreter: PYTHON_<LEG> if set, else python3.X on PATH, else pyenv's.
find_python() {
    local leg=$1 var override minor candidate found range
    var="PYTHON_${leg^^}"
    override=${!var:-}
    range=${LEG_PYTHON_RANGE[$leg]}
    if [[ -n $override ]]; then
        found=$(real_python "$override") || die "$var=$override does not run"
        minor=$(python_minor "$found")
        version_in_range "$minor" "$range" ||
            die "$var=$override is Python $minor; the $leg leg (${LEG_PIN[$leg]}) needs Python ${range/ / to }"
        printf '%s\n' "$found"
        return
    fi
    for minor in ${LEG_MINORS[$leg]}; do
        if found=$(real_python "python$minor"); then
            printf '%s\n' "$found"
            return
        fi
        # Highest patch release first.
        while IFS= read -r candidate; do
            if found=$(real_python "$candidate"); then
                printf '%s\n' "$found"
                return
            fi
        done < <(compgen -G "$(pyenv_root)/versions/$minor.*/bin/python$minor" | sort -rV)
    done
    die "no ${LEG_WANTED[$leg]} found on PATH or under pyenv; install one or set $var=/path"
}

# Create or reuse .venv/<leg>; print its path. Reused while the pin, the interpreter and both requirement files
# are unchanged; otherwise rebuilt, and the leg's build tree (ansible-test's cached environments) goes with it.
ensure_venv() {
    local leg=$1 python venv stamp log_file
    python=$(find_python "$leg") || return 1
    venv="$VENVS/$leg"
    stamp=$({
        printf '%s\n' "${LEG_PIN[$leg]}" "$python"
        "$python" --version 2>&1
        cat "$ROOT/requirements.txt" "$ROOT/tests/requirements.txt"
    } | sha256sum | cut -c1-16)
    if [[ -f $venv/.stamp && $(<"$venv/.stamp") == "$stamp" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
        log "[$leg] reusing $venv ($("$venv/bin/python" --version 2>&1), ${LEG_PIN[$leg]})"
        printf '%s\n' "$venv"
        return
    fi
    log "[$leg] creating $venv from $python (${LEG_PIN[$leg]}); pip log in build/$leg/logs/pip.log"
    rm -rf "$venv" "${BUILD:?}/$leg"
    mkdir -p "$BUILD/$leg/logs"
    log_file="$BUILD/$leg/logs/pip.log"
    if ! { "$python" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --disable-pip-version-check \
            -r "$ROOT/requirements.txt" -r "$ROOT/tests/requirements.txt" "${LEG_PIN[$leg]}"; } >"$log_file" 2>&1; then
        tail -n 30 "$log_file" >&2
        die "[$leg] could not fill $venv (full log: $log_file)"
    fi
    printf '%s\n' "$stamp" >"$venv/.stamp"
    printf '%s\n' "$venv"
}

# The report path a command writes: the value of --out among the arguments after the first, else the first.
out_option() {
    local out=$1 i
    shift
    local args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do
        case ${args[i]} in
            --out) out=${args[i + 1]:-$out} ;;
            --out=*) out=${args[i]#--out=} ;;
        esac
    done
    printf '%s\n' "$out"
}

# "Python <version>, ansible-core <version>" of a venv, for the first line a long command logs.
venv_versions() {
    "$1/bin/python" -c 'import platform, ansible.release as r; print("Python %s, ansible-core %s" % (platform.python_version(), r.__version__))'
}
