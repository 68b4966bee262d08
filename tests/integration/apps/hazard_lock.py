"""Fork hazard: a thread that lock, started at import."""
import hazards

hazards.start("lock")
application = hazards.application
asgi_application = hazards.asgi_application
