"""The endpoint: the SageMaker inference contract over HTTP, with data capture.

``GET /ping`` answers 200 once the model is loaded; ``POST /invocations``
takes ``text/csv`` or ``application/json`` (see :mod:`.inference` for the
shapes) and answers JSON (default) or CSV, following the ``Accept`` header.
A malformed request gets a 4xx with a JSON ``{"error": ...}`` naming the
problem, and the server keeps serving.

Requests and responses are captured as JSON Lines in the shape SageMaker data
capture writes to S3 (``captureData.endpointInput`` / ``endpointOutput`` and
``eventMetadata``), under ``<capture_dir>/AllTraffic/YYYY/MM/DD/HH/``, so the
same monitoring code reads local and SageMaker captures.

The server needs only numpy and XGBoost at request time: no pandas, no
scikit-learn. The same module serves in the SageMaker container (port 8080).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import InvalidRequestError
from .inference import Prediction, Predictor, parse_csv, parse_json

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's payload limit for real-time endpoints
CSV, JSON = "text/csv", "application/json"


class CaptureWriter:
    """Appends capture records to hourly JSON Lines files; thread-safe."""

    def __init__(self, directory: Path, sample_percent: float = 100.0) -> None:
        """Capture ``sample_percent`` of requests under ``directory``."""
        self.directory = directory
        self.sample_percent = sample_percent
        self._lock = threading.Lock()
        self._hour: str | None = None
        self._handle = None
        self._name = f"capture-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"

    def write(
        self, request: bytes, request_type: str, response: bytes, response_type: str
    ) -> None:
        """Record one invocation (or skip it by sampling)."""
        if self.sample_percent < 100 and random.uniform(0, 100) >= self.sample_percent:
            return
        now = datetime.now(UTC)
        record = {
            "captureData": {
                "endpointInput": _capture_part(request, request_type, "INPUT"),
                "endpointOutput": _capture_part(response, response_type, "OUTPUT"),
            },
            "eventMetadata": {
                "eventId": str(uuid.uuid4()),
                "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            },
            "eventVersion": "0",
        }
        line = json.dumps(record, separators=(",", ":")) + "\n"
        hour = now.strftime("%Y/%m/%d/%H")
        with self._lock:
            if hour != self._hour:
                self.close()
                folder = self.directory / "AllTraffic" / hour
                folder.mkdir(parents=True, exist_ok=True)
                self._handle = (folder / self._name).open("a", encoding="utf-8")
                self._hour = hour
            self._handle.write(line)
            self._handle.flush()

    def close(self) -> None:
        """Close the current file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _capture_part(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    encoding = "CSV" if content_type.startswith(CSV) else "JSON"
    return {
        "observedContentType": content_type,
        "mode": mode,
        "data": body.decode("utf-8", errors="replace"),
        "encoding": encoding,
    }


def predict_body(predictor: Predictor, body: bytes, content_type: str) -> Prediction:
    """Parse a request body of ``content_type`` and predict."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == CSV:
        return predictor.predict(parse_csv(body))
    if kind in (JSON, "application/jsonlines"):
        return predictor.predict(parse_json(body))
    raise InvalidRequestError(
        f"content type '{content_type}' is not supported; use {CSV} or {JSON}",
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    )


def _response_type(accept: str | None) -> str:
    if not accept or accept.startswith("*/*") or JSON in accept:
        return JSON
    if CSV in accept:
        return CSV
    raise InvalidRequestError(
        f"cannot answer in '{accept}'; accept {JSON} or {CSV}",
        HTTPStatus.NOT_ACCEPTABLE,
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection, many requests
    server: EndpointServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/ping":
            self._send(HTTPStatus.OK, b'{"status": "healthy"}', JSON)
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route GET {self.path}; use /ping")

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/invocations":
            self._error(
                HTTPStatus.NOT_FOUND, f"no route POST {self.path}; use /invocations"
            )
            return
        try:
            body = self._read_body()
            content_type = self.headers.get("Content-Type") or CSV
            answer_type = _response_type(self.headers.get("Accept"))
            prediction = predict_body(self.server.predictor, body, content_type)
        except InvalidRequestError as error:
            self._error(error.status, str(error))
            return
        payload = prediction.to_json() if answer_type == JSON else prediction.to_csv()
        self._send(HTTPStatus.OK, payload, answer_type)
        if self.server.capture is not None:
            self.server.capture.write(body, content_type, payload, answer_type)

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise InvalidRequestError(
                "a Content-Length header is required", HTTPStatus.LENGTH_REQUIRED
            )
        try:
            size = int(length)
        except ValueError:
            raise InvalidRequestError(
                f"Content-Length '{length}' is not a number"
            ) from None
        if size > MAX_BODY_BYTES:
            self.close_connection = True
            raise InvalidRequestError(
                f"the body has {size} bytes; at most {MAX_BODY_BYTES} are accepted",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        return self.rfile.read(size)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"error": message}).encode(), JSON)

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)


class EndpointServer(ThreadingHTTPServer):
    """A threaded HTTP server holding one predictor and one capture writer."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        predictor: Predictor,
        capture: CaptureWriter | None,
    ) -> None:
        """Bind ``address`` and serve ``predictor``."""
        self.predictor = predictor
        self.capture = capture
        super().__init__(address, _Handler)


def create_server(
    model_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    capture_dir: Path | None = None,
    capture_percent: float = 100.0,
) -> EndpointServer:
    """Load the model in ``model_dir`` and bind the endpoint (not yet serving)."""
    predictor = Predictor.load(model_dir)
    capture = CaptureWriter(capture_dir, capture_percent) if capture_dir else None
    server = EndpointServer((host, port), predictor, capture)
    logger.info(
        "serve: model %s on http://%s:%d (capture: %s)",
        model_dir,
        host,
        server.server_address[1],
        capture_dir or "off",
    )
    return server
