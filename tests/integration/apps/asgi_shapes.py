"""ASGI applications, which a WSGI vassal must refuse at load."""


async def app(scope, receive, send):
    pass


class Framework:
    async def __call__(self, scope, receive, send):
        pass


framework = Framework()


class Plain:
    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]


plain = Plain()
