"""Caller identities: what the script fixes, Faker (de_DE, seeded) invents the rest."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from faker import Faker

from harness.scenario import Caller


@dataclass(frozen=True)
class CallerIdentity:
    name: str
    first_name: str
    last_name: str
    phone: str

    def placeholders(self) -> dict[str, str]:
        return {"name": self.name, "first_name": self.first_name, "last_name": self.last_name,
                "phone": self.phone, "phone_national": _national(self.phone),
                "phone_words": " ".join(_DIGIT_WORDS[d] for d in _national(self.phone) if d.isdigit())}


_DIGIT_WORDS = dict(zip("0123456789", ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht",
                                       "neun"], strict=True))


def _national(phone: str) -> str:
    """+4915112345678 → '0151 12345678', as a caller says their own number."""
    if not phone.startswith("+49"):
        return phone
    digits = "0" + phone[3:]
    return f"{digits[:4]} {digits[4:]}"


def stable_seed(*parts: object) -> int:
    """Same scenario, same caller index → same identity on every run and machine."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def make_caller(template: Caller, scenario_seed: int, index: int) -> CallerIdentity:
    fake = Faker("de_DE")
    fake.seed_instance(stable_seed(scenario_seed, index))
    # first/last name rather than fake.name(): de_DE names may carry titles ("Prof. Dr."),
    # which real callers do not spell out on the phone.
    first, last = fake.first_name(), fake.last_name()
    if template.name:
        name = template.name
        first, _, last = name.partition(" ")
    else:
        name = f"{first} {last}"
    # German mobile numbers in E.164, as Retell reports from_number; 0151 numbers are all valid for
    # libphonenumber, which Cal.com checks attendee phone numbers with.
    phone = template.phone if template.phone and index == 0 else fake.numerify("+49151########")
    return CallerIdentity(name=name, first_name=first, last_name=last or first, phone=phone)
