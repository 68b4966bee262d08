"""A small Flask app: routes, a form POST and a streamed response."""
from flask import Flask, Response, request, stream_with_context

app = Flask(__name__)


@app.route("/")
def index():
    return "flask index"


@app.route("/hello/<name>")
def hello(name):
    return {"greeting": "hello " + name, "args": request.args.to_dict()}


@app.route("/form", methods=["POST"])
def form():
    return "name=%s;count=%d" % (request.form["name"], len(request.form))


@app.route("/stream")
def stream():
    @stream_with_context
    def generate():
        for i in range(3):
            yield "part %d;" % i
    return Response(generate(), mimetype="text/plain")
