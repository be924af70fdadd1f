"""What a file kept with a message is, and how it may be shown.

Its type comes from its bytes (`filetype` reads their signature): neither its name nor the
type a browser or a provider declared is trusted, since an agent or a contact chooses both.
Only passive types (raster images, audio, video, PDF) are ever shown inline from our origin;
everything else (SVG, HTML, XML and any type we cannot name) is a download, and every
attachment response forbids sniffing and running anything. One decision for the reply form,
the media that providers deliver, the thread and the attachment URL."""

from __future__ import annotations

import codecs
import uuid
from dataclasses import dataclass
from typing import IO

import filetype

# filetype reads at most this many leading bytes of a file.
SIGNATURE_BYTES = 8192
UNKNOWN_TYPE = "application/octet-stream"

# Types a browser shows without running anything of the file.
INLINE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp", "image/apng",
    "audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/x-wav", "audio/x-flac",
    "video/mp4", "video/webm", "video/quicktime", "video/3gpp", "video/x-m4v",
    "application/pdf",
})
# Text has no signature: a declared plain-text type is kept when the bytes are text. Active
# text types (HTML, SVG, XML, JavaScript) are not among them and become unknown bytes.
PLAIN_TEXT_TYPES = {"text/plain": "txt", "text/csv": "csv"}

# Every attachment response carries these: no sniffing a type of its own, and a document
# that is sandboxed (a unique origin, no scripts) and may load nothing.
ATTACHMENT_RESPONSE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}


@dataclass(frozen=True)
class AttachmentKind:
    content_type: str
    extension: str  # of the stored file's name, which the name a person gave never chooses

    @property
    def inline(self) -> bool:
        return attachment_inline(self.content_type)

    @property
    def family(self) -> str:
        """How the thread shows it: "image", "audio" or "video" inline, else "file" (a download)."""
        return attachment_family(self.content_type)


def attachment_inline(content_type: str) -> bool:
    """Whether a file of this type may be shown inline from our origin."""
    return content_type in INLINE_TYPES


def attachment_family(content_type: str) -> str:
    if not attachment_inline(content_type):
        return "file"
    family = content_type.split("/", 1)[0]
    return family if family in ("image", "audio", "video") else "file"


def _is_text(head: bytes, *, whole: bool) -> bool:
    """UTF-8 without NULs (a character cut at the end of a head that is not the whole file is fine)."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        return False
    return True


def attachment_kind(*, head: bytes, declared: str = "", whole: bool = True) -> AttachmentKind:
    """The kind of a file from its first SIGNATURE_BYTES bytes (`whole`: `head` is all of it).
    `declared` only names text, which has no signature."""
    found = filetype.guess(bytes(head[:SIGNATURE_BYTES]))
    if found is not None:
        return AttachmentKind(content_type=found.mime, extension=found.extension)
    declared = declared.split(";", 1)[0].strip().lower()
    if declared in PLAIN_TEXT_TYPES and _is_text(head[:SIGNATURE_BYTES], whole=whole and len(head) <= SIGNATURE_BYTES):
        return AttachmentKind(content_type=declared, extension=PLAIN_TEXT_TYPES[declared])
    return AttachmentKind(content_type=UNKNOWN_TYPE, extension="bin")


def attachment_file_kind(file: IO[bytes], *, declared: str = "") -> AttachmentKind:
    """The kind of an open file (an upload, a stored attachment), read from its start; the
    file is left at its start."""
    file.seek(0)
    head = file.read(SIGNATURE_BYTES + 1)
    file.seek(0)
    return attachment_kind(head=head, declared=declared, whole=len(head) <= SIGNATURE_BYTES)


def attachment_storage_name(kind: AttachmentKind) -> str:
    """The name a file is stored under: random, with the extension of what it is, so that
    whatever serves the storage directly never takes it for a page or a script."""
    return f"{uuid.uuid4().hex}.{kind.extension}"
