"""The FastAPI app: admin pages, and later the privacy center and the JSON API.

Build it with :func:`personvern.web.app.create_app`.
"""
