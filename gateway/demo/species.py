"""The tree species of the demo data: what German street-tree cadastres mostly hold.

Weights are rough shares of German street-tree stocks (lime and maple dominate); heights are
typical maxima for street trees in metres. München abbreviates the genus with a two-letter
code (`MUENCHEN_GENUS_CODES`), which its mapping turns back into the botanical name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Species:
    genus: str
    scientific: str
    german: str


# genus -> (weight, typical maximum height in m, species)
GENERA: dict[str, tuple[int, float, tuple[Species, ...]]] = {
    "Tilia": (
        30,
        28.0,
        (
            Species("Tilia", "Tilia cordata", "Winter-Linde"),
            Species("Tilia", "Tilia platyphyllos", "Sommer-Linde"),
            Species("Tilia", "Tilia × europaea", "Holländische Linde"),
            Species("Tilia", "Tilia tomentosa", "Silber-Linde"),
        ),
    ),
    "Acer": (
        20,
        24.0,
        (
            Species("Acer", "Acer platanoides", "Spitz-Ahorn"),
            Species("Acer", "Acer pseudoplatanus", "Berg-Ahorn"),
            Species("Acer", "Acer campestre", "Feld-Ahorn"),
        ),
    ),
    "Quercus": (
        12,
        30.0,
        (
            Species("Quercus", "Quercus robur", "Stiel-Eiche"),
            Species("Quercus", "Quercus petraea", "Trauben-Eiche"),
            Species("Quercus", "Quercus rubra", "Rot-Eiche"),
        ),
    ),
    "Platanus": (6, 32.0, (Species("Platanus", "Platanus × hispanica", "Ahornblättrige Platane"),)),
    "Aesculus": (
        6,
        22.0,
        (
            Species("Aesculus", "Aesculus hippocastanum", "Gewöhnliche Rosskastanie"),
            Species("Aesculus", "Aesculus × carnea", "Rotblühende Rosskastanie"),
        ),
    ),
    "Betula": (5, 20.0, (Species("Betula", "Betula pendula", "Hänge-Birke"),)),
    "Fraxinus": (
        5,
        26.0,
        (
            Species("Fraxinus", "Fraxinus excelsior", "Gemeine Esche"),
            Species("Fraxinus", "Fraxinus ornus", "Blumen-Esche"),
        ),
    ),
    "Robinia": (4, 20.0, (Species("Robinia", "Robinia pseudoacacia", "Gewöhnliche Robinie"),)),
    "Prunus": (
        7,
        12.0,
        (
            Species("Prunus", "Prunus avium", "Vogel-Kirsche"),
            Species("Prunus", "Prunus serrulata", "Japanische Blütenkirsche"),
            Species("Prunus", "Prunus padus", "Gewöhnliche Traubenkirsche"),
        ),
    ),
    "Sorbus": (
        5,
        12.0,
        (
            Species("Sorbus", "Sorbus aucuparia", "Eberesche"),
            Species("Sorbus", "Sorbus intermedia", "Schwedische Mehlbeere"),
        ),
    ),
}

GENUS_NAMES: tuple[str, ...] = tuple(sorted(GENERA))

MUENCHEN_GENUS_CODES: dict[str, str] = {
    "TI": "Tilia",
    "AC": "Acer",
    "QU": "Quercus",
    "PL": "Platanus",
    "AE": "Aesculus",
    "BE": "Betula",
    "FR": "Fraxinus",
    "RO": "Robinia",
    "PR": "Prunus",
    "SO": "Sorbus",
}
