"""Fork hazard: a thread running its own asyncio event loop, started at import."""
import hazards

hazards.start("asyncio")
application = hazards.application
asgi_application = hazards.asgi_application
