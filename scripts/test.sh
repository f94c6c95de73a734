#!/usr/bin/env bash
# The tests, on a fresh machine or a developer's: installs what is missing, starts
# PostgreSQL if it is not running, then runs `cargo test --workspace "$@"` (arguments go to
# cargo test: `scripts/test.sh --test fit_command`, `scripts/test.sh -- --nocapture`).
#
# Every step is skipped when its result is already there, and what is built or downloaded is
# cached outside the clone under $CJ_TOOLS_CACHE (default ~/.cache/cj-tools; see
# scripts/tools-env.sh):
#   tansu-0.6.0/  the Kafka-protocol broker the tests start (cargo install with the storage
#                 features the tests use; about 15 minutes on 2 cores, once)
#   venv/         Python packages: kafka-python (stock-client test), choix numpy scipy
#                 (Bradley–Terry cross-check, `bench bt-fit`)
#   target/       compiled dependencies (CARGO_TARGET_DIR unless you set your own)
# Debian packages (apt-get update only when one is missing; as root, else through sudo,
# else one line says what to install): chromium (report test), prometheus (promtool),
# postgresql-client (pgbench), stunnel4 and openssl (TLS test), python3-venv, and
# postgresql when no server answers on 127.0.0.1:5432 and none is installed.
# CJ_TEST_TANSU (a tansu binary) and CJ_TEST_DATABASE_URL (a server of your own) skip the
# Tansu build and the local PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools-env.sh
. scripts/tools-env.sh

step() { printf '==> [%4ds] test.sh: %s\n' "$SECONDS" "$*"; }

# Runs a command as root: directly, through sudo, or not at all (then says what to run).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "scripts/test.sh: not root and no sudo: run as root \`$*\`, then run scripts/test.sh again" >&2
    exit 1
  fi
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: no apt-get: install $* (Debian package names) and run scripts/test.sh again" >&2
    exit 1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

postgres_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

step "Tansu $CJ_TANSU_VERSION (the broker the tests start)"
if [ -n "${CJ_TEST_TANSU:-}" ]; then
  echo "CJ_TEST_TANSU=$CJ_TEST_TANSU: not building one"
elif [ -x "$CJ_TANSU_ROOT/bin/tansu" ]; then
  echo "cached: $CJ_TANSU_ROOT/bin/tansu"
else
  # SQLite storage (libsql) lets the broker-outage test stop and restart a broker that keeps
  # its topics and offsets. Built in cargo's own temporary folder, not among our dependencies.
  env -u CARGO_TARGET_DIR cargo install tansu --version "$CJ_TANSU_VERSION" --locked \
    --features postgres,dynostore,libsql --root "$CJ_TANSU_ROOT"
fi

step "Debian packages"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
pgbench --version >/dev/null 2>&1 || missing+=(postgresql-client)
command -v stunnel >/dev/null 2>&1 || missing+=(stunnel4)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ! -x "$CJ_VENV/bin/python" ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3 python3-venv)
fi
installs_postgres=no
if [ -z "${CJ_TEST_DATABASE_URL:-}" ] && ! postgres_answers && ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  installs_postgres=yes
  missing+=(postgresql)
fi
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt_install "${missing[@]}"
  if [ "$installs_postgres" = yes ]; then
    # The server just installed (and perhaps already started by the package): the tests
    # connect as postgres without a password (trust, on the loopback addresses only).
    cluster_version="$(ls /etc/postgresql | sort -n | tail -n 1)"
    hba="/etc/postgresql/$cluster_version/main/pg_hba.conf"
    as_root sed -i -e '1i host all all 127.0.0.1/32 trust' -e '1i host all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main reload >/dev/null 2>&1 || true
  fi
else
  echo "all present"
fi

step "Python packages in $CJ_VENV"
if ! "$CJ_VENV/bin/python" -c pass >/dev/null 2>&1; then
  python3 -m venv --clear "$CJ_VENV"
  hash -r
fi
if "$CJ_VENV/bin/python" -c 'import choix, numpy, scipy, kafka' >/dev/null 2>&1; then
  echo "all present"
else
  "$CJ_VENV/bin/python" -m pip install --quiet --disable-pip-version-check choix numpy scipy kafka-python
fi

step "PostgreSQL on 127.0.0.1:5432"
if [ -n "${CJ_TEST_DATABASE_URL:-}" ]; then
  echo "CJ_TEST_DATABASE_URL is set: using that server"
elif postgres_answers; then
  echo "running"
else
  cluster_version="$(ls /etc/postgresql | sort -n | tail -n 1)"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "scripts/test.sh: PostgreSQL is not running and starting it needs root: run as root \`pg_ctlcluster $cluster_version main start\`, or set CJ_TEST_DATABASE_URL" >&2
    exit 1
  fi
  for _ in $(seq 1 50); do
    postgres_answers && break
    as_root pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start 2>/dev/null || true
    sleep 0.2
  done
  if ! postgres_answers; then
    echo "scripts/test.sh: PostgreSQL $cluster_version does not start: see /var/log/postgresql/, or set CJ_TEST_DATABASE_URL" >&2
    exit 1
  fi
  echo "started PostgreSQL $cluster_version"
fi

step "setup done; cargo test --workspace $* (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo test --workspace "$@"
