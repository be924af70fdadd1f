from django.urls import path

from conversations import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("c/<uuid:conversation_id>/", views.inbox, name="inbox-conversation"),
    path("rows/", views.conversation_rows, name="inbox-rows"),
    path("rows/<uuid:conversation_id>/", views.conversation_row, name="inbox-row"),
    path("c/<uuid:conversation_id>/thread/", views.thread, name="inbox-thread"),
    path("c/<uuid:conversation_id>/header/", views.thread_header, name="inbox-thread-header"),
    path("c/<uuid:conversation_id>/messages/", views.older_messages, name="inbox-older"),
    path("c/<uuid:conversation_id>/reply/", views.reply, name="inbox-reply"),
    path("c/<uuid:conversation_id>/template/", views.send_template, name="inbox-template"),
    path("c/<uuid:conversation_id>/actions/", views.conversation_action, name="inbox-action"),
    path("c/<uuid:conversation_id>/read/", views.mark_read, name="inbox-read"),
    path("messages/<uuid:message_id>/", views.message_bubble, name="inbox-bubble"),
    path("messages/<uuid:message_id>/retry/", views.retry_message, name="inbox-retry"),
    path("messages/<uuid:message_id>/react/", views.react, name="inbox-react"),
    path("contacts/<uuid:contact_id>/", views.contact_panel, name="inbox-contact"),
    path("counts/", views.tab_counts, name="inbox-counts"),
    path("unread/", views.unread_count, name="inbox-unread"),
    path("banners/", views.channel_banners, name="inbox-banners"),
    path("attachments/<uuid:attachment_id>/", views.attachment, name="inbox-attachment"),
]
