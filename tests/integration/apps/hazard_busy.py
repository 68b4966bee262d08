"""Fork hazard: a thread that busy-loops forever, started at import."""
import hazards

hazards.start("busy")
application = hazards.application
asgi_application = hazards.asgi_application
