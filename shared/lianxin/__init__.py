"""lianxin: the library every Lianxin service imports.

Modules, top-down:
  config     settings from the environment
  errors     the error vocabulary shared by domain code and adapters
  envelope   the event envelope (public contract) and its validation
  catalog    every event type and intake command, with its schema
  topology   exchanges, queues and bindings, declared before the first publish
  store      MongoDB (or the embedded store) and the outbox write helpers
  publisher  publishing with pipelined publisher confirms
  consumer   batch consumption: validation, idempotency outcome, retry, dead letters
  relay      the outbox relay
  metrics    Prometheus metrics shared by all services
  nameko     the thin nameko adapters (extensions) over the above
"""
