"""Live updates of the compute service: ``GET /events`` (Server-Sent Events).

``hub`` buffers numbered events for every open stream; ``job_feed`` turns MQTT job events into
hub events (with the job's owner, so each caller sees only the jobs it may see); worker changes
come from the worker directory's listener (``service``); ``stream`` is one client's stream and
``routes`` the endpoint.
"""
