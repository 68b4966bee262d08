"""A Quart app (Debian's python3-quart): Flask's API on ASGI."""
from quart import Quart, jsonify, request

app = Quart(__name__)


@app.route("/")
async def index():
    return "quart index"


@app.route("/hello/<name>", methods=["GET", "POST"])
async def hello(name):
    form = await request.form
    return jsonify({"greeting": "hello " + name, "args": dict(request.args), "form": dict(form)})
