"""An `xnor serve` (or llama-server) child process on loopback, and plain HTTP clients for it:
started by a check or a benchmark, and stopped by it."""
from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LISTENING = re.compile(r"listening on http://([^:\s]+):(\d+)")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Stream:
    """A server-sent event stream as read: the `data:` payloads in order, and whether it ended
    with `data: [DONE]`."""
    status: int
    events: list[str] = field(default_factory=list)
    done: bool = False
    first_event_seconds: float | None = None
    seconds: float = 0.0

    def chunks(self) -> list[dict]:
        return [json.loads(e) for e in self.events if e != "[DONE]"]


class Client:
    def __init__(self, host: str, port: int, api_key: str | None = None, timeout: float = 300.0):
        self.host, self.port, self.api_key, self.timeout = host, port, api_key, timeout

    def _headers(self, extra: dict | None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> Reply:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=self._headers(headers))
            r = conn.getresponse()
            return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def post(self, path: str, body) -> Reply:
        return self.request("POST", path, body)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def stream(self, path: str, body: dict, stop_after: int | None = None) -> Stream:
        """POSTs `body` and reads its events; with `stop_after`, closes the connection after that
        many events (a client that goes away mid-stream)."""
        start = time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", path, body=json.dumps(body).encode(), headers=self._headers(None))
            r = conn.getresponse()
            result = Stream(r.status)
            if r.status != 200:
                r.read()
                return result
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if not line.startswith("data: "):
                    continue
                payload = line[len("data: "):]
                if result.first_event_seconds is None:
                    result.first_event_seconds = time.monotonic() - start
                result.events.append(payload)
                if payload == "[DONE]":
                    result.done = True
                    break
                if stop_after is not None and len(result.events) >= stop_after:
                    break
            return result
        finally:
            conn.close()
            if "result" in locals():
                result.seconds = time.monotonic() - start


class ServerProcess:
    """A server started with `command`, which prints "listening on http://HOST:PORT" on stderr
    (xnor serve does; `port` is given for servers that do not). Its stderr is collected."""

    def __init__(self, command: list, port: int | None = None, env: dict | None = None, ready_path: str = "/health",
                 start_timeout: float = 180.0):
        self.command = [str(c) for c in command]
        self.lines: list[str] = []
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=env)
        self._listening = threading.Event()
        self.host, self.port = "127.0.0.1", port
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self._wait_ready(port, ready_path, start_timeout)
        except BaseException:
            # A server that did not become ready is not left running.
            self.__exit__()
            raise

    def _wait_ready(self, port: int | None, ready_path: str, start_timeout: float) -> None:
        deadline = time.monotonic() + start_timeout
        if port is None:
            while not self._listening.wait(0.05):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.command[0]} did not start: {self.describe()}")
        self.client = Client(self.host, self.port)
        # Every answer of the readiness endpoint until it was 200 (503s while the model loads).
        self.readiness: list[Reply] = []
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.command[0]} did not become ready: {self.describe()}")
            try:
                reply = self.client.get(ready_path)
                self.readiness.append(reply)
                if reply.status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.01)

    def _read(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            m = LISTENING.search(line)
            if m and not self._listening.is_set():
                self.host, self.port = m.group(1), int(m.group(2))
                self._listening.set()

    def describe(self) -> str:
        return f"exit {self.process.poll()}, stderr: {' | '.join(self.lines[-5:])[:400]!r}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120.0) -> int | None:
        """Signals the server and waits for it; None if it had to be killed."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        self._reader.join(5)
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
