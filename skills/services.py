"""The API clients the live skills use, built once per app from the settings: one shared
`requests.Session` for the JSON APIs, and a separate guarded one for user-sent links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skills.http import Upstream, make_session
from skills.jokes import JokesClient
from skills.links import LinkPreviewer
from skills.media import MediaFetcher
from skills.pictures import CatClient, DogClient
from skills.quotes import QuotesClient
from skills.rates import RatesClient
from skills.weather import WeatherClient
from skills.wikipedia import WikipediaClient

# The environment variable for each upstream's base URL, and its public default.
UPSTREAM_URLS = {
    "OPEN_METEO_GEOCODING_URL": "https://geocoding-api.open-meteo.com",
    "OPEN_METEO_FORECAST_URL": "https://api.open-meteo.com",
    "WIKIPEDIA_URL": "https://en.wikipedia.org",
    "ZENQUOTES_URL": "https://zenquotes.io",
    "JOKES_URL": "https://official-joke-api.appspot.com",
    "DOG_API_URL": "https://dog.ceo",
    "CAT_API_URL": "https://api.thecatapi.com",
    "FRANKFURTER_URL": "https://api.frankfurter.app",
}


@dataclass(frozen=True)
class Services:
    weather: WeatherClient
    wikipedia: WikipediaClient
    quotes: QuotesClient
    jokes: JokesClient
    dogs: DogClient
    cats: CatClient
    rates: RatesClient
    links: LinkPreviewer
    media: MediaFetcher  # documents users send (Twilio's media, with credentials) or link
    max_pages: int = 300  # BOT_DOCUMENT_MAX_PAGES: the most pages read from one document

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Services:
        session = make_session()
        timeout = settings["BOT_UPSTREAM_TIMEOUT"]

        def upstream(service: str, variable: str) -> Upstream:
            return Upstream(service, settings[variable], session, timeout)

        return cls(
            weather=WeatherClient(
                upstream("weather", "OPEN_METEO_GEOCODING_URL"),
                upstream("weather", "OPEN_METEO_FORECAST_URL"),
            ),
            wikipedia=WikipediaClient(upstream("wiki", "WIKIPEDIA_URL")),
            quotes=QuotesClient(upstream("quote", "ZENQUOTES_URL")),
            jokes=JokesClient(upstream("joke", "JOKES_URL")),
            dogs=DogClient(upstream("dog", "DOG_API_URL")),
            cats=CatClient(upstream("cat", "CAT_API_URL")),
            rates=RatesClient(upstream("currency", "FRANKFURTER_URL")),
            links=LinkPreviewer(bool(settings["BOT_ALLOW_PRIVATE_URLS"]), timeout=timeout),
            media=MediaFetcher.from_settings(settings),
            max_pages=settings["BOT_DOCUMENT_MAX_PAGES"],
        )
