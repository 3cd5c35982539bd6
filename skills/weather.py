"""Open-Meteo: a city's coordinates (geocoding API), the weather there now and each day of
the next 16 (forecast API). Keyless. Geocoding results are cached for a day; the weather
itself is not. How the weather skill reads its slots is in `skills.weather_slots`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from skills.cache import TTLCache
from skills.http import Upstream, wrong_shape

# Open-Meteo's daily forecast covers today and the 15 days after it.
FORECAST_DAYS = 16
DAILY = (
    "weather_code",
    "temperature_2m_max",
    "temperature_2m_min",
    "precipitation_probability_max",
    "wind_speed_10m_max",
)
SNOW = frozenset({71, 73, 75, 77, 85, 86})

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


def _look(code: int | None) -> tuple[str, str]:
    """The words and the emoji for a WMO code."""
    return CODES.get(code, ("unusual weather", "🌡")) if code is not None else ("", "🌡")


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    latitude: float
    longitude: float
    region: str = ""  # the state, where the country alone leaves it ambiguous

    @property
    def label(self) -> str:
        return ", ".join(part for part in (self.name, self.region, self.country) if part)

    @classmethod
    def from_gazetteer(cls, entry: Mapping[str, object]) -> Place | None:
        """The place a gazetteer entry names, with its coordinates; None when it lacks them.
        A US city also gets its state: there are Portlands in Maine and in Oregon."""
        name, latitude, longitude = entry.get("name"), entry.get("latitude"), entry.get("longitude")
        if not isinstance(name, str) or not name or not _is_number(latitude, longitude):
            return None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return None
        admin = entry.get("admin")
        us_state = entry.get("country_code") == "US" and isinstance(admin, str) and admin != name
        country = str(entry.get("country") or "")
        return cls(
            name=name,
            country="" if country == name else country,  # a country's own entry
            latitude=float(latitude),
            longitude=float(longitude),
            region=admin if us_state else "",
        )


@dataclass(frozen=True)
class Weather:
    temperature: float  # °C
    code: int
    wind: float  # km/h

    @property
    def description(self) -> str:
        return _look(self.code)[0]

    @property
    def emoji(self) -> str:
        return _look(self.code)[1]


@dataclass(frozen=True)
class DayForecast:
    """One day of the daily forecast; None where Open-Meteo has no value (it sends null)."""

    day: date
    code: int | None
    low: float | None  # °C
    high: float | None
    rain_chance: float | None  # %, the day's highest hourly chance
    wind: float | None  # km/h, the day's strongest

    @property
    def emoji(self) -> str:
        return _look(self.code)[1]

    @property
    def summary(self) -> str:
        """`"11–16°C, rain, 80% chance of rain, wind up to 25 km/h"`."""
        pieces = [_temperatures(self.low, self.high), _look(self.code)[0]]
        if self.rain_chance is not None:
            falling = "snow" if self.code in SNOW else "rain"
            pieces.append(f"{self.rain_chance:.0f}% chance of {falling}")
        if self.wind is not None:
            pieces.append(f"wind up to {self.wind:.0f} km/h")
        return ", ".join(piece for piece in pieces if piece) or "no forecast yet"


def _temperatures(low: float | None, high: float | None) -> str:
    """`"11–16°C"`, or the one that is known, or ""."""
    if low is not None and high is not None:
        return f"{round(low)}–{round(high)}°C"
    if high is not None:
        return f"up to {round(high)}°C"
    return "" if low is None else f"down to {round(low)}°C"


def _is_number(*values: object) -> bool:
    """Real, finite numbers (JSON's true is not one, and Python's json reads NaN)."""
    return all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _number(value: object, what: str) -> float:
    if not _is_number(value):
        raise wrong_shape("weather", f"{what} is not a number")
    return float(value)


def _column(daily: Mapping[str, object], name: str, length: int) -> list[float | None]:
    values = daily.get(name)
    if not isinstance(values, list) or len(values) != length:
        raise wrong_shape("weather", f"daily {name!r} is not a list of {length}")
    return [None if v is None else _number(v, name) for v in values]


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

    def daily(
        self, latitude: float, longitude: float, first: date, last: date, timezone: str
    ) -> list[DayForecast]:
        """Each day from `first` to `last` (both within the next `FORECAST_DAYS`), with days
        as they run in `timezone` (an IANA name, or "auto" for the place's own)."""
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        data = self.forecast.get_json(
            "/v1/forecast",
            {
                "latitude": f"{latitude:.4f}",
                "longitude": f"{longitude:.4f}",
                "daily": ",".join(DAILY),
                "timezone": timezone,
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
            },
        )
        daily = data.get("daily") if isinstance(data, dict) else None
        if not isinstance(daily, dict):
            raise wrong_shape("weather", "forecast has no 'daily' object")
        if daily.get("time") != [day.isoformat() for day in days]:
            raise wrong_shape("weather", "daily 'time' is not the days asked for")
        code, high, low, rain, wind = (_column(daily, name, len(days)) for name in DAILY)
        return [
            DayForecast(day, None if c is None else int(c), lo, hi, r, w)
            for day, c, hi, lo, r, w in zip(days, code, high, low, rain, wind, strict=True)
        ]
