"""Demo data: three cities' street-tree cadastres, each in its own format and dialect.

    python -m gateway.demo.generate OUTDIR

writes, deterministically (same seed, same bytes):

- `hamburg.geojson`: GeoJSON in EPSG:25832 with the legacy `crs` member, Hamburg's
  field names (baumid, gattung, art_latein, kronendurchmesser in m, stammumfang in cm, ...);
- `leipzig.csv`: Latin-1, `;`-separated, decimal commas, EPSG:25833 X/Y columns, dates as
  dd.mm.yyyy and the trunk *diameter* instead of its circumference;
- `muenchen.gpkg`: a GeoPackage (EPSG:25832) with genus codes, height in cm, the crown
  *radius*, district numbers, street and house number apart, ISO datetimes;
- `hamburg-bplan.geojson`, `leipzig-bplan.geojson`: the two cities' land-use plans
  (Bebauungspläne) in the flat XPlanSynWFS style, each in its own dialect (plans.py);
- `leipzig-gebaeude.gpkg`, `muenchen-gebaeude.geojson`: buildings, an ALKIS-style
  GeoPackage (EPSG:25833) and a flattened CityGML LoD2 model (EPSG:31468) (buildings.py);
- `hamburg-ladesaeulen.geojson`, `leipzig-ladeeinrichtungen.csv`: the two cities' EV
  charging stations, a city layer and a Ladesäulenregister-style CSV (charging_stations.py).

`ensure_demo_data()` generates them once into a cache folder and returns it; demo.yaml maps
the trees onto the street-trees profile, the plans onto land-use-plans, the buildings
onto buildings and the stations onto ev-charging-stations.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from gateway.demo.buildings import BUILDING_FILES, write_buildings
from gateway.demo.charging_stations import STATION_FILES, write_stations
from gateway.demo.gpkg import PointTable, write_points
from gateway.demo.places import (
    HAMBURG,
    HAMBURG_BOX,
    LEIPZIG,
    LEIPZIG_BOX,
    MUENCHEN,
    MUENCHEN_BOX,
    hamburg_bezirk,
)
from gateway.demo.plans import PLAN_FILES, write_plans
from gateway.demo.sensors import ensure_sensor_demo
from gateway.demo.species import MUENCHEN_GENUS_CODES
from gateway.demo.trees import Gaps, Tree, lay_out_streets, plant

GENERATOR_VERSION = "4"
DEFAULT_SEED = 2024
COUNTS = {"hamburg": 3000, "leipzig": 2500, "muenchen": 3500}
FILES = {"hamburg": "hamburg.geojson", "leipzig": "leipzig.csv", "muenchen": "muenchen.gpkg"}
MANIFEST = "manifest.json"
DIR_ENV = "TWINBRIDGE_DEMO_DIR"

LEIPZIG_COLUMNS = [
    "Baumnummer",
    "Gattung",
    "Art",
    "Deutscher Name",
    "Pflanzjahr",
    "Stammdurchmesser_cm",
    "Baumhoehe_m",
    "Kronendurchmesser_m",
    "Ortsteil",
    "Strasse",
    "Erfassungsdatum",
    "X",
    "Y",
]
MUENCHEN_COLUMNS = (
    ("baum_id", "TEXT NOT NULL UNIQUE"),
    ("gattung_code", "TEXT"),
    ("art_botanisch", "TEXT"),
    ("art_deutsch", "TEXT"),
    ("pflanzjahr", "INTEGER"),
    ("hoehe_cm", "INTEGER"),
    ("kronenradius_m", "REAL"),
    ("stammumfang_cm", "INTEGER"),
    ("stadtbezirk_nr", "INTEGER"),
    ("strasse", "TEXT"),
    ("hausnummer", "TEXT"),
    ("aktualisiert", "TEXT"),
)
_GENUS_CODE = {genus: code for code, genus in MUENCHEN_GENUS_CODES.items()}


def _rng(seed: int, city: str) -> random.Random:
    return random.Random(seed * 100 + sorted(COUNTS).index(city))


def _ids(rng: random.Random, count: int, start: int) -> list[int]:
    """Rising ids with gaps, like a cadastre where trees were felled."""
    ids, current = [], start
    for _ in range(count):
        current += rng.randint(1, 12)
        ids.append(current)
    return ids


def write_hamburg(path: Path, seed: int = DEFAULT_SEED) -> int:
    rng = _rng(seed, "hamburg")

    def in_band(name: str, x: float, y: float) -> bool:
        return hamburg_bezirk(x, y) == name

    streets = lay_out_streets(rng, HAMBURG, HAMBURG_BOX, accept=in_band)
    trees = plant(rng, streets, COUNTS["hamburg"], HAMBURG_BOX, Gaps(street=0.01))
    ids = _ids(rng, len(trees), 100000)
    features = [_hamburg_feature(tree, baumid) for tree, baumid in zip(trees, ids, strict=True)]
    head = {
        "type": "FeatureCollection",
        "name": "strassenbaumkataster",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
    }
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[\n' + ",\n".join(lines)
    path.write_text(text + "\n]}\n", encoding="utf-8")
    return len(features)


def _hamburg_feature(tree: Tree, baumid: int) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [tree.x, tree.y]},
        "properties": {
            "baumid": baumid,
            "gattung": tree.species.genus,
            "art_latein": tree.species.scientific,
            "art_deutsch": tree.species.german,
            "pflanzjahr": tree.planting_year,
            "kronendurchmesser": tree.crown_diameter_m,
            "stammumfang": tree.trunk_circumference_cm,
            "hoehe": tree.height_m,
            "bezirk": hamburg_bezirk(tree.x, tree.y),
            "strasse": tree.street,
            "hausnummer": tree.house_number,
            "stand": tree.updated.isoformat(),
        },
    }


def _comma(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def write_leipzig(path: Path, seed: int = DEFAULT_SEED) -> int:
    rng = _rng(seed, "leipzig")
    streets = lay_out_streets(rng, LEIPZIG, LEIPZIG_BOX)
    trees = plant(rng, streets, COUNTS["leipzig"], LEIPZIG_BOX, Gaps(planting_year=0.12))
    ids = _ids(rng, len(trees), 40000)
    with path.open("w", encoding="latin-1", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\r\n")
        writer.writerow(LEIPZIG_COLUMNS)
        for tree, number in zip(trees, ids, strict=True):
            trunk = tree.trunk_circumference_cm
            writer.writerow(
                [
                    number,
                    tree.species.genus,
                    tree.species.scientific,
                    tree.species.german,
                    "" if tree.planting_year is None else tree.planting_year,
                    _comma(None if trunk is None else trunk / 3.141592653589793, 1),
                    _comma(tree.height_m, 1),
                    _comma(tree.crown_diameter_m, 1),
                    tree.district,
                    tree.street or "",
                    tree.updated.strftime("%d.%m.%Y"),
                    _comma(tree.x, 2),
                    _comma(tree.y, 2),
                ]
            )
    return len(trees)


def write_muenchen(path: Path, seed: int = DEFAULT_SEED) -> int:
    rng = _rng(seed, "muenchen")
    streets = lay_out_streets(rng, MUENCHEN, MUENCHEN_BOX)
    trees = plant(rng, streets, COUNTS["muenchen"], MUENCHEN_BOX, Gaps())
    numbers = {d.name: d.number for d in MUENCHEN}
    rows = []
    for i, tree in enumerate(trees, start=1):
        height, crown = tree.height_m, tree.crown_diameter_m
        hour, quarter = rng.randint(7, 16), rng.choice((0, 15, 30, 45))
        values = (
            f"M-{i:06d}",
            _GENUS_CODE[tree.species.genus],
            tree.species.scientific,
            tree.species.german,
            tree.planting_year,
            None if height is None else round(height * 100),
            None if crown is None else round(crown / 2, 2),
            tree.trunk_circumference_cm,
            numbers[tree.district],
            tree.street,
            tree.house_number,
            f"{tree.updated.isoformat()}T{hour:02d}:{quarter:02d}:00",
        )
        rows.append((tree.x, tree.y, values))
    table = PointTable(
        name="baeume",
        identifier="Baumkataster München (Demo)",
        description="Synthetic street trees in the style of a municipal tree cadastre",
        columns=MUENCHEN_COLUMNS,
    )
    write_points(path, table, rows)
    return len(rows)


WRITERS: dict[str, Callable[[Path, int], int]] = {
    "hamburg": write_hamburg,
    "leipzig": write_leipzig,
    "muenchen": write_muenchen,
}


def generate(outdir: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the tree, plan and building files and a manifest into `outdir`; returns city ->
    tree count."""
    outdir.mkdir(parents=True, exist_ok=True)
    counts = {city: write(outdir / FILES[city], seed) for city, write in WRITERS.items()}
    for city, name in PLAN_FILES.items():
        write_plans(outdir / name, city, seed)
    write_buildings(outdir, seed)
    write_stations(outdir, seed)
    manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "counts": counts}
    (outdir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts


def default_demo_dir() -> Path:
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "twinbridge" / f"demo-{GENERATOR_VERSION}"


def _is_complete(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("generator_version") == GENERATOR_VERSION and all(
        (folder / name).is_file()
        for name in (
            *FILES.values(),
            *PLAN_FILES.values(),
            *BUILDING_FILES.values(),
            *STATION_FILES.values(),
        )
    )


def ensure_demo_data(target: Path | None = None) -> Path:
    """Generate the demo files into `target` (default: `$TWINBRIDGE_DEMO_DIR` or the user's
    cache) unless they are there already; returns the folder.

    Files are written into a private temporary folder and then renamed into place one by
    one, the manifest last, so parallel processes never read a half-written file.
    """
    folder = Path(target) if target is not None else default_demo_dir()
    if _is_complete(folder):
        return ensure_sensor_demo(folder, DEFAULT_SEED)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".generating-", dir=folder))
    try:
        generate(tmp)
        for name in [
            *FILES.values(),
            *PLAN_FILES.values(),
            *BUILDING_FILES.values(),
            *STATION_FILES.values(),
            MANIFEST,
        ]:
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ensure_sensor_demo(folder, DEFAULT_SEED)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="folder to write the demo files into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for city, count in generate(args.outdir, args.seed).items():
        print(f"{args.outdir / FILES[city]}: {count} trees")


if __name__ == "__main__":
    main()
