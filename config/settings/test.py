"""The test suite: the embedded default, or the production shape when DATABASE_URL and
REDIS_URL are set. Each pytest-xdist worker gets its own Redis database so that parallel
workers never see each other's cache, rate-limit counters or channel-layer groups."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_worker_number = int(_worker[2:]) if _worker[2:].isdigit() else 0
if os.environ.get("REDIS_URL"):
    _url = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{1 + _worker_number % 15}"))

from config.settings.base import *  # noqa: E402,F403

DEBUG = False
# A fixed address, as a deployment sets one (tests of the request's own address unset it).
PUBLIC_BASE_URL = PUBLIC_BASE_URL or "http://127.0.0.1:8000"  # noqa: F405
# The providers' simulators the tests connect to are on this machine (tests of the refusal turn it off).
PROVIDER_URL_ALLOW_PRIVATE = True
# The webhook receivers of the tests are on this machine too (the SSRF tests turn it off), and
# endpoints are read at every event (a test's endpoints are gone when the next test begins).
WEBHOOKS_ALLOW_PRIVATE = True
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = 0.0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run in the test process; tests/test_celery_worker.py runs a real worker on the broker.
CELERY_TASK_ALWAYS_EAGER = True
MEDIA_ROOT = BASE_DIR / ".local" / f"test-media-{_worker}"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The browser tests (tests/e2e) serve the app from a thread of the test process, and it
    # answers each request in a thread of its own: every thread needs its own connection to
    # the same database, which an in-memory SQLite database cannot give (one connection shared
    # by concurrent threads mixes their transactions). So a file, one per test process (xdist
    # workers included), deleted at the end. IMMEDIATE transactions and a busy timeout let
    # concurrent requests wait for each other instead of failing with "database is locked".
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"inbox-test-{os.getpid()}.sqlite3"),
    }
    DATABASES["default"].setdefault("OPTIONS", {}).update(  # noqa: F405
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA synchronous = OFF"}
    )
