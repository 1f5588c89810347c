"""The clip_embedding plugin (PROTOCOL §4). Import spec for the light description."""
