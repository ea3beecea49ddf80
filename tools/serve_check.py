#!/usr/bin/env python3
"""`xnor serve` with real clients on loopback (issue 16): the servers are started by this script
and stopped by it.

  1. Clients: curl and Python's `openai` package against /v1/completions and
     /v1/chat/completions, streaming and not; a stream's text equals the whole answer's.
  2. Agreement: a greedy request equals `xnor run --prompt` with the same options, token for
     token (SmolLM2's source GGUF and a w1.58a8 conversion of it; the chat endpoint against
     `run --chat`; the seed's /generate against /v1/completions).
  3. /tokenize equals `xnor tokenize`, /detokenize gives the text back; /metrics counts the
     requests and tokens sent.
  4. Load: 16 clients send 200 streaming sampled requests (8 prompt/seed pairs) to 4 slots:
     every stream ends with [DONE] and equals the answer of the same request sent alone. With
     one slot and a queue of 2, a burst gets 200s and 503s with Retry-After and nothing else.
  5. Bad requests, each with its status and an OpenAI-style error body, /health ok after each:
     malformed JSON, wrong types, n = 2, max_tokens past the context, a prompt past the context,
     a 100 MB body, headers sent a byte at a time (cut off by --timeout), a client that goes
     mid-stream (its slot serves the next request at once), no or a wrong API key.
  6. SIGTERM during a stream: the stream completes and the process exits 0.
  7. Embeddings of the BERT fixture: mean-pooled, normalized transformers' last hidden state.
Prints one line per check and `N passed, N failed`; exit 1 on any failure.

    .venv/bin/python tools/serve_check.py --xnor .build/release/xnor
"""
from __future__ import annotations

import argparse
import json
import math
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from xnortools import paths
from xnortools.cli import Xnor
from xnortools.paths import FIXTURES
from xnortools.report import Report
from xnortools.server import Client, ServerProcess

TIMEOUT = 900.0
PROMPT = "The capital of France is"
QUESTION = "What is the capital of France?"
NEW_TOKENS = 24


def error_shape(reply, status: int) -> str | None:
    """None when `reply` has `status` and an OpenAI-style error body."""
    if reply.status != status:
        return f"status {reply.status}, body {reply.body[:200]!r}"
    try:
        error = reply.json()["error"]
        assert isinstance(error["message"], str) and error["message"]
        assert error["code"] == status and isinstance(error["type"], str)
    except Exception as e:  # noqa: BLE001 - any shape problem is the failure
        return f"not an OpenAI error body ({e}): {reply.body[:200]!r}"
    return None


def healthy(client: Client) -> bool:
    try:
        reply = client.get("/health")
        return reply.status == 200 and reply.json() == {"status": "ok"}
    except OSError:
        return False


def run_text(xnor: Xnor, model: Path, prompt: str, extra: list) -> str | None:
    run = xnor.run(["run", model, "--prompt", prompt, "-n", NEW_TOKENS, "--temp", 0] + extra, TIMEOUT)
    if run.returncode != 0 or not run.stdout.endswith(b"\n"):
        return None
    return run.stdout[:-1].decode("utf-8")


def check_clients(report: Report, server: ServerProcess) -> None:
    client, base = server.client, f"http://{server.host}:{server.port}"
    body = {"prompt": PROMPT, "max_tokens": NEW_TOKENS, "temperature": 0}
    whole = client.post("/v1/completions", body)
    ok = whole.status == 200
    report.expect(ok, "completions answers 200", "" if ok else f"{whole.status} {whole.body[:200]!r}")
    if not ok:
        return
    answer = whole.json()
    text = answer["choices"][0]["text"]
    prompt_ids = client.post("/tokenize", {"content": PROMPT, "add_special": True}).json()["tokens"]
    usage = answer["usage"]
    report.check("completions usage counts", None if usage["prompt_tokens"] == len(prompt_ids)
                 and 0 < usage["completion_tokens"] <= NEW_TOKENS
                 and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] else f"{usage}, prompt ids {len(prompt_ids)}")

    curl = subprocess.run(["curl", "-sN", "--max-time", "300", f"{base}/v1/completions", "-H", "Content-Type: application/json",
                           "-d", json.dumps(body | {"stream": True})], capture_output=True, timeout=TIMEOUT)
    events = [line[len("data: "):] for line in curl.stdout.decode().splitlines() if line.startswith("data: ")]
    streamed = "".join(json.loads(e)["choices"][0]["text"] for e in events if e != "[DONE]")
    finish = [json.loads(e)["choices"][0]["finish_reason"] for e in events if e != "[DONE]"]
    report.check("curl stream = the whole answer, ends with [DONE]",
                 None if curl.returncode == 0 and events[-1:] == ["[DONE]"] and streamed == text and finish[-1] is not None
                 else f"curl {curl.returncode}, {len(events)} events, {streamed!r} != {text!r}")
    plain = subprocess.run(["curl", "-s", "--max-time", "300", f"{base}/v1/completions", "-d", json.dumps(body)],
                           capture_output=True, timeout=TIMEOUT)
    report.check("curl whole answer", None if plain.returncode == 0 and json.loads(plain.stdout)["choices"][0]["text"] == text
                 else f"curl {plain.returncode}: {plain.stdout[:200]!r}")

    try:
        import openai
    except ImportError as e:
        report.expect(False, "openai package", f"not installed: {e}")
        return
    api = openai.OpenAI(base_url=f"{base}/v1", api_key="none", max_retries=0, timeout=300)
    c = api.completions.create(model="m", prompt=PROMPT, max_tokens=NEW_TOKENS, temperature=0)
    s = "".join(chunk.choices[0].text for chunk in api.completions.create(model="m", prompt=PROMPT, max_tokens=NEW_TOKENS,
                                                                          temperature=0, stream=True) if chunk.choices)
    report.check("openai completions, whole and streamed", None if c.choices[0].text == text == s else f"{c.choices[0].text!r} / {s!r} / {text!r}")
    messages = [{"role": "user", "content": QUESTION}]
    chat = api.chat.completions.create(model="m", messages=messages, max_tokens=NEW_TOKENS, temperature=0)
    parts, streamed_usage = [], None
    for chunk in api.chat.completions.create(model="m", messages=messages, max_tokens=NEW_TOKENS, temperature=0, stream=True,
                                             stream_options={"include_usage": True}):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if chunk.usage:
            streamed_usage = chunk.usage
    content = chat.choices[0].message.content
    report.check("openai chat completions, whole and streamed (usage in the last chunk)",
                 None if content and content == "".join(parts) and streamed_usage is not None
                 and streamed_usage.completion_tokens == chat.usage.completion_tokens
                 else f"{content!r} / {''.join(parts)!r}")


def check_agreement(report: Report, xnor: Xnor, server: ServerProcess, model: Path, name: str, chat: bool) -> None:
    client = server.client
    reply = client.post("/v1/completions", {"prompt": PROMPT, "max_tokens": NEW_TOKENS, "temperature": 0})
    expected = run_text(xnor, model, PROMPT, [])
    got = reply.json()["choices"][0]["text"] if reply.status == 200 else None
    report.check(f"{name}: greedy /v1/completions = xnor run --prompt", None if got == expected and got is not None
                 else f"server {got!r}, run {expected!r}")
    generated = client.post("/generate", {"prompt": PROMPT, "max_new_tokens": NEW_TOKENS, "temperature": 0})
    report.check(f"{name}: /generate (seed's fields) = /v1/completions",
                 None if generated.status == 200 and generated.json()["text"] == got else f"{generated.status} {generated.body[:200]!r}")
    if chat:
        reply = client.post("/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}],
                                                     "max_tokens": NEW_TOKENS, "temperature": 0})
        expected = run_text(xnor, model, QUESTION, ["--chat"])
        got = reply.json()["choices"][0]["message"]["content"] if reply.status == 200 else None
        report.check(f"{name}: greedy chat = xnor run --chat", None if got == expected and got is not None
                     else f"server {got!r}, run {expected!r}")


def check_tokens_and_metrics(report: Report, xnor: Xnor, server: ServerProcess, model: Path) -> None:
    client = server.client
    text = "Hello world, 1-bit models!"
    run = xnor.run(["tokenize", model, "--text", text, "--ids-only"], TIMEOUT)
    expected = [int(x) for x in run.stdout.decode().strip().strip("[]").split(",") if x.strip()] if run.returncode == 0 else None
    got = client.post("/tokenize", {"content": text, "add_special": True}).json()["tokens"]
    report.check("/tokenize = xnor tokenize", None if got == expected else f"{got} != {expected}")
    back = client.post("/detokenize", {"tokens": got}).json()["content"]
    report.check("/detokenize gives the text back", None if back.endswith(text) else f"{back!r}")

    def scrape() -> dict[str, float]:
        values = {}
        for line in client.get("/metrics").body.decode().splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                values[key] = float(value)
        return values

    key = 'xnor_http_requests_total{endpoint="/v1/completions",status="200"}'
    before = scrape()
    usages = [client.post("/v1/completions", {"prompt": f"Count to {k}:", "max_tokens": 4, "temperature": 0}).json()["usage"]
              for k in range(3)]
    time.sleep(0.2)   # the log and count follow the response's last byte
    after = scrape()
    problems = []
    if after.get(key, 0) - before.get(key, 0) != 3:
        problems.append(f"{key} went {before.get(key)} -> {after.get(key)}")
    for name, field in [("xnor_prompt_tokens_total", "prompt_tokens"), ("xnor_generated_tokens_total", "completion_tokens")]:
        if after.get(name, 0) - before.get(name, 0) != sum(u[field] for u in usages):
            problems.append(f"{name} went {before.get(name)} -> {after.get(name)}, usage says {sum(u[field] for u in usages)}")
    for name in ["xnor_slots_busy", "xnor_requests_queued", "xnor_generated_tokens_per_second"]:
        if name not in after:
            problems.append(f"{name} missing")
    report.check("/metrics counts requests by endpoint and status, and tokens", problems)


def check_load(report: Report, exe: Path, model: Path) -> None:
    cases = [{"prompt": p, "max_tokens": 8, "temperature": 0.8, "seed": seed, "stream": True}
             for p in [PROMPT, "Once upon a time", "def fibonacci(n):", "1, 2, 3,"] for seed in (7, 8)]
    with ServerProcess([exe, "serve", model, "--port", 0, "--parallel", 4, "--queue", 256, "--ctx-size", 256]) as server:
        client = server.client
        alone = []
        for case in cases:
            s = client.stream("/v1/completions", case)
            alone.append("".join(c["choices"][0]["text"] for c in s.chunks()) if s.done else None)
        jobs = [cases[k % len(cases)] for k in range(200)]
        start = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            streams = list(pool.map(lambda case: Client(server.host, server.port).stream("/v1/completions", case), jobs))
        seconds = time.monotonic() - start
        problems = []
        for k, s in enumerate(streams):
            text = "".join(c["choices"][0]["text"] for c in s.chunks()) if s.done else None
            if s.status != 200 or not s.done:
                problems.append(f"request {k}: status {s.status}, done {s.done}")
            elif text != alone[k % len(cases)]:
                problems.append(f"request {k}: {text!r} != alone {alone[k % len(cases)]!r}")
        report.check("load: 200 sampled streams from 16 clients on 4 slots, each = the same request alone",
                     problems + ([] if None not in alone else ["a request alone failed"]))
        print(f"      ({seconds:.1f} s, {sum(len(s.chunks()) for s in streams) / seconds:.0f} chunks/s)")
        report.expect(healthy(client), "load: /health ok after it")
        code = server.stop()
        report.expect(code == 0, "load: SIGTERM when idle exits 0", f"exit {code}")

    with ServerProcess([exe, "serve", model, "--port", 0, "--parallel", 1, "--queue", 2, "--ctx-size", 256]) as server:
        def one(_):
            c = Client(server.host, server.port)
            reply = c.request("POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 32, "temperature": 0})
            return reply
        with ThreadPoolExecutor(12) as pool:
            replies = list(pool.map(one, range(12)))
        ok = [r for r in replies if r.status == 200]
        refused = [r for r in replies if r.status == 503]
        problems = [f"status {r.status}" for r in replies if r.status not in (200, 503)]
        problems += [f"503 without Retry-After: {r.headers}" for r in refused if "retry-after" not in r.headers]
        problems += [p for r in refused if (p := error_shape(r, 503))]
        problems += [f"200 without a whole answer: {r.body[:100]!r}" for r in ok if r.json()["choices"][0]["finish_reason"] is None]
        if len(ok) < 3 or not refused:
            problems.append(f"{len(ok)} answered, {len(refused)} refused: one slot and a queue of 2 answer at least 3 and refuse some")
        report.check(f"queue full: 12 at once on 1 slot + queue 2 -> {len(ok)} answered, {len(refused)} 503 with Retry-After", problems)


def raw_exchange(host: str, port: int, data: bytes, wait: float) -> bytes:
    with socket.create_connection((host, port), timeout=wait) as s:
        s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def slot_freed(client: Client, limit: float) -> float | None:
    """Seconds until /metrics shows no busy slot, or None past `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        for line in client.get("/metrics").body.decode().splitlines():
            if line.startswith("xnor_slots_busy ") and float(line.split()[1]) == 0:
                return time.monotonic() - start
        time.sleep(0.05)
    return None


def slot_busy(client: Client, limit: float) -> bool:
    """Whether /metrics shows a busy slot within `limit` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        for line in client.get("/metrics").body.decode().splitlines():
            if line.startswith("xnor_slots_busy ") and float(line.split()[1]) > 0:
                return True
        time.sleep(0.01)
    return False


def check_bad_requests(report: Report, exe: Path, model: Path) -> None:
    key = "s3cret-key"
    with ServerProcess([exe, "serve", model, "--port", 0, "--ctx-size", 64, "--timeout", 3, "--api-key", key]) as server:
        client = Client(server.host, server.port, api_key=key)
        anonymous = Client(server.host, server.port)
        cases = [
            ("malformed JSON", lambda: client.post("/v1/completions", b'{"prompt": "x",'), 400, None),
            ("wrong type", lambda: client.post("/v1/completions", {"prompt": "x", "max_tokens": "ten"}), 400, "max_tokens"),
            ("prompt of the wrong type", lambda: client.post("/v1/chat/completions", {"messages": "hi"}), 400, "messages"),
            ("n = 2", lambda: client.post("/v1/completions", {"prompt": "x", "n": 2}), 400, "n"),
            ("huge max_tokens", lambda: client.post("/v1/completions", {"prompt": "x", "max_tokens": 10**9}), 400, "max_tokens"),
            ("prompt past the context", lambda: client.post("/v1/completions", {"prompt": "word " * 200}), 400, "prompt"),
            ("token id past the vocabulary", lambda: client.post("/v1/completions", {"prompt": [1, 10**7]}), 400, "prompt"),
            ("unknown endpoint", lambda: client.get("/v2/nothing"), 404, None),
            ("no API key", lambda: anonymous.post("/v1/completions", {"prompt": "x"}), 401, None),
            ("wrong API key", lambda: Client(server.host, server.port, api_key="s3cret-kez").post("/v1/completions", {"prompt": "x"}), 401, None),
            ("embeddings on a causal LM", lambda: client.post("/v1/embeddings", {"input": "x"}), 400, None),
        ]
        for name, send, status, param in cases:
            reply = send()
            problem = error_shape(reply, status)
            if not problem and param and reply.json()["error"].get("param") != param:
                problem = f"param {reply.json()['error'].get('param')!r}, not {param!r}"
            report.check(f"bad request: {name} -> {status}", [problem, None if healthy(anonymous) else "/health not ok after it"])

        right = client.post("/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "temperature": 0})
        report.expect(right.status == 200 and anonymous.get("/health").status == 200,
                      "API key: the right key answers 200; /health needs none", f"{right.status}")

        # 100 MB declared: refused by its Content-Length, before the body is read.
        start = time.monotonic()
        head = (f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {100 << 20}\r\n\r\n").encode()
        answer = raw_exchange(server.host, server.port, head + b'{"prompt": "' + b"a" * 65536, 30)
        report.check("bad request: 100 MB body -> 413 without reading it",
                     None if answer.startswith(b"HTTP/1.1 413") and time.monotonic() - start < 10 else f"{answer[:120]!r}")
        # 100 MB sent without a length (chunked): cut at the limit.
        def chunked():
            with socket.create_connection((server.host, server.port), timeout=30) as s:
                s.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n").encode())
                piece = b"a" * (1 << 20)
                try:
                    for _ in range(100):
                        s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass
                try:
                    return s.recv(4096)
                except (TimeoutError, ConnectionResetError):
                    return b""
        got = chunked()
        report.check("bad request: 100 MB chunked body -> 413", None if got.startswith(b"HTTP/1.1 413") or got == b""
                     and healthy(anonymous) else f"{got[:120]!r}")

        # Slow headers: a byte every 0.5 s; --timeout 3 closes the connection.
        start = time.monotonic()
        closed = False
        with socket.create_connection((server.host, server.port), timeout=15) as s:
            try:
                for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                    s.sendall(bytes([byte]))
                    time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if not closed:
                try:
                    closed = s.recv(100) == b""
                except (ConnectionResetError, TimeoutError):
                    closed = True
        elapsed = time.monotonic() - start
        report.check("bad request: headers a byte at a time are cut off by --timeout 3",
                     [None if closed and elapsed < 12 else f"closed {closed} after {elapsed:.1f} s",
                      None if healthy(anonymous) else "/health not ok after it"])

        # A slow body: a byte every 0.5 s; --timeout 3 answers 408.
        start = time.monotonic()
        answer = b""
        with socket.create_connection((server.host, server.port), timeout=15) as s:
            body = json.dumps({"prompt": PROMPT, "max_tokens": 2}).encode()
            s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode())
            try:
                for byte in body:
                    s.sendall(bytes([byte]))
                    time.sleep(0.5)
                    s.setblocking(False)
                    try:
                        answer += s.recv(4096)
                    except BlockingIOError:
                        pass
                    s.setblocking(True)
                    if answer:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
        elapsed = time.monotonic() - start
        report.check("bad request: a body a byte at a time -> 408 after --timeout 3",
                     [None if answer.startswith(b"HTTP/1.1 408") and elapsed < 12 else f"{answer[:80]!r} after {elapsed:.1f} s",
                      None if healthy(anonymous) else "/health not ok after it"])

        code = server.stop()
        report.expect(code == 0, "bad requests: the server exits 0 on SIGTERM afterwards", f"exit {code}")


def check_disconnects(report: Report, exe: Path, model: Path) -> None:
    """Clients that go before their answer is whole: the slot (the only one) is free long
    before the answer would have ended. The same request read to its end is the control."""
    long = {"prompt": "1, 2, 3,", "max_tokens": 300, "temperature": 0}
    with ServerProcess([exe, "serve", model, "--port", 0, "--ctx-size", 320]) as server:
        client = server.client
        start = time.monotonic()
        control = client.stream("/v1/completions", long | {"stream": True})
        whole = time.monotonic() - start
        finish = control.chunks()[-1]["choices"][0]["finish_reason"] if control.done else None
        if not report.expect(finish == "length", "disconnects: the control request generates all 300 tokens",
                             f"({whole:.1f} s)" if finish == "length" else f"finish {finish}: pick a prompt without an early end"):
            return
        gone = client.stream("/v1/completions", long | {"stream": True}, stop_after=2)
        freed = slot_freed(client, whole)
        after = client.post("/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "temperature": 0})
        report.check("a client that disconnects mid-stream frees its slot at its next tokens",
                     [None if len(gone.events) == 2 else f"{len(gone.events)} events read",
                      None if freed is not None and freed < whole / 3 else f"slot busy for {freed} s of the answer's {whole:.1f} s",
                      None if after.status == 200 else f"next request {after.status}"])
        print(f"      (slot free {(freed or 0) * 1000:.0f} ms after the client went)")

        with socket.create_connection((server.host, server.port), timeout=30) as s:
            body = json.dumps(long).encode()
            s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            started = slot_busy(client, 30)
        freed = slot_freed(client, whole)
        report.check("a client that disconnects before a whole answer frees its slot",
                     [None if started else "the request never took the slot",
                      None if freed is not None and freed < whole / 3 else f"slot busy for {freed} s of the answer's {whole:.1f} s"])
        server.stop()


def check_sigterm(report: Report, exe: Path, model: Path) -> None:
    with ServerProcess([exe, "serve", model, "--port", 0, "--ctx-size", 256]) as server:
        result = {}
        request = {"prompt": PROMPT, "max_tokens": 48, "temperature": 0}
        whole = server.client.post("/v1/completions", request).json()["choices"][0]

        def consume():
            result["stream"] = server.client.stream("/v1/completions", request | {"stream": True})
        reader = threading.Thread(target=consume)
        reader.start()
        # The signal comes once the stream's slot is busy (its decoding has started).
        slot_busy(server.client, 60)
        server.process.send_signal(signal.SIGTERM)
        reader.join(TIMEOUT)
        code = server.stop()
        stream = result.get("stream")
        chunks = stream.chunks() if stream else []
        finish = chunks[-1]["choices"][0]["finish_reason"] if chunks else None
        text = "".join(c["choices"][0]["text"] for c in chunks)
        report.check("SIGTERM during a stream: the stream completes, the process exits 0",
                     [None if stream and stream.done and finish == whole["finish_reason"] and text == whole["text"]
                      else f"stream done {stream and stream.done}, finish {finish}, {text!r} != {whole['text']!r}",
                      None if code == 0 else f"exit {code}: {server.describe()}"])


def check_embeddings(report: Report, exe: Path) -> None:
    folder = FIXTURES / "llm" / "bert"
    tokens = np.load(folder / "tokens.npy").tolist()
    reference = np.load(folder / "ref_float.npy").mean(axis=0)
    reference /= np.linalg.norm(reference)
    with ServerProcess([exe, "serve", folder, "--port", 0]) as server:
        reply = server.client.post("/v1/embeddings", {"input": [tokens, tokens[:4]]})
        if reply.status != 200:
            report.expect(False, "embeddings of BERT", f"{reply.status} {reply.body[:200]!r}")
            return
        data = reply.json()["data"]
        got = np.array(data[0]["embedding"])
        cosine = float(got @ reference / np.linalg.norm(got))
        diff = float(np.abs(got - reference).max())
        report.check("embeddings of BERT = transformers' last hidden state, mean-pooled and normalized",
                     None if len(data) == 2 and diff < 1e-4 and abs(np.linalg.norm(got) - 1) < 1e-5
                     else f"max |diff| {diff:.2e}, cosine {cosine:.6f}, {len(data)} items")
        text = server.client.post("/v1/embeddings", {"input": "hello world"})
        report.expect(text.status == 200 and len(text.json()["data"][0]["embedding"]) == len(reference),
                      "embeddings of text (the model's tokenizer)", f"{text.status}")
        report.check("completions on an encoder -> 400", error_shape(server.client.post("/v1/completions", {"prompt": "x"}), 400))


def check_refusals(report: Report, xnor: Xnor, model: Path) -> None:
    """Bad command lines and models exit 1 with one line on stderr, whatever the stage."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    graph = FIXTURES / "onnx" / "ops" / "pow_int_exponent" / "model.onnx"
    cases = [
        ("a port in use", ["serve", model, "--port", taken.getsockname()[1]], "cannot listen on 127.0.0.1:"),
        ("a missing model", ["serve", "/nonexistent/model.xnor", "--port", 0], "/nonexistent/model.xnor"),
        ("an ONNX graph", ["serve", graph, "--port", 0], "is a graph, not a language model"),
        ("--parallel 0", ["serve", model, "--parallel", 0], "--parallel"),
    ]
    for name, args, needle in cases:
        run = xnor.run(args, 120)
        lines = run.stderr.decode().strip().splitlines()
        errors = [line for line in lines if line.startswith("xnor: error:")]
        report.check(f"serve refuses {name}: exit 1, one error line", None if run.returncode == 1 and len(errors) == 1
                     and needle in errors[0] else run.describe_failure())
    taken.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, required=True)
    args = parser.parse_args()
    exe = args.xnor.resolve()
    xnor = Xnor(exe)
    report = Report()
    source = paths.smollm2_gguf()
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / "smollm2.w1.58a8.xnor"
        run = xnor.run(["convert", source, "-o", converted, "--mode", "w1.58a8", "--quiet"], TIMEOUT)
        report.expect(run.returncode == 0, "convert SmolLM2 to w1.58a8 for the server", run.describe_failure() if run.returncode else "")
        with ServerProcess([exe, "serve", source, "--port", 0, "--ctx-size", 512]) as server:
            # The port is bound before the model loads; the tokenizer alone takes longer than a poll.
            loading = [r for r in server.readiness if r.status == 503]
            report.check("/health answers 503 (OpenAI error body) while the model loads, then ok",
                         [None if loading else f"no 503 seen: {[r.status for r in server.readiness]}",
                          error_shape(loading[0], 503) if loading else None,
                          None if server.readiness[-1].json() == {"status": "ok"} else f"{server.readiness[-1].body!r}"])
            check_clients(report, server)
            check_agreement(report, xnor, server, source, "SmolLM2 source", chat=True)
            check_tokens_and_metrics(report, xnor, server, source)
            code = server.stop()
            report.expect(code == 0, "SmolLM2 source server exits 0 on SIGTERM", f"exit {code}")
        if converted.exists():
            with ServerProcess([exe, "serve", converted, "--port", 0, "--ctx-size", 512]) as server:
                check_agreement(report, xnor, server, converted, "SmolLM2 w1.58a8", chat=False)
                server.stop()
        # The load runs on the popcount runtime, whose decoding is the fastest of the two.
        check_load(report, exe, converted if converted.exists() else source)
        check_bad_requests(report, exe, source)
        check_sigterm(report, exe, source)
        check_disconnects(report, exe, converted if converted.exists() else source)
        check_refusals(report, xnor, converted if converted.exists() else source)
    check_embeddings(report, exe)
    print(report.summary())
    sys.exit(report.exit_status())


if __name__ == "__main__":
    main()
