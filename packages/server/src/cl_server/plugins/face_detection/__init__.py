"""The face_detection plugin (PROTOCOL §4). Import spec for the light description."""
