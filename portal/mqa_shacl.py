"""DCAT-AP compliance of one dataset record: pySHACL against the DCAT-AP 2.1.1 shapes bundled in `vocab/shapes/`.

This is the MQA's "DCAT-AP compliance" indicator (30 of 405 points). data.europa.eu validates
harvested records against DCAT-AP **2.1.1**: its SHACL service takes ``shapeModel=dcatap211``
(as clients of ``data.europa.eu/api/mqa/shacl/validation/report`` call it, e.g. ckanext-dcathr's
``dcathr-validate-dataset`` module), and the MQA reproductions offer only 2.x shapes
(mjanez/ckan-mqa ``DCATAP_FILES_VERSION``: 2.0.1, 2.1.0, 2.1.1); no source says the MQA moved to
3.x. Only the mandatory-and-cardinality file (``dcat-ap_2.1.1_shacl_shapes.ttl``) is used: no
range, controlled-vocabulary or recommended-property shapes and no remote ``owl:imports``
(vocabulary use is scored by the MQA's own indicators). Validation runs without inference.

pySHACL is the slow part of an assessment: about 10 ms for a record with one distribution, 20 ms
with five, 40 ms with twenty (pySHACL 0.40, one core), against 1–9 ms to build the record. So
`portal.mqa_cache` keeps each result with the hash of the record it checked, and runs it again
only for a changed record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files
from typing import Any

from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

#: What the compliance indicator checks against.
SHAPES_VERSION = "DCAT-AP 2.1.1"
SHAPES_FILE = "dcat-ap_2.1.1_shacl_shapes.ttl"
#: Violations kept per record (the first ones, sorted): enough to say what to fix.
MAX_VIOLATIONS = 20


@dataclass(frozen=True)
class Violation:
    """One SHACL violation: which node, which property, which shape, and what is wrong."""

    focus: str
    path: str
    shape: str  # the DCAT-AP class shape (`sh:name`: "Dataset", "Distribution" …)
    message: str

    def to_dict(self) -> dict[str, str]:
        """The violation as JSON."""
        return {"focus": self.focus, "path": self.path, "shape": self.shape, "message": self.message}


@dataclass(frozen=True)
class Compliance:
    """Whether a record conforms to the shapes, and the violations found (the first `MAX_VIOLATIONS`)."""

    conforms: bool
    violations: tuple[Violation, ...] = ()
    shapes: str = SHAPES_VERSION
    violation_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON (kept in the quality cache)."""
        return {"conforms": self.conforms, "shapes": self.shapes, "violation_count": self.violation_count,
                "violations": [v.to_dict() for v in self.violations]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Compliance:
        """A result read back from `to_dict`'s JSON."""
        return cls(bool(data["conforms"]), tuple(Violation(**v) for v in data.get("violations", [])),
                   str(data.get("shapes", SHAPES_VERSION)), int(data.get("violation_count", 0)))


@cache
def shapes_graph() -> Graph:
    """The bundled DCAT-AP 2.1.1 shapes, parsed once per process."""
    text = (package_files.files("vocab") / "shapes" / SHAPES_FILE).read_text("utf-8")
    return Graph().parse(data=text, format="turtle")


@cache
def _shape_names() -> dict[Node, str]:
    """Each property shape → the `sh:name` of the node shape that holds it ("Dataset", "Distribution" …)."""
    shapes = shapes_graph()
    return {prop: str(name) for node, prop in shapes.subject_objects(SH.property)
            for name in shapes.objects(node, SH.name)}


def _short(node: Node | None) -> str:
    if node is None:
        return ""
    text = str(node)
    for namespace, prefix in (("http://purl.org/dc/terms/", "dct:"), ("http://www.w3.org/ns/dcat#", "dcat:"),
                              ("http://xmlns.com/foaf/0.1/", "foaf:"), ("http://spdx.org/rdf/terms#", "spdx:")):
        if text.startswith(namespace):
            return prefix + text[len(namespace):]
    return text


def check_compliance(record: Graph) -> Compliance:
    """Validate one dataset record against the DCAT-AP 2.1.1 shapes (no inference, nothing fetched)."""
    conforms, report, _ = validate(record, shacl_graph=shapes_graph(), inference="none", allow_warnings=True)
    assert isinstance(report, Graph)
    names = _shape_names()
    found = []
    for result in report.subjects(SH.resultSeverity, SH.Violation):
        message = report.value(result, SH.resultMessage)
        found.append(Violation(
            focus=str(report.value(result, SH.focusNode) or ""),
            path=_short(report.value(result, SH.resultPath)),
            shape=names.get(report.value(result, SH.sourceShape) or URIRef(""), ""),
            message=str(message) if message is not None else "",
        ))
    found.sort(key=lambda v: (v.shape, v.path, v.focus, v.message))
    return Compliance(bool(conforms) and not found, tuple(found[:MAX_VIOLATIONS]), SHAPES_VERSION, len(found))


__all__ = ["Compliance", "MAX_VIOLATIONS", "SHAPES_FILE", "SHAPES_VERSION", "Violation", "check_compliance",
           "shapes_graph"]
