"""Load generators and benchmark commands: tooling, not part of the product.

Nothing the product runs imports this package, and it is not a Django app (not in INSTALLED_APPS).
Run a benchmark from the repository root, e.g. `python -m benchmarks.whatsapp --quick`
(docs/benchmarks.md). `harness` holds what every benchmark needs (processes, load generator,
WebSocket client, CPU accounting, its own tenant); `asgi` is the application its servers serve.
"""
