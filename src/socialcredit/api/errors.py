"""Errors: one JSON shape, ``{"error": {"code": ..., "message": ...}}``, for every failure.

Codes are stable: clients branch on ``code``; ``message`` is for people and may change.
Bad input is always a 4xx; a 5xx means the platform failed (including an audit log
that cannot take the entry, since no answer goes out without one).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="Where in the request: e.g. body, records, 3, name.")
    msg: str
    type: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.", examples=["malformed_id"])
    message: str = Field(description="What went wrong, for a person.")
    details: list[FieldProblem] | None = Field(
        default=None, description="For validation errors: each offending field."
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> Any:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


_DESCRIPTIONS = {
    400: "Invalid JSON.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role or scope does not allow this request.",
    404: "Not found.",
    413: "Request body too large.",
    422: "Invalid input: a malformed ID, an unknown purpose, a bad date, a refused batch.",
    429: "Rate limit exceeded; retry after the number of seconds in Retry-After.",
    503: "The audit log could not record the request, so no answer is given.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer, all with the error shape."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}
