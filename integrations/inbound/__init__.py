"""The inbound pipeline, the same for every provider: a webhook is verified by its channel's
adapter and stored (ingress, views, store), then drained by one task at a time (drain, tasks)
and processed through the core's one receive path (process)."""
