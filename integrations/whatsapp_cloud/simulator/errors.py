"""Meta's error catalogue: the synchronous Graph error envelopes, Graph's own transient 5xx, the
`errors` of a `failed` status webhook, and the simulator's own misuse error."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .wire import _fbtrace_id, _json_response, _Response

ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
GRAPH_DOCS = "https://developers.facebook.com/docs/graph-api"


class SimulatorError(ValueError):
    """A misuse of the simulator itself (unknown number, contradictory failure...), not a Graph error."""


@dataclass(frozen=True)
class _ErrorSpec:
    title: str
    details: str
    http_status: int = 400
    subcode: int | None = None


# Titles and details: verbatim from the fixtures where there is one (error-*.json, status-failed*.json),
# otherwise from error-codes.json. HTTP statuses as error-codes.json ("typical_http_status").
_ERRORS: dict[int, _ErrorSpec] = {
    0: _ErrorSpec("AuthException", "Unable to authenticate the app user.", 401),
    4: _ErrorSpec("Application request limit reached", "App reached its API call rate limit.", 429),
    10: _ErrorSpec("Permission Denied", "Permission not granted or removed.", 403),
    100: _ErrorSpec("Invalid parameter", "Parameter 'text' is mandatory for component parameter type 'text'"),
    368: _ErrorSpec("Temporarily blocked for policies violations", "Account restricted for policy violations.", 403),
    80007: _ErrorSpec("Rate limit issues", "WhatsApp Business Account has reached its rate limit.", 429),
    130429: _ErrorSpec("Rate limit hit", "Cloud API message throughput has been reached.", 429, 2494055),
    130472: _ErrorSpec("User's number is part of an experiment", "Message not sent as part of an experiment."),
    130497: _ErrorSpec("Business account is restricted from messaging users in this country",
                       "Business account is restricted from messaging users in this country."),
    131000: _ErrorSpec("Something went wrong", "Message failed to send due to an unknown error.", 500),
    131005: _ErrorSpec("Access denied", "Permission not granted or removed.", 403),
    131008: _ErrorSpec("Required parameter is missing", "A required parameter is missing."),
    131009: _ErrorSpec("Parameter value is not valid", "A parameter value is not valid."),
    131016: _ErrorSpec("Service unavailable", "A service is temporarily unavailable.", 503),
    131021: _ErrorSpec("Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: _ErrorSpec("Message undeliverable", "Message Undeliverable."),
    131030: _ErrorSpec("Recipient phone number not in allowed list",
                       "Recipient phone number not in allowed list: Add recipient phone number to recipient list "
                       "and try again."),
    131031: _ErrorSpec("Account has been locked", "Business Account locked.", 403),
    131042: _ErrorSpec("Business eligibility payment issue", "Business eligibility payment issue."),
    131045: _ErrorSpec("Incorrect certificate", "Phone number registration error."),
    131047: _ErrorSpec("Re-engagement message",
                       "Message failed to send because more than 24 hours have passed since the customer last "
                       "replied to this number."),
    131048: _ErrorSpec("Spam rate limit hit",
                       "Message failed to send because there are restrictions on how many messages can be sent "
                       "from this phone number.", 429),
    131049: _ErrorSpec("This message was not delivered to maintain healthy ecosystem engagement.",
                       "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."),
    131050: _ErrorSpec("User stopped marketing messages", "The user has stopped marketing messages."),
    131051: _ErrorSpec("Unsupported message type", "Message type is currently not supported."),
    131052: _ErrorSpec("Media download error", "Unable to download the media sent by the user."),
    131053: _ErrorSpec("Media upload error", "Unable to upload the media used in the message."),
    131056: _ErrorSpec("(Business Account, Consumer account) pair rate limit hit",
                       "Too many messages sent from the sender phone number to the same recipient phone number in "
                       "a short period of time."),
    131057: _ErrorSpec("Account in maintenance mode", "Business Account is in maintenance mode.", 503),
    132000: _ErrorSpec("Number of parameters does not match the expected number of params",
                       "body: number of localizable_params (0) does not match the expected number of params (1)"),
    132001: _ErrorSpec("Template name does not exist in the translation",
                       "The template does not exist in the language given.", 404),
    132005: _ErrorSpec("Template Hydrated Text Too Long", "Translated text is too long."),
    132007: _ErrorSpec("Template Format Character Policy Violated", "Template content violates a policy."),
    132012: _ErrorSpec("Template Parameter Format Mismatch", "Variable parameter values formatted incorrectly."),
    132015: _ErrorSpec("Template is Paused", "Template is paused due to low quality."),
    132016: _ErrorSpec("Template is Disabled", "Template has been paused too many times due to low quality."),
    133010: _ErrorSpec("Phone number not registered", "Phone number not registered on the Cloud API."),
    135000: _ErrorSpec("Generic user error", "Message failed to send because of an unknown error."),
}


def _error_spec(code: int) -> _ErrorSpec:
    return _ERRORS.get(code) or _ErrorSpec("Unknown error", "An unknown error occurred.", 400)


def graph_error(code: int, *, details: str | None = None, subcode: int | None = None,
                http_status: int | None = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of Meta's synchronous error envelope for `code`."""
    if code == 190:
        if subcode == 463:
            now = time.gmtime()
            expired = time.gmtime(time.time() - 2 * 86400)
            stamp = "%A, %d-%b-%y %H:%M:%S UTC"
            message = (f"Error validating access token: Session has expired on {time.strftime(stamp, expired)}. "
                       f"The current time is {time.strftime(stamp, now)}.")
            error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": 190, "error_subcode": 463}
        else:
            error = {"message": "Invalid OAuth access token - Cannot parse access token", "type": "OAuthException",
                     "code": 190}
            if subcode is not None:
                error["error_subcode"] = subcode
        error["fbtrace_id"] = _fbtrace_id()
        return http_status or 401, {"error": error}
    spec = _error_spec(code)
    error = {
        "message": f"(#{code}) {spec.title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or spec.details},
    }
    subcode = subcode if subcode is not None else spec.subcode
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = _fbtrace_id()
    return http_status or spec.http_status, {"error": error}


def _server_error(http_status: int) -> dict[str, Any]:
    """What Graph answers when it fails itself (transient; the code is Graph's, not WhatsApp's)."""
    if http_status == 500:
        error: dict[str, Any] = {"message": "An unknown error has occurred.", "type": "OAuthException", "code": 1,
                                 "error_subcode": 99, "is_transient": True}
    else:
        error = {"message": "An unexpected error has occurred. Please retry your request later.",
                 "type": "OAuthException", "code": 2, "is_transient": True}
    error["fbtrace_id"] = _fbtrace_id()
    return {"error": error}


def _async_error(code: int, details: str | None = None) -> dict[str, Any]:
    spec = _error_spec(code)
    return {"code": code, "title": spec.title, "message": spec.title,
            "error_data": {"details": details or spec.details}, "href": ERROR_HREF}


def _graph_error_response(code: int, **kwargs: Any) -> _Response:
    status, body = graph_error(code, **kwargs)
    headers: tuple[tuple[str, str], ...] = ()
    if status == 401:
        message = body["error"]["message"].replace('"', "'")
        headers = (("WWW-Authenticate", f'OAuth "Facebook Platform" "invalid_token" "{message}"'),)
    return _json_response(status, body, headers)


def _unknown_object(method: str, object_id: str) -> _Response:
    # What Graph answers for an id that does not exist or that the token cannot see (code 100, subcode 33).
    message = (f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
               f"loaded due to missing permissions, or does not support this operation. Please read the Graph API "
               f"documentation at {GRAPH_DOCS}")
    body = {"error": {"message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33,
                      "fbtrace_id": _fbtrace_id()}}
    return _json_response(400, body, (("WWW-Authenticate", f'OAuth "Facebook Platform" "invalid_request" '
                                                           f'"{message}"'),))
