from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
SEVERITY_CRITICAL: Severity
SEVERITY_ERROR: Severity
SEVERITY_INFO: Severity
SEVERITY_UNSPECIFIED: Severity
SEVERITY_WARNING: Severity
STATUS_FIRING: Status
STATUS_RESOLVED: Status

class AlertEvent(_message.Message):
    __slots__ = ["alert_type", "annotations", "current_value", "dedup_key", "description", "event_id", "generator_url", "iteration", "labels", "occurred_at_unix_ms", "severity", "source", "status", "summary", "threshold_value"]
    class AnnotationsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ALERT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DEDUP_KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_URL_FIELD_NUMBER: _ClassVar[int]
    ITERATION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_VALUE_FIELD_NUMBER: _ClassVar[int]
    alert_type: str
    annotations: _containers.ScalarMap[str, str]
    current_value: float
    dedup_key: str
    description: str
    event_id: str
    generator_url: str
    iteration: int
    labels: _containers.ScalarMap[str, str]
    occurred_at_unix_ms: int
    severity: Severity
    source: str
    status: Status
    summary: str
    threshold_value: float
    def __init__(self, alert_type: _Optional[str] = ..., severity: _Optional[_Union[Severity, str]] = ..., status: _Optional[_Union[Status, str]] = ..., source: _Optional[str] = ..., summary: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., occurred_at_unix_ms: _Optional[int] = ..., current_value: _Optional[float] = ..., threshold_value: _Optional[float] = ..., iteration: _Optional[int] = ..., dedup_key: _Optional[str] = ..., event_id: _Optional[str] = ..., generator_url: _Optional[str] = ...) -> None: ...

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
