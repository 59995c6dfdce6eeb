"""The app's routers: search (search and ask), admin (writes), operations (health, readiness,
metrics) and the page."""
