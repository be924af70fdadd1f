"""A contact's picture as its provider gives it, and whether its name was typed by a person
(then a provider's name for the contact never replaces it). Existing contacts: those no channel
knows (made by hand or through the API) had their name typed; for the others it cannot be told
any more, and their providers may name them."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef


def names_typed_before(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    ContactIdentity = apps.get_model("contacts", "ContactIdentity")
    Contact.objects.exclude(name="").exclude(
        Exists(ContactIdentity.objects.filter(contact_id=OuterRef("pk")))).update(name_set_by_hand=True)


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0002_public_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="name_set_by_hand",
            field=models.BooleanField(default=False, verbose_name="name typed by hand"),
        ),
        migrations.AddField(
            model_name="contact",
            name="picture_url",
            field=models.URLField(blank=True, max_length=2000, verbose_name="picture URL"),
        ),
        migrations.RunPython(names_typed_before, migrations.RunPython.noop),
    ]
