"""Payload shapes at the webhook boundary. The harness may import these (and only these)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

# One set of limits for the request schema and the database columns that store the values
# (booking_core/adapters/orm.py; tests/unit/test_schema_limits.py keeps the two in step). A value the
# columns cannot hold is refused here, as a question back, instead of failing at the database.
SPOKEN_MAX = 500  # free speech the core only reads (service, date and time phrases)
NAME_MAX = 200  # customers.name
PHONE_MAX = 40  # customers.phone, appointments.customer_phone, calls.from_number / to_number
CALL_ID_MAX = 128  # calls.call_id, appointments.call_id, function_calls.call_id
AGENT_ID_MAX = 128  # calls.agent_id
EVENT_MAX = 32  # call_events.event (40) and calls.status (32, the event without "call_")


def storable(value: str) -> str:
    """Text a database can store: no NUL (PostgreSQL refuses it in text and JSON) and no lone
    surrogate (JSON may spell one as \\ud800; it has no UTF-8 encoding)."""
    if "\x00" in value:
        raise ValueError("NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode (lone surrogate)") from None
    return value


_Storable = AfterValidator(storable)
Text = Annotated[str, StringConstraints(strict=True, max_length=SPOKEN_MAX), _Storable]
Name = Annotated[str, StringConstraints(strict=True, max_length=NAME_MAX), _Storable]
Phone = Annotated[str, StringConstraints(strict=True, max_length=PHONE_MAX), _Storable]
CallId = Annotated[str, StringConstraints(strict=True, max_length=CALL_ID_MAX), _Storable]
AgentId = Annotated[str, StringConstraints(strict=True, max_length=AGENT_ID_MAX), _Storable]
EventName = Annotated[str, StringConstraints(strict=True, max_length=EVENT_MAX), _Storable]

FUNCTION_NAMES = (
    "get_available_services",
    "check_availability",
    "book_appointment",
    "cancel_appointment",
    "reschedule_appointment",
    "list_appointments",
)


class RetellCall(BaseModel):
    """Retell's call object; only what the core uses is typed, the rest is kept."""

    model_config = ConfigDict(extra="allow")

    call_id: CallId | None = None
    agent_id: AgentId | None = None
    from_number: Phone | None = None
    to_number: Phone | None = None
    direction: str | None = None
    call_status: str | None = None
    start_timestamp: int | None = None
    end_timestamp: int | None = None
    transcript: str | None = None
    metadata: dict[str, Any] | None = None
    retell_llm_dynamic_variables: dict[str, Any] | None = None


class FunctionArgs(BaseModel):
    """The agent's tool arguments. Unknown keys are ignored (LLMs add some)."""

    model_config = ConfigDict(extra="ignore")

    service: Text | None = None
    date_time: Text | None = None
    customer_name: Name | None = None
    customer_phone: Phone | None = None
    old_date_time: Text | None = None
    new_date_time: Text | None = None


class FunctionCall(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    call: RetellCall | None = None


class FunctionAnswer(BaseModel):
    success: bool
    message: str
    error: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CallEvent(BaseModel):
    """A call lifecycle event; stored whole (call_events.payload), so every string in it must be
    storable, not only the typed ones."""

    model_config = ConfigDict(extra="allow")

    event: EventName
    call: RetellCall

    @model_validator(mode="after")
    def _everything_storable(self) -> CallEvent:
        _check_storable(self.model_dump(mode="python"))
        return self


def _check_storable(value: Any, depth: int = 0) -> None:
    if depth > 64:  # json.loads already bounds nesting; this only keeps the walk bounded
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        storable(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, depth + 1)
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth + 1)


# The tool schema the Retell agent is configured with (`callsim retell-tools`).
_ARG_DOCS = {
    "service": "Die gewünschte Leistung, so wie der Anrufer sie gesagt hat (z. B. 'Damenschnitt').",
    "date_time": "Tag und Uhrzeit, wie gesagt ('morgen um 15 Uhr') oder ISO 8601.",
    "customer_name": "Vor- und Nachname des Anrufers.",
    "customer_phone": "Telefonnummer; leer lassen für die Nummer des Anrufers.",
    "old_date_time": "Der bisherige Termin, wie gesagt oder ISO 8601.",
    "new_date_time": "Der neue Wunschtermin, wie gesagt oder ISO 8601.",
}
_FUNCTIONS: dict[str, tuple[str, list[str], list[str]]] = {
    "get_available_services": ("Listet die buchbaren Leistungen des Salons mit Dauer und Preis.", [], []),
    "check_availability": ("Prüft, ob eine Leistung zu einem Zeitpunkt frei ist, und nennt freie Zeiten.",
                           ["service", "date_time"], ["service", "date_time"]),
    "book_appointment": ("Bucht einen Termin.", ["service", "date_time", "customer_name", "customer_phone"],
                         ["service", "date_time", "customer_name"]),
    "cancel_appointment": ("Storniert einen Termin des Anrufers.", ["date_time", "customer_phone"], []),
    "reschedule_appointment": ("Verschiebt einen Termin des Anrufers.",
                               ["old_date_time", "new_date_time", "customer_phone"], ["new_date_time"]),
    "list_appointments": ("Nennt die kommenden Termine des Anrufers.", ["customer_phone"], []),
}


# Retell's custom tool (retell-sdk 6.2.13, retell/types/llm_create_params.py GeneralToolCustomTool):
# timeout_ms per attempt, 1 s to 10 min, default 2 min; max_retry 0-5, default 0, exponential backoff
# with jitter; headers may name dynamic variables ({{call_id}}, {{user_number}}: docs.retellai.com
# build/dynamic-variables, default system variables).
TOOL_TIMEOUT_MS = 8000
TOOL_MAX_RETRY = 2
CALL_ID_HEADER = "X-Retell-Call-Id"
CALLER_NUMBER_HEADER = "X-Retell-User-Number"
TOOL_HEADERS = {CALL_ID_HEADER: "{{call_id}}", CALLER_NUMBER_HEADER: "{{user_number}}"}


def retell_tools(base_url: str) -> list[dict[str, Any]]:
    """Retell custom-function definitions pointing at this webhook."""
    tools = []
    for name, (description, args, required) in _FUNCTIONS.items():
        tools.append({
            "type": "custom",
            "name": name,
            "description": description,
            "url": f"{base_url.rstrip('/')}/api/retell/{name.replace('_', '-')}",
            "speak_during_execution": name != "get_available_services",
            "speak_after_execution": True,
            # The core answers within its own 1.6 s budget even when Cal.com hangs; 8 s per attempt
            # only cuts off a dead webhook, far below Retell's 2 min default that leaves callers in silence.
            "timeout_ms": TOOL_TIMEOUT_MS,
            # Every function is idempotent per (call id, function, args), so a lost answer may be retried.
            "max_retry": TOOL_MAX_RETRY,
            # With args_at_root there is no call object: Retell fills these from its dynamic variables.
            "headers": dict(TOOL_HEADERS),
            "parameters": {
                "type": "object",
                "properties": {arg: {"type": "string", "description": _ARG_DOCS[arg]} for arg in args},
                "required": required,
            },
        })
    return tools
