"""What every provider's local simulator shares: its HTTP server (`HTTPSimulator`: start, stop,
the request handler, the threads beside it), the one thread that posts its webhooks in order
(`WebhookQueue`), and running it in the foreground (manage.py simulator <kind>,
`simulator_serve`): the same start, instructions, event log and stop for every provider, whose
command module says only what is its own (how to build it from the options, its instructions,
its events, its summary at the end). A provider's package keeps its wire format, routes and
behaviour."""

from __future__ import annotations

import heapq
import itertools
import logging
import signal
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar

logger = logging.getLogger(__name__)


class Simulator(Protocol):
    on_event: Callable[[str, dict[str, Any]], None] | None

    def start(self) -> Any: ...

    def stop(self) -> None: ...


def simulator_serve(simulator: Simulator, options: dict[str, Any], write: Callable[[str], Any], *,
                    usage: Callable[[], str], on_event: Callable[[str, dict[str, Any]], str | None],
                    summary: Callable[[], str], error: type[Exception]) -> None:
    """Serve until Ctrl-C or SIGTERM (or, with options["check"], print the instructions and
    stop). Raises `error` when it cannot listen. `on_event` gives the line to print for an event
    (None: nothing), unless options["quiet"]."""
    try:
        simulator.start()
    except OSError as problem:
        raise error(f"Cannot listen on {options['host']}:{options['port']}: {problem}") from None
    write(usage())
    if options["check"]:
        simulator.stop()
        return
    if not options["quiet"]:
        def log(event: str, data: dict[str, Any]) -> None:
            line = on_event(event, data)
            if line is not None:
                write(line)
        simulator.on_event = log
    write("\nCtrl-C to stop.")
    stopping = threading.Event()
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread:  # a second Ctrl-C must not interrupt the shutdown
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        simulator.stop()
        write(f"\nStopped. {summary()}")


# --- The HTTP server every simulator runs ---------------------------------------------------------

# (HTTP status, body, content type): what a simulator answers a request.
Response = tuple[int, bytes, str]
T = TypeVar("T")


class SimulatorHTTPServer(ThreadingHTTPServer):
    """The listening socket of one simulator; each connection is served in a thread of its own."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, simulator: HTTPSimulator) -> None:
        self.simulator = simulator
        self.request_queue_size = simulator.listen_backlog
        super().__init__((simulator.host, simulator.port), simulator.request_handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host's FQDN up in DNS: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up waiting (a timeout: what a simulated hang is for) is no error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: each request read whole and answered by the simulator's
    `dispatch` (its headers as the client named them)."""

    protocol_version = "HTTP/1.1"
    # An answer's head and body leave in one packet, at once: written apart on a keep-alive
    # connection, the body waited for the client's delayed ACK (Nagle), 40 ms per answer.
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: http.server flushes after each request
    server: SimulatorHTTPServer
    simulator: HTTPSimulator

    def setup(self) -> None:
        self.simulator = self.server.simulator
        self.server_version = self.simulator.server_version
        super().setup()
        self.connection.settimeout(self.simulator.idle_timeout)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.simulator.max_body:
            status, body, content_type = 413, b'{"error":"body too large"}', "application/json; charset=utf-8"
            self.close_connection = True  # the body is left unread
        else:
            raw = self.rfile.read(length) if length > 0 else b""
            status, body, content_type = self.simulator.dispatch(self.command, self.path, dict(self.headers.items()),
                                                                 raw)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # http.server's names for them.
    do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        logger.debug(format, *args)


class HTTPSimulator:
    """A provider's simulator on a local port: started and stopped (or used as a context
    manager), the HTTP server and the threads beside it run by it. A provider's simulator says how
    it answers (`dispatch`), its name and its limits; what posts its webhooks in order
    (`_webhook_queue`) runs with it, and anything else it runs beside the server is its own
    (`_background`, `_wind_down`)."""

    server_version = "Simulator"
    idle_timeout: float | None = None  # seconds an idle keep-alive connection is kept; None: until it closes
    max_body = 1024 * 1024
    listen_backlog = 5
    thread_prefix = "simulator"
    request_handler: type[SimulatorRequestHandler] = SimulatorRequestHandler

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.on_event: Callable[[str, dict[str, Any]], None] | None = None
        self._stopping = threading.Event()
        self._server: SimulatorHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._webhook_queues: list[WebhookQueue[Any]] = []

    def _webhook_queue(self, deliver: Callable[[T], float | None]) -> WebhookQueue[T]:
        """Webhooks posted in order by a thread that runs while the simulator does (see
        `WebhookQueue`); what is still queued when it stops is dropped."""
        queue = WebhookQueue(deliver, self._stopping)
        self._webhook_queues.append(queue)
        return queue

    def start(self) -> Self:
        self._stopping.clear()
        server = SimulatorHTTPServer(self)
        self._server, self.port = server, server.server_port
        self._threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                          name=f"{self.thread_prefix}-http", daemon=True),
                         *(queue.thread(f"{self.thread_prefix}-webhooks") for queue in self._webhook_queues),
                         *self._background()]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for queue in self._webhook_queues:
            queue.clear()
        self._wind_down()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Response:
        """The answer to one request, for a simulator served by `SimulatorRequestHandler`; one with
        its own hand-parsed handler never comes here."""
        raise NotImplementedError

    def _background(self) -> list[threading.Thread]:
        """The threads to run beside the HTTP server and the webhook queues (not started yet)."""
        return []

    def _wind_down(self) -> None:
        """Let go of what runs beside the server, which has stopped (the threads are joined next)."""

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event, data)
            except Exception:  # a printer's failure must not break the simulator
                logger.exception("%s: the on_event callback failed", type(self).__name__)


class WebhookQueue(Generic[T]):
    """Webhooks posted by one thread, one at a time, in the order they fall due (as a provider
    posts a session's events, in order). `deliver(item)` posts one and says in how many seconds to
    try it again (None: it is done). Nothing is queued once `stopping` is set; what `clear` drops
    counts as done."""

    def __init__(self, deliver: Callable[[T], float | None], stopping: threading.Event) -> None:
        self._deliver = deliver
        self._stopping = stopping
        self._heap: list[tuple[float, int, T, threading.Event]] = []
        self._sequence = itertools.count()
        self._pending = 0  # queued or being posted
        self._changed = threading.Condition()

    def put(self, item: T, *, delay: float = 0.0) -> threading.Event | None:
        """Queue `item`, due in `delay` seconds; the event is set once it is done (None: not queued)."""
        done = threading.Event()
        with self._changed:
            if self._stopping.is_set():
                return None
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._sequence), item, done))
            self._pending += 1
            self._changed.notify_all()
        return done

    @property
    def pending(self) -> int:
        return self._pending

    def wait_idle(self, timeout: float) -> bool:
        """Whether everything queued was done (posted and answered, or given up) within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending <= 0, timeout)

    def clear(self) -> None:
        with self._changed:
            for *_, done in self._heap:
                done.set()
            self._heap.clear()
            self._pending = 0
            self._changed.notify_all()

    def thread(self, name: str) -> threading.Thread:
        return threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._changed:
                if not self._heap:
                    self._changed.wait(0.5)
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(min(wait, 0.5))
                    continue
                _due, _sequence, item, done = heapq.heappop(self._heap)
            retry_in = None
            try:
                retry_in = self._deliver(item)
            except Exception:
                logger.exception("a simulator could not post a webhook")
            with self._changed:
                if retry_in is not None and not self._stopping.is_set():
                    heapq.heappush(self._heap, (time.monotonic() + retry_in, next(self._sequence), item, done))
                else:
                    self._pending = max(0, self._pending - 1)
                    done.set()
                self._changed.notify_all()


class _CountedRule(Protocol):
    count: int | None


Rule = TypeVar("Rule", bound=_CountedRule)


class FailureRules(Generic[Rule]):
    """The failures a simulator was told to answer with, the first added first: each answers the
    next `count` requests it matches (None: until cleared)."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def __len__(self) -> int:
        return len(self._rules)

    def listed(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    def take(self, matches: Callable[[Rule], bool]) -> Rule | None:
        """The first rule that `matches` this request, counted down (and gone when used up)."""
        with self._lock:
            for rule in self._rules:
                if matches(rule):
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    return rule
        return None
