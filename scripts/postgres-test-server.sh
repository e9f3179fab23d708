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
# appears in an address or on a command line. Turns TLS on with a self-signed
# certificate of its own (a reload, never a restart). Must run as root.
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
if ! command -v openssl >/dev/null 2>&1; then   # for the TLS certificate below
    say "installing openssl"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2
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

# TLS, so the tests can connect with sslmode=require, verify-ca and verify-full: a
# self-signed certificate of this script's own (Debian's snakeoil one is not on every
# machine), for localhost and 127.0.0.1 only (the tests use ::1 as a name it does not
# hold). It lives beside the cluster's configuration, owned by postgres, the key 0600;
# a file in conf.d turns TLS on. PostgreSQL takes TLS settings on a reload: the server
# is never restarted. The tests find the certificate through `SHOW ssl_cert_file`.
confdir=$(dirname "$(psql_admin -c "SHOW config_file")")
cert="$confdir/queuectl-test-server.crt"
key="$confdir/queuectl-test-server.key"
if ! [ -s "$cert" ] || ! [ -s "$key" ] || ! openssl x509 -in "$cert" -noout -checkend 604800 >/dev/null 2>&1 \
    || [ "$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null)" != "$(openssl pkey -in "$key" -pubout 2>/dev/null)" ]; then
    say "creating a self-signed TLS certificate in $confdir"
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$key.new" -out "$cert.new" 2>/dev/null)
    mv "$key.new" "$key"
    mv "$cert.new" "$cert"
fi
chown postgres:postgres "$cert" "$key"
chmod 0644 "$cert"
chmod 0600 "$key"

tls_conf="$confdir/conf.d/queuectl-test-tls.conf"
wanted="# Written by queuectl's scripts/postgres-test-server.sh: TLS for the tests.
ssl = on
ssl_cert_file = '$cert'
ssl_key_file = '$key'"
if [ "$(cat "$tls_conf" 2>/dev/null)" != "$wanted" ] || [ "$(psql_admin -c "SHOW ssl")" != on ] \
    || [ "$(psql_admin -c "SHOW ssl_cert_file")" != "$cert" ]; then
    say "turning TLS on (reload)"
    mkdir -p "$confdir/conf.d"
    printf '%s\n' "$wanted" > "$tls_conf"
    chown postgres:postgres "$tls_conf"
    chmod 0644 "$tls_conf"
    psql_admin -c "SELECT pg_reload_conf()" >/dev/null
fi
# The reload is asynchronous; a bad key or certificate leaves TLS off (the server logs
# why). Check with a real handshake, verifying the certificate and its name.
tls_ok=
for _ in $(seq 1 50); do
    if openssl s_client -starttls postgres -connect "127.0.0.1:$port" -CAfile "$cert" -verify_hostname localhost \
        -verify_return_error </dev/null >/dev/null 2>&1; then
        tls_ok=1; break
    fi
    sleep 0.1
done
[ -n "$tls_ok" ] || { say "the server on 127.0.0.1:$port does not offer TLS with $cert (see its log)"; exit 1; }

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
