"""time, tz and the time helpers: Python values converted to the service's formats, bad ones refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from smsc_soap import SendOptions, SmscValidationError, format_time, hours
from smsc_soap._params.arguments import send_fields
from smsc_soap._params.timefmt import is_absolute_time
from smsc_soap.lowlevel import php_parse_str


def test_aware_datetime_becomes_moscow_time() -> None:
    """An aware datetime is written DDMMYYhhmm in Moscow time (UTC+3), seconds dropped."""
    assert format_time(datetime(2025, 1, 2, 21, 30, 59, tzinfo=UTC)) == "0301250030"
    kyiv = timezone(timedelta(hours=2))
    assert format_time(datetime(2025, 6, 1, 9, 0, tzinfo=kyiv)) == "0106251000"


def test_naive_datetime_is_refused() -> None:
    """A naive datetime is refused, since its zone would be a guess."""
    with pytest.raises(SmscValidationError, match="naive") as info:
        format_time(datetime(2025, 1, 2, 10, 0))
    assert info.value.field == "time"


def test_datetime_in_send_sms2_adds_tz_0() -> None:
    """send_sms2 with a datetime also sends tz=0, so the account's zone cannot shift it."""
    when = datetime(2025, 1, 2, 7, 0, tzinfo=UTC)
    fields, _ = send_fields("send_sms2", "79991234567", "x", None, None, when)
    assert fields["time"] == "0201251000"
    assert php_parse_str(fields["query"]) == {"tz": "0", "cost": "3"}


def test_datetime_with_other_tz_is_refused() -> None:
    """A datetime with tz other than 0 is refused (as option and as raw query)."""
    when = datetime(2025, 1, 2, 7, 0, tzinfo=UTC)
    with pytest.raises(SmscValidationError) as info:
        send_fields("send_sms2", "79991234567", "x", None, None, when, None, SendOptions(tz=2))
    assert info.value.field == "tz"
    with pytest.raises(SmscValidationError, match="tz"):
        send_fields("send_sms2", "79991234567", "x", None, None, when, {"tz": 2})
    fields, _ = send_fields(
        "send_sms2", "79991234567", "x", None, None, when, None, SendOptions(tz=0)
    )
    assert php_parse_str(fields["query"]) == {"tz": "0", "cost": "3"}


def test_datetime_in_send_sms_uses_unix_time() -> None:
    """send_sms has no query for tz, so a datetime goes as 0<unix seconds>."""
    when = datetime(2025, 1, 2, 7, 0, tzinfo=UTC)
    fields, _ = send_fields("send_sms", "79991234567", "x", None, None, when)
    assert fields["time"] == f"0{int(when.timestamp())}"


@pytest.mark.parametrize(
    ("delta", "text"), [(timedelta(minutes=1), "+1"), (timedelta(hours=2), "+120")]
)
def test_timedelta_becomes_relative_minutes(delta: timedelta, text: str) -> None:
    """A timedelta of whole minutes becomes +m."""
    assert format_time(delta) == text


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(seconds=90), timedelta(minutes=-5)])
def test_bad_timedelta_is_refused(delta: timedelta) -> None:
    """A timedelta under a minute, negative or with seconds is refused."""
    with pytest.raises(SmscValidationError, match="minutes"):
        format_time(delta)


def test_hour_window_helpers() -> None:
    """hours(9, 21) and the tuple (9, 21) both become '9-21'."""
    assert hours(9, 21) == "9-21"
    assert format_time((0, 24)) == "0-24"
    for bad in [(21, 9), (9, 9), (-1, 5), (9, 25), (1, 2, 3)]:
        with pytest.raises(SmscValidationError):
            format_time(bad)


@pytest.mark.parametrize(
    "text", ["0", "0201251030", "02.01.25 10:30", "9-21", "01700000000", "+5", "+999999", 0]
)
def test_formatted_strings_are_accepted(text: object) -> None:
    """Every documented string form passes unchanged."""
    assert format_time(text) == str(text)


@pytest.mark.parametrize(
    "text",
    [
        "99999999",
        "tomorrow",
        "+-5",
        "3102251030",
        "02.01.25 24:00",
        "21-9",
        "1700000000",
        "",
        "+",
        5,
        True,
    ],
)
def test_bad_time_strings_are_refused(text: object) -> None:
    """Strings in no documented form, or not a real date, are refused naming time."""
    with pytest.raises(SmscValidationError) as info:
        format_time(text)
    assert info.value.field == "time"


def test_is_absolute_time() -> None:
    """Only DDMMYYhhmm, DD.MM.YY hh:mm and datetimes are absolute."""
    assert is_absolute_time("0201251030") and is_absolute_time("02.01.25 10:30")
    assert not is_absolute_time("+5") and not is_absolute_time("9-21")
