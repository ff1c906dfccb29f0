"""Per-view recording for web frameworks: ``tracesnap.integrations.flask``, ``.django`` and
``.fastapi``, each with a ``traced`` decorator (see ``_request`` for what they share)."""
