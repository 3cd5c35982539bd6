"""The second baseline for the HTTP benchmark: the minimal app plus what any Twilio webhook
must do before it can answer, with nothing of its own. It reads the form, checks the
signature with twilio-python's `RequestValidator.validate`, and builds the reply with
`MessagingResponse`. The issue puts this at 0.6× the minimal app, and bench/load.py measures
it beside the other two."""

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

TOKEN = "bench-token"  # noqa: S105 -- bench/load.py signs its requests with it


def create_app() -> Flask:
    app = Flask(__name__)
    validator = RequestValidator(TOKEN)

    @app.post("/bot")
    def bot() -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form, signature):
            return Response("Forbidden\n", 403, mimetype="text/plain")
        reply = MessagingResponse()
        reply.message(f"You said: {request.form.get('Body', '')}")
        return Response(str(reply), mimetype="text/xml")

    @app.get("/health")
    def health() -> Response:
        return Response("ok")

    return app
