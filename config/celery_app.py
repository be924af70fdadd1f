import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("inbox")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.imports = ["config.tasks"]


@worker_process_init.connect
def _worker_process_ready(**kwargs: object) -> None:
    """Each worker process sends its real-time events from one long-lived loop."""
    from conversations.realtime import use_sender_loop

    use_sender_loop()
