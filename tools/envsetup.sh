#!/bin/sh
# Build .venv from the hash-checked requirements.lock, then install this project editable.
#
# Installer: uv when it can be had (from PATH, else bootstrapped into $ENV_TOOLS/uv with whatever
# python3 exists, hash-checked against tools/uv-bootstrap.txt); otherwise python3.11 -m venv + pip.
# Interpreter: $PYTHON when given; else uv's pick of a 3.11 (a local one, else a managed CPython it
# downloads); on the pip path the first python3.11 / python3 / python on PATH that is a 3.11.
# Prints one line naming the path taken, or an error saying what was tried and how to fix it.
#
# Usage: sh tools/envsetup.sh        build or re-sync $VENV (what `make setup` runs)
#        sh tools/envsetup.sh --uv   print a usable uv binary, bootstrapping it if needed (`make lock`)
# Environment (all optional): PYTHON, VENV (.venv), LOCK (requirements.lock), ENV_TOOLS (.tools),
#        ENV_INSTALLER (auto | uv | pip: force one path, for benchmarks and tests).
#
# Only shell built-ins plus rm, mkdir and date are used, so tests can run it with a PATH of stubs.

set -u

# soupsieve 4.1.3 in the lock needs Python >= 3.11.5; the stack needs 3.11.
PY_WANT="3.11.5+ (3.11.x)"
PY_REQUEST=">=3.11.5,<3.12"
PY_CHECK='import sys; sys.exit(not (3, 11, 5) <= sys.version_info[:3] < (3, 12))'

VENV=${VENV:-.venv}
LOCK=${LOCK:-requirements.lock}
ENV_TOOLS=${ENV_TOOLS:-.tools}
ENV_INSTALLER=${ENV_INSTALLER:-auto}
PYTHON=${PYTHON:-}
HERE=${0%/*}
[ "$HERE" = "$0" ] && HERE=.
STAMP="$VENV/.installed"

UV=
UV_FROM=
UV_NOTE=

err() { printf '%s\n' "$*" >&2; }

# py_ok INTERP: succeed when INTERP runs and is a Python this lock installs into.
py_ok() { "$1" -c "$PY_CHECK" >/dev/null 2>&1; }

# py_version INTERP: print INTERP's version, or "?" when it does not run.
py_version() { "$1" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "?"; }

# found_pythons: print the Pythons on PATH with their versions, for error messages.
found_pythons() {
  out=
  for c in python3.11 python3 python; do
    p=$(command -v "$c" 2>/dev/null) || continue
    out="$out${out:+, }$c $(py_version "$p") ($p)"
  done
  printf '%s\n' "${out:-none}"
}

# find_uv: set UV and UV_FROM; on failure set UV_NOTE to why and return 1.
find_uv() {
  if [ "$ENV_INSTALLER" = pip ]; then
    UV_NOTE="ENV_INSTALLER=pip"
    return 1
  fi
  if UV=$(command -v uv 2>/dev/null); then
    UV_FROM="from PATH"
    return 0
  fi
  UV="$ENV_TOOLS/uv/bin/uv"
  if [ -x "$UV" ]; then
    UV_FROM="from $ENV_TOOLS/uv"
    return 0
  fi
  UV_NOTE="not on PATH"
  for boot in "$PYTHON" python3 python3.11 python; do
    [ -n "$boot" ] && command -v "$boot" >/dev/null 2>&1 || continue
    mkdir -p "$ENV_TOOLS" && rm -rf "$ENV_TOOLS/uv"
    if "$boot" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
      --target "$ENV_TOOLS/uv" -r "$HERE/uv-bootstrap.txt" >"$ENV_TOOLS/uv-bootstrap.log" 2>&1 &&
      [ -x "$UV" ]; then
      UV_FROM="bootstrapped into $ENV_TOOLS/uv with $boot"
      return 0
    fi
    UV_NOTE="$UV_NOTE; '$boot -m pip install uv' failed (see $ENV_TOOLS/uv-bootstrap.log)"
  done
  [ "$UV_NOTE" = "not on PATH" ] && UV_NOTE="not on PATH, and no python3 to bootstrap it with"
  UV=
  return 1
}

# no_python WHAT_UV_SAID: explain that no interpreter could be had, name both fixes, and exit 1.
no_python() {
  err "error: no Python $PY_WANT for $VENV (TensorFlow 2.16 / TFDV 1.16 need 3.11). Tried:"
  err "  - PYTHON=: ${PYTHON:-not set}"
  err "  - Pythons on PATH: $(found_pythons)"
  if [ -n "$UV" ]; then
    err "  - uv ($UV, $UV_FROM): 'uv venv --python \"$PY_REQUEST\"' looked on PATH and among"
    err "    uv-managed Pythons, then tried to download a managed CPython 3.11, and failed:"
    printf '%s\n' "$1" | while IFS= read -r line; do err "      $line"; done
  else
    err "  - uv: $UV_NOTE, so no managed CPython 3.11 could be fetched"
  fi
  err "Fix either way:"
  err "  1. install Python 3.11 (pyenv install 3.11, apt install python3.11, brew install python@3.11,"
  err "     conda) and re-run; or point at one: make test PYTHON=/path/to/python3.11"
  err "  2. allow network access (PyPI for uv, and uv's managed-Python downloads) so uv can fetch"
  err "     CPython 3.11 itself, then re-run"
  exit 1
}

# venv_ok: succeed when $VENV already holds a usable interpreter.
venv_ok() { [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python"; }

# check_python: when PYTHON is given, make sure it is a usable 3.11 before anything is built.
check_python() {
  [ -z "$PYTHON" ] && return 0
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    err "error: PYTHON=$PYTHON not found. Pass a Python $PY_WANT: make test PYTHON=/path/to/python3.11"
    exit 1
  fi
  if ! py_ok "$PYTHON"; then
    err "error: PYTHON=$PYTHON is Python $(py_version "$PYTHON"), but this lock needs $PY_WANT."
    err "       Pass another (make test PYTHON=/path/to/python3.11), or unset PYTHON to let uv pick one."
    exit 1
  fi
}

# with_uv: create (if needed) and sync $VENV with uv.
with_uv() {
  if ! venv_ok; then
    rm -rf "$VENV"
    if ! said=$("$UV" venv --quiet --python "${PYTHON:-$PY_REQUEST}" "$VENV" 2>&1); then
      [ -n "$PYTHON" ] && { err "$said"; err "error: uv could not make $VENV from PYTHON=$PYTHON."; exit 1; }
      no_python "$said"
    fi
  fi
  "$UV" pip sync --quiet --python "$VENV/bin/python" --require-hashes "$LOCK" || exit 1
  "$UV" pip install --quiet --python "$VENV/bin/python" --no-deps --no-build-isolation -e . || exit 1
}

# pick_pip_python: print the interpreter the pip path uses, or fail.
pick_pip_python() {
  if [ -n "$PYTHON" ]; then
    printf '%s\n' "$PYTHON"
    return 0
  fi
  for c in python3.11 python3 python; do
    p=$(command -v "$c" 2>/dev/null) || continue
    py_ok "$p" && { printf '%s\n' "$p"; return 0; }
  done
  return 1
}

# with_pip: create (if needed) and fill $VENV with python -m venv + pip, every hash checked.
with_pip() {
  if ! venv_ok; then
    py=$(pick_pip_python) || no_python ""
    rm -rf "$VENV"
    "$py" -m venv "$VENV" || { err "error: '$py -m venv $VENV' failed (Debian: apt install python3.11-venv)."; exit 1; }
  fi
  # --no-deps: the lock is already the whole closure (as for uv pip sync), and resolving it again trips
  # older pips' hash mode on extras such as google-api-core[grpc].
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r "$LOCK" || exit 1
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . ||
    exit 1
}

if [ "${1:-}" = "--uv" ]; then
  find_uv || { err "error: no uv: $UV_NOTE. Install it (python3 -m pip install uv) or put it on PATH."; exit 1; }
  printf '%s\n' "$UV"
  exit 0
fi

check_python
start=$(date +%s)
if find_uv; then
  installer=uv
  how="uv $("$UV" --version 2>/dev/null | { read -r _ v _; echo "$v"; }) ($UV_FROM)"
  with_uv
elif [ "$ENV_INSTALLER" = uv ]; then
  err "error: ENV_INSTALLER=uv but uv could not be had: $UV_NOTE."
  exit 1
else
  installer=pip
  how="pip, the fallback (uv: $UV_NOTE)"
  with_pip
fi
version=$(py_version "$VENV/bin/python")
printf 'installer=%s\npython=%s\n' "$installer" "$version" >"$STAMP"
echo "setup: $how made $VENV with Python $version from $LOCK (hashes checked) in $(($(date +%s) - start)) s"
