"""Everything one mock instance holds: catalog, bookings, faults, journal, limiter, config and its RNG."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime

from mock_calcom.availability import Availability, HolidayOverrides
from mock_calcom.catalog import Catalog, load_catalog
from mock_calcom.faults.outage import ListenerControl
from mock_calcom.faults.profiles import load_profile
from mock_calcom.faults.rules import FaultBook
from mock_calcom.journal import RequestJournal
from mock_calcom.ledger import BookingLedger
from mock_calcom.rate_limit import RateLimiter
from mock_calcom.settings import MockConfig, MockSettings


class MockState:
    def __init__(self, settings: MockSettings) -> None:
        self.settings = settings
        self.catalog: Catalog = load_catalog(settings.catalog)
        self.config: MockConfig = settings.initial_config()
        self.faults = FaultBook()
        self.journal = RequestJournal(settings.journal_limit)
        self.listeners = ListenerControl()
        if settings.faults is not None:
            profile = load_profile(settings.faults)
            self.config = self.config.model_copy(update=profile.config)
            self.faults.replace(profile.faults)
        self.reset_data()

    def reset_data(self) -> None:
        """Forget bookings, journal and limiter windows; restart the random sequences from the seed."""
        if self.config.seed is None:
            # An unseeded run still gets one fixed seed, reported by GET /_control/config to replay it.
            self.config = self.config.model_copy(update={"seed": secrets.randbelow(2**31)})
        # The app's own generator: the global `random` is shared with libraries and would break replay.
        self.rng = random.Random(self.config.seed)
        self.ledger = BookingLedger(self.catalog.zone, self.config.seed)
        self.availability = Availability(self.catalog, self.ledger,
                                         HolidayOverrides(self.settings.holidays_subdiv))
        self.journal.clear()
        self.limiter = self._new_limiter()

    def reset(self, *, keep_faults: bool = False) -> None:
        if not keep_faults:
            self.faults.clear()
        else:
            self.faults.replace([c.rule for c in self.faults.counters])
        self.reset_data()

    def apply_config(self, changes: dict[str, object]) -> None:
        self.config = MockConfig.model_validate({**self.config.model_dump(), **changes})
        if "seed" in changes:
            self.rng = random.Random(self.config.seed)
        if {"rate_limit_requests", "rate_limit_window_s", "rate_limit_block_s"} & changes.keys():
            self.limiter = self._new_limiter()

    def _new_limiter(self) -> RateLimiter:
        return RateLimiter(
            self.config.rate_limit_requests,
            self.config.rate_limit_window_s,
            block_s=self.config.rate_limit_block_s,
        )

    def now(self) -> datetime:
        frozen = self.config.now
        if frozen is None:
            return datetime.now(UTC)
        return frozen.replace(tzinfo=UTC) if frozen.tzinfo is None else frozen.astimezone(UTC)
