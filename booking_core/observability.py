"""Structured logs (structlog, JSON) and Prometheus metrics.

Log event names are the ones operators already grep for; keep them verbatim.
"""

import logging
import sys

import structlog
from prometheus_client import Counter, Histogram

SERVICE_EXTRACTED = "Service extraction complete"
LOCK_ACQUIRED = "Distributed lock acquired"
LOCK_FAILED = "Could not acquire booking lock"
COMPENSATION = "SAGA Compensation"
ORPHANED = "ORPHANED BOOKING"

FUNCTION_LATENCY = Histogram(
    "callsim_function_seconds", "Webhook function call latency", ["function", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.6, 2.0, 3.0, 5.0),
)
BOOKINGS = Counter("callsim_bookings_total", "Booking attempts by outcome", ["outcome"])
LOCK_WAIT = Histogram("callsim_lock_wait_seconds", "Time spent acquiring slot locks",
                      buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0))
LOCK_RESULTS = Counter("callsim_lock_total", "Slot lock attempts", ["result"])
COMPENSATIONS = Counter("callsim_compensations_total", "SAGA compensations", ["result"])
CALCOM_CALLS = Counter("callsim_calcom_requests_total", "Cal.com requests", ["operation", "result"])
RECONCILE_ACTIONS = Counter("callsim_reconcile_actions_total", "Reconciler actions", ["action"])


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks go to the operators' log as structured data, never to the caller.
            structlog.processors.dict_tracebacks if json else structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # httpx logs every request at INFO; Cal.com traffic is already counted in metrics.
    logging.getLogger("httpx").setLevel(logging.WARNING)


log = structlog.get_logger("callsim")
