"""A small HTTP/1.1 load generator for loopback endpoints.

Each worker process keeps one connection alive and sends the same request
until it has sent ``requests`` or ``seconds`` have passed, whichever comes
first, so a run is bounded in count and time. Only 127.0.0.1 is accepted.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoadResult:
    """Latencies (seconds) of every request and the wall time of the run."""

    latencies: np.ndarray
    seconds: float
    errors: int

    @property
    def throughput(self) -> float:
        """Requests per second over the run."""
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        return float(np.percentile(self.latencies, q) * 1000)


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, bytearray]:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    rest = bytearray(rest)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        rest += chunk
    return status, rest[length:]


def _worker(
    args: tuple[int, bytes, int, float],
) -> tuple[list[float], int, float, float]:
    port, request, requests, seconds = args
    latencies: list[float] = []
    errors = 0
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = bytearray()
    first = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
    deadline = first + seconds
    try:
        while len(latencies) + errors < requests and time.perf_counter() < deadline:
            started = time.perf_counter()
            sock.sendall(request)
            status, buffer = _read_response(sock, buffer)
            if status == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
    finally:
        sock.close()
    return latencies, errors, first, time.perf_counter()


def build_request(path: str, body: bytes, content_type: str) -> bytes:
    """The raw bytes of one POST request with keep-alive."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def run(port: int, request: bytes, concurrency: int, requests: int,
        seconds: float) -> LoadResult:
    """Send ``requests`` in total over ``concurrency`` connections (time-bounded)."""
    per_worker = max(1, requests // concurrency)
    jobs = [(port, request, per_worker, seconds)] * concurrency
    context = multiprocessing.get_context("fork")
    with context.Pool(concurrency) as pool:
        results = pool.map(_worker, jobs)
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    latencies = np.array([v for r in results for v in r[0]])
    return LoadResult(latencies, elapsed, sum(r[1] for r in results))
