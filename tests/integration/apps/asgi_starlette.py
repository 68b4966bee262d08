"""A Starlette app (Debian's python3-starlette): routes, parameters, JSON,
streaming, background tasks, a mount, lifespan state."""
import contextlib

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route

done = []


async def index(request):
    return PlainTextResponse("starlette index, " + request.state.greeting)


async def item(request):
    return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


async def echo(request):
    return JSONResponse({"got": await request.json()})


async def stream(request):
    async def parts():
        for i in range(3):
            yield ("part %d;" % i).encode()
    return StreamingResponse(parts(), media_type="text/plain")


async def later(request):
    return PlainTextResponse("answered", background=BackgroundTask(done.append, request.query_params["tag"]))


async def background_done(request):
    return JSONResponse(done)


async def where(request):
    return JSONResponse({"root_path": request.scope["root_path"], "path": request.scope["path"],
                         "url": str(request.url_for("where"))})


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"greeting": "state from lifespan"}


app = Starlette(routes=[
    Route("/", index),
    Route("/items/{id:int}", item),
    Route("/echo", echo, methods=["POST"]),
    Route("/stream", stream),
    Route("/later", later),
    Route("/background", background_done),
    Mount("/sub", routes=[Route("/where", where, name="where")]),
], lifespan=lifespan)
