"""Fork hazard: a thread that import, started at import."""
import hazards

hazards.start("import")
application = hazards.application
asgi_application = hazards.asgi_application
