"""The JSON API under ``/api/v1``: bearer-token authentication and the endpoints for
integrations. Errors are RFC 9457 problem details (``personvern.web.errors``)."""
