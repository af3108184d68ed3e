#!/usr/bin/env bash
# Entrypoint of every RabbitMQ node (and of rabbitmq-init) in
# docker-compose.cluster.yml: install the cluster's shared Erlang cookie, then
# hand over to the image's own docker-entrypoint.sh.
#
# The nodes of a cluster, and the CLI tools that talk to them (rabbitmqctl,
# rabbitmq-diagnostics, rabbitmq-queues), authenticate to each other with the
# same cookie. It comes from LIANXIN_ERLANG_COOKIE_FILE (a mounted secret)
# when set, else from LIANXIN_ERLANG_COOKIE. It is written on EVERY start, so
# the environment is the one place it is kept (a node whose cookie differs
# from the others' cannot join them). Change it on all nodes at once, with
# the whole cluster stopped.
set -euo pipefail

if [ -n "${LIANXIN_ERLANG_COOKIE_FILE:-}" ]; then
    cookie=$(cat "$LIANXIN_ERLANG_COOKIE_FILE")
else
    cookie=${LIANXIN_ERLANG_COOKIE:-}
fi
if [ -z "$cookie" ]; then
    echo "rabbitmq-entrypoint: set LIANXIN_ERLANG_COOKIE (or LIANXIN_ERLANG_COOKIE_FILE)" >&2
    exit 1
fi

# The image sets HOME=/var/lib/rabbitmq for the server and its CLI tools alike.
file=/var/lib/rabbitmq/.erlang.cookie
umask 077
printf '%s' "$cookie" > "$file.new"
mv "$file.new" "$file"
chown rabbitmq:rabbitmq "$file" 2>/dev/null || true
chmod 400 "$file"

exec docker-entrypoint.sh "$@"
