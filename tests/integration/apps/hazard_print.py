"""Fork hazard: a thread that print, started at import."""
import hazards

hazards.start("print")
application = hazards.application
asgi_application = hazards.asgi_application
