"""A user sends a PDF on WhatsApp, through a fake of Twilio's media endpoint (Basic auth, then
a redirect to its CDN), gets its summary, and asks about it: quoted answers with their
pages. A pasted PDF link does the same without credentials, in the web chat too; a file that
cannot be read gets a kind reply. The PDFs are built here with fpdf2."""

from __future__ import annotations

import base64

import pytest
from fpdf import FPDF
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bot import create_app
from channels.answering import answering
from tests.conftest import ACCOUNT, SENDER, TOKEN, live_settings, post_whatsapp, reply_text
from tests.servers import Server
from tests.test_webchat import connect, new_user, next_frame, say

MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'c' * 32}/Media/ME{'d' * 32}"
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
PAGES = [
    "This agreement is made between Harbour Lane Lettings and the tenant, Sam Rivers, for "
    "the flat at 4 Quay Street. The tenancy runs for twelve months from the first of March.",
    "The tenant pays a deposit of 900 pounds before moving in. The deposit is returned within "
    "ten days of the end of the tenancy, less the cost of any damage beyond fair wear.",
    "The rent is 750 pounds a month. Payment is due on the first day of each month by bank "
    "transfer. A late payment costs a fee of 25 pounds after seven days.",
]


def pdf(pages: list[str], title: str = "Tenancy agreement", password: str = "") -> bytes:
    document = FPDF()
    document.set_title(title)
    document.set_font("helvetica", size=12)
    for text in pages:
        document.add_page()
        document.multi_cell(0, 8, text)
    if password:
        document.set_encryption(owner_password=password, user_password=password)
    return bytes(document.output())


@pytest.fixture(scope="module")
def _cdn():
    server = HTTPServer(host="127.0.0.2", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cdn(_cdn):
    """Twilio's media CDN, on another host: it must never see the credentials."""
    _cdn.clear()
    yield _cdn
    _cdn.clear()


@pytest.fixture
def client(upstream):
    base = upstream.url_for("").rstrip("/")
    # Loopback hops allowed (the CDN is on 127.0.0.2); a budget the PDF's reading fits in.
    settings = live_settings(base, BOT_ALLOW_PRIVATE_URLS="true", BOT_REPLY_BUDGET="14")
    app = create_app(settings)
    yield app.test_client()
    with app.app_context():
        answering().pipeline.close()


def twilio_serves(upstream, cdn, data: bytes) -> None:
    """Twilio's media URL: 401 without the account's Basic auth, else a redirect to the CDN."""
    cdn.expect_request("/file").respond_with_data(data, content_type="application/pdf")

    def media(request: Request) -> Response:
        if request.headers.get("Authorization") != BASIC:
            return Response("unauthorized", status=401)
        return Response(status=307, headers={"Location": cdn.url_for("/file")})

    upstream.expect_request(MEDIA_PATH).respond_with_handler(media)


def send_document(client, upstream, content_type: str = "application/pdf") -> str:
    url = upstream.url_for(MEDIA_PATH)
    return reply_text(
        post_whatsapp(client, "", NumMedia="1", MediaUrl0=url, MediaContentType0=content_type)
    )


def test_a_pdf_sent_on_whatsapp_is_summarised_and_answers_questions(client, upstream, cdn):
    twilio_serves(upstream, cdn, pdf(PAGES))
    summary = send_document(client, upstream)
    assert summary.startswith("📄 *Tenancy agreement*\n3 pages\n• ")
    assert "Ask me about it" in summary
    assert [r.headers.get("Authorization") for r, _ in cdn.log] == [None]

    answer = reply_text(post_whatsapp(client, "when is the payment due?"))
    assert answer.startswith("From *Tenancy agreement*, page 3:\n“")
    assert "first day of each month" in answer
    answer = reply_text(post_whatsapp(client, "what does it say about the deposit"))
    assert answer.startswith("From *Tenancy agreement*, page 2:\n“")
    assert "returned within ten days" in answer
    answer = reply_text(post_whatsapp(client, "page 1?"))
    assert answer.startswith("Page 1 of *Tenancy agreement*:\n“This agreement is made")

    with client.application.app_context():
        [kept] = answering().pipeline.store.documents(SENDER)
    assert (kept.title, len(kept.pages)) == ("Tenancy agreement", 3)
    # A kept document does not take "Did you mean…?" away.
    assert reply_text(post_whatsapp(client, "random quote thing")).startswith(
        "Did you mean *quote*?"
    )


def test_asking_to_read_a_document_without_one_asks_for_it(client):
    assert reply_text(post_whatsapp(client, "read this document")) == (
        "📄 *Send me the document*\nAttach it (PDF, Word or text) or paste a link to it, "
        "and I'll read it. 📎"
    )


@pytest.mark.parametrize("served_as", ["application/pdf", "application/octet-stream"])
def test_a_pasted_pdf_link_is_read_without_credentials(client, cdn, served_as):
    cdn.expect_request("/lease.pdf").respond_with_data(pdf(PAGES), content_type=served_as)
    summary = reply_text(post_whatsapp(client, f"read {cdn.url_for('/lease.pdf')}"))
    assert summary.startswith("🔗 *Tenancy agreement*\n3 pages\n• ")
    # The link reader looks first (a web page?), then the document reader reads it.
    assert [r.headers.get("Authorization") for r, _ in cdn.log] == [None, None]
    answer = reply_text(post_whatsapp(client, "is there a late payment fee?"))
    assert answer.startswith("From *Tenancy agreement*, page 3:")


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (pdf(PAGES, password="secret"), "It's protected by a password 🔒"),
        (pdf(PAGES)[:300], "The file seems to be damaged"),
        (b"%PDF-1.4\n" + b"[" * 200_000, "The file seems to be damaged"),
    ],
    ids=["encrypted", "truncated", "nested"],
)
def test_a_pdf_that_cannot_be_read_gets_a_kind_reply(client, upstream, cdn, data, said):
    twilio_serves(upstream, cdn, data)
    assert said in send_document(client, upstream)
    # The bot goes on answering, and keeps nothing.
    assert reply_text(post_whatsapp(client, "hello")).startswith(("Hi", "Hello"))
    with client.application.app_context():
        assert answering().pipeline.store.documents(SENDER) == []


def test_without_a_document_questions_go_to_the_knowledge_base(client):
    answer = reply_text(post_whatsapp(client, "can i pay with paypal"))
    assert answer.startswith("From *Payments and gift cards*:\n")
    assert "PayPal" in answer
    assert reply_text(post_whatsapp(client, "who won the world cup")).startswith(
        ("Sorry, I didn't get that", "Hmm, I don't know that one yet")
    )


def test_the_web_chat_reads_a_pdf_link_and_answers_about_it(cdn, tmp_path):
    cdn.expect_request("/lease.pdf").respond_with_data(pdf(PAGES), content_type="application/pdf")
    server = Server(
        BOT_STORE_URL=f"sqlite:///{tmp_path}/bot.db",
        BOT_OFFLINE="false",
        BOT_ALLOW_PRIVATE_URLS="true",
        BOT_REPLY_BUDGET="14",
    )
    try:
        ws = connect(server.base, new_user(server.base))
        say(ws, f"read {cdn.url_for('/lease.pdf')}")
        summary = next_frame(ws, "message")["text"]
        assert summary.startswith("🔗 *Tenancy agreement*\n3 pages\n• ")
        say(ws, "when is the payment due?")
        answer = next_frame(ws, "message")["text"]
        assert answer.startswith("From *Tenancy agreement*, page 3:\n“")
        ws.close()
    finally:
        server.stop()
