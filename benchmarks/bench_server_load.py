"""Load on the real server: concurrent ASR WebSocket API 2.3 sessions on ``srgs serve``.

Starts ``srgs serve`` (a subprocess, ``--workers W``, its own compile cache directory) on a free
port, then, from one asyncio client process:

1. **Text sessions**: N connections (default 200) each CREATE_SESSION and DEFINE_GRAMMAR (one of
   ``--grammars`` distinct drink-order grammars, so the store compiles each once), and once all N
   are held, each sends INTERPRET_TEXT ``--rounds`` times (RESPONSE + RECOGNITION_RESULT is one
   round trip) against its ``session:`` grammar, or every other time ``builtin:examples/pizza``,
   with a think time between requests (``--think-ms``, jittered 50-150 %: people talk to these
   sessions; 0 sends back to back), then RELEASE_SESSION.
2. **Audio sessions** (``--audio S1,S2,...``: one run per count): that many sessions each
   START_RECOGNITION with ``builtin:examples/pizza`` and stream an espeak-ng utterance followed by
   silence in 20 ms chunks at real-time pace (starts spread over one utterance) until the server
   sends END_OF_SPEECH (LastPacket on the last chunk otherwise); the latency is from END_OF_SPEECH
   to the final RECOGNITION_RESULT (the decoding's wait, on top of the endpointer's wait for
   silence), or from the chunk that let the server know the speech had ended when that came
   first (a server falling behind announces the end late), and the result must be the
   utterance's interpretation. A count *keeps up* when every
   result is right and the p99 latency is under ``--audio-p99-ms`` (default 1000).
   SEND_AUDIO chunks already on their way when END_OF_SPEECH came are answered INVALID_ACTION
   (the protocol's rule: no audio after END_OF_SPEECH); they are counted, not errors.

Reported: sessions held, p50/p99/max latency per message kind, server memory (RSS of the server's
processes: before, with all sessions held, and the difference per session), errors (anything
but the expected answer, connections refused or closed). Every reply is read strictly
(``tests/server/client.py``'s ``read_strictly``).

    python benchmarks/bench_server_load.py [--sessions 200] [--rounds 5] [--think-ms 1000]
        [--workers 2] [--audio 1,2,4,8] [--json]

Needs espeak-ng and sox for the audio sessions (as the decoder tests do). ``BENCH_LOG_LEVEL=info``
shows the server's session log (in the report when it holds a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from tests.server.client import Reply, message, read_strictly  # noqa: E402

PIZZA = "builtin:examples/pizza"
DRINKS = ["tea", "coffee", "water", "juice", "milk", "soda", "lemonade", "cocoa"]
TEXT_CASES = [("a large tea please", "session"), ("two large pizzas with mushrooms", PIZZA),
              ("a small coffee", "session"), ("i'd like a small pepperoni pizza please", PIZZA)]
AUDIO_CASES = [("a small pizza with ham", {"qty": 1, "size": "S", "toppings": ["ham"]}),
               ("two large pizzas with mushrooms", {"qty": 2, "size": "L", "toppings": ["mushroom"]}),
               ("i would like a medium pizza", {"qty": 1, "size": "M"})]
CHUNK_S = 0.020
RATE = 16000


def drinks_grammar(index: int) -> str:
    """A small ABNF grammar; ``index`` makes its content (and so its compiled grammar) distinct."""
    drinks = " | ".join(f"{drink} {{out.drink='{drink}'}}" for drink in DRINKS)
    return ("#ABNF 1.0 UTF-8;\nlanguage en-US;\ntag-format <semantics/1.0>;\nroot $order;\n"
            f"public $order = [a | an | one] [$size] ({drinks}) [please] {{out.variant={index}}};\n"
            "$size = small {out.size='S'} | medium {out.size='M'} | large {out.size='L'};\n")


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/asr-server/asr"

    def pids(self) -> list[int]:
        """The server process and its worker processes."""
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def rss(self) -> int:
        """Resident bytes of every server process."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_server(workers: int, max_sessions: int, folder: Path) -> Server:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    log = folder / "server.log"
    environ = {**os.environ, "SRGS_CACHE_DIR": str(folder / "cache")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "srgs.cli", "serve", "--port", str(port), "--workers", str(workers), "--no-access-log",
             "--log-level", os.environ.get("BENCH_LOG_LEVEL", "warning"), "--set", f"server.max_sessions={max_sessions}"],
            cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"srgs serve did not start:\n{log.read_text()}")


# --- a minimal asyncio ASR 2.3 client -----------------------------------------------------------


class Failure(Exception):
    """An answer that is not the expected one."""


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    late_chunks: int = 0
    release_unanswered: int = 0  # RELEASE_SESSION answered by closing the connection, no RESPONSE

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for kind, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[kind] = {"count": len(ordered), "p50_ms": 1000 * statistics.median(ordered),
                         "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
                         "max_ms": 1000 * ordered[-1]}
        return out


class Client:
    def __init__(self, connection: ClientConnection, stats: Stats):
        self.connection = connection
        self.stats = stats

    async def release(self) -> None:
        """RELEASE_SESSION; a connection closed before its RESPONSE came is counted apart (the
        session is released either way) and is an error too."""
        from websockets.exceptions import ConnectionClosed

        try:
            await self.request("release_session", "RELEASE_SESSION")
        except ConnectionClosed:
            self.stats.release_unanswered += 1

    async def receive(self) -> Reply:
        data = await asyncio.wait_for(self.connection.recv(), timeout=120)
        if isinstance(data, str):
            raise Failure("a text frame")
        return read_strictly(data)

    async def request(self, kind: str, name: str, headers: list[tuple[str, object]] = (),  # type: ignore[assignment]
                      body: bytes = b"", *, result: bool = False) -> tuple[Reply, Reply | None]:
        began = time.perf_counter()
        await self.connection.send(message(name, headers, body))
        reply = await self.receive()
        while reply.name == "RESPONSE" and reply.get("Method") == "SEND_AUDIO" and reply.result == "INVALID_ACTION":
            self.stats.late_chunks += 1  # audio in flight when the recognition ended
            reply = await self.receive()
        if reply.name != "RESPONSE" or reply.get("Method") != name or reply.result != "SUCCESS":
            raise Failure(f"{name}: {reply.name} {reply.headers}")
        final = await self.receive() if result else None
        self.stats.add(kind, time.perf_counter() - began)
        return reply, final


async def text_session(url: str, index: int, args: argparse.Namespace, stats: Stats, held: asyncio.Event,
                       counter: list[int], total: int, go: asyncio.Event) -> None:
    try:
        async with connect(url, max_size=None, open_timeout=60, ping_interval=None) as connection:
            client = Client(connection, stats)
            await client.request("create_session", "CREATE_SESSION", [("User-Agent", "bench/1.0")])
            name = f"drinks{index % args.grammars}"
            await client.request("define_grammar", "DEFINE_GRAMMAR",
                                 [("Content-ID", name), ("Content-Type", "application/srgs")],
                                 drinks_grammar(index % args.grammars).encode())
            counter[0] += 1
            if counter[0] == total:
                held.set()
            await go.wait()
            rng = random.Random(index)
            await asyncio.sleep(rng.uniform(0, args.think_ms / 1000))  # spread the first requests
            for round_ in range(args.rounds):
                text, grammar = TEXT_CASES[(index + round_) % len(TEXT_CASES)]
                uri = f"session:{name}" if grammar == "session" else grammar
                _, final = await client.request("interpret_text", "INTERPRET_TEXT",
                                                [("Text", text), ("Accept", "application/json"),
                                                 ("Content-Type", "text/uri-list")], uri.encode(), result=True)
                if final is None or final.get("Result-Status") != "RECOGNIZED":
                    raise Failure(f"INTERPRET_TEXT {text!r}: {final.headers if final else None}")
                if args.think_ms:
                    await asyncio.sleep(args.think_ms / 1000 * rng.uniform(0.5, 1.5))
            await client.release()
    except Exception as exc:  # every failure is counted, the run goes on
        stats.errors.append(f"text session {index}: {type(exc).__name__}: {exc}"[:300])
        counter[0] += 1
        if counter[0] == total:
            held.set()


async def run_text(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    # warm-up: every grammar compiled (and the built-in loaded) in every worker, the code paths run
    warm = argparse.Namespace(**{**vars(args), "rounds": len(TEXT_CASES), "think_ms": 0})
    count = args.grammars * args.workers * 2
    warm_held, warm_go = asyncio.Event(), asyncio.Event()
    warm_go.set()
    warm_stats = Stats()
    await asyncio.gather(*(text_session(server.url, i, warm, warm_stats, warm_held, [0], count, warm_go)
                           for i in range(count)))
    stats = Stats()
    stats.errors.extend(warm_stats.errors)
    held, go = asyncio.Event(), asyncio.Event()
    counter = [0]
    await asyncio.sleep(0.5)
    before = server.rss()
    began = time.perf_counter()
    tasks = [asyncio.create_task(text_session(server.url, i, args, stats, held, counter, args.sessions, go))
             for i in range(args.sessions)]
    await held.wait()
    setup = time.perf_counter() - began
    await asyncio.sleep(0.5)
    with_sessions = server.rss()
    sessions_held = sessions_reported(server)
    go.set()
    began = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    interprets = len(stats.latencies.get("interpret_text", []))
    return {"sessions": args.sessions, "sessions_held": sessions_held, "setup_s": round(setup, 2),
            "interpret_per_s": round(interprets / elapsed, 1), "latency": stats.summary(),
            "rss_before_mb": round(before / 2**20, 1), "rss_held_mb": round(with_sessions / 2**20, 1),
            "rss_per_session_kb": round((with_sessions - before) / max(1, args.sessions) / 1024, 1),
            "errors": len(stats.errors) + stats.release_unanswered, "release_unanswered": stats.release_unanswered,
            "error_samples": stats.errors[:5]}


def sessions_reported(server: Server) -> int:
    """Sessions held by the worker answering /health (one worker's view when there are several)."""
    total = 0
    seen: set[int] = set()
    for _ in range(20):
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10) as response:
            health = json.load(response)
        if health["pid"] not in seen:
            seen.add(health["pid"])
            total += int(health["sessions"])
    return total


# --- audio --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Utterance:
    pcm: bytes                 # 16 kHz 16-bit: lead silence, speech, trailing silence
    value: dict[str, object]   # its interpretation
    decidable_at: float        # seconds into the audio when the end of speech can be known


def utterances(folder: Path, wait_end_s: float) -> list[Utterance]:
    import numpy as np

    from decoder.audio import read_wav
    from tests.decoder.speech import synthesise

    lead, tail = 0.3, wait_end_s + 0.8
    found = []
    for text, value in AUDIO_CASES:
        speech = read_wav(synthesise(text, folder)).samples
        loud = np.flatnonzero(np.abs(speech.astype(np.int32)) > 500)
        speech_end = (int(loud[-1]) + 1 if len(loud) else len(speech)) / RATE
        pcm = b"\0\0" * int(RATE * lead) + speech.astype("<i2").tobytes() + b"\0\0" * int(RATE * tail)
        found.append(Utterance(pcm, value, lead + speech_end + wait_end_s))
    return found


async def audio_session(url: str, index: int, utterance: Utterance, delay: float, stats: Stats) -> None:
    pcm, expected = utterance.pcm, utterance.value
    await asyncio.sleep(delay)
    chunk = int(RATE * CHUNK_S) * 2
    try:
        async with connect(url, max_size=None, open_timeout=60, ping_interval=None) as connection:
            client = Client(connection, stats)
            await client.request("create_session", "CREATE_SESSION")
            await client.request("start_recognition", "START_RECOGNITION",
                                 [("Accept", "application/json"), ("Media-Type", "audio/raw"),
                                  ("Content-Type", "text/uri-list")], PIZZA.encode())
            events: list[tuple[Reply, float]] = []

            async def read() -> None:
                while True:
                    reply = await client.receive()
                    events.append((reply, time.perf_counter()))
                    if reply.name == "RECOGNITION_RESULT" and reply.get("Result-Status") != "PROCESSING":
                        return

            reader = asyncio.create_task(read())
            start = time.perf_counter()
            pieces = [pcm[i:i + chunk] for i in range(0, len(pcm), chunk)]
            decidable: float | None = None  # when the chunk that lets the server know the speech ended was sent
            for number, piece in enumerate(pieces):
                if reader.done() or any(reply.name == "END_OF_SPEECH" for reply, _ in events):
                    break  # the server heard the end of speech: no more audio
                last = number == len(pieces) - 1
                await connection.send(message("SEND_AUDIO", [("LastPacket", "true" if last else "false"),
                                                             ("Content-Type", "application/octet-stream")], piece))
                if decidable is None and ((number + 1) * CHUNK_S >= utterance.decidable_at or last):
                    decidable = time.perf_counter()
                await asyncio.sleep(max(0.0, start + (number + 1) * CHUNK_S - time.perf_counter()))  # real time
            await asyncio.wait_for(reader, timeout=120)
            final, done = events[-1]
            body = final.json() if final.body else {}
            alternatives = body.get("alternatives") or [{}]
            got = (alternatives[0].get("interpretations") or [None])[0]
            if final.get("Result-Status") != "RECOGNIZED" or got != expected:
                raise Failure(f"audio session {index}: {final.get('Result-Status')} {got!r}, expected {expected!r}")
            # the wait for the result, from the first moment the end of speech was known: END_OF_SPEECH
            # coming back, or the audio sent reaching the speech's last loud sample + the endpointer's
            # wait_end (so a server that falls behind and announces the end late is caught too)
            known = [at for reply, at in events[:-1] if reply.name == "END_OF_SPEECH"] + [decidable or done]
            stats.add("result_after_end_of_speech", max(0.0, done - min(known)))
            await client.release()
    except Exception as exc:
        stats.errors.append(f"audio session {index}: {type(exc).__name__}: {exc}"[:300])


async def run_audio(server: Server, count: int, cases: list[Utterance]) -> dict[str, Any]:
    stats = Stats()
    spread = len(cases[0].pcm) / 2 / RATE
    tasks = [audio_session(server.url, i, cases[i % len(cases)], spread * i / count, stats) for i in range(count)]
    await asyncio.gather(*tasks)
    return {"sessions": count, "latency": stats.summary(), "errors": len(stats.errors) + stats.release_unanswered,
            "recognition_errors": len(stats.errors), "release_unanswered": stats.release_unanswered,
            "late_chunks": stats.late_chunks, "error_samples": stats.errors[:5]}


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200, help="concurrent text sessions (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="INTERPRET_TEXT per text session (default 5)")
    parser.add_argument("--think-ms", type=float, default=1000.0, help="pause between a session's requests (default 1000)")
    parser.add_argument("--grammars", type=int, default=20, help="distinct grammars among the sessions (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--audio", default="1,2,4,8", help="audio session counts to run, comma-separated ('' none)")
    parser.add_argument("--audio-p99-ms", type=float, default=1000.0, help="p99 latency a count must stay under")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    args = parser.parse_args()
    counts = [int(c) for c in args.audio.split(",") if c.strip()]
    report: dict[str, Any] = {"workers": args.workers, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="srgs-bench-load-") as tmp:
        folder = Path(tmp)
        most = max(args.sessions, 2 * args.grammars * args.workers) + max(counts or [0]) + 10
        server = start_server(args.workers, most, folder)
        try:
            if args.sessions:
                report["text"] = asyncio.run(run_text(server, args))
            if counts:
                from decoder.endpointer import EndpointerSettings

                cases = utterances(folder, EndpointerSettings().wait_end_ms / 1000)
                runs = []
                asyncio.run(run_audio(server, 1, cases))  # warm-up: the acoustic model loads in each worker
                for count in counts:
                    run = asyncio.run(run_audio(server, count, cases))
                    p99 = run["latency"].get("result_after_end_of_speech", {}).get("p99_ms", float("inf"))
                    run["keeps_up"] = run["recognition_errors"] == 0 and p99 < args.audio_p99_ms
                    runs.append(run)
                report["audio"] = runs
                kept = [run["sessions"] for run in runs if run["keeps_up"]]
                report["audio_sessions_in_real_time"] = max(kept) if kept else 0
        finally:
            status = server.stop()
            report["server_exit"] = status
            log = server.log.read_text(errors="replace")
            report["server_tracebacks"] = log.count("Traceback")
            if "Traceback" in log:
                at = log.index("Traceback")
                report["server_log_excerpt"] = log[max(0, at - 300):at + 2500]
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report)
    errors = report.get("text", {}).get("errors", 0) + sum(run["errors"] for run in report.get("audio", []))
    return 1 if errors or report["server_tracebacks"] else 0


def print_report(report: dict[str, Any]) -> None:
    print(f"server: {report['workers']} worker process(es) on {report['cores']} cores")
    text = report.get("text")
    if text:
        print(f"text sessions: {text['sessions']} concurrent (server reports {text['sessions_held']} held), "
              f"set up in {text['setup_s']} s; {text['interpret_per_s']} INTERPRET_TEXT/s")
        print(f"  memory: {text['rss_before_mb']} MB before, {text['rss_held_mb']} MB with the sessions held: "
              f"{text['rss_per_session_kb']} kB per session")
        for kind, figures in text["latency"].items():
            print(f"  {kind:18s} n={figures['count']:5d}  p50 {figures['p50_ms']:7.1f} ms  "
                  f"p99 {figures['p99_ms']:7.1f} ms  max {figures['max_ms']:7.1f} ms")
        print(f"  errors: {text['errors']} (RELEASE_SESSION closed without its RESPONSE: {text['release_unanswered']}) "
              f"{text['error_samples'] or ''}")
    for run in report.get("audio", []):
        figures = run["latency"].get("result_after_end_of_speech", {})
        print(f"audio sessions: {run['sessions']:3d} in real time: result after END_OF_SPEECH "
              f"p50 {figures.get('p50_ms', float('nan')):7.1f} ms  p99 {figures.get('p99_ms', float('nan')):7.1f} ms; "
              f"errors {run['errors']} (wrong or missing results {run['recognition_errors']}, RELEASE_SESSION "
              f"closed without its RESPONSE {run['release_unanswered']}); "
              f"{'keeps up' if run['keeps_up'] else 'falls behind'}; "
              f"{run['late_chunks']} chunks sent before END_OF_SPEECH reached the client {run['error_samples'] or ''}")
    if "audio_sessions_in_real_time" in report:
        print(f"audio sessions kept in real time: {report['audio_sessions_in_real_time']}")
    print(f"server exit status {report['server_exit']}, tracebacks in its log: {report['server_tracebacks']}")
    if "server_log_excerpt" in report:
        print(report["server_log_excerpt"])


if __name__ == "__main__":
    sys.exit(main())
