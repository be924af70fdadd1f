"""Integrations health: counters of what each channel and webhook endpoint did (counters.py),
the figures and charts the health page shows (figures.py; its charts: config.charts), and the alerts."""
