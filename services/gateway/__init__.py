"""Gateway: the public HTTP API (API.md), over RPC to the services."""
