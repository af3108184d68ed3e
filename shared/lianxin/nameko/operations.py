"""RPCs every service with a store answers the same way."""
from nameko.rpc import rpc


class OperationsRpc:
    """Mixed into service classes that have `store = StoreProvider(...)`."""

    @rpc
    def rejections(self, limit: int = 100) -> list[dict]:
        """Events this service rejected, newest first (GET /api/v1/rejections)."""
        return self.store.db.rejections(limit)

    @rpc
    def health(self) -> dict:
        """Whether this service reaches its store (GET /readyz)."""
        return self.store.db.health()
