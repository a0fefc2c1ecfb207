"""Regenerate the ISO tables here (countries, currencies, US states) from ISO data (a developer tool).

Run from the checkout: ``python -m vocab.reference.build``. The facts come from the Debian
``iso-codes`` data as packaged in `pycountry` (install it to run this tool; the portal itself only
reads the CSV files). PROVENANCE.md records the version used. The hand-curated tables (districts,
municipalities) are edited by hand and never touched here.
"""

from __future__ import annotations

import argparse
import csv
import gettext
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: Wikidata items of the countries of the sample data (Q-ids checked by hand; see PROVENANCE.md).
COUNTRY_WIKIDATA = {"GB": "Q145", "DE": "Q183", "US": "Q30", "CA": "Q16"}


def _translator(domain: str, language: str) -> Callable[[str], str]:
    import pycountry  # only this tool needs it

    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language]).gettext
    except OSError:
        return lambda text: text


def _write(name: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    count = 0
    with (HERE / f"{name}.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _alt(record: Any, pref: str, *fields: str) -> str:
    values = [getattr(record, f, "") for f in fields]
    return "|".join(dict.fromkeys(v for v in values if v and v != pref))


def countries() -> int:
    """Write ``country.csv``: ISO 3166-1 codes, English and German names, Wikidata where checked."""
    import pycountry

    german = _translator("iso3166-1", "de")
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        de = german(c.name)
        rows.append([c.alpha_2, c.name, de if de != c.name else "",
                     _alt(c, c.name, "official_name", "common_name"),
                     c.alpha_3, c.numeric, COUNTRY_WIKIDATA.get(c.alpha_2, "")])
    header = ["code", "pref@en", "pref@de", "alt@en", "notation:iso3166-1-alpha3",
              "notation:iso3166-1-numeric", "wikidata"]
    return _write("country", header, rows)


def currencies() -> int:
    """Write ``currency.csv``: ISO 4217 alphabetic and numeric codes, English and German names."""
    import pycountry

    german = _translator("iso4217", "de")
    rows = []
    for c in sorted(pycountry.currencies, key=lambda c: c.alpha_3):
        de = german(c.name)
        rows.append([c.alpha_3, c.name, de if de != c.name else "", getattr(c, "numeric", "")])
    return _write("currency", ["code", "pref@en", "pref@de", "notation:iso4217-numeric"], rows)


def us_states() -> int:
    """Write ``us-state.csv``: the ISO 3166-2:US subdivisions (states, DC, outlying areas)."""
    import pycountry

    rows = []
    for s in sorted(pycountry.subdivisions.get(country_code="US"), key=lambda s: s.code):
        rows.append([s.code.split("-", 1)[1], s.name, s.code, "country:US"])
    return _write("us-state", ["code", "pref@en", "notation:iso3166-2", "broader"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    """Regenerate the ISO tables and say how many rows each has."""
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    for build in (countries, currencies, us_states):
        print(f"{build.__name__}: {build()} rows")


if __name__ == "__main__":
    main()
