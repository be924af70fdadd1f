"""Tasks of the project itself (not of one app).

`ping` answers "pong": a worker that runs it is connected to the broker and can return
results. Apps' tasks are found by `autodiscover_tasks()`; this module is not an app, so
whoever needs it (the worker test) imports it explicitly."""

from celery import shared_task


# Its answer is the point, so it keeps its result (the project ignores results otherwise).
@shared_task(name="config.tasks.ping", ignore_result=False)
def ping() -> str:
    return "pong"


# Every minute (CELERY_BEAT_SCHEDULE): GET /api/health reads it to tell whether beat runs.
@shared_task(name="config.tasks.beat_heartbeat")
def beat_heartbeat() -> str:
    from config.heartbeat import beat_heartbeat_record

    return beat_heartbeat_record().isoformat()
