"""A file named by URL in an API request (a reply's `media_url`), fetched without letting the
URL reach what it must not: only http(s); the host's addresses are resolved once and every one
must be public (no loopback, private, link-local, cloud metadata, shared or reserved range),
and the connection goes to the address that was checked (a name that resolves differently a
moment later changes nothing); redirects are not followed; the body is read up to a limit.
MEDIA_URL_ALLOW_PRIVATE lets development and tests fetch from their own machine."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

import certifi
import urllib3
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _

from config.errors import ValidationFailed
from config.net import address_is_public, host_addresses

_TIMEOUT = urllib3.Timeout(connect=5.0, read=20.0)
_CHUNK = 64 * 1024


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="media_url_refused", details={"media_url": [message]})


def _addresses(host: str, port: int) -> list[str]:
    try:
        found = host_addresses(host, port)
    except (OSError, UnicodeError):
        raise _refused(_("The media URL's host could not be found.")) from None
    if not settings.MEDIA_URL_ALLOW_PRIVATE and not all(address_is_public(ip) for ip in found):
        raise _refused(_("The media URL points to a private or reserved address: only public addresses are fetched."))
    return found


def remote_file_fetch(url: str, *, max_bytes: int) -> SimpleUploadedFile:
    """The file at `url`, as an upload (its type is read from its bytes later, as any upload's).
    Raises ValidationFailed (media_url_refused) with the reason, in the caller's language."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise _refused(_("Give an http or https URL without credentials in it."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _refused(_("Give an http or https URL without credentials in it.")) from None
    address = _addresses(parts.hostname, port)[0]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if parts.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address, port, server_hostname=parts.hostname, assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), timeout=_TIMEOUT, retries=False, maxsize=1)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=_TIMEOUT, retries=False, maxsize=1)
    try:
        response = pool.urlopen("GET", path, headers={"Host": host_header, "User-Agent": "inbox-media-fetch"},
                                redirect=False, preload_content=False)
        try:
            if 300 <= response.status < 400:
                raise _refused(_("The media URL redirects elsewhere; give the file's own URL."))
            if response.status != 200:
                raise _refused(_("The media URL answered %(status)s instead of the file.") % {"status": response.status})
            data = bytearray()
            for chunk in response.stream(_CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    raise _refused(_("The file at the media URL is larger than %(size)s MB.")
                                   % {"size": max_bytes // (1024 * 1024)})
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        raise _refused(_("The media URL could not be fetched (%(reason)s).") % {"reason": type(error).__name__}) from None
    finally:
        pool.close()
    name = posixpath.basename(unquote(parts.path)) or "file"
    return SimpleUploadedFile(name[:200], bytes(data), content_type=response.headers.get("Content-Type", ""))
