"""Profiles: the shared data models that tenant collections are mapped onto.

A profile is a folder holding `profile.yaml` (id, version, kind, queryables, sortables, code
lists, alignment notes), `schema.json` (a JSON Schema 2020-12) and
`examples/valid|invalid/*.json`. Two kinds:

- `features`: the schema describes one GeoJSON feature, in the style of OGC API - Features
  Part 5; `properties()` lists its properties.
- `sensorthings`: profile.yaml's `observed_properties` fix, per observed property, the
  ObservedProperty (name, definition URI), the unit (UCUM), the result type (whence the
  observationType) and a plausible range; `thing_properties` and `datastream_properties`
  name the keys every Thing's and Datastream's `properties` must hold. The schema describes
  one Datastream as served with `$expand=Thing,ObservedProperty,Sensor` (optionally with
  Observations): a `oneOf` over `$defs`, one per observed property, which the loader checks
  against `observed_properties`. `Profile.sensorthings` holds the parsed part.

    import profiles
    profiles.available()                  # ['street-trees', ...]
    trees = profiles.get("street-trees")
    trees.properties()                    # {'species_scientific': {...}, ...} in propertySeq order
    trees.validate(feature)               # [] when valid, else one message per problem
    air = profiles.get("air-quality")
    air.sensorthings.by_definition(uri)   # the ObservedPropertySpec with that definition
    air.validate(datastream)              # a sensorthings profile validates a Datastream

Profiles are found in this package's folder and in the folders named by the environment
variable `TWINBRIDGE_PROFILE_PATH` (separated by `os.pathsep`); those are searched first, so
a site can replace a built-in profile. Each subfolder with a `profile.yaml` is one profile.
Loaded profiles are cached per search path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from profiles.sensorthings import ObservedPropertySpec, SensorThingsSpec, SpecError
from profiles.sensorthings import check_schema as check_sensorthings_schema
from profiles.sensorthings import parse as parse_sensorthings

PATH_ENV = "TWINBRIDGE_PROFILE_PATH"
BUILTIN_DIR = Path(__file__).resolve().parent
KINDS = ("features", "sensorthings")
DRAFTING_HINTS = {"aggregate", "of", "above", "absolute", "default", "why"}


class ProfileError(ValueError):
    """A profile folder exists but its files are not usable."""


class UnknownProfile(LookupError):
    """No profile with the requested id on the search path."""

    def __init__(self, profile_id: str, available: list[str]) -> None:
        names = ", ".join(available) or "none"
        super().__init__(
            f"unknown profile '{profile_id}' (available: {names}; "
            f"more folders can be added with {PATH_ENV})"
        )
        self.profile_id = profile_id
        self.available = available


@dataclass(frozen=True)
class Profile:
    id: str
    version: str
    title: str
    description: str
    kind: str
    geometry_type: str | None
    temporal_property: str | None
    queryables: tuple[str, ...]
    sortables: tuple[str, ...]
    code_lists: dict[str, dict[str, str]] = field(compare=False, repr=False)
    schema: dict[str, Any] = field(compare=False, repr=False)
    path: Path = field(compare=False)
    alignment: tuple[dict[str, str], ...] = field(default=(), compare=False, repr=False)
    sensorthings: SensorThingsSpec | None = field(default=None, compare=False, repr=False)
    # What sources call each property and its codes (German and English), for the mapping
    # wizard: property -> names (a name may carry a factor, e.g. a diameter for a
    # circumference), and property -> code -> source words for it.
    synonyms: dict[str, tuple[Any, ...]] = field(default_factory=dict, compare=False, repr=False)
    code_synonyms: dict[str, dict[str, tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # How the wizard drafts a property beyond one column: property -> hints such as
    # `aggregate: max` over a numbered column family, `above: <terrain property>` for a
    # height above ground, `default:` for a code a source leaves empty.
    drafting: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def properties(self) -> dict[str, dict[str, Any]]:
        """The feature properties' schemas, ordered by `x-ogc-propertySeq` (features)."""
        props: dict[str, dict[str, Any]] = self.schema["properties"]["properties"]["properties"]
        ordered = sorted(props.items(), key=lambda kv: kv[1].get("x-ogc-propertySeq", 1 << 30))
        return dict(ordered)

    @cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def validate(self, feature: dict[str, Any]) -> list[str]:
        """One message per problem, e.g. "$.properties.genus: 'Pinus' is not one of [...]";
        a sensorthings profile validates a Datastream the same way."""
        errors = list(self.validator.iter_errors(feature))
        if self.sensorthings is not None:
            errors = [x for e in errors for x in self._branch_errors(e, feature)]
        errors.sort(key=lambda e: list(map(str, e.path)))
        return [f"{e.json_path}: {e.message}" for e in errors]

    def _branch_errors(self, error: ValidationError, stream: Any) -> list[ValidationError]:
        """A failed `oneOf` says only "not valid under any"; name the observed property the
        Datastream claims (by ObservedProperty definition, else name) and give its errors."""
        if error.validator != "oneOf" or self.sensorthings is None:
            return [error]
        op = stream.get("ObservedProperty") if isinstance(stream, dict) else None
        op = op if isinstance(op, dict) else {}
        keys = list(self.sensorthings.observed_properties)
        specs = self.sensorthings.observed_properties.values()
        claimed = self.sensorthings.by_definition(op.get("definition")) or next(
            (p for p in specs if p.name == op.get("name")), None
        )
        if claimed is None:
            error.message = (
                f"ObservedProperty {op.get('name')!r} ({op.get('definition')!r}) is none of "
                f"the profile's observed properties: {', '.join(keys)}"
            )
            return [error]
        refs = [b.get("$ref") for b in self.schema.get("oneOf", [])]  # loader: one per key
        branch = refs.index(f"#/$defs/{claimed.key}")
        return [e for e in error.context or [] if e.schema_path and e.schema_path[0] == branch]


def search_path() -> tuple[Path, ...]:
    """Folders searched for profiles, first match wins."""
    extra = os.environ.get(PATH_ENV, "")
    folders = [Path(p).expanduser().resolve() for p in extra.split(os.pathsep) if p.strip()]
    return (*folders, BUILTIN_DIR)


def available() -> list[str]:
    return sorted(_discover(search_path()))


def get(profile_id: str) -> Profile:
    found = _discover(search_path())
    if profile_id not in found:
        raise UnknownProfile(profile_id, sorted(found))
    return load(found[profile_id])


@cache
def _discover(folders: tuple[Path, ...]) -> dict[str, Path]:
    """Profile id -> folder. The id is the one in profile.yaml (checked in `load`)."""
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for sub in sorted(folder.iterdir()):
            if (sub / "profile.yaml").is_file():
                found.setdefault(load(sub).id, sub)
    return found


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ProfileError(f"{path}: cannot read: {e}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    return data


def _read_schema(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError) as e:
        raise ProfileError(f"{path}: cannot read: {e}") from None
    except SchemaError as e:
        raise ProfileError(f"{path}: not a valid JSON Schema 2020-12: {e.message}") from None
    return schema


@cache
def load(folder: Path) -> Profile:
    """Read one profile folder; every inconsistency is a ProfileError naming the file."""
    meta_path = folder / "profile.yaml"
    meta = _read_yaml(meta_path)
    schema = _read_schema(folder / "schema.json")
    missing = [k for k in ("id", "version", "title", "kind") if not meta.get(k)]
    if missing:
        raise ProfileError(f"{meta_path}: missing {', '.join(missing)}")
    if meta["kind"] not in KINDS:
        raise ProfileError(f"{meta_path}: kind must be one of {', '.join(KINDS)}")
    sensorthings = _sensorthings(meta, schema, folder) if meta["kind"] == "sensorthings" else None
    profile = Profile(
        id=str(meta["id"]),
        version=str(meta["version"]),
        title=str(meta["title"]),
        description=str(meta.get("description", "")),
        kind=str(meta["kind"]),
        geometry_type=meta.get("geometry_type"),
        temporal_property=meta.get("temporal_property"),
        queryables=tuple(meta.get("queryables") or ()),
        sortables=tuple(meta.get("sortables") or ()),
        code_lists={k: dict(v) for k, v in (meta.get("code_lists") or {}).items()},
        schema=schema,
        path=folder,
        alignment=tuple(meta.get("alignment") or ()),
        sensorthings=sensorthings,
        synonyms={k: tuple(v or ()) for k, v in (meta.get("synonyms") or {}).items()},
        code_synonyms={
            prop: {str(code): tuple(words or ()) for code, words in codes.items()}
            for prop, codes in (meta.get("code_synonyms") or {}).items()
        },
        drafting={k: dict(v or {}) for k, v in (meta.get("drafting") or {}).items()},
    )
    _check_names(profile, meta_path)
    _check_drafting(profile, meta_path)
    return profile


def _sensorthings(meta: dict[str, Any], schema: dict[str, Any], folder: Path) -> SensorThingsSpec:
    """The SensorThings part, checked against schema.json (errors name the file at fault)."""
    try:
        spec = parse_sensorthings(meta)
    except SpecError as e:
        raise ProfileError(f"{folder / 'profile.yaml'}: {e}") from None
    try:
        check_sensorthings_schema(spec, schema, str(meta["id"]), str(meta["version"]))
    except SpecError as e:
        raise ProfileError(f"{folder / 'schema.json'}: {e}") from None
    return spec


def _check_drafting(profile: Profile, meta_path: Path) -> None:
    """The wizard's hints: a known aggregate, a default on the property's code list."""
    for name, hints in profile.drafting.items():
        unknown = set(hints) - DRAFTING_HINTS
        if unknown:
            raise ProfileError(f"{meta_path}: drafting.{name}: unknown hints {sorted(unknown)}")
        if hints.get("aggregate", "max") not in ("max", "min", "sum"):
            raise ProfileError(f"{meta_path}: drafting.{name}.aggregate: max, min or sum")
        enum = profile.properties()[name].get("enum") or []
        codes = [str(c) for c in profile.code_lists.get(name) or enum]
        if "default" in hints and str(hints["default"]) not in codes:
            raise ProfileError(
                f"{meta_path}: drafting.{name}.default: {hints['default']!r} is not on the "
                "property's code list"
            )


def _check_names(profile: Profile, meta_path: Path) -> None:
    """Queryables, sortables, the temporal property and code lists must name properties."""
    if profile.kind != "features":
        return
    try:
        names = set(profile.properties())
    except (KeyError, TypeError):
        raise ProfileError(
            f"{profile.path / 'schema.json'}: expected a GeoJSON Feature schema with "
            "properties.properties.properties"
        ) from None
    used = {
        "queryables": list(profile.queryables),
        "sortables": list(profile.sortables),
        "temporal_property": [profile.temporal_property] if profile.temporal_property else [],
        "code_lists": list(profile.code_lists),
        "synonyms": list(profile.synonyms),
        "code_synonyms": list(profile.code_synonyms),
        "drafting": list(profile.drafting)
        + [str(h["above"]) for h in profile.drafting.values() if "above" in h],
    }
    for key, values in used.items():
        unknown = [v for v in values if v not in names]
        if unknown:
            raise ProfileError(f"{meta_path}: {key} names unknown properties: {unknown}")


__all__ = [
    "PATH_ENV",
    "ObservedPropertySpec",
    "Profile",
    "ProfileError",
    "SensorThingsSpec",
    "UnknownProfile",
    "available",
    "get",
    "load",
    "search_path",
]
