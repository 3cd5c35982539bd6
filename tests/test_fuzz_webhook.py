"""Hypothesis over the webhook form: whatever arrives, the answer is 200, 400, 403 or 413.

The normal run tries a few hundred forms; `make fuzz` sets BOT_FUZZ_EXAMPLES=10000.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from bot import create_app
from channels.whatsapp import malformed
from tests.conftest import base_settings, parse_twiml, signature_for, whatsapp_form

EXAMPLES = int(os.environ.get("BOT_FUZZ_EXAMPLES", "300"))
KNOWN = ["Body", "From", "To", "NumMedia", "MediaUrl0", "MediaContentType0", "Latitude",
         "Longitude", "Address", "Label", "ButtonText", "ButtonPayload", "ProfileName", "WaId",
         "Forwarded", "MessageSid"]  # fmt: skip

hostile_text = st.one_of(
    st.text(max_size=2000),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        ["", " ", "\x00", "<Response>", "]]>", "&amp;", "💥" * 500, "\ud7ff\ue000", "nan"]
    ),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)
extra_params = st.dictionaries(st.one_of(st.sampled_from(KNOWN), st.text(min_size=1, max_size=20)),
                               hostile_text, max_size=8)  # fmt: skip

APP = create_app(base_settings())


def _check(response) -> None:
    assert response.status_code in {200, 400, 403, 413}, response.status_code
    if response.status_code == 200:
        assert response.mimetype == "text/xml"
        for body, _ in parse_twiml(response.data):
            assert body is None or len(body) <= 1600


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=hostile_text, extra=extra_params)
def test_fuzz_signed_forms_always_get_valid_twiml(body, extra):
    form = {**whatsapp_form(body), **extra}
    with APP.test_client() as client:
        response = client.post(
            "/bot", data=form, headers={"X-Twilio-Signature": signature_for(form)}
        )
    _check(response)
    # A MessageSid or WaId hypothesis wrote is refused as Twilio would never send it.
    assert response.status_code == (400 if malformed(MultiDict(form)) else 200)


@settings(max_examples=max(50, EXAMPLES // 5), deadline=None)
@given(raw=st.binary(max_size=4000), content_type=st.sampled_from(
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json", ""]
))  # fmt: skip
def test_fuzz_raw_bodies_never_cause_a_5xx(raw, content_type):
    with APP.test_client() as client:
        response = client.post("/bot", data=raw, headers={"Content-Type": content_type})
    _check(response)
