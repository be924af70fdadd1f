from django.urls import path

from integrations import member_views

urlpatterns = [
    path("members/", member_views.member_list_view, name="settings-members"),
    path("members/invite/", member_views.member_invite_view, name="settings-member-invite"),
    path("members/<uuid:user_id>/", member_views.member_detail_view, name="settings-member"),
    path("members/<uuid:user_id>/role/", member_views.member_role_view, name="settings-member-role"),
    path("members/<uuid:user_id>/deactivate/", member_views.member_deactivate_view, name="settings-member-deactivate"),
    path("members/<uuid:user_id>/reactivate/", member_views.member_reactivate_view, name="settings-member-reactivate"),
    path("members/<uuid:user_id>/remove/", member_views.member_remove_view, name="settings-member-remove"),
    path("members/<uuid:user_id>/channels/", member_views.member_channels_view, name="settings-member-channels"),
    path("invitations/<uuid:invitation_id>/<slug:action>/", member_views.invitation_action_view,
         name="settings-invitation-action"),
    path("channels/<uuid:channel_id>/members/", member_views.channel_members_view, name="settings-channel-members"),
]
