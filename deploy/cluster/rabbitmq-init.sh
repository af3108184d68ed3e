#!/usr/bin/env bash
# One-shot `rabbitmq-init` of docker-compose.cluster.yml (idempotent: run it
# again at any time, e.g. after replacing a node):
#   1. waits until all three nodes run and form ONE cluster (a node that
#      could not reach its peers on its first boot would otherwise run alone);
#   2. gives every quorum queue a replica on every node (RabbitMQ 3.12 sizes a
#      quorum queue by the nodes running when it was declared, so the queues
#      that the first node imported from definitions.json before the others
#      joined would keep a single replica).
# The Lianxin services start only once it has succeeded.
set -euo pipefail

nodes=(rabbit@rabbitmq-1 rabbit@rabbitmq-2 rabbit@rabbitmq-3)
deadline=$(( $(date +%s) + ${LIANXIN_CLUSTER_WAIT_SECONDS:-300} ))

until_deadline() {
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "rabbitmq-init: $1" >&2
        exit 1
    fi
    sleep 3
}

for node in "${nodes[@]}"; do
    until rabbitmq-diagnostics -q -n "$node" check_running >/dev/null 2>&1; do
        until_deadline "$node is not running"
    done
    echo "rabbitmq-init: $node is running"
done

# Every node must list all three as running members of its cluster.
for node in "${nodes[@]}"; do
    until status=$(rabbitmq-diagnostics -q -n "$node" cluster_status --formatter json 2>/dev/null) \
        && running=$(printf '%s' "$status" | grep -o '"running_nodes": *\[[^]]*\]') \
        && [[ "$running" == *'"rabbit@rabbitmq-1"'* && "$running" == *'"rabbit@rabbitmq-2"'* \
              && "$running" == *'"rabbit@rabbitmq-3"'* ]]; do
        until_deadline "$node does not see all three nodes in its cluster: ${running:-no answer}"
    done
done
echo "rabbitmq-init: one cluster of ${nodes[*]}"

# A replica of every quorum queue on every node (a no-op where there is one;
# nothing to do while the definitions hold classic queues only).
for node in "${nodes[@]}"; do
    rabbitmq-queues -n rabbit@rabbitmq-1 grow "$node" all --errors-only \
        || echo "rabbitmq-init: WARNING: could not add every quorum queue replica on $node" >&2
done
rabbitmq-queues -n rabbit@rabbitmq-1 rebalance quorum >/dev/null \
    || echo "rabbitmq-init: WARNING: could not rebalance quorum queue leaders" >&2
echo "rabbitmq-init: done"
