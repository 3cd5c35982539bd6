"""Delivery status: Twilio's StatusCallback for the messages the bot sends through the REST
API (follow-ups, operator replies), POST `/status`, signed like `/bot`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("status", __name__)
