"""The ASGI application `python -m benchmarks.whatsapp` serves: the product's own
`config.asgi:application` (same middleware, same routes, same WebSocket consumers), plus two
benchmark-only HTTP endpoints that let every figure be read against what the machine allows:

- `/__bench/ok`: a bare Django view that only answers 200, behind the whole middleware stack,
  in the same processes as the real webhook endpoint;
- `/__bench/asgi`: a 200 answered by the ASGI layer before Django is reached, the ceiling of
  server + load generator on this machine.

Only the benchmark starts a server on this module; nothing in the product imports it.
"""

from __future__ import annotations

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

from django.conf import settings  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

import config.urls  # noqa: E402

BARE_VIEW_PATH = "/__bench/ok"
RAW_ASGI_PATH = "/__bench/asgi"


@csrf_exempt
def bare_ok(request: HttpRequest) -> HttpResponse:
    """Reads the body, as the webhook view does, and answers 200: nothing else."""
    request.body  # noqa: B018
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path(BARE_VIEW_PATH.lstrip("/"), bare_ok), *config.urls.urlpatterns]
handler500 = config.urls.handler500

# Before the product's ASGI app is built: every request resolves against this URLconf.
settings.ROOT_URLCONF = __name__

from config.asgi import application as product_application  # noqa: E402

_RAW_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"2")]


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == RAW_ASGI_PATH:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": _RAW_HEADERS})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await product_application(scope, receive, send)
