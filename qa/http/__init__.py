"""The HTTP front end: `create_app` (app.py), its routes (routes/), request models (schemas.py),
request ids, metrics and the body limit (observability.py), and the search page (static/)."""
