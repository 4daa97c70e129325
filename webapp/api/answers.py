"""How every API answer is made: JSON, and one error shape, `{"error", "message", "fields"}`
(`forms_json.error_body`), for the runner API and the REST API alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, jsonify

from .forms_json import error_body


class ApiError(Exception):
    """Raised anywhere in a view: answered as the error shape with `status`."""

    def __init__(self, code: str, message: str, status: int,
                 fields: Mapping[str, Iterable[str]] | None = None,
                 headers: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.fields, self.headers, self.extra = fields, dict(headers or {}), extra


def error(code: str, message: str, status: int,
          fields: Mapping[str, Iterable[str]] | None = None, **extra: Any) -> Response:
    response = jsonify({**error_body(code, message, fields), **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def from_error(raised: ApiError) -> Response:
    response = error(raised.code, raised.message, raised.status, raised.fields, **raised.extra)
    response.headers.update(raised.headers)
    return response
