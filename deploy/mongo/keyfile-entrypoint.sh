#!/usr/bin/env bash
# MongoDB's entrypoint in docker-compose.yml: make sure the replica set's
# keyfile exists, then hand over to the image's own docker-entrypoint.sh.
#
# The keyfile authenticates the members of the replica set to each other
# (and, with it, mongod enforces authorization). It is generated once, on the
# first start, inside the data volume, so it lives and dies with the data:
# random, owned by mongodb, mode 400 (mongod refuses a keyfile others can read).
# A multi-member set needs the SAME keyfile on every member: copy this one.
set -euo pipefail

key=/data/db/replica-set.key
if [ ! -s "$key" ]; then
    umask 077
    # 756 random bytes -> 1008 base64 characters (mongod allows 6..1024)
    head -c 756 /dev/urandom | base64 -w 0 > "$key.new"
    mv "$key.new" "$key"
    echo "keyfile-entrypoint: generated $key"
fi
chown mongodb:mongodb "$key"
chmod 400 "$key"

exec docker-entrypoint.sh "$@"
