"""The customers module's providers, registered by its plugin."""

from __future__ import annotations

from litestar.di import Provide

from credit.db.database import service_provider
from credit.modules.customers.service import CustomerService

# The one way a request gets this service: Litestar DI, on the request's session.
provide_customers = service_provider(CustomerService)


def dependencies() -> dict[str, Provide]:
    return {"customers": provide_customers}
