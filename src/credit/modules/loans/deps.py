"""The loans module's providers, registered by its plugin: the loans service, the booking
desk and the payment desk (each with its idempotent writes on the same service).

Each desk is built from the request's session alone, with the process's policy, gates and
clock closed over: as separate dependencies (the services, the policy, the gate, the day)
Litestar resolved them in task groups, a task each, on every booking.
"""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from credit.clock import Clock
from credit.db.database import service_provider
from credit.lending.policy import CreditPolicy
from credit.modules.customers.service import CustomerService
from credit.modules.loans.booking import BookingDesk, BookingGate
from credit.modules.loans.idempotency import IdempotentWrites
from credit.modules.loans.payments import PaymentDesk, PaymentGate
from credit.modules.loans.service import LoanService

# The one way a request gets this service: Litestar DI, on the request's session.
provide_loans = service_provider(LoanService)


def dependencies(
    policy: CreditPolicy, clock: Clock, serialise_bookings: bool
) -> dict[str, Provide]:
    """`serialise_bookings`: SQLite has no row locks; the embedded default is one process."""
    booking_gate = BookingGate(serialise_in_process=serialise_bookings)
    payment_gate = PaymentGate()

    def provide_booking_desk(
        db_session: NamedDependency[SkipValidation[AsyncSession]],
    ) -> BookingDesk:
        loans = LoanService(session=db_session)
        customers = CustomerService(session=db_session)
        writes = IdempotentWrites(loans)
        return BookingDesk(loans, customers, policy, booking_gate, writes, clock.today())

    def provide_payment_desk(
        db_session: NamedDependency[SkipValidation[AsyncSession]],
    ) -> PaymentDesk:
        loans = LoanService(session=db_session)
        return PaymentDesk(loans, payment_gate, IdempotentWrites(loans), clock.today())

    return {
        "loans": provide_loans,
        "bookings": Provide(provide_booking_desk, sync_to_thread=False),
        "payments": Provide(provide_payment_desk, sync_to_thread=False),
    }
