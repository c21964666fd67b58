"""Named days callers say ("an Heiligabend", "Ostermontag") and the days a salon is closed.

Movable feasts and each state's public holidays come from the `holidays` package (its German
calendar, `holidays/countries/germany.py`, names them in German with `language="de"`); the few
named days that are no public holiday anywhere (Heiligabend, Silvester, Rosenmontag …) are
added here. Words arrive folded (`text.fold`).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

# Spoken forms (folded words) -> the name in the `holidays` package's German calendar, or one
# of the extra days below. Longer forms first: "maria himmelfahrt" is not "Christi Himmelfahrt".
_FORMS: tuple[tuple[tuple[str, ...], str], ...] = tuple(sorted((
    (tuple(form.split()), name) for name, forms in {
        "Heiligabend": ["heiligabend", "heiligabends", "heiligen abend", "heiliger abend",
                        "heilig abend"],
        "Silvester": ["silvester", "sylvester", "silvestertag"],
        "Neujahr": ["neujahr", "neujahrstag"],
        "Heilige Drei Könige": ["heilige drei konige", "heiligen drei konige", "dreikonig",
                                "dreikonigstag", "epiphanias"],
        "Weiberfastnacht": ["weiberfastnacht", "altweiberfastnacht"],
        "Rosenmontag": ["rosenmontag"],
        "Aschermittwoch": ["aschermittwoch"],
        "Frauentag": ["frauentag", "weltfrauentag", "internationaler frauentag"],
        "Gründonnerstag": ["grundonnerstag"],
        "Karfreitag": ["karfreitag"],
        "Karsamstag": ["karsamstag", "ostersamstag"],
        "Ostersonntag": ["ostersonntag"],
        "Ostermontag": ["ostermontag"],
        "Erster Mai": ["tag der arbeit", "maifeiertag"],
        "Christi Himmelfahrt": ["christi himmelfahrt", "himmelfahrt", "himmelfahrtstag",
                                "vatertag"],
        "Pfingstsonntag": ["pfingstsonntag"],
        "Pfingstmontag": ["pfingstmontag"],
        "Fronleichnam": ["fronleichnam"],
        "Mariä Himmelfahrt": ["maria himmelfahrt", "mariae himmelfahrt"],
        "Weltkindertag": ["weltkindertag"],
        "Tag der Deutschen Einheit": ["tag der deutschen einheit", "tag der einheit",
                                      "einheitstag"],
        "Halloween": ["halloween"],
        "Reformationstag": ["reformationstag"],
        "Allerheiligen": ["allerheiligen"],
        "Buß- und Bettag": ["buss und bettag", "bus und bettag", "buss und bet tag"],
        "Nikolaus": ["nikolaus", "nikolaustag"],
        "Valentinstag": ["valentinstag"],
        "Erster Weihnachtstag": ["erster weihnachtstag", "ersten weihnachtstag",
                                 "erste weihnachtstag", "1. weihnachtstag",
                                 "erster weihnachtsfeiertag", "ersten weihnachtsfeiertag",
                                 "weihnachtstag 1"],
        "Zweiter Weihnachtstag": ["zweiter weihnachtstag", "zweiten weihnachtstag",
                                  "zweite weihnachtstag", "2. weihnachtstag",
                                  "zweiter weihnachtsfeiertag", "zweiten weihnachtsfeiertag",
                                  "stephanstag", "stefanstag"],
    }.items() for form in forms), key=lambda item: -len(item[0])))
# the words of those forms: said after "nach"/"vor", they place no day of their own
HOLIDAY_WORDS = frozenset(word for form, _ in _FORMS for word in form if len(word) > 4)
# Words that name a season of days, not one day: ask which.
VAGUE_DAYS = frozenset({
    "ostern", "pfingsten", "weihnachten", "weihnachtstag", "weihnachtsfeiertag", "feiertag",
    "feiertage", "feiertagen", "brückentag", "bruckentag", "fasching", "karneval", "fastnacht",
    "ferien", "osterferien", "sommerferien", "herbstferien", "winterferien", "weihnachtsferien",
    "jahreswechsel", "geburtstag", "hochzeitstag", "muttertag", "advent", "adventssonntag",
    "adventswochenende", "osterwochenende", "pfingstwochenende",
})
# days counted from Easter Sunday, and fixed days, that are no public holiday in any state
_FROM_EASTER = {"Weiberfastnacht": -52, "Rosenmontag": -48, "Aschermittwoch": -46,
                "Gründonnerstag": -3, "Karsamstag": -1}
_FIXED = {"Heiligabend": (12, 24), "Silvester": (12, 31), "Nikolaus": (12, 6),
          "Valentinstag": (2, 14), "Halloween": (10, 31)}


def read_named_day(words: list[str], i: int, today: date) -> tuple[date, int, str] | None:
    """The named day said at `words[i]` (the next one from `today` on), how many words it took,
    and its name; None when no named day starts there."""
    for form, name in _FORMS:
        if tuple(words[i:i + len(form)]) == form:
            return next_named(name, today), len(form), name
    return None


def next_named(name: str, today: date) -> date:
    for year in (today.year, today.year + 1):
        day = named_in(name, year)
        if day >= today:
            return day
    raise ValueError(f"{name} has no date after {today}")  # every year has each of them


def named_in(name: str, year: int) -> date:
    if name in _FIXED:
        return date(year, *_FIXED[name])
    if name in _FROM_EASTER:
        return _all_states(year)["Ostersonntag"] + timedelta(_FROM_EASTER[name])
    return _all_states(year)[name]


@lru_cache(maxsize=16)
def _all_states(year: int) -> dict[str, date]:
    """Every German holiday of `year` by name, whichever state keeps it (Fronleichnam, Buß- und
    Bettag, Pfingstsonntag are named the same everywhere, but kept only in some)."""
    found: dict[str, date] = {}
    for state in holidays.Germany.subdivisions:
        for day, names in holidays.country_holidays("DE", subdiv=state, years=year,
                                                    language="de").items():
            for name in names.split("; "):
                found.setdefault(name, day)
    return found


class ClosedDays:
    """The public holidays of one German state (`SALON_HOLIDAYS_SUBDIV`, e.g. "BE"): the salon
    is closed on them. No state: no holidays (the salon's own choice)."""

    def __init__(self, state: str | None) -> None:
        self.state = state or None
        self._calendar = (holidays.country_holidays("DE", subdiv=self.state, language="de")
                          if self.state else None)

    def reason(self, day: date) -> str | None:
        """The holiday's name when the salon is closed on `day`, else None."""
        if self._calendar is None:
            return None
        name = self._calendar.get(day)
        return name.split("; ")[0] if name else None
