"""The catalogue in CKAN's shapes: package and organization dicts built from the database.

What the read-only CKAN Action API (`portal.web.ckan_api`) serves, with no Flask here.

Identity, stable for the life of an instance:
- a package's `id` is a UUID (version 8, RFC 9562's layout for application-defined UUIDs) whose first
  32 bits are the dataset's row id and whose other bits come from the SHA-256 of its dataset URI. Its
  text therefore sorts like the row id, so `sort=id asc` (what CKAN harvesters page with) is an indexed
  SQL order, and an id is resolved by one primary-key read and checked against the URI;
- resources get the same kind of id from their row id and distribution URI;
- a package's `name` is ``{publisher}--{slug}`` (slugs never hold ``--``, so names are unique and
  readable back); one CKAN would refuse (past 100 characters, or with a publisher that is not a slug)
  is cut to a valid name ending in ``-r{row id}``;
- an organization is a publisher: `name` is the publisher slug, `id` the UUID-5 of its URI.

Withdrawn datasets are not listed, and `package_show` answers them "Not found" with the date they
were withdrawn, as the dataset pages do.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, selectinload

from portal.ckan_vocabulary import format_name, format_of, licence_of
from portal.db import Dataset, Resource
from portal.errors import NotFoundError
from portal.instance import Instance
from vocab.uris import UriScheme, slugify

#: The CKAN release whose Action API this one answers like (for `status_show`).
CKAN_VERSION = "2.10.0"
#: CKAN's longest package name.
NAME_MAX = 100
#: The separator between publisher and slug in a package name; `slugify` never makes it.
NAME_SEPARATOR = "--"
#: The largest row id a database integer column holds (a larger "id" names nothing).
ROW_ID_MAX = 2**31 - 1

def ckan_time(value: datetime | None) -> str | None:
    """A timestamp as CKAN writes it: UTC, without a zone, with microseconds."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def _uuid8(row_id: int, uri: str) -> str:
    """A version-8 UUID: the row id in the first 32 bits, the URI's SHA-256 in the other free bits."""
    digest = int.from_bytes(hashlib.sha256(uri.encode("utf-8")).digest()[:16], "big")
    value = (row_id & 0xFFFFFFFF) << 96 | digest & ((1 << 96) - 1)
    value = value & ~(0xF << 76) | 0x8 << 76  # version 8
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return str(uuid.UUID(int=value))


def row_id_of(value: str) -> int | None:
    """The row id a package or resource id was made from, or None when `value` is not such an id."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
    row_id = parsed.int >> 96
    return row_id if parsed.version == 8 and row_id <= ROW_ID_MAX else None


def package_id(uris: UriScheme, row_id: int, publisher: str, slug: str) -> str:
    """The CKAN id of a dataset."""
    return _uuid8(row_id, uris.dataset(publisher, slug))


def resource_id(uris: UriScheme, row_id: int, publisher: str, slug: str, resource_slug: str) -> str:
    """The CKAN id of a resource."""
    return _uuid8(row_id, uris.distribution(publisher, slug, resource_slug))


def organization_id(uris: UriScheme, publisher: str) -> str:
    """The CKAN id of a publisher."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, uris.publisher(publisher)))


def _name_characters(name: str) -> bool:
    return all(c.isascii() and (c.isalnum() and not c.isupper() or c in "-_") for c in name)


def _valid_name(name: str) -> bool:
    return 2 <= len(name) <= NAME_MAX and _name_characters(name)


def package_name(publisher: str, slug: str, row_id: int) -> str:
    """The CKAN name of a dataset: ``{publisher}--{slug}``.

    One that CKAN would refuse (longer than 100 characters, or a publisher that is not a slug) is
    cut and made lower-case ASCII, and ends in ``-r{row id}``, which keeps it unique and findable.
    """
    name = f"{publisher}{NAME_SEPARATOR}{slug}"
    if _valid_name(name):
        return name
    suffix = f"-r{row_id}"
    cleaned = name if _name_characters(name) else f"{slugify(publisher)}{NAME_SEPARATOR}{slugify(slug)}"
    return f"{cleaned[: NAME_MAX - len(suffix)].rstrip('-')}{suffix}"


def _cut_row_id(name: str) -> int | None:
    """The row id at the end of a name `package_name` had to cut (``…-r42``), or None."""
    stem, _, tail = name.rpartition("-r")
    if not (stem and tail.isdigit() and tail.isascii() and len(tail) <= 10):
        return None
    return int(tail) if int(tail) <= ROW_ID_MAX else None


def metadata_modified() -> ColumnElement[datetime]:
    """When a dataset's CKAN record last changed, as SQL: the portal's record of it (indexed)."""
    return Dataset.record_modified  # type: ignore[return-value]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


class CkanView:
    """One instance's catalogue as CKAN package and organization dicts."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.uris = instance.uris
        self._ids: dict[tuple[str, str], str] = {}  # (kind, name) → id, for publishers and tags

    def _id(self, kind: str, name: str) -> str:
        """The UUID-5 of a publisher's or tag's URI, computed once per view."""
        key = (kind, name)
        if key not in self._ids:
            self._ids[key] = organization_id(self.uris, name) if kind == "organization" else str(
                uuid.uuid5(uuid.NAMESPACE_URL, self.uris.portal_term("tag/" + name)))
        return self._ids[key]

    # --- datasets -----------------------------------------------------------------------------

    def packages(self, session: Session, datasets: Sequence[Dataset]) -> list[dict[str, Any]]:
        """The package dicts of `datasets`, in their order (their resources read in one query)."""
        resources: dict[int, list[Resource]] = {}
        if datasets:
            for resource in session.scalars(
                    select(Resource).where(Resource.dataset_id.in_([d.id for d in datasets]))
                    .order_by(Resource.id).options(selectinload(Resource.latest_version))):
                resources.setdefault(resource.dataset_id, []).append(resource)
        return [self.package(d, resources.get(d.id, [])) for d in datasets]

    def package(self, dataset: Dataset, resources: Iterable[Resource]) -> dict[str, Any]:
        """The package dict of one dataset with the given resource rows."""
        meta = dataset.metadata_json or {}
        pid = package_id(self.uris, dataset.id, dataset.publisher, dataset.slug)
        licence = licence_of(meta.get("licence"))
        keywords = [k for k in meta.get("keywords") or [] if isinstance(k, str) and k.strip()]
        given = {r["url"]: r for r in meta.get("resources") or [] if isinstance(r, dict) and "url" in r}
        shown = [self.resource(dataset, pid, r, given.get(r.url, {}), n)
                 for n, r in enumerate(_listed(resources, meta))]
        created = ckan_time(dataset.first_seen)
        modified = ckan_time(dataset.record_modified or dataset.first_seen)
        return {
            "id": pid,
            "name": package_name(dataset.publisher, dataset.slug, dataset.id),
            "title": dataset.title,
            "notes": dataset.description,
            "url": meta.get("landing_page") or "",
            "type": "dataset",
            "state": "active",
            "private": False,
            "author": None,
            "author_email": None,
            "maintainer": None,
            "maintainer_email": meta.get("contact_email"),
            "version": None,
            "license_id": licence.id,
            "license_title": licence.title,
            "license_url": licence.url,
            "isopen": licence.open,
            "organization": self.organization(dataset.publisher, dataset.publisher_name),
            "owner_org": self._id("organization", dataset.publisher),
            "metadata_created": created,
            "metadata_modified": modified,
            "num_tags": len(keywords),
            "tags": [{"name": k, "display_name": k, "state": "active", "vocabulary_id": None,
                      "id": self._id("tag", k)}
                     for k in keywords],
            "groups": [],
            "extras": self.extras(dataset, meta),
            "num_resources": len(shown),
            "resources": shown,
            "relationships_as_object": [],
            "relationships_as_subject": [],
        }

    def extras(self, dataset: Dataset, meta: Mapping[str, Any]) -> list[dict[str, str]]:
        """The source's own extras, then the portal's facts (which win a clash), sorted by key."""
        extras: dict[str, str] = {}
        for key, value in (meta.get("extras") or {}).items():
            if value is not None:
                extras[str(key)] = _text(value)
        own: dict[str, Any] = {
            "frequency": dataset.frequency,
            "identifier": dataset.identifier,
            "uri": self.uris.dataset(dataset.publisher, dataset.slug),
            "source_uri": meta.get("uri"),
            "publisher_uri": meta.get("publisher_uri"),
            "issued": meta.get("issued"),
            "modified": meta.get("modified_claimed"),
            "theme": meta.get("themes") or None,
            "language": meta.get("languages") or None,
            "last_content_change": ckan_time(dataset.last_content_change),
        }
        extras.update({key: _text(value) for key, value in own.items() if value is not None})
        return [{"key": key, "value": extras[key]} for key in sorted(extras)]

    def resource(self, dataset: Dataset, pid: str, resource: Resource, given: Mapping[str, Any],
                 position: int) -> dict[str, Any]:
        """The resource dict of one resource row, with what the source said of it (`given`)."""
        latest = resource.latest_version
        return {
            "id": resource_id(self.uris, resource.id, dataset.publisher, dataset.slug, resource.slug),
            "package_id": pid,
            "url": resource.url,
            "name": resource.title or given.get("title") or resource.slug,
            "description": given.get("description") or "",
            "format": format_name(given.get("format")) or format_of(resource.media_type, resource.url),
            "mimetype": resource.media_type or None,
            "hash": latest.content_hash if latest else "",
            "size": latest.size if latest else given.get("byte_size"),
            "last_modified": ckan_time(latest.fetched_at) if latest else None,
            "created": ckan_time(dataset.first_seen),
            "position": position,
            "state": "active",
            "url_type": None,
            "resource_type": None,
            "mimetype_inner": None,
            "cache_url": None,
            "cache_last_updated": None,
            "datastore_active": False,
        }

    def find(self, session: Session, name_or_id: str) -> Dataset:
        """The active dataset a package name or id names; `NotFoundError` otherwise (with why, if withdrawn)."""
        dataset = self.lookup(session, name_or_id)
        if dataset is None:
            raise NotFoundError("")
        if dataset.withdrawn:
            when = f" on {dataset.withdrawn_at:%Y-%m-%d}" if dataset.withdrawn_at else ""
            name = package_name(dataset.publisher, dataset.slug, dataset.id)
            raise NotFoundError(f"dataset {name} was withdrawn{when}: its source no longer lists it")
        return dataset

    def lookup(self, session: Session, name_or_id: str) -> Dataset | None:
        """The dataset (withdrawn or not) a package name or id names, or None."""
        row_id = row_id_of(name_or_id)
        if row_id is not None:
            dataset = session.get(Dataset, row_id)
            if dataset is not None and package_id(self.uris, dataset.id, dataset.publisher,
                                                  dataset.slug).lower() == name_or_id.strip().lower():
                return dataset
            return None
        publisher, sep, slug = name_or_id.partition(NAME_SEPARATOR)
        if sep and publisher:
            exact = session.scalar(select(Dataset).where(Dataset.publisher == publisher, Dataset.slug == slug))
            if exact is not None and package_name(exact.publisher, exact.slug, exact.id) == name_or_id:
                return exact
        cut = _cut_row_id(name_or_id)
        dataset = session.get(Dataset, cut) if cut is not None else None
        if dataset is not None and package_name(dataset.publisher, dataset.slug, dataset.id) == name_or_id:
            return dataset
        return None

    def package_show(self, name_or_id: str) -> dict[str, Any]:
        """The package dict of the dataset a name or id names."""
        with self.instance.session() as session:
            return self.packages(session, [self.find(session, name_or_id)])[0]

    def package_list(self, limit: int | None, offset: int) -> list[str]:
        """The names of the datasets that are not withdrawn, in name order."""
        with self.instance.session() as session:
            rows = session.execute(select(Dataset.publisher, Dataset.slug, Dataset.id)
                                   .where(Dataset.status == "active")
                                   .order_by(Dataset.publisher, Dataset.slug, Dataset.id).limit(limit).offset(offset))
            return [package_name(publisher, slug, row_id) for publisher, slug, row_id in rows]

    # --- organizations ------------------------------------------------------------------------

    def organization(self, publisher: str, title: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The organization dict of a publisher."""
        return {
            "id": self._id("organization", publisher),
            "name": publisher,
            "title": title or publisher,
            "display_name": title or publisher,
            "description": "",
            "image_url": "",
            "type": "organization",
            "is_organization": True,
            "approval_status": "approved",
            "state": "active",
            **(extra or {}),
        }

    def _organizations(self, session: Session, order: str = "name asc", limit: int | None = None,
                       offset: int = 0, publisher: str | None = None) -> list[dict[str, Any]]:
        title = func.max(Dataset.publisher_name)
        count = func.count(Dataset.id)
        keys = {"name": Dataset.publisher, "title": title, "package_count": count}
        field, _, direction = order.partition(" ")
        column = keys[field]
        statement = (select(Dataset.publisher, title, count, func.min(Dataset.first_seen))
                     .where(Dataset.status == "active").group_by(Dataset.publisher)
                     .order_by(column.desc() if direction == "desc" else column.asc(), Dataset.publisher)
                     .limit(limit).offset(offset))
        if publisher is not None:
            statement = statement.where(Dataset.publisher == publisher)
        return [self.organization(name, name_title, {"package_count": n, "created": ckan_time(created)})
                for name, name_title, n, created in session.execute(statement)]

    def organization_list(self, *, all_fields: bool, limit: int | None, offset: int,
                          order: str = "name asc") -> list[Any]:
        """Every publisher with a dataset that is not withdrawn: names, or organization dicts."""
        with self.instance.session() as session:
            found = self._organizations(session, order, limit, offset)
        return found if all_fields else [org["name"] for org in found]

    def organization_show(self, name_or_id: str, include_datasets: bool, rows: int) -> dict[str, Any]:
        """One publisher's organization dict, with its first `rows` datasets in name order if asked."""
        with self.instance.session() as session:
            publisher = self.publisher_of(session, name_or_id)
            if publisher is None:
                raise NotFoundError("")
            [org] = self._organizations(session, publisher=publisher)
            if include_datasets:
                datasets = list(session.scalars(select(Dataset).where(
                    Dataset.status == "active", Dataset.publisher == publisher)
                    .order_by(Dataset.slug, Dataset.id).limit(rows)))
                org["packages"] = self.packages(session, datasets)
            return org

    def publisher_of(self, session: Session, name_or_id: str) -> str | None:
        """The publisher an organization name or id names, if it has a dataset that is not withdrawn."""
        active = select(Dataset.publisher).where(Dataset.status == "active").distinct()
        if session.scalar(active.where(Dataset.publisher == name_or_id)) is not None:
            return name_or_id
        if row_id_of(name_or_id) is None and len(name_or_id) == 36:
            for publisher in session.scalars(active):
                if organization_id(self.uris, publisher) == name_or_id.lower():
                    return str(publisher)
        return None

    # --- the site ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What `status_show` says of the site."""
        settings = self.instance.settings
        return {
            "ckan_version": CKAN_VERSION,
            "site_url": str(settings.base_url),
            "site_title": str(settings.site_title),
            "site_description": "",
            "locale_default": "en",
            "error_emails_to": None,
            "extensions": ["lodestar"],
        }


def _listed(resources: Iterable[Resource], meta: Mapping[str, Any]) -> list[Resource]:
    """The resource rows the source lists now, in its order (all rows when the record does not say)."""
    rows = list(resources)
    listed = [r["url"] if isinstance(r, dict) else r for r in meta.get("resources") or []]
    if not listed:
        return rows
    by_url = {r.url: r for r in rows}
    return [by_url[url] for url in dict.fromkeys(listed) if url in by_url]
