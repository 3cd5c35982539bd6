"""The baseline for the HTTP benchmark: a Flask app that answers POST /bot with fixed
TwiML and does nothing else. bench/load.py runs it under the same gunicorn settings."""

from flask import Flask, Response

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hi</Message></Response>'


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/bot")
    def bot() -> Response:
        return Response(TWIML, mimetype="text/xml")

    @app.get("/health")
    def health() -> Response:
        return Response("ok")

    return app
