"""`python -m benchmarks.scale`: the inbox, the API and the reports at the size of a large tenant,
timed warm, one request at a time, through the production settings and server.

    manage.py seed_scale --conversations 1000000 --messages 10000000      # once (conversations.scale)
    python -m benchmarks.scale [--slug scale] [--requests 30] [--warm 5] [--server-workers 2] [--explain] [--only NAME]

Run it from the repository root with DATABASE_URL (PostgreSQL, the database seed_scale loaded)
and REDIS_URL, each a database of its own. It starts uvicorn (production settings, DEBUG off,
`--server-workers` processes) on 127.0.0.1 and a free port, logs in as the tenant's first agent
and as its admin (a session each, made here as the login makes it), asks for an API token (JWT) for
each, then times every request below `--requests` times after `--warm` untimed ones, one at a
time, over one keep-alive connection. Every loop is bounded; it stops the server by itself.

Queries per request are counted in this process (the same view, the same database, through
Django's test client), once per request, as the query-count tests of the suite count them; with
`--explain`, the slowest statement of each request is shown with EXPLAIN (ANALYZE, BUFFERS).

The requests: the inbox's default view (mine / open), all / resolved, the next page of a list
(the scroll, from a cursor deep in all / resolved), the search by a word and by part of a phone
number, the thread of the 2,000-message conversation, the API's conversation list with filters
and from a deep cursor, and the reports page (when the product has one). Targets: the README's.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

import argparse  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import http.client  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import OperationalError, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from accounts.access import tenant_access_resolve  # noqa: E402
from accounts.authentication import SESSION_TENANT_KEY  # noqa: E402
from accounts.models import Membership, Role, User  # noqa: E402
from accounts.services import tokens_issue  # noqa: E402
from accounts.two_factor import SESSION_KEY as TWO_FACTOR_KEY  # noqa: E402
from accounts.two_factor import VERIFIED  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    HOST,
    BenchmarkError,
    Processes,
    Shape,
    command_run,
    free_port,
    machine_facts,
    percentile,
    say,
)
from contacts.models import Contact  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from tenants.models import Tenant  # noqa: E402

REPORTS_PATH = "/reports/"
# A request whose statement runs longer than this in this process is reported, not timed.
STATEMENT_TIMEOUT_S = 120
# A request that takes longer than this in this process is reported with that time, not timed over HTTP.
TOO_SLOW_S = 10.0


@dataclass(frozen=True)
class Target:
    """What a kind of request must stay under (p95, milliseconds)."""

    name: str
    p95_ms: float


INBOX = Target("inbox views and scroll", 100)
SEARCH = Target("search", 300)
THREAD = Target("thread page", 50)
API = Target("API list", 50)
REPORTS = Target("reports", 500)


@dataclass
class Scenario:
    name: str
    who: str  # "agent" or "admin"
    path: str
    target: Target
    api: bool = False
    expect: str = ""  # text the answer must hold (it found something)


@dataclass
class Timing:
    scenario: Scenario
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: dict[int, int] = field(default_factory=dict)
    queries: int = 0
    queries_again: int = 0
    bytes: int = 0
    slowest_sql: str = ""
    slowest_sql_ms: float = 0.0
    plan: str = ""
    # Why it was not timed (its statement ran past the timeout in this process), or "".
    skipped: str = ""
    # Fewer timed requests than asked: the budget ran out.
    cut_short: bool = False

    def ms(self, share: float) -> float:
        return percentile(sorted(self.latencies), share) * 1000


@dataclass(frozen=True)
class Options:
    slug: str
    requests: int
    warm: int
    server_workers: int
    explain: bool
    budget: float  # seconds a request kind may take in all; past it, fewer requests are timed
    only: str = ""  # time only the requests whose name holds this text ("" for all)


@dataclass
class Identity:
    user: User
    cookie: str
    token: str


class Benchmark:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.log_dir = Path(tempfile.mkdtemp(prefix="benchmark_scale-"))
        self.processes = Processes(self.log_dir)
        self.port = 0
        self.lines: list[str] = []

    def run(self) -> list[str]:
        tenant = Tenant.objects.filter(slug=self.options.slug).first()
        if tenant is None:
            raise BenchmarkError(f"No tenant {self.options.slug!r}: load one first with "
                                 f"`manage.py seed_scale --slug {self.options.slug} --conversations N --messages M`.")
        facts = machine_facts()
        load_before = os.getloadavg()
        identities = self._identities(tenant)
        scenarios = [scenario for scenario in self._scenarios(tenant, identities)
                     if self.options.only.casefold() in scenario.name.casefold()]
        say(f"{len(scenarios)} requests to time, {self.options.requests} times each; counting their queries first.")
        timings = [Timing(scenario) for scenario in scenarios]
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT_S}s'")
        for timing in timings:
            self._count_queries(tenant, identities, timing)
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
        self._collectstatic()
        try:
            self._start()
            for timing in timings:
                if timing.skipped:
                    continue
                self._time(identities, timing)
                say(f"  {timing.scenario.name}: p50 {timing.ms(0.5):.0f} ms, p95 {timing.ms(0.95):.0f} ms")
        finally:
            self.processes.stop()
            for identity in identities.values():  # the sessions made for the run go with it
                SessionStore(session_key=identity.cookie.partition("=")[2]).delete()
        load_after = os.getloadavg()
        return list(self._render(tenant, facts, timings, load_before, load_after))

    # --- setting up -----------------------------------------------------------------------------

    def _identities(self, tenant: Tenant) -> dict[str, Identity]:
        found: dict[str, Identity] = {}
        for who, role in (("agent", Role.AGENT), ("admin", Role.TENANT_ADMIN)):
            membership = (Membership.all_objects.select_related("user").filter(tenant=tenant, role=role, is_active=True)
                          .order_by("user__email").first())
            if membership is None:
                raise BenchmarkError(f"The tenant has no active {role} (seed_scale makes one).")
            user = membership.user
            if who == "agent":  # agent1 (seed_scale's), who works the long conversation's channel
                user = User.objects.filter(email=f"agent1@{tenant.slug}.example.com").first() or user
            found[who] = Identity(user=user, cookie=self._session(user, tenant), token=self._token(user, tenant))
        return found

    @staticmethod
    def _session(user: User, tenant: Tenant) -> str:
        """A session as the inbox's login opens it (accounts.sessions): the user, the backend, the
        tenant, and the second factor given (should the tenant require one)."""
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[SESSION_TENANT_KEY] = tenant.pk
        session[TWO_FACTOR_KEY] = VERIFIED
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    @staticmethod
    def _token(user: User, tenant: Tenant) -> str:
        access = tenant_access_resolve(user_id=user.pk, tenant_id=tenant.pk)
        assert access is not None
        return tokens_issue(access=access)["access"]

    def _scenarios(self, tenant: Tenant, identities: dict[str, Identity]) -> list[Scenario]:
        resolved = Conversation.all_objects.filter(tenant=tenant, status=Conversation.Status.RESOLVED).order_by(
            "-last_activity_at", "-id")
        total_resolved = resolved.count()
        deep = resolved.only("last_activity_at", "public_id", "channel_id")[total_resolved // 2]
        scroll_cursor = f"{deep.last_activity_at.isoformat()}_{deep.public_id}"
        long_conversation = self._long_conversation(tenant)
        contact = Contact.all_objects.filter(tenant=tenant).order_by("id")[
            Contact.all_objects.filter(tenant=tenant).count() // 3]
        digits = contact.phone[-8:]
        phone_typed = f"{digits[:4]} {digits[4:]}"  # as an agent types it: "1234 5678"
        channel = deep.channel
        api_cursor = base64.b64encode(urlencode({"p": str(deep.last_activity_at)}).encode()).decode()
        list_query = {"tab": "all", "status": "resolved"}
        scenarios = [
            Scenario("inbox, default view (mine / open), agent", "agent", "/inbox/", INBOX),
            Scenario("inbox, default view (mine / open), admin", "admin", "/inbox/", INBOX),
            Scenario("inbox, all / resolved, agent", "agent", f"/inbox/?{urlencode(list_query)}", INBOX),
            Scenario("inbox, all / resolved, admin", "admin", f"/inbox/?{urlencode(list_query)}", INBOX),
            Scenario("scroll: next page deep in all / resolved, admin", "admin",
                     f"/inbox/rows/?{urlencode({**list_query, 'after': scroll_cursor})}", INBOX),
            Scenario("search by a word (\"boleto\"), all / resolved, agent", "agent",
                     f"/inbox/?{urlencode({**list_query, 'q': 'boleto'})}", SEARCH, expect="<mark>"),
            Scenario("search by a rarer word (\"geladeira\"), all / resolved, admin", "admin",
                     f"/inbox/?{urlencode({**list_query, 'q': 'geladeira'})}", SEARCH, expect="<mark>"),
            Scenario(f"search by part of a phone (\"{phone_typed}\"), all / resolved, admin", "admin",
                     f"/inbox/?{urlencode({**list_query, 'q': phone_typed})}", SEARCH),
            Scenario(f"thread of the {long_conversation[1]:,}-message conversation, agent", "agent",
                     f"/inbox/c/{long_conversation[0].public_id}/thread/", THREAD),
            Scenario("API list: status open,pending + assignee me, agent", "agent",
                     "/api/v1/conversations?" + urlencode({"status": "open,pending", "assignee": "me"}), API, api=True),
            Scenario("API list: status resolved + channel, admin", "admin",
                     "/api/v1/conversations?" + urlencode({"status": "resolved", "channel": str(channel.public_id)}),
                     API, api=True),
            Scenario("API list: resolved + channel, deep cursor, admin", "admin",
                     "/api/v1/conversations?" + urlencode({"status": "resolved", "channel": str(channel.public_id),
                                                            "cursor": api_cursor}), API, api=True),
            Scenario("API list: all, deep cursor, admin", "admin",
                     "/api/v1/conversations?" + urlencode({"cursor": api_cursor}), API, api=True),
        ]
        if _reports_exist():
            scenarios.append(Scenario("reports page, admin", "admin", REPORTS_PATH, REPORTS))
        return scenarios

    @staticmethod
    def _long_conversation(tenant: Tenant) -> tuple[Conversation, int]:
        """seed_scale's long conversation (the tenant's settings name it), with its message count."""
        public_id = tenant.settings.get("scale_seed", {}).get("long_conversation")
        conversation = Conversation.all_objects.filter(tenant=tenant, public_id=public_id).first() if public_id else None
        if conversation is None:
            raise BenchmarkError("The tenant does not name its long conversation: load it with seed_scale.")
        return conversation, Message.all_objects.filter(conversation=conversation).count()

    def _count_queries(self, tenant: Tenant, identities: dict[str, Identity], timing: Timing) -> None:
        """The request's statements, counted twice here (the second, warm, is the one shown; a
        difference says the count is not constant), with the slowest one (and its plan)."""
        identity = identities[timing.scenario.who]
        client = Client(HTTP_HOST=HOST, raise_request_exception=True)
        headers: dict[str, str] = {}
        if timing.scenario.api:
            headers["Authorization"] = f"Bearer {identity.token}"
        else:
            client.cookies.load(identity.cookie)
        counts = []
        for _ in range(2):
            captured = CaptureQueriesContext(connection)
            started = time.perf_counter()
            try:
                with captured:
                    response = client.get(timing.scenario.path, headers=headers)
            except OperationalError as error:  # the statement timeout (QueryCanceled)
                timing.skipped = f"a statement ran past {STATEMENT_TIMEOUT_S} s ({str(error).splitlines()[0]})"
                say(f"  {timing.scenario.name}: {timing.skipped}; not timed.")
                return
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise BenchmarkError(f"{timing.scenario.name}: {timing.scenario.path} answered "
                                     f"{response.status_code} in this process.")
            counts.append(len(captured.captured_queries))
            if elapsed > TOO_SLOW_S:
                timing.skipped = f"{elapsed:.1f} s in this process, once"
                break
        timing.queries, timing.queries_again = counts[-1], counts[0]
        slowest = max(captured.captured_queries, key=lambda query: float(query["time"]))
        timing.slowest_sql, timing.slowest_sql_ms = slowest["sql"], float(slowest["time"]) * 1000
        say(f"  {timing.scenario.name}: {timing.queries} queries, the slowest {timing.slowest_sql_ms:.0f} ms"
            + (f"; {timing.skipped}: not timed over HTTP" if timing.skipped else ""))
        if self.options.explain and timing.slowest_sql.lstrip().upper().startswith("SELECT"):
            # A statement too slow to time is shown with its plan alone (EXPLAIN without ANALYZE).
            explain = "EXPLAIN" if timing.skipped else "EXPLAIN (ANALYZE, BUFFERS)"
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"{explain} {timing.slowest_sql}")
                    timing.plan = "\n".join(row[0] for row in cursor.fetchall())
            except OperationalError as error:
                timing.plan = f"(EXPLAIN ANALYZE stopped: {str(error).splitlines()[0]})"

    def _collectstatic(self) -> None:
        """The production settings serve hashed static files (a manifest): collected once, as a
        deployment does."""
        result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                                env=self._environment(), capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise BenchmarkError(f"collectstatic failed:\n{result.stderr[-2000:]}")

    def _environment(self) -> dict[str, str]:
        """Production settings, with this process's keys (its tokens must verify there), no TLS
        redirect (loopback), and the API's rate limit out of the way of a benchmark."""
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": settings.SECRET_KEY, "JWT_SIGNING_KEY": settings.JWT_SIGNING_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "ALLOWED_HOSTS": f"{HOST},localhost", "EMAIL_URL": "consolemail://",
            "DEFAULT_FROM_EMAIL": "Inbox <no-reply@localhost>", "SECURE_SSL_REDIRECT": "false",
            "API_RATE_LIMIT_DEFAULT": "1000000", "LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore",
        })
        return env

    def _start(self) -> None:
        self.port = free_port()
        shape = Shape(server="uvicorn", server_workers=self.options.server_workers, worker_pool="prefork",
                      worker_concurrency=1, server_conn_max_age=0, worker_conn_max_age=0)
        argv, text = shape.server_argv(self.port)
        self.server_text = text
        self.processes.start("server", argv, self._environment())
        deadline = time.monotonic() + 90
        while True:
            self.processes.check()
            with contextlib.suppress(OSError):
                connection_ = http.client.HTTPConnection(HOST, self.port, timeout=5)
                connection_.request("GET", "/api/health")
                connection_.getresponse().read()
                connection_.close()
                break
            if time.monotonic() > deadline:
                raise BenchmarkError(f"The server did not answer in 90 s:\n{self.processes.log_tail('server')}")
            time.sleep(0.3)
        say(f"Started {text} on {HOST}:{self.port} (logs: {self.log_dir}).")

    # --- timing ---------------------------------------------------------------------------------

    def _time(self, identities: dict[str, Identity], timing: Timing) -> None:
        """`warm` untimed requests (each on a new connection, so that every server process serves
        some), then up to `requests` timed ones on one keep-alive connection; at least three, and
        no more once the budget is spent."""
        identity = identities[timing.scenario.who]
        headers = ({"Authorization": f"Bearer {identity.token}"} if timing.scenario.api
                   else {"Cookie": identity.cookie})
        client = http.client.HTTPConnection(HOST, self.port, timeout=600)

        def ask() -> float:
            started = time.perf_counter()
            client.request("GET", timing.scenario.path, headers=headers)
            response = client.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise BenchmarkError(f"{timing.scenario.name}: {timing.scenario.path} answered {response.status}:"
                                     f" {body[:300]!r}\n{self.processes.log_tail('server')}")
            if timing.scenario.expect and timing.scenario.expect.encode() not in body:
                raise BenchmarkError(f"{timing.scenario.name}: the answer holds no {timing.scenario.expect!r}.")
            timing.bytes = len(body)
            return elapsed

        try:
            warm_until = time.monotonic() + self.options.budget / 3
            for _ in range(self.options.warm):
                client.close()
                ask()
                if time.monotonic() > warm_until:
                    break
            deadline = time.monotonic() + self.options.budget
            while len(timing.latencies) < self.options.requests:
                timing.latencies.append(ask())
                if time.monotonic() > deadline and len(timing.latencies) >= 3:
                    break
            timing.cut_short = len(timing.latencies) < self.options.requests
        finally:
            client.close()

    # --- the report -----------------------------------------------------------------------------

    def _render(self, tenant: Tenant, facts: dict[str, str], timings: list[Timing],
                load_before: tuple[float, float, float], load_after: tuple[float, float, float]) -> Iterator[str]:
        counts = {
            "conversations": Conversation.all_objects.filter(tenant=tenant).count(),
            "messages": _estimate(Message),
            "contacts": Contact.all_objects.filter(tenant=tenant).count(),
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
        seeded = tenant.settings.get("scale_seed", {})
        yield ""
        yield "# Scale benchmark (benchmarks.scale)"
        yield ""
        yield (f"Tenant {tenant.slug}: {counts['conversations']:,} conversations, ~{counts['messages']:,} messages "
               f"(planner's estimate, whole table), {counts['contacts']:,} contacts; database {size}.")
        if seeded:
            yield (f"Loaded by seed_scale in {seeded.get('total_seconds', 0):.0f} s "
                   f"({seeded.get('conversations', 0):,} conversations, {seeded.get('messages', 0):,} messages).")
        else:
            yield "Load time: not recorded for this tenant (seed_scale prints it)."
        yield ""
        for name, value in facts.items():
            yield f"- {name}: {value}"
        yield f"- server: {self.server_text}, config.settings.production"
        yield (f"- load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)}; "
               f"after: {', '.join(f'{v:.2f}' for v in load_after)}")
        yield (f"- each request {self.options.requests} times after {self.options.warm} warm-up ones, one at a time, "
               "one keep-alive connection")
        yield ""
        yield "| request | p50 ms | p95 ms | max ms | queries | target p95 | met |"
        yield "| --- | ---: | ---: | ---: | ---: | --- | --- |"
        for timing in timings:
            target = timing.scenario.target
            if timing.skipped:
                yield (f"| {timing.scenario.name} | | | | | {target.name} ≤ {target.p95_ms:.0f} ms | NO: "
                       f"{timing.skipped} |")
                continue
            met = "yes" if timing.ms(0.95) <= target.p95_ms else "NO"
            queries = str(timing.queries) + ("" if timing.queries == timing.queries_again
                                             else f" (cold {timing.queries_again})")
            if timing.cut_short:
                met += f" ({len(timing.latencies)} requests: the {self.options.budget:.0f} s budget ran out)"
            yield (f"| {timing.scenario.name} | {timing.ms(0.5):.0f} | {timing.ms(0.95):.0f} | "
                   f"{max(timing.latencies) * 1000:.0f} | {queries} | {target.name} ≤ {target.p95_ms:.0f} ms | {met} |")
        if not _reports_exist() and not self.options.only:
            yield f"| reports page | pending: no {REPORTS_PATH} in this version | | | | {REPORTS.name} ≤ " \
                  f"{REPORTS.p95_ms:.0f} ms | |"
        yield ""
        yield "Slowest statement of each request (in this process, warm):"
        for timing in timings:
            if not timing.slowest_sql:
                continue
            yield f"- {timing.scenario.name}: {timing.slowest_sql_ms:.1f} ms: {timing.slowest_sql[:160]}..."
            if timing.plan:
                yield "```"
                yield from timing.plan.splitlines()
                yield "```"


def _estimate(model: type) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                       [model._meta.db_table])  # type: ignore[attr-defined]
        return int(cursor.fetchone()[0])


def _reports_exist() -> bool:
    try:
        resolve(REPORTS_PATH)
    except Resolver404:
        return False
    return True


def parser_create() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--slug", default="scale", help="The tenant seed_scale loaded.")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests of each kind.")
    parser.add_argument("--warm", type=int, default=5, help="Untimed requests of each kind first.")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--budget", type=float, default=120.0,
                        help="Seconds one kind of request may take in all (at least 3 are timed).")
    parser.add_argument("--explain", action="store_true", help="Show the plan of each request's slowest statement.")
    parser.add_argument("--only", default="", help="Time only the requests whose name holds this text.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = vars(parser_create().parse_args(argv))
    run_options = Options(slug=options["slug"], requests=max(1, options["requests"]), warm=max(0, options["warm"]),
                          server_workers=max(1, options["server_workers"]), explain=options["explain"],
                          budget=max(1.0, options["budget"]), only=options["only"])
    run: Callable[[], list[str]] = Benchmark(run_options).run
    return command_run(run, clean=False, database="postgres://postgres@127.0.0.1:5432/bench_scale",
                       redis="redis://127.0.0.1:6379/11", needs_worker=False,
                       interrupted="Interrupted: the server was stopped.")


if __name__ == "__main__":
    sys.exit(main())
