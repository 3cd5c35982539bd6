"""Open-Meteo: a city's coordinates (geocoding API) and the weather there now (forecast API).
Keyless. Geocoding results are cached for a day; the weather itself is not."""

from __future__ import annotations

from dataclasses import dataclass

from skills.cache import TTLCache
from skills.http import Upstream, wrong_shape

# WMO weather interpretation codes, as Open-Meteo documents them.
CODES = {
    0: ("clear sky", "☀️"),
    1: ("mainly clear", "🌤"),
    2: ("partly cloudy", "⛅"),
    3: ("overcast", "☁️"),
    45: ("fog", "🌫"),
    48: ("freezing fog", "🌫"),
    51: ("light drizzle", "🌦"),
    53: ("drizzle", "🌦"),
    55: ("heavy drizzle", "🌧"),
    56: ("freezing drizzle", "🌧"),
    57: ("heavy freezing drizzle", "🌧"),
    61: ("light rain", "🌦"),
    63: ("rain", "🌧"),
    65: ("heavy rain", "🌧"),
    66: ("freezing rain", "🌧"),
    67: ("heavy freezing rain", "🌧"),
    71: ("light snow", "🌨"),
    73: ("snow", "❄️"),
    75: ("heavy snow", "❄️"),
    77: ("snow grains", "🌨"),
    80: ("rain showers", "🌦"),
    81: ("heavy rain showers", "🌧"),
    82: ("violent rain showers", "⛈"),
    85: ("snow showers", "🌨"),
    86: ("heavy snow showers", "🌨"),
    95: ("thunderstorm", "⛈"),
    96: ("thunderstorm with hail", "⛈"),
    99: ("thunderstorm with heavy hail", "⛈"),
}


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    latitude: float
    longitude: float

    @property
    def label(self) -> str:
        return f"{self.name}, {self.country}" if self.country else self.name


@dataclass(frozen=True)
class Weather:
    temperature: float  # °C
    code: int
    wind: float  # km/h

    @property
    def description(self) -> str:
        return CODES.get(self.code, ("unusual weather", "🌡"))[0]

    @property
    def emoji(self) -> str:
        return CODES.get(self.code, ("unusual weather", "🌡"))[1]


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_shape("weather", f"{what} is not a number")
    return float(value)


class WeatherClient:
    def __init__(self, geocoding: Upstream, forecast: Upstream) -> None:
        self.geocoding = geocoding
        self.forecast = forecast
        self._places = TTLCache(size=512, ttl=24 * 3600)

    def find(self, city: str) -> Place | None:
        """The best match for `city`, or None when Open-Meteo knows no such place."""
        key = city.strip().casefold()
        cached = self._places.get(key)
        if cached is not None:
            return cached or None  # False: known to be unknown
        data = self.geocoding.get_json("/v1/search", {"name": city.strip(), "count": 1})
        if not isinstance(data, dict):
            raise wrong_shape("weather", "geocoding answer is not an object")
        results = data.get("results") or []
        if not isinstance(results, list):
            raise wrong_shape("weather", "geocoding results are not a list")
        if not results:
            self._places.put(key, False)
            return None
        first = results[0]
        if not isinstance(first, dict) or not isinstance(first.get("name"), str):
            raise wrong_shape("weather", "geocoding result has no name")
        place = Place(
            name=first["name"],
            country=str(first.get("country") or ""),
            latitude=_number(first.get("latitude"), "latitude"),
            longitude=_number(first.get("longitude"), "longitude"),
        )
        self._places.put(key, place)
        return place

    def current(self, latitude: float, longitude: float) -> Weather:
        data = self.forecast.get_json(
            "/v1/forecast",
            {
                "latitude": f"{latitude:.4f}",
                "longitude": f"{longitude:.4f}",
                "current": "temperature_2m,weather_code,wind_speed_10m",
            },
        )
        current = data.get("current") if isinstance(data, dict) else None
        if not isinstance(current, dict):
            raise wrong_shape("weather", "forecast has no 'current' object")
        return Weather(
            temperature=_number(current.get("temperature_2m"), "temperature_2m"),
            code=int(_number(current.get("weather_code"), "weather_code")),
            wind=_number(current.get("wind_speed_10m"), "wind_speed_10m"),
        )
