"""Every change to conversations and messages, by agents, the API or providers: one module an
area (conversations, messages, receive, statuses, attachments, presence, organisation: teams,
labels and canned responses), each a set of `<entity>_<verb>` functions
that take `actor=` (or a channel) and never a request. The names callers use are here."""

from conversations.services.attachments import (
    ATTACHMENT_RESPONSE_HEADERS,
    attachment_family,
    attachment_file_kind,
    attachment_inline,
    attachment_kind,
)
from conversations.services.common import UNSET
from conversations.services.conversations import (
    conversation_create,
    conversation_mark_read,
    conversation_update,
)
from conversations.services.messages import (
    MAX_CONTENT_LENGTH,
    ServiceWindowClosed,
    message_attach_file,
    message_react,
    message_retry,
    message_send,
    message_send_template,
    message_update,
)
from conversations.services.organisation import (
    canned_response_create,
    canned_response_delete,
    canned_response_update,
    label_create,
    label_delete,
    label_update,
    team_create,
    team_delete,
    team_update,
)
from conversations.services.presence import contacts_presence_tell
from conversations.services.receive import ChannelReceived, Received, message_receive, messages_receive
from conversations.services.statuses import (
    DELIVERY_UNKNOWN,
    StatusChange,
    failure_text,
    message_status_update,
    message_statuses_advance,
    messages_lock_for_statuses,
    messages_sending_expire,
    send_problem,
)

__all__ = [
    "ATTACHMENT_RESPONSE_HEADERS", "DELIVERY_UNKNOWN", "MAX_CONTENT_LENGTH", "UNSET", "ChannelReceived", "Received",
    "ServiceWindowClosed", "StatusChange", "attachment_family", "attachment_file_kind", "attachment_inline",
    "attachment_kind", "contacts_presence_tell", "conversation_create", "conversation_mark_read", "conversation_update", "failure_text", "send_problem",
    "message_attach_file",
    "message_react", "message_receive", "message_retry", "message_send", "message_send_template", "message_status_update",
    "message_statuses_advance", "message_update", "messages_lock_for_statuses", "messages_receive",
    "messages_sending_expire",
    "canned_response_create", "canned_response_delete", "canned_response_update", "label_create", "label_delete",
    "label_update", "team_create", "team_delete", "team_update",
]
