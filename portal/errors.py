"""The one small tree of exceptions for operations that cannot go on.

Problems found in *data* are not exceptions: they are `Issue` records in a `Report`
(see `portal.report`). Each class carries its CLI exit code and HTTP status, so the CLI
and the web layer translate them in exactly one place each.
"""

from __future__ import annotations


class PortalError(Exception):
    """Base of every error Lodestar raises on purpose."""

    code = "portal/error"
    exit_code = 2
    http_status = 500


class UsageError(PortalError):
    """The caller asked for something malformed (bad argument, bad query)."""

    code = "portal/usage"
    exit_code = 2
    http_status = 400


class ConfigError(PortalError):
    """A setting is missing or invalid."""

    code = "portal/config"
    exit_code = 2
    http_status = 500


class NotFoundError(PortalError):
    """A named thing (source, dataset, resource, graph) does not exist."""

    code = "portal/not-found"
    exit_code = 2
    http_status = 404


class DataError(PortalError):
    """Input data cannot be used at all (unreadable file, wrong format)."""

    code = "data/invalid"
    exit_code = 1
    http_status = 422


class MappingError(DataError):
    """A table cannot be mapped to RDF with the given schema or mapping."""

    code = "mapping/error"


class SourceError(PortalError):
    """A harvest source cannot be read or understood."""

    code = "source/error"
    exit_code = 3
    http_status = 502


class SourceUnavailableError(SourceError):
    """A harvest source could not be reached (network, HTTP status, timeout)."""

    code = "source/unavailable"


class StoreError(PortalError):
    """The triple store or the database cannot complete an operation."""

    code = "store/error"
    exit_code = 3
    http_status = 503


class StoreBusyError(StoreError):
    """Another process holds the embedded store and cannot be reached."""

    code = "store/busy"


class QueryLimitError(PortalError):
    """A public SPARQL query was refused or stopped by one of the endpoint's written limits."""

    code = "sparql/limit"
    exit_code = 3
    http_status = 503

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueryTimeoutError(QueryLimitError):
    """The query ran past the endpoint's time limit and was stopped."""

    code = "sparql/timeout"


class QueryMemoryError(QueryLimitError):
    """The query needed more memory than a query worker may use and was stopped."""

    code = "sparql/too-much-memory"


class QueryCrashedError(QueryLimitError):
    """The worker evaluating the query crashed; only that query failed."""

    code = "sparql/worker-crashed"
    http_status = 500


class EndpointBusyError(QueryLimitError):
    """Every query worker is busy and the queue is full."""

    code = "sparql/busy"


class TooManyQueriesError(QueryLimitError):
    """The client already has its share of queries running or waiting."""

    code = "sparql/too-many-queries"
    http_status = 429


class ClientGoneError(QueryLimitError):
    """The client disconnected, so its query was stopped."""

    code = "sparql/client-gone"
