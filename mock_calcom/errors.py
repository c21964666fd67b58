"""Cal.com's error envelope and the verbatim texts its API v2 answers with.

Shapes follow apps/api/v2/src/filters/http-exception.filter.ts (NestJS `HttpException`:
`error.details` is `exception.getResponse()`) and sentry-exception.filter.ts (unknown errors: 500 with
code INTERNAL_SERVER_ERROR and no details).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

MSG_NO_AUTH = (
    "ApiAuthStrategy - No authentication method provided. Either pass an API key as 'Bearer' header "
    "or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers"
)
MSG_INVALID_API_KEY = "ApiAuthStrategy - api key - Your api key is not valid"
MSG_INVALID_ACCESS_TOKEN = "ApiAuthStrategy - access token - Invalid Access Token."
MSG_SLOT_TAKEN = "User either already has booking at this time or is not available"
MSG_PAST = "Attempting to book a meeting in the past."
MSG_SINGLE_LENGTH = (
    "Can't specify 'lengthInMinutes' because event type does not have multiple possible lengths. "
    "Please, remove the 'lengthInMinutes' field from the request."
)
MSG_CONTACT = "Attendee must have at least one contact method (email or phone number)"
MSG_ALREADY_CANCELLED = "This booking has already been cancelled."
MSG_OUT_OF_BOUNDS = (
    'The event type can\'t be booked at the "start" time provided. This could be because it\'s too soon '
    "(violating the minimum booking notice) or too far in the future (outside the event's scheduling "
    'window). Try fetching available slots first using the GET /v2/slots endpoint and then make a '
    'booking with "start" time equal to one of the available slots: '
    "https://cal.com/docs/api-reference/v2/slots"
)
MSG_CANCEL_ENDED = "Cannot cancel a booking that has already ended"
MSG_CANCEL_DISABLED = "This event type does not allow cancellations"
MSG_CANCEL_REASON_REQUIRED = "Cancellation reason is required when you are the host"
MSG_LIST_NO_AUTH = (
    "PermissionsGuard - no authentication provided. Provide either authorization bearer token "
    "containing managed user access token or oAuth client id in 'x-cal-client-id' header."
)
# apps/api/v2/src/lib/throttler-guard.ts (CustomThrottlerGuard.throwThrottlingException)
MSG_THROTTLED = "CustomThrottlerGuard - Too many requests. Please try again later."
MSG_INTERNAL = "Internal server error."

# NestJS exception class and reason phrase per status, as `exception.name` / `getResponse().error`.
_NEST_EXCEPTIONS: dict[int, tuple[str, str]] = {
    400: ("BadRequestException", "Bad Request"),
    401: ("UnauthorizedException", "Unauthorized"),
    403: ("ForbiddenException", "Forbidden"),
    404: ("NotFoundException", "Not Found"),
    405: ("MethodNotAllowedException", "Method Not Allowed"),
    409: ("ConflictException", "Conflict"),
    422: ("UnprocessableEntityException", "Unprocessable Entity"),
    503: ("ServiceUnavailableException", "Service Unavailable"),
}


def utc_timestamp(moment: datetime | None = None) -> str:
    """JavaScript `Date.toISOString()`: UTC, milliseconds, trailing Z."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_body(status: int, message: str, path: str) -> dict[str, Any]:
    if status == 500:
        error: dict[str, Any] = {"code": "INTERNAL_SERVER_ERROR", "message": MSG_INTERNAL}
    elif status == 429:
        # ThrottlerException is built from a bare string, so getResponse() is that string.
        error = {"code": "ThrottlerException", "message": message, "details": message}
    else:
        code, reason = _NEST_EXCEPTIONS.get(status, ("HttpException", "Error"))
        error = {
            "code": code,
            "message": message,
            "details": {"message": message, "error": reason, "statusCode": status},
        }
    return {"status": "error", "timestamp": utc_timestamp(), "path": path, "error": error}


class CalcomError(Exception):
    """An HTTP error the way Cal.com's exception filter writes it."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, *, raw: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        # A core `HttpError` that no Nest filter wraps: Express answers a bare {statusCode, message}.
        self.raw = raw


def core_error(shape: str, status: int, message: str) -> CalcomError:
    """An error thrown inside Cal.com's booking engine (`HttpError` from @calcom/lib/http-error), not a
    Nest `HttpException`. How it comes back depends on the build's filters: in the usual envelope,
    as a bare `{statusCode, message}`, or swallowed by the Sentry filter as a 500."""
    if shape == "internal":
        return CalcomError(500, MSG_INTERNAL)
    return CalcomError(status, message, raw=shape == "raw")


def request_path(request: Request) -> str:
    # Express's `request.url` is the path plus the query string.
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def install_error_handlers(app: FastAPI) -> None:
    async def calcom_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CalcomError)
        if exc.raw:
            return JSONResponse(
                {"statusCode": exc.status, "message": exc.message},
                status_code=exc.status,
                headers=exc.headers,
            )
        return JSONResponse(
            error_body(exc.status, exc.message, request_path(request)),
            status_code=exc.status,
            headers=exc.headers,
        )

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not request.url.path.startswith("/v2"):
            return await request_validation_exception_handler(request, exc)
        message = ", ".join(_describe(err) for err in exc.errors())
        return JSONResponse(error_body(400, message, request_path(request)), status_code=400)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/_control"):
            return await http_exception_handler(request, exc)
        # Express answers unknown routes with "Cannot <METHOD> <path>".
        message = (
            f"Cannot {request.method} {request.url.path}"
            if exc.status_code == 404
            else str(exc.detail)
        )
        return JSONResponse(
            error_body(exc.status_code, message, request_path(request)), status_code=exc.status_code
        )

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # Cal.com's Sentry filter: any unknown error becomes a bare 500 envelope.
        return JSONResponse(error_body(500, "", request_path(request)), status_code=500)

    app.add_exception_handler(CalcomError, calcom_error)
    app.add_exception_handler(Exception, unexpected_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _describe(err: Any) -> str:
    location = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location) or "body"
    return f"{field} property is wrong,{err.get('msg', 'invalid')}"


def describe_validation_error(exc: ValidationError) -> str:
    """Cal.com's pipes flatten class-validator errors into "<prop> property is wrong,<reason>" items."""
    return ", ".join(_describe(err) for err in exc.errors())
