"""The running service: pipeline, web map, WebSocket and REST APIs, recording and replay."""
