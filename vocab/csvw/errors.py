"""The converter's error and warning classes, and the one helper that emits a warning."""

from __future__ import annotations

import warnings

from portal.errors import MappingError


class CsvwError(MappingError):
    """CSVW metadata or tabular data that the csv2rdf conversion cannot go on with."""

    code = "csvw/error"


class CsvwWarning(UserWarning):
    """A problem the CSVW specifications say to report and then go on past."""


def warn(message: str) -> None:
    """Emit `message` as a `CsvwWarning`."""
    warnings.warn(message, CsvwWarning, stacklevel=3)
