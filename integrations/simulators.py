"""Running a provider's local simulator in the foreground (manage.py simulator <kind>): the
same start, instructions, event log and stop for every provider, whose command module says
only what is its own (how to build it from the options, its instructions, its events, its
summary at the end)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any, Protocol


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
