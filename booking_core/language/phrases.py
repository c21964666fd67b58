"""The German sentences the voice agent says. Short, spoken, no markup."""

from collections.abc import Sequence
from datetime import datetime

WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember")


def spoken_time(moment: datetime) -> str:
    return f"{moment.hour}:{moment.minute:02d} Uhr" if moment.minute else f"{moment.hour} Uhr"


def spoken_datetime(moment: datetime) -> str:
    return f"{WEEKDAYS[moment.weekday()]}, {moment.day}. {MONTHS[moment.month - 1]} um {spoken_time(moment)}"


def spoken_list(items: Sequence[str], conjunction: str = "oder") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def alternatives_sentence(alternatives: Sequence[datetime] | None) -> str:
    """None: nobody looked (Cal.com did not answer, or the refusal came from a step that cannot look),
    which is not the same as having looked and found nothing."""
    if alternatives is None:
        return "Welche anderen Zeiten frei sind, kann ich gerade nicht nachsehen."
    if not alternatives:
        return "Leider habe ich dazu gerade keinen freien Termin gefunden."
    return f"Ich könnte Ihnen {spoken_list([spoken_datetime(a) for a in alternatives])} anbieten."


def booked(service: str, start: datetime) -> str:
    return f"Ihr Termin für {service} am {spoken_datetime(start)} ist gebucht."


def already_booked(service: str, start: datetime) -> str:
    return f"Ihr Termin für {service} am {spoken_datetime(start)} ist bereits gebucht."


def rescheduled(service: str, start: datetime) -> str:
    return f"Ich habe Ihren Termin für {service} verschoben, er ist jetzt am {spoken_datetime(start)} gebucht."


def cancelled(service: str, start: datetime) -> str:
    return f"Ihr Termin für {service} am {spoken_datetime(start)} ist storniert."


def slot_taken(alternatives: Sequence[datetime] | None) -> str:
    return f"Dieser Termin ist leider schon vergeben. {alternatives_sentence(alternatives)}"


def lock_busy(alternatives: Sequence[datetime] | None) -> str:
    return f"Dieser Termin wird gerade vergeben. {alternatives_sentence(alternatives)}"


def outside_hours(alternatives: Sequence[datetime] | None, holiday: str = "") -> str:
    if holiday:
        return f"{holiday} ist ein Feiertag, da haben wir geschlossen. {alternatives_sentence(alternatives)}"
    return f"Zu dieser Zeit haben wir leider geschlossen. {alternatives_sentence(alternatives)}"


def in_past() -> str:
    return "Dieser Zeitpunkt liegt leider schon in der Vergangenheit. Wann möchten Sie kommen?"


def available(service: str, start: datetime) -> str:
    return f"Am {spoken_datetime(start)} ist für {service} noch frei. Soll ich den Termin buchen?"


def free_slots(service: str, slots: Sequence[datetime]) -> str:
    if not slots:
        return f"Für {service} habe ich an diesem Tag leider keinen freien Termin mehr."
    return f"Für {service} hätte ich {spoken_list([spoken_datetime(s) for s in slots])} frei. Was passt Ihnen?"


def service_ambiguous(candidates: Sequence[str]) -> str:
    return f"Meinen Sie {spoken_list(list(candidates))}?"


def service_unknown() -> str:
    return "Diese Leistung habe ich leider nicht gefunden. Welche Behandlung möchten Sie buchen?"


def unparseable_time(unclear: str = "", said: str = "") -> str:
    """Ask back, naming what was unclear (`when.WhenResult.unclear` and `.said`)."""
    heard = said[:1].upper() + said[1:]
    if unclear == "impossible_date" and heard:
        return f"Den {heard} gibt es nicht – welcher Tag passt Ihnen?"
    if unclear == "impossible_time" and heard:
        return f"{heard} gibt es nicht – um wie viel Uhr möchten Sie kommen?"
    if unclear == "conflict" and heard:
        asked = "welche Uhrzeit" if "Uhr" in heard else "welcher Tag"
        return f"{heard} passen nicht zusammen – {asked} passt Ihnen?"
    if unclear == "choice" and heard:
        asked = "welche Uhrzeit" if "Uhr" in heard else "welcher Tag"
        return f"{heard} – {asked} ist Ihnen lieber?"
    if unclear == "vague_day" and heard:
        return f"{heard} ist mehr als ein Tag – an welchem Tag genau möchten Sie kommen?"
    if unclear == "in_past":
        return in_past()
    if unclear == "unplaced" and heard:
        return f"{heard} – das kann ich keinem Tag zuordnen. An welchem Tag genau möchten Sie kommen?"
    if heard:
        return f"„{heard}“ habe ich nicht verstanden – an welchem Tag möchten Sie kommen?"
    return "Das habe ich leider nicht verstanden. An welchem Tag und um wie viel Uhr möchten Sie kommen?"


def too_far_ahead() -> str:
    return "So weit im Voraus kann ich leider noch keine Termine vergeben. Wann möchten Sie in den nächsten Monaten kommen?"


def time_needed() -> str:
    return "Um wie viel Uhr möchten Sie kommen?"


def calcom_unavailable() -> str:
    return ("Ich kann den Kalender gerade leider nicht erreichen, deshalb habe ich den Termin nicht "
            "eingetragen. Bitte versuchen Sie es gleich noch einmal.")


def booking_unconfirmed() -> str:
    return ("Ich konnte die Buchung gerade nicht bestätigen, der Termin ist deshalb nicht eingetragen. "
            "Bitte versuchen Sie es gleich noch einmal.")


def technical_problem() -> str:
    return ("Wir haben gerade ein technisches Problem, der Termin ist nicht eingetragen. "
            "Bitte rufen Sie später noch einmal an.")


def lock_unavailable() -> str:
    return "Ich kann gerade keine Termine vergeben. Bitte versuchen Sie es in ein paar Minuten noch einmal."


def not_found() -> str:
    return "Ich habe unter Ihrer Nummer keinen passenden Termin gefunden."


def which_appointment(starts: Sequence[datetime]) -> str:
    return f"Sie haben mehrere Termine: {spoken_list([spoken_datetime(s) for s in starts])}. Welchen meinen Sie?"


def appointments_list(items: Sequence[tuple[str, datetime]]) -> str:
    if not items:
        return "Unter Ihrer Nummer ist kein Termin eingetragen."
    parts = [f"{service} am {spoken_datetime(start)}" for service, start in items]
    return f"Sie haben folgende Termine: {spoken_list(parts, 'und')}."


def services_list(names: Sequence[str]) -> str:
    return f"Wir bieten {spoken_list(list(names), 'und')} an. Was darf es sein?"


def disabled() -> str:
    return "Die Auswahl der Leistungen ist gerade nicht verfügbar."


def unknown_function() -> str:
    return "Das kann ich leider nicht erledigen. Kann ich Ihnen anders helfen?"


def invalid_args(missing: Sequence[str] = ()) -> str:
    wanted = {"service": "welche Leistung", "date_time": "wann", "customer_name": "Ihren Namen",
              "new_date_time": "den neuen Termin"}
    asked = [wanted.get(name, name) for name in missing]
    if asked:
        return f"Mir fehlt noch {spoken_list(asked, 'und')}. Können Sie mir das sagen?"
    return "Das habe ich leider nicht verstanden. Können Sie das bitte wiederholen?"
