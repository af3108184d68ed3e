"""Thin nameko adapters over the framework-free backbone.

Only this package imports nameko: swapping the framework means rewriting
these few extensions, not the services' domain, stores or handlers.
"""
from .extensions import MetricsEndpoint, ServiceResources, StoreProvider, consume  # noqa: F401
from .operations import OperationsRpc  # noqa: F401
from .web import http  # noqa: F401
