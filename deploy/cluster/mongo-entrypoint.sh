#!/usr/bin/env bash
# Entrypoint of every MongoDB member in docker-compose.cluster.yml: install
# the replica set's SHARED keyfile, then hand over to the single-node
# entrypoint, deploy/mongo/keyfile-entrypoint.sh (mounted beside this file),
# which fixes its owner and mode and runs the image's docker-entrypoint.sh.
#
# The members authenticate to each other with the keyfile, so all three need
# the same one (the single-node setup generates a random key per volume; that
# cannot work here). It comes from LIANXIN_MONGO_KEYFILE (a mounted secret
# file) when set, else from LIANXIN_MONGO_REPLICA_SET_KEY: 6 to 1024
# characters of the base64 alphabet, e.g. `openssl rand -base64 756 | tr -d '\n'`.
# It is written on every start, so the environment is the one place it is
# kept; change it on all members at once, with the set stopped.
set -euo pipefail

if [ -n "${LIANXIN_MONGO_KEYFILE:-}" ]; then
    secret=$(tr -d '\n' < "$LIANXIN_MONGO_KEYFILE")
else
    secret=${LIANXIN_MONGO_REPLICA_SET_KEY:-}
fi
if [ -z "$secret" ]; then
    echo "mongo-entrypoint: set LIANXIN_MONGO_REPLICA_SET_KEY (or LIANXIN_MONGO_KEYFILE)" >&2
    exit 1
fi

key=/data/db/replica-set.key
umask 077
printf '%s' "$secret" > "$key.new"
mv "$key.new" "$key"

exec bash /lianxin/keyfile-entrypoint.sh "$@"
