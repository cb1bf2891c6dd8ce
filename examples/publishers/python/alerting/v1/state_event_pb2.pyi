from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlertStateEvent(_message.Message):
    __slots__ = ["change", "ends_at_unix_ms", "fingerprint", "labels", "observed_at_unix_ms", "silenced_by", "starts_at_unix_ms"]
    class Change(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIRING: AlertStateEvent.Change
    CHANGE_RESOLVED: AlertStateEvent.Change
    CHANGE_SILENCED: AlertStateEvent.Change
    CHANGE_UNSILENCED: AlertStateEvent.Change
    CHANGE_UNSPECIFIED: AlertStateEvent.Change
    ENDS_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SILENCED_BY_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    change: AlertStateEvent.Change
    ends_at_unix_ms: int
    fingerprint: str
    labels: _containers.ScalarMap[str, str]
    observed_at_unix_ms: int
    silenced_by: _containers.RepeatedScalarFieldContainer[str]
    starts_at_unix_ms: int
    def __init__(self, change: _Optional[_Union[AlertStateEvent.Change, str]] = ..., fingerprint: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., starts_at_unix_ms: _Optional[int] = ..., ends_at_unix_ms: _Optional[int] = ..., silenced_by: _Optional[_Iterable[str]] = ..., observed_at_unix_ms: _Optional[int] = ...) -> None: ...

class NotificationStateEvent(_message.Message):
    __slots__ = ["attempts", "error", "fingerprints", "firing", "group_key", "integration", "notification_id", "observed_at_unix_ms", "outcome", "reason", "receiver", "resolved"]
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINTS_FIELD_NUMBER: _ClassVar[int]
    FIRING_FIELD_NUMBER: _ClassVar[int]
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_DEAD_LETTERED: NotificationStateEvent.Outcome
    OUTCOME_FAILED: NotificationStateEvent.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_SENT: NotificationStateEvent.Outcome
    OUTCOME_UNSPECIFIED: NotificationStateEvent.Outcome
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    error: str
    fingerprints: _containers.RepeatedScalarFieldContainer[str]
    firing: int
    group_key: str
    integration: str
    notification_id: str
    observed_at_unix_ms: int
    outcome: NotificationStateEvent.Outcome
    reason: str
    receiver: str
    resolved: int
    def __init__(self, outcome: _Optional[_Union[NotificationStateEvent.Outcome, str]] = ..., notification_id: _Optional[str] = ..., receiver: _Optional[str] = ..., integration: _Optional[str] = ..., group_key: _Optional[str] = ..., fingerprints: _Optional[_Iterable[str]] = ..., firing: _Optional[int] = ..., resolved: _Optional[int] = ..., attempts: _Optional[int] = ..., reason: _Optional[str] = ..., error: _Optional[str] = ..., observed_at_unix_ms: _Optional[int] = ...) -> None: ...
