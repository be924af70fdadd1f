"""Recovery codes stored before they were kept as digests become digests (their owners keep
using the codes they wrote down)."""

from django.db import migrations


def codes_to_digests(apps, schema_editor):
    from accounts.two_factor import recovery_code_digest

    StaticToken = apps.get_model("otp_static", "StaticToken")
    # A digest has 16 characters; a code as django-otp makes it, 8.
    for token in StaticToken.objects.filter(device__name="Recovery codes").iterator():
        if len(token.token) < 16:
            token.token = recovery_code_digest(token.token)
            token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_audit_entry"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(codes_to_digests, migrations.RunPython.noop, elidable=True)]
