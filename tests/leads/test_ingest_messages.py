"""leads/ingest/messages.py: pure validation and normalization, no database."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.ingest.messages import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_NESTING_DEPTH,
    Message,
    Rejection,
    generated_message_id,
    json_deep_values_pruned,
    json_value_pruned,
    parse_timestamp,
    validate_message,
)

RECEIVED_AT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
MAX_BYTES = 32 * 1024


def validate(raw, envelope=None, message_type=None, max_bytes=MAX_BYTES):
    return validate_message(
        raw, envelope=envelope or {}, received_at=RECEIVED_AT, max_bytes=max_bytes, message_type=message_type
    )


VALID = [
    {"type": "identify", "userId": "u1", "traits": {"email": "a@acme.com"}},
    {"type": "identify", "anonymousId": "anon-1"},
    {"type": "track", "userId": "u1", "event": "Signed Up", "properties": {"plan": "pro"}},
    {"type": "page", "anonymousId": "anon-1", "name": "Pricing"},
    {"type": "screen", "userId": "u1", "name": "Dashboard"},
    {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
    {"type": "alias", "userId": "u1", "previousId": "anon-1"},
]


@pytest.mark.parametrize("raw", VALID, ids=[m["type"] + str(i) for i, m in enumerate(VALID)])
def test_it_accepts_each_message_type(raw):
    # when
    result = validate(raw)

    # then
    assert isinstance(result, Message)
    assert result.type == raw["type"]
    assert result.user_id == raw.get("userId", "")


@pytest.mark.parametrize(
    ("raw", "field", "reason_part"),
    [
        ("not an object", "", "JSON object"),
        ([1, 2], "", "JSON object"),
        ({"userId": "u1"}, "type", "type is required"),
        ({"type": "bogus", "userId": "u1"}, "type", "unknown type"),
        ({"type": 7, "userId": "u1"}, "type", "unknown type"),
        ({"type": "identify"}, "userId", "userId or anonymousId is required"),
        ({"type": "identify", "userId": "", "anonymousId": None}, "userId", "userId or anonymousId"),
        ({"type": "track", "userId": "u1"}, "event", "event is required"),
        ({"type": "track", "userId": "u1", "event": ""}, "event", "event is required"),
        ({"type": "group", "userId": "u1"}, "groupId", "groupId is required"),
        ({"type": "alias", "userId": "u1"}, "previousId", "previousId is required"),
        ({"type": "alias", "anonymousId": "a", "previousId": "p"}, "userId", "userId is required for an alias"),
        ({"type": "identify", "userId": True}, "userId", "must be a string"),
        ({"type": "identify", "userId": {"a": 1}}, "userId", "must be a string"),
        ({"type": "identify", "userId": "x" * 256}, "userId", "longer than 255"),
        ({"type": "track", "userId": "u", "event": "e", "messageId": ["m"]}, "messageId", "must be a string"),
        ({"type": "track", "userId": "u", "event": "e", "properties": [1]}, "properties", "JSON object"),
        ({"type": "identify", "userId": "u", "traits": "x"}, "traits", "JSON object"),
        ({"type": "identify", "userId": "u", "context": 3}, "context", "JSON object"),
        ({"type": "identify", "userId": "u", "timestamp": "yesterday"}, "timestamp", "ISO-8601"),
        ({"type": "identify", "userId": "u", "timestamp": 1700000000}, "timestamp", "ISO-8601"),
        ({"type": "identify", "userId": "u", "originalTimestamp": "nope"}, "originalTimestamp", "ISO-8601"),
        ({"type": "identify", "userId": "u", "sentAt": "2025-13-01"}, "sentAt", "ISO-8601"),
        ({"type": "identify", "userId": "u\x00"}, "userId", "NUL"),
        ({"type": "identify", "userId": "u", "traits": {"bad": "\ud800"}}, "traits", "surrogate"),
        ({"type": "identify", "userId": "u", "traits": {"n": float("nan")}}, "traits", "not valid JSON"),
    ],
)
def test_it_rejects_an_invalid_message_naming_the_field(raw, field, reason_part):
    # when
    result = validate(raw)

    # then
    assert isinstance(result, Rejection)
    assert result.field == field
    assert reason_part in result.reason


def test_it_rejects_a_message_over_the_size_limit():
    # given
    raw = {"type": "track", "userId": "u", "event": "e", "properties": {"blob": "x" * 1000}}

    # when
    result = validate(raw, max_bytes=500)

    # then
    assert isinstance(result, Rejection)
    assert "over the 500 byte limit" in result.reason


def test_it_measures_size_in_utf8_bytes_not_escaped_characters():
    # given: 300 "é" are 600 UTF-8 bytes but 1,800 characters once \u-escaped
    raw = {"type": "track", "userId": "u", "event": "e", "properties": {"t": "é" * 300}}

    # when
    result = validate(raw, max_bytes=700)

    # then
    assert isinstance(result, Message)


def test_the_text_backslash_u0000_is_not_mistaken_for_a_nul_character():
    # when
    result = validate({"type": "identify", "userId": "u", "traits": {"note": "\\u0000 and \\\\u0000"}})

    # then
    assert isinstance(result, Message)


def test_the_endpoint_type_overrides_the_body_type():
    # when
    result = validate({"type": "identify", "userId": "u", "event": "Clicked"}, message_type="track")

    # then
    assert isinstance(result, Message)
    assert result.type == "track"


def test_it_stringifies_numeric_ids_like_segment_libraries_do():
    # when
    result = validate({"type": "identify", "userId": 42, "anonymousId": 7})

    # then
    assert (result.user_id, result.anonymous_id) == ("42", "7")


def test_envelope_context_integrations_and_sent_at_apply_with_message_values_winning():
    # given
    envelope = {
        "context": {"library": {"name": "envelope"}, "ip": "1.2.3.4"},
        "integrations": {"All": False, "Mixpanel": True},
        "sentAt": "2025-03-01T11:00:00Z",
    }
    raw = {
        "type": "track",
        "userId": "u",
        "event": "e",
        "context": {"library": {"name": "message"}},
        "integrations": {"Mixpanel": False},
    }

    # when
    result = validate(raw, envelope=envelope)

    # then
    assert result.context == {"library": {"name": "message"}, "ip": "1.2.3.4"}
    assert result.extra["integrations"] == {"All": False, "Mixpanel": False}
    assert result.sent_at == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)


def test_a_message_sent_at_wins_over_the_envelope_sent_at():
    # when
    result = validate(
        {"type": "identify", "userId": "u", "sentAt": "2025-03-01T10:00:00Z"},
        envelope={"sentAt": "2025-03-01T11:00:00Z"},
    )

    # then
    assert result.sent_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "expected_timestamp", "expected_original"),
    [
        # Client clock 1 hour fast: event 10 s before sending -> 10 s before receipt.
        ("2025-03-01T13:00:00Z", "2025-03-01T13:00:10Z", RECEIVED_AT - timedelta(seconds=10), "2025-03-01T13:00:00Z"),
        # Offsets are honoured.
        ("2025-03-01T13:59:50+02:00", "2025-03-01T14:00:00+02:00", RECEIVED_AT - timedelta(seconds=10), None),
        # No sentAt: the client's timestamp is trusted.
        ("2025-02-01T09:00:00Z", None, datetime(2025, 2, 1, 9, 0, tzinfo=UTC), "2025-02-01T09:00:00Z"),
        # Naive timestamps are read as UTC.
        ("2025-02-01T09:00:00", None, datetime(2025, 2, 1, 9, 0, tzinfo=UTC), "2025-02-01T09:00:00Z"),
        # No timestamp at all: when we received it.
        (None, "2025-03-01T13:00:10Z", RECEIVED_AT, None),
        (None, None, RECEIVED_AT, None),
    ],
)
def test_it_corrects_client_clock_skew_as_segment_does(timestamp, sent_at, expected_timestamp, expected_original):
    # given
    raw = {"type": "track", "userId": "u", "event": "e", "timestamp": timestamp, "sentAt": sent_at}

    # when
    result = validate(raw)

    # then
    assert result.timestamp == expected_timestamp
    assert result.received_at == RECEIVED_AT
    if expected_original:
        assert result.original_timestamp == parse_timestamp(expected_original)


def test_an_explicit_original_timestamp_is_the_clients_time():
    # when
    result = validate(
        {
            "type": "identify",
            "userId": "u",
            "originalTimestamp": "2025-03-01T13:00:00Z",
            "timestamp": "2025-03-01T12:00:00Z",
            "sentAt": "2025-03-01T13:00:05Z",
        }
    )

    # then
    assert result.original_timestamp == datetime(2025, 3, 1, 13, 0, tzinfo=UTC)
    assert result.timestamp == RECEIVED_AT - timedelta(seconds=5)


def test_it_rejects_a_skew_correction_that_leaves_the_calendar():
    # when
    result = validate(
        {"type": "identify", "userId": "u", "timestamp": "0001-01-02T00:00:00Z", "sentAt": "9999-01-01T00:00:00Z"}
    )

    # then
    assert result == Rejection("timestamp", "timestamp is too far from sentAt to correct for clock skew")


@pytest.mark.parametrize(
    ("fields", "envelope", "field", "reason_part"),
    [
        # PostgreSQL refuses offsets of 16 hours or more.
        ({"timestamp": "2025-03-01T10:00:00+16:00"}, {}, "timestamp", "offset out of range"),
        ({"timestamp": "2025-03-01T10:00:00-16:00"}, {}, "timestamp", "offset out of range"),
        ({"originalTimestamp": "2025-03-01T10:00:00+23:59"}, {}, "originalTimestamp", "offset out of range"),
        ({"sentAt": "2025-03-01T10:00:00+16:00"}, {}, "sentAt", "offset out of range"),
        ({}, {"sentAt": "2025-03-01T10:00:00+16:00"}, "sentAt", "the batch's sentAt has a UTC offset"),
        # In Python's calendar as written, past it once in UTC.
        ({"timestamp": "9999-12-31T23:00:00-05:00"}, {}, "timestamp", "out of range"),
        ({"timestamp": "0001-01-01T00:00:00+05:00"}, {}, "timestamp", "out of range"),
        ({"originalTimestamp": "9999-12-31T23:00:00-05:00"}, {}, "originalTimestamp", "out of range"),
        ({"sentAt": "9999-12-31T23:00:00-05:00"}, {}, "sentAt", "out of range"),
        ({}, {"sentAt": "0001-01-01T00:00:00+05:00"}, "sentAt", "the batch's sentAt is out of range"),
        # Holdable in UTC, but no time zone east of UTC could show it.
        ({"timestamp": "9999-12-31T00:00:00Z"}, {}, "timestamp", "out of range"),
        ({"timestamp": "0001-01-01T12:00:00Z"}, {}, "timestamp", "out of range"),
        # Each time holdable, the corrected one is not: receivedAt (2025) + 7,975 years.
        ({"timestamp": "9999-12-29T00:00:00Z", "sentAt": "2024-12-29T00:00:00Z"}, {}, "timestamp", "clock skew"),
        ({}, {"sentAt": "0005-01-01T00:00:00Z"}, "timestamp", "clock skew"),
    ],
)
def test_it_rejects_a_time_the_database_cannot_hold_naming_the_field(fields, envelope, field, reason_part):
    # given
    raw = {"type": "track", "userId": "u", "event": "e", "timestamp": "9000-01-01T00:00:00Z"} | fields

    # when
    result = validate(raw, envelope=envelope)

    # then
    assert isinstance(result, Rejection)
    assert result.field == field
    assert reason_part in result.reason


@pytest.mark.parametrize("timestamp", [False, "nope", "2025-03-01T10:00:00+16:00"])
def test_a_bad_timestamp_is_rejected_even_beside_an_original_timestamp(timestamp):
    # given: originalTimestamp gives the time, but a timestamp that is not one is still bad input
    raw = {"type": "track", "userId": "u", "event": "e", "originalTimestamp": "2025-03-01T10:00:00Z"}

    # when
    result = validate(raw | {"timestamp": timestamp})

    # then
    assert isinstance(result, Rejection)
    assert result.field == "timestamp"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        # The widest offsets PostgreSQL takes, and offsets with (fractions of) seconds it does not.
        ("2025-03-01T10:00:00+15:59", datetime(2025, 2, 28, 18, 1, tzinfo=UTC)),
        ("2025-03-01T10:00:00-15:59", datetime(2025, 3, 2, 1, 59, tzinfo=UTC)),
        ("2025-03-01T10:00:00+05:30:15.5", datetime(2025, 3, 1, 4, 29, 44, 500000, tzinfo=UTC)),
        # Far from now but holdable: kept as sent, never clamped.
        ("9999-12-30T00:00:00Z", datetime(9999, 12, 30, tzinfo=UTC)),
        ("0001-01-02T00:00:00Z", datetime(1, 1, 2, tzinfo=UTC)),
    ],
)
def test_it_keeps_a_holdable_time_as_sent_in_utc(timestamp, expected):
    # when
    result = validate({"type": "track", "userId": "u", "event": "e", "timestamp": timestamp})

    # then
    assert result.timestamp == result.original_timestamp == expected
    assert result.timestamp.utcoffset() == timedelta(0)


def nested(levels: int, inner: object = 1) -> object:
    """`levels` objects and arrays, one inside the other, around `inner`."""
    value = inner
    for level in range(levels):
        value = {"k": value} if level % 2 else [value]
    return value


def test_a_message_nested_as_deep_as_the_limit_is_accepted():
    # given: the message is the first level, its properties the second
    raw = {"type": "track", "userId": "u", "event": "e", "properties": {"p": nested(MAX_NESTING_DEPTH - 2)}}

    # when
    result = validate(raw)

    # then
    assert isinstance(result, Message)


@pytest.mark.parametrize("levels", [MAX_NESTING_DEPTH - 1, 500, 900])
def test_a_message_nested_deeper_than_the_limit_is_rejected_naming_the_field(levels):
    # given: 900 levels is as deep as Python's json can go, 500 what the admin's pretty-printing cannot show
    raw = {"type": "track", "userId": "u", "event": "e", "properties": {"p": nested(levels)}}

    # when
    result = validate(raw)

    # then
    assert result == Rejection("properties", f"properties is nested more than {MAX_NESTING_DEPTH} levels deep")


@pytest.mark.parametrize(
    ("envelope", "field", "reason_part"),
    [
        ({"context": {"deep": nested(MAX_NESTING_DEPTH)}}, "context", "the batch's context is nested more than"),
        ({"context": {"ip": "1.2.3.4\x00"}}, "context", "the batch's context contains a NUL"),
        ({"integrations": {"x": "\ud800"}}, "integrations", "the batch's integrations contains invalid Unicode"),
    ],
)
def test_an_envelope_value_that_cannot_be_stored_rejects_the_messages_it_applies_to(envelope, field, reason_part):
    # when
    result = validate({"type": "identify", "userId": "u"}, envelope=envelope)

    # then
    assert isinstance(result, Rejection)
    assert result.field == field
    assert reason_part in result.reason


@pytest.mark.parametrize("field", ["context", "integrations"])
@pytest.mark.parametrize("value", [5, False, "web", ["a"]])
def test_an_envelope_value_that_is_not_an_object_rejects_the_messages_it_applies_to(field, value):
    # when: as a message's own context would be, rather than dropped without a word
    result = validate({"type": "identify", "userId": "u"}, envelope={field: value})

    # then
    assert result == Rejection(field, f"the batch's {field} must be a JSON object")


@pytest.mark.parametrize("value", [None, {}])
def test_an_envelope_without_context_leaves_the_message_as_it_is(value):
    # when
    result = validate({"type": "identify", "userId": "u", "context": {"ip": "1.2.3.4"}}, envelope={"context": value})

    # then
    assert isinstance(result, Message)
    assert result.context == {"ip": "1.2.3.4"}


def test_pruning_json_text_cuts_only_what_is_nested_too_deep():
    # given: brackets inside strings, escaped quotes included, are text, not nesting
    text = json.dumps({"a": [[[1]]], "b": [2], "s": 'x[[{"\\"'})

    # when
    pruned = json_deep_values_pruned(text, max_depth=3)

    # then
    assert json.loads(pruned) == {"a": [[[]]], "b": [2], "s": 'x[[{"\\"'}


@pytest.mark.parametrize("text", ["[" * 10, "[[[[1]]", '{"a": [[[[1]]]]', "not json"])
def test_pruning_never_turns_broken_json_into_json(text):
    # when
    pruned = json_deep_values_pruned(text, max_depth=2)

    # then
    with pytest.raises(ValueError):
        json.loads(pruned)


def test_pruning_a_json_value_keeps_the_shallow_part():
    assert json_value_pruned({"a": [{"b": 1}], "c": 2}, max_depth=2) == {"a": ["(nested too deep)"], "c": 2}


def test_it_keeps_unknown_top_level_fields_in_extra_but_never_the_write_key():
    # when
    result = validate({"type": "page", "userId": "u", "category": "Docs", "version": 2, "writeKey": "secret"})

    # then
    assert result.extra == {"category": "Docs", "version": 2}


def test_a_missing_message_id_is_generated_from_the_content_and_stable_across_retries():
    # given: the same message sent twice, with a different sentAt each time as retries do
    first = {"type": "track", "userId": "u", "event": "e", "timestamp": "2025-03-01T10:00:00Z"}
    retry = {**first, "sentAt": "2025-03-01T10:05:00Z"}
    other = {**first, "event": "f"}

    # when
    ids = [validate(m).message_id for m in (first, retry, other)]

    # then
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("gen-")
    assert validate(first).is_message_id_generated


def test_a_generated_message_id_depends_on_the_type_too():
    assert generated_message_id({"userId": "u"}, "identify") != generated_message_id({"userId": "u"}, "page")


def test_a_message_id_sent_by_the_client_is_kept():
    # when
    result = validate({"type": "identify", "userId": "u", "messageId": "m-1"})

    # then
    assert result.message_id == "m-1"
    assert not result.is_message_id_generated


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
message_keys = st.sampled_from(
    [
        "type",
        "userId",
        "anonymousId",
        "event",
        "name",
        "groupId",
        "previousId",
        "messageId",
        "timestamp",
        "originalTimestamp",
        "sentAt",
        "context",
        "traits",
        "properties",
        "integrations",
    ]
)
message_like = st.dictionaries(message_keys | st.text(max_size=8), json_values, max_size=10)
# NUL characters are rejected before dates are looked at (tested above).
# Any calendar time with any offset Python allows (under 24 hours either way).
any_offset_date = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
    st.datetimes(),
    st.integers(min_value=-1439, max_value=1439),
)
date_like = (
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
    | any_offset_date
    | st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=30)
)


@settings(max_examples=400, deadline=None)
@given(raw=json_values | message_like, envelope=st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_arbitrary_json_never_crashes_the_validator(raw, envelope):
    # when
    result = validate(raw, envelope=envelope, max_bytes=2000)

    # then
    assert isinstance(result, Message | Rejection)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["identify", "track", "page", "screen", "group", "alias"]),
    timestamp=date_like | st.none(),
    sent_at=date_like | st.none(),
)
def test_arbitrary_dates_never_crash_and_accepted_ones_are_aware(kind, timestamp, sent_at):
    # given
    raw = {"type": kind, "userId": "u", "previousId": "p", "groupId": "g", "event": "e"}
    raw |= {"timestamp": timestamp, "sentAt": sent_at}

    # when
    result = validate(raw)

    # then
    if isinstance(result, Message):
        assert result.timestamp.tzinfo is not None
        assert json.dumps(result.extra) is not None
        # What PostgreSQL stores and Python reads back, in any time zone.
        for moment in (result.timestamp, result.original_timestamp, result.sent_at):
            assert moment is None or (EARLIEST_TIME <= moment <= LATEST_TIME and moment.utcoffset() == timedelta(0))
    else:
        assert result.field in ("timestamp", "sentAt")
