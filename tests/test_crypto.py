from __future__ import annotations

from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from channels_app.models import Channel
from config import crypto
from config.crypto import Secrets, SecretUnreadable
from tests import factories

SECRET = "EAAG-live-access-token-0123456789"


@pytest.fixture
def use_keys(settings: Any) -> Iterator[Callable[..., None]]:
    """use_keys(first, *others) → FIELD_ENCRYPTION_KEYS for the rest of the test."""

    def use(*keys: str) -> None:
        settings.FIELD_ENCRYPTION_KEYS = list(keys)
        # Don't rely on setting_changed alone to drop the cached MultiFernet.
        crypto._fernet.cache_clear()

    yield use
    crypto._fernet.cache_clear()


def _raw_credentials(channel: Channel) -> str:
    table = connection.ops.quote_name(Channel._meta.db_table)
    column = connection.ops.quote_name(Channel._meta.get_field("credentials").column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [channel.pk])  # noqa: S608
        return cursor.fetchone()[0]


def _reloaded_credentials(channel: Channel) -> Secrets:
    return Channel.all_objects.get(pk=channel.pk).credentials


def test_channel_credentials_are_stored_encrypted(acme: Any) -> None:
    channel = factories.ChannelFactory(tenant=acme, credentials=Secrets({"access_token": SECRET}))

    raw = _raw_credentials(channel)

    assert SECRET not in raw
    assert "access_token" not in raw
    assert _reloaded_credentials(channel) == {"access_token": SECRET}
    assert isinstance(_reloaded_credentials(channel), Secrets)


def test_credentials_repr_and_str_never_show_the_secret(acme: Any) -> None:
    channel = factories.ChannelFactory(tenant=acme, credentials=Secrets({"access_token": SECRET, "pin": "1234"}))
    credentials = _reloaded_credentials(channel)

    shown = [repr(credentials), str(credentials), f"{credentials}", repr([credentials]), repr(channel), str(channel)]

    for text in shown:
        assert SECRET not in text
        assert "1234" not in text
    assert credentials.masked() == {"access_token": "••••6789", "pin": "••••"}


def test_old_rows_still_decrypt_after_a_new_key_is_put_first(use_keys: Callable[..., None], acme: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    use_keys(old)
    channel = factories.ChannelFactory(tenant=acme, credentials=Secrets({"access_token": SECRET}))

    use_keys(new, old)

    assert _reloaded_credentials(channel) == {"access_token": SECRET}


def test_rotate_encryption_keys_reencrypts_every_tenants_channels_under_the_first_key(
    use_keys: Callable[..., None], acme: Any, globex: Any
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    use_keys(old)
    channels = [
        factories.ChannelFactory(tenant=tenant, credentials=Secrets({"access_token": f"{SECRET}-{index}"}))
        for index, tenant in enumerate([acme, acme, globex])
    ]
    use_keys(new, old)
    output = StringIO()

    call_command("rotate_encryption_keys", "--batch-size", "2", stdout=output)

    assert "channels_app.Channel.credentials: re-encrypted 3, already under the first key 0" in output.getvalue()
    use_keys(new)
    for index, channel in enumerate(channels):
        assert _reloaded_credentials(channel) == {"access_token": f"{SECRET}-{index}"}
    use_keys(old)
    with pytest.raises(SecretUnreadable):
        _reloaded_credentials(channels[0])


def test_rotate_encryption_keys_twice_reencrypts_nothing_the_second_time(
    use_keys: Callable[..., None], acme: Any
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    use_keys(old)
    channel = factories.ChannelFactory(tenant=acme, credentials=Secrets({"access_token": SECRET}))
    use_keys(new, old)
    call_command("rotate_encryption_keys", stdout=StringIO())
    ciphertext = _raw_credentials(channel)
    output = StringIO()

    call_command("rotate_encryption_keys", stdout=output)

    assert "re-encrypted 0, already under the first key 1" in output.getvalue()
    assert _raw_credentials(channel) == ciphertext


def test_rotate_encryption_keys_names_rows_no_configured_key_opens(use_keys: Callable[..., None], acme: Any) -> None:
    lost, current = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    use_keys(lost)
    channel = factories.ChannelFactory(tenant=acme, credentials=Secrets({"access_token": SECRET}))
    use_keys(current)
    ciphertext = _raw_credentials(channel)

    with pytest.raises(CommandError, match=rf"channels_app\.Channel\.credentials pk={channel.pk}") as raised:
        call_command("rotate_encryption_keys", stdout=StringIO())

    assert SECRET not in str(raised.value)
    assert _raw_credentials(channel) == ciphertext


def test_a_row_no_configured_key_opens_is_refused_without_showing_it(use_keys: Callable[..., None], acme: Any) -> None:
    removed_too_early, current = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    use_keys(removed_too_early)
    channel = factories.ChannelFactory(tenant=acme, credentials=Secrets({"access_token": SECRET}))
    use_keys(current)

    with pytest.raises(SecretUnreadable, match="Channel.credentials cannot be decrypted") as raised:
        _reloaded_credentials(channel)

    assert SECRET not in str(raised.value)
