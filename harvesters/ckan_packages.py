"""CKAN package dictionaries (as `package_show` / `package_search` give them) → dataset records.

Values stay as the portal gives them (licence id, frequency string, group labels, format strings);
the pipeline's normaliser maps them to the EU tables. Fields with no home in the record — CKAN
``extras``, and the custom top-level fields of ckanext-scheming portals such as Toronto's
``refresh_rate`` or EnviDat's ``doi`` — are kept in the record's ``extras`` as given.

Coverage and rights are also read from those fields, under the names ckanext-dcat gives them:
``spatial_uri``, ``spatial_text`` and ``spatial`` (GeoJSON, also EnviDat's custom field),
ckanext-dcat's scheming list ``spatial_coverage`` (``uri``/``text``/``geom``/``bbox`` of each
place; a plain text is a place name); ``temporal_start``/``temporal_end`` or the scheming list
``temporal_coverage`` (its first period); ``access_rights``; ``rights`` (of the package or of a
resource); a resource's ``access_url``. They stay in ``extras`` as given too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urljoin

from harvesters.base import HarvestedDataset, HarvestedResource, period_of

#: Extra (or custom field) names that carry the expected update frequency, compared after `_key`.
FREQUENCY_KEYS = (
    "frequency", "update_frequency", "accrual_periodicity", "accrualperiodicity", "refresh_rate",
    "update_freq", "data_update_frequency", "frequência_de_atualização",
    "frequência_de_atualização_dos_dados", "frequencia_de_atualizacao", "periodicity",
)

#: Package fields that have a home in the record (or are CKAN's own bookkeeping, derivable from it).
_MAPPED = frozenset({
    "id", "name", "title", "notes", "organization", "owner_org", "license_id", "license_title", "license_url",
    "tags", "groups", "metadata_created", "metadata_modified", "language", "resources", "extras",
    "num_tags", "num_resources", "state", "private", "type", "revision_id", "creator_user_id",
    "relationships_as_subject", "relationships_as_object",
})
_RESOURCE_MAPPED = frozenset({
    "url", "name", "description", "format", "mimetype", "size", "last_modified", "id", "package_id",
    "position", "state", "revision_id",
})
#: The parts of a ckanext-dcat ``spatial_coverage`` entry that say where, most specific first.
_PLACE_PARTS = ("uri", "text", "geom", "bbox", "centroid")


def _key(name: str) -> str:
    return name.strip().casefold().replace(" ", "_").replace("-", "_")


def parse_time(value: Any) -> datetime | None:
    """A CKAN timestamp (ISO 8601, UTC when it names no zone, as CKAN writes them) or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _languages(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return []


def _resource(root: str, given: Mapping[str, Any]) -> HarvestedResource | None:
    url = _text(given.get("url"))
    if not url:
        return None
    return HarvestedResource(
        url=urljoin(root + "/", url),  # uploads are sometimes listed by a path on the portal
        title=_text(given.get("name")),
        description=_text(given.get("description")),
        format=_text(given.get("format")),
        media_type=_text(given.get("mimetype")),
        byte_size=_size(given.get("size")),
        modified=parse_time(given.get("last_modified")) or parse_time(given.get("metadata_modified")),
        identifier=_text(given.get("id")),
        access_url=_text(given.get("access_url")) or None,
        rights=_statement(given.get("rights")),
        extras={k: v for k, v in given.items() if k not in _RESOURCE_MAPPED and v is not None},
    )


def _statement(value: Any) -> str | None:
    """A rights statement or access right as given: a string, or the ``uri``/``label`` of a dict."""
    if isinstance(value, Mapping):
        value = value.get("uri") or value.get("label") or value.get("text")
    return _text(value) or None


def _field(extras: Mapping[str, Any], name: str) -> Any:
    """The value of a field among the extras, whatever case or separator its name uses."""
    return next((value for key, value in extras.items() if _key(key) == name), None)


def _place(value: Any) -> list[str]:
    """The places a ckanext-dcat ``spatial_coverage`` value names: a list of entries, one entry, or text."""
    if isinstance(value, str):
        try:  # ckanext-scheming stores repeating subfields as JSON text in the extras
            value = json.loads(value)
        except ValueError:
            return [value.strip()] if value.strip() else []
    entries = value if isinstance(value, list) else [value]
    found = []
    for entry in entries:
        if isinstance(entry, Mapping):
            part = next((entry[k] for k in _PLACE_PARTS if isinstance(entry.get(k), str) and entry[k].strip()), None)
            if part is not None:
                found.append(part.strip())
        elif isinstance(entry, str) and entry.strip():
            found.append(entry.strip())
    return found


def spatial_of(extras: Mapping[str, Any]) -> list[str]:
    """The places the package covers, from ckanext-dcat's fields among the extras."""
    found: list[str] = []
    for name in ("spatial_uri", "spatial_text", "spatial"):
        value = _field(extras, name)
        if isinstance(value, Mapping):  # a GeoJSON object rather than its text
            value = json.dumps(value)
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
    found.extend(_place(_field(extras, "spatial_coverage")))
    return list(dict.fromkeys(found))


def temporal_of(extras: Mapping[str, Any]) -> dict[str, str] | None:
    """The period the package covers: ``temporal_start``/``temporal_end``, else the first ``temporal_coverage``."""
    found = period_of(_field(extras, "temporal_start"), _field(extras, "temporal_end"))
    if found:
        return found
    coverage = _field(extras, "temporal_coverage")
    if isinstance(coverage, str):
        try:
            coverage = json.loads(coverage)
        except ValueError:
            return None
    for period in coverage if isinstance(coverage, list) else [coverage]:
        if isinstance(period, Mapping) and (found := period_of(period.get("start"), period.get("end"))):
            return found
    return None


def _extras(package: Mapping[str, Any]) -> dict[str, Any]:
    """Every field without a home: unknown top-level fields first, then the CKAN ``extras`` list."""
    kept = {k: v for k, v in package.items() if k not in _MAPPED and v is not None}
    for extra in package.get("extras") or []:
        if isinstance(extra, Mapping) and isinstance(extra.get("key"), str):
            key = extra["key"] if extra["key"] not in kept else f"extras:{extra['key']}"
            kept[key] = extra.get("value")
    return kept


def frequency_of(extras: Mapping[str, Any]) -> str | None:
    """The expected update frequency among the extras, as the portal spells it, or None."""
    by_key = {_key(name): value for name, value in extras.items()}
    for name in FREQUENCY_KEYS:
        value = by_key.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def dataset_from_package(root: str, package: Mapping[str, Any]) -> HarvestedDataset | None:
    """The record of one CKAN package; None for a package with neither id nor name."""
    identifier = _text(package.get("id")) or _text(package.get("name"))
    if not identifier:
        return None
    name = _text(package.get("name")) or identifier
    given_org = package.get("organization")
    organization: Mapping[str, Any] = given_org if isinstance(given_org, Mapping) else {}
    org_name = _text(organization.get("name"))
    modified = parse_time(package.get("metadata_modified"))
    extras = _extras(package)
    contact = _text(package.get("maintainer_email")) or _text(package.get("author_email"))
    resources = [r for r in (_resource(root, given) for given in package.get("resources") or []
                             if isinstance(given, Mapping)) if r is not None]
    licence_url = _text(package.get("license_url"))
    if not licence_url.lower().startswith(("http://", "https://")):
        licence_url = ""
    for field_name in ("license_id", "license_title"):  # the licence's other spellings, kept
        if package.get(field_name):
            extras[field_name] = package[field_name]
    return HarvestedDataset(
        identifier=identifier,
        title=_text(package.get("title")) or name,
        description=_text(package.get("notes")),
        uri=f"{root}/dataset/{quote(identifier, safe='')}",
        publisher_name=_text(organization.get("title")) or org_name,
        publisher_id=org_name,
        publisher_uri=f"{root}/organization/{quote(org_name, safe='')}" if org_name else None,
        landing_page=f"{root}/dataset/{quote(name, safe='')}",
        # The register's URL names the licence version (CC BY 4.0, not just "cc-by"); else CKAN's id.
        licence=licence_url or _text(package.get("license_id")) or None,
        frequency=frequency_of(extras),
        themes=[_text(g.get("title")) or _text(g.get("display_name")) or _text(g.get("name"))
                for g in package.get("groups") or [] if isinstance(g, Mapping)],
        keywords=[_text(t.get("display_name")) or _text(t.get("name"))
                  for t in package.get("tags") or [] if isinstance(t, Mapping)],
        issued=parse_time(package.get("metadata_created")),
        modified=modified,
        contact_email=contact or None,
        languages=_languages(package.get("language")),
        spatial=spatial_of(extras),
        temporal=temporal_of(extras),
        access_rights=_statement(_field(extras, "access_rights")),
        rights=_statement(_field(extras, "rights")),
        resources=resources,
        extras=extras,
    )
