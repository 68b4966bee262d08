"""Fork hazard: a thread that logging, started at import."""
import hazards

hazards.start("logging")
application = hazards.application
asgi_application = hazards.asgi_application
