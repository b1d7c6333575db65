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

The endpoint is a plain ASGI application served by uvicorn (with httptools
and uvloop where installed): no web framework, and only numpy and libxgboost
at request time, no pandas or scikit-learn. The same module serves in the
SageMaker container (port 8080).
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from .errors import InvalidRequestError
from .inference import (
    Prediction,
    Predictor,
    parse_csv,
    parse_json,
    parse_jsonlines,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's payload limit for real-time endpoints
CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"


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


def sniff(body: bytes) -> str:
    """The content type of a body sent without one: JSON or CSV."""
    return JSON if body.lstrip()[:1] in (b"{", b"[") else CSV


def predict_body(
    predictor: Predictor, body: bytes, content_type: str, strict: bool = True
) -> Prediction:
    """Parse a request body of ``content_type`` and predict.

    Without a content type the body decides: JSON if it starts with ``{`` or
    ``[``, else CSV.
    """
    kind = (content_type or sniff(body)).split(";")[0].strip().lower()
    if kind == CSV:
        return predictor.predict(parse_csv(body), strict)
    if kind == JSON:
        return predictor.predict(parse_json(body), strict)
    if kind == JSONLINES:
        return predictor.predict(parse_jsonlines(body), strict)
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


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Endpoint:
    """The ASGI application: ``/ping`` and ``/invocations``."""

    def __init__(
        self,
        predictor: Predictor,
        capture: CaptureWriter | None,
        *,
        strict: bool = True,
        version: str | None = None,
    ) -> None:
        """Serve ``predictor``; capture traffic with ``capture`` if given.

        ``strict`` refuses out-of-range numbers and unknown categories with a
        400; ``version`` is reported by ``/ping`` so a client can tell which
        model answers.
        """
        self.predictor = predictor
        self.capture = capture
        self.strict = strict
        self.ping = json.dumps({"status": "healthy", "model_version": version}).encode()

    async def __call__(
        self, scope: dict[str, Any], receive: Receive, send: Send
    ) -> None:
        """Answer one HTTP request."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == "/ping" and method == "GET":
            await _send(send, HTTPStatus.OK, self.ping, JSON)
        elif path == "/invocations" and method == "POST":
            await self._invoke(scope, receive, send)
        elif path in ("/ping", "/invocations"):
            await _error(
                send,
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{method} is not allowed on {path}",
            )
        else:
            await _error(
                send,
                HTTPStatus.NOT_FOUND,
                f"no route {method} {path}; use GET /ping or POST /invocations",
            )

    async def _invoke(
        self, scope: dict[str, Any], receive: Receive, send: Send
    ) -> None:
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
        }
        try:
            body = await _read_body(headers, receive)
            content_type = headers.get("content-type") or sniff(body)
            answer_type = _response_type(headers.get("accept"))
            prediction = predict_body(self.predictor, body, content_type, self.strict)
        except InvalidRequestError as error:
            await _error(send, error.status, str(error))
            return
        payload = prediction.to_json() if answer_type == JSON else prediction.to_csv()
        await _send(send, HTTPStatus.OK, payload, answer_type)
        if self.capture is not None:
            self.capture.write(body, content_type, payload, answer_type)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.capture is not None:
                    self.capture.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(headers: dict[str, str], receive: Receive) -> bytes:
    length = headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise InvalidRequestError(
                f"Content-Length '{length}' is not a number"
            ) from None
        if declared > MAX_BODY_BYTES:
            raise InvalidRequestError(
                f"the body has {declared} bytes; at most {MAX_BODY_BYTES} are accepted",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise InvalidRequestError(
                f"the body exceeds {MAX_BODY_BYTES} bytes",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, status: int, payload: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": int(status),
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _error(send: Send, status: int, message: str) -> None:
    await _send(send, status, json.dumps({"error": message}).encode(), JSON)


class EndpointServer:
    """uvicorn serving an :class:`Endpoint` on a socket bound up front."""

    def __init__(self, endpoint: Endpoint, host: str, port: int) -> None:
        """Bind ``host:port`` now (port 0 picks a free port), serve later."""
        import uvicorn

        self.endpoint = endpoint
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen(2048)  # connections queue until uvicorn starts accepting
        self.host, self.port = host, self.socket.getsockname()[1]
        config = uvicorn.Config(
            endpoint,
            log_level="warning",
            access_log=False,
            lifespan="on",
            http=_best("httptools", "h11"),
            loop=_best("uvloop", "asyncio"),
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)

    @property
    def capture(self) -> CaptureWriter | None:
        """The capture writer, if capture is on."""
        return self.endpoint.capture

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (or SIGINT / SIGTERM in the main thread)."""
        self._server.run(sockets=[self.socket])

    def shutdown(self) -> None:
        """Ask the server to stop after the requests in flight."""
        self._server.should_exit = True

    def server_close(self) -> None:
        """Close the listening socket."""
        self.socket.close()


def _best(preferred: str, fallback: str) -> str:
    import importlib.util

    return preferred if importlib.util.find_spec(preferred) else fallback


def create_server(
    model_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    capture_dir: Path | None = None,
    capture_percent: float = 100.0,
    *,
    strict: bool = True,
    version: str | None = None,
) -> EndpointServer:
    """Load the model in ``model_dir`` and bind the endpoint (not yet serving)."""
    predictor = Predictor.load(model_dir)
    capture = CaptureWriter(capture_dir, capture_percent) if capture_dir else None
    endpoint = Endpoint(predictor, capture, strict=strict, version=version)
    server = EndpointServer(endpoint, host, port)
    logger.info(
        "serve: model %s on http://%s:%d (capture: %s)",
        model_dir,
        host,
        server.port,
        capture_dir or "off",
    )
    return server
