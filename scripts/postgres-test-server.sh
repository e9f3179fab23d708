#!/usr/bin/env bash
# Starts a local PostgreSQL server for queuectl's tests and prints the address
# to give them (QUEUECTL_TEST_DB), e.g.:
#
#   export QUEUECTL_TEST_DB=$(scripts/postgres-test-server.sh)
#   swift test --filter QueuePostgresTests
#
# Idempotent: installs Debian's `postgresql` when missing, starts the cluster
# (the server runs as the `postgres` user), creates the role and database
# `queuectl_test` when missing, and keeps the role's password in ~/.pgpass
# (mode 0600), where queuectl finds it as libpq does. The password never
# appears in an address or on a command line. Must run as root.
#
# Everything but the address goes to stderr.
set -euo pipefail

role=queuectl_test
database=queuectl_test
port=${QUEUECTL_TEST_PG_PORT:-5432}

say() { echo "postgres-test-server: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    say "must run as root (it installs and starts the server)"; exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    say "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)

if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    say "creating cluster $version/main on port $port"
    pg_createcluster -p "$port" "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -qx online; then
    say "starting cluster $version/main"
    pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')

for _ in $(seq 1 100); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$port" || { say "server on 127.0.0.1:$port does not answer"; exit 1; }

psql_admin() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }

# The password: the one already in ~/.pgpass for this role, else a new random one.
pgpass="$HOME/.pgpass"
touch "$pgpass"
chmod 0600 "$pgpass"
entry="127.0.0.1:$port:$database:$role:"
password=$(grep -F "$entry" "$pgpass" | head -1 | cut -d: -f5- || true)
if [ -z "$password" ]; then
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    grep -vF "$entry" "$pgpass" > "$pgpass.new" || true
    echo "$entry$password" >> "$pgpass.new"
    chmod 0600 "$pgpass.new"
    mv "$pgpass.new" "$pgpass"
fi

# The SQL goes through stdin, so the password is in no process's argv.
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
    say "creating role $role"
    echo "CREATE ROLE $role LOGIN PASSWORD '$password';" | psql_admin
else
    echo "ALTER ROLE $role PASSWORD '$password';" | psql_admin
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
    say "creating database $database"
    psql_admin -c "CREATE DATABASE $database OWNER $role"
fi

echo "postgres://$role@127.0.0.1:$port/$database?sslmode=disable"
