"""MQTT plumbing shared by the compute service and workers (paho-mqtt, PROTOCOL §5)."""
