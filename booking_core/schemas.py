"""Payload shapes at the webhook boundary. The harness may import these (and only these)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strict=True, max_length=500)]

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

    call_id: str | None = None
    agent_id: str | None = None
    from_number: str | None = None
    to_number: str | None = None
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
    customer_name: Text | None = None
    customer_phone: Annotated[str, StringConstraints(strict=True, max_length=40)] | None = None
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
    model_config = ConfigDict(extra="allow")

    event: str
    call: RetellCall


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
