"""A FastAPI app (Debian's python3-fastapi): typed path and query
parameters, a JSON model, a form, a streamed response, background tasks,
lifespan state."""
import contextlib

from fastapi import BackgroundTasks, FastAPI, Form, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

done = []
state = {}


class Item(BaseModel):
    name: str
    price: float


app = FastAPI()


@app.on_event("startup")
async def startup():
    state["ready"] = "yes"


@app.get("/")
async def index():
    return {"framework": "fastapi", "ready": state.get("ready")}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str = None):
    return {"item_id": item_id, "q": q}


@app.post("/items")
async def create_item(item: Item):
    return {"name": item.name, "price_with_tax": round(item.price * 1.2, 2)}


@app.post("/login")
async def login(username: str = Form(...), password: str = Form(...)):
    return {"username": username, "password_length": len(password)}


@app.get("/stream")
async def stream():
    async def parts():
        for i in range(3):
            yield ("chunk %d;" % i).encode()
    return StreamingResponse(parts(), media_type="text/plain")


@app.post("/later")
async def later(tag: str, background: BackgroundTasks):
    background.add_task(done.append, tag)
    return {"queued": tag}


@app.get("/background")
async def background_done():
    return done


@app.get("/client")
async def client(request: Request):
    return {"host": request.client.host, "scheme": request.url.scheme}
