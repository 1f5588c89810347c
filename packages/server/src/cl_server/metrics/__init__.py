"""Prometheus metrics of the compute service (``GET /metrics``): job counters and timings fed by
the job events it sees on MQTT, queue depth read from the job store at scrape time, and the
number of connected workers."""
