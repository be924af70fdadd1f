"""Keep-alive HTTP connections to providers, shared by a process's threads (urllib3 itself:
requests costs as much CPU again on every call). One pool per scheme and host, with the
environment's proxy (HTTPS_PROXY, NO_PROXY) and CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE;
certifi's otherwise), read once per host as requests would read them on every call."""

from __future__ import annotations

import os
import threading
import urllib.request
from urllib.parse import urlsplit

import certifi
import urllib3


class Pools:
    """The pools of one provider package (each keeps its own, sized for its traffic)."""

    def __init__(self, *, maxsize: int) -> None:
        self.maxsize = maxsize
        self.by_host: dict[tuple[str, str], urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str) -> urllib3.PoolManager:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        pool = self.by_host.get(key)
        if pool is None:
            with self._lock:
                pool = self.by_host.get(key)
                if pool is None:
                    ca_certs = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                                or certifi.where())
                    proxy = urllib.request.getproxies().get(parts.scheme)
                    bypass = urllib.request.proxy_bypass(parts.hostname or "") if proxy else True
                    pool = (urllib3.ProxyManager(proxy, ca_certs=ca_certs, maxsize=self.maxsize)
                            if proxy and not bypass else urllib3.PoolManager(ca_certs=ca_certs, maxsize=self.maxsize))
                    self.by_host[key] = pool
        return pool
