"""pygeoapi's provider exceptions as the project's error vocabulary (connectors/errors.py).

pygeoapi gives each provider exception an HTTP status for *its* API; behind the adapter the
question is whose fault it is. The client's: a query the provider calls invalid (400, not
counted against the source) or a value the database refused. The source's: everything else
(a broken connection, a failed query, a misconfigured provider, a bug in the plugin): 502,
counted by the breaker. A missing item is no error at all: `get()` answers None (404).
"""

from __future__ import annotations

from connectors.errors import (
    SourceAnswerTooLarge,
    SourceError,
    SourceRefused,
    SourceRejectedValue,
    SourceTimeout,
)


class ItemMissing(Exception):  # noqa: N818 - a condition, not a failure
    """The provider said the item does not exist (ProviderItemNotFoundError)."""


class NoData(Exception):  # noqa: N818 - a condition, not a failure
    """The provider said it holds nothing for the query (ProviderNoDataError: its 204)."""


def translate(error: BaseException, source: str) -> BaseException:
    """The exception to raise instead of `error`, raised by a provider of `source`."""
    if isinstance(error, SourceError | SourceRefused | SourceAnswerTooLarge | ItemMissing | NoData):
        return error  # already ours
    kind = _provider_kind(error)
    detail = f"{source}: pygeoapi provider {type(error).__name__}: {_message(error)}"
    if kind == "ProviderItemNotFoundError":
        return ItemMissing(detail)
    if kind == "ProviderNoDataError":
        return NoData(detail)
    if kind == "ProviderInvalidQueryError":
        return SourceRefused(400, detail)
    if kind == "ProviderRequestEntityTooLargeError":
        return SourceAnswerTooLarge(detail)
    if kind is not None:  # connection, query, type, invalid data, version, generic
        return SourceError(detail)
    if isinstance(error, TimeoutError):
        return SourceTimeout(detail)
    if _is_data_error(error):
        return SourceRejectedValue(detail)
    return SourceError(f"{source}: the pygeoapi provider raised {type(error).__name__}: {error}")


def _provider_kind(error: BaseException) -> str | None:
    """The name of the pygeoapi provider exception class `error` is (or derives from)."""
    from pygeoapi.provider.base import ProviderGenericError

    if not isinstance(error, ProviderGenericError):
        return None
    for cls in type(error).__mro__:
        if cls.__module__ == "pygeoapi.provider.base":
            return cls.__name__
    return "ProviderGenericError"


def _message(error: BaseException) -> str:
    """The provider's own text, else pygeoapi's class default (`message`)."""
    first = error.args[0] if error.args else None
    if first is not None and str(first):
        return str(first)
    return str(getattr(error, "message", "") or "-")


def _is_data_error(error: BaseException) -> bool:
    """A database refused a value of the query (SQLAlchemy's DataError: SQLSTATE class 22)."""
    try:
        from sqlalchemy.exc import DataError
    except ImportError:  # pragma: no cover - pygeoapi's SQL providers need SQLAlchemy
        return False
    return isinstance(error, DataError)


__all__ = ["ItemMissing", "NoData", "translate"]
