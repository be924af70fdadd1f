import os
from typing import Any

from celery import Celery, bootsteps
from celery.signals import task_failure, task_retry, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("inbox")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.imports = ["config.tasks", "integrations.inbound.tasks", "integrations.outbound.tasks"]


class TakeUpWaitingWork(bootsteps.StartStopStep):
    """Each time the worker connects to the broker (it started, or the broker came back, empty
    if it kept nothing), it queues a task that takes up whatever waits: stored webhooks and
    replies whose tasks a dead worker or a lost broker took with them."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, parent: Any) -> None:
        from integrations.tasks import recover_work_queue

        recover_work_queue()


app.steps["consumer"].add(TakeUpWaitingWork)


@worker_process_init.connect
def _worker_process_ready(**kwargs: object) -> None:
    """Each worker process sends its real-time events from one long-lived loop."""
    from conversations.realtime import use_sender_loop

    use_sender_loop()


@task_retry.connect
def _count_retry(sender: Any = None, **kwargs: object) -> None:
    from config.metrics import task_retry_count

    task_retry_count(task=getattr(sender, "name", "unknown"))


@task_failure.connect
def _count_failure(sender: Any = None, **kwargs: object) -> None:
    from config.metrics import task_failure_count

    task_failure_count(task=getattr(sender, "name", "unknown"))
