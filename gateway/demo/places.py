"""Districts and streets of the three demo cities, with approximate centres.

Centres are in each city's storage CRS (Hamburg and München EPSG:25832, Leipzig EPSG:25833),
rounded to 100 m from the districts' real positions; the street names are real streets of
the district. `BOX` is the area the demo trees are kept inside.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    name: str
    centre: tuple[float, float]
    streets: tuple[str, ...]
    number: int | None = None  # München's Stadtbezirk number
    spread: float = 900.0  # how far (m) streets reach from the centre


Box = tuple[float, float, float, float]  # minx, miny, maxx, maxy

HAMBURG_BOX: Box = (555000.0, 5920000.0, 580000.0, 5950000.0)
LEIPZIG_BOX: Box = (310000.0, 5685000.0, 325000.0, 5696000.0)
MUENCHEN_BOX: Box = (680000.0, 5325000.0, 700000.0, 5345000.0)


def hamburg_bezirk(x: float, y: float) -> str:
    """Hamburg's Bezirk by location bands: a coarse picture of the real boundaries."""
    if y < 5926000:
        return "Harburg"
    if y < 5932000:
        return "Bergedorf" if x >= 572000 else "Hamburg-Mitte"
    if y < 5935200:
        if x < 563200:
            return "Altona"
        return "Hamburg-Mitte" if x < 574000 else "Wandsbek"
    if x < 561500:
        return "Altona"
    if x < 565000:
        return "Eimsbüttel"
    return "Hamburg-Nord" if x < 569500 else "Wandsbek"


HAMBURG: tuple[District, ...] = (
    District(
        "Altona",
        (558800, 5934600),
        (
            "Elbchaussee",
            "Max-Brauer-Allee",
            "Große Bergstraße",
            "Ottenser Hauptstraße",
            "Bahrenfelder Chaussee",
            "Osdorfer Landstraße",
            "Blankeneser Landstraße",
        ),
        spread=1600,
    ),
    District(
        "Eimsbüttel",
        (563300, 5938500),
        (
            "Osterstraße",
            "Fruchtallee",
            "Hoheluftchaussee",
            "Eppendorfer Weg",
            "Kieler Straße",
            "Grindelallee",
        ),
        spread=700,
    ),
    District(
        "Hamburg-Mitte",
        (567000, 5932500),
        (
            "Mönckebergstraße",
            "Spitalerstraße",
            "Jungfernstieg",
            "Steinstraße",
            "Willy-Brandt-Straße",
            "Hammer Landstraße",
            "Billhorner Brückenstraße",
        ),
        spread=1400,
    ),
    District(
        "Hamburg-Nord",
        (567300, 5940500),
        (
            "Eppendorfer Landstraße",
            "Fuhlsbüttler Straße",
            "Alsterdorfer Straße",
            "Barmbeker Straße",
            "Hudtwalckerstraße",
            "Langenhorner Chaussee",
        ),
        spread=1000,
    ),
    District(
        "Wandsbek",
        (574500, 5939500),
        (
            "Wandsbeker Marktstraße",
            "Wandsbeker Chaussee",
            "Bramfelder Chaussee",
            "Rahlstedter Straße",
            "Saseler Chaussee",
            "Walddörferstraße",
        ),
        spread=2000,
    ),
    District(
        "Bergedorf",
        (577000, 5928000),
        (
            "Bergedorfer Straße",
            "Alte Holstenstraße",
            "Sander Damm",
            "Vierlandenstraße",
            "Curslacker Neuer Deich",
        ),
        spread=1200,
    ),
    District(
        "Harburg",
        (564500, 5922800),
        (
            "Harburger Ring",
            "Lüneburger Straße",
            "Bremer Straße",
            "Winsener Straße",
            "Cuxhavener Straße",
            "Schwarzenbergstraße",
        ),
        spread=1400,
    ),
)

_L = (
    ("Zentrum", 317000, 5690900, "Grimmaische Straße; Petersstraße; Goethestraße"),
    ("Zentrum-Süd", 317300, 5689800, "Peterssteinweg; Härtelstraße; Emilienstraße"),
    ("Südvorstadt", 317000, 5689000, "Karl-Liebknecht-Straße; Kochstraße; Arndtstraße"),
    ("Connewitz", 317600, 5687000, "Bornaische Straße; Wolfgang-Heinze-Straße; Selneckerstraße"),
    ("Schleußig", 314700, 5689000, "Könneritzstraße; Holbeinstraße; Brockhausstraße"),
    ("Plagwitz", 314000, 5689700, "Karl-Heine-Straße; Zschochersche Straße; Naumburger Straße"),
    ("Lindenau", 314000, 5690900, "Merseburger Straße; Lützner Straße; Josephstraße"),
    ("Leutzsch", 312300, 5691900, "Georg-Schwarz-Straße; Rathenaustraße; Hans-Driesch-Straße"),
    ("Gohlis-Süd", 316900, 5692800, "Gohliser Straße; Lützowstraße; Menckestraße"),
    ("Gohlis-Mitte", 316500, 5693800, "Lindenthaler Straße; Landsberger Straße; Kirschbergstraße"),
    ("Möckern", 314800, 5693900, "Georg-Schumann-Straße; Slevogtstraße; Huygensstraße"),
    ("Eutritzsch", 318100, 5693500, "Delitzscher Straße; Theresienstraße; Wittenberger Straße"),
    ("Schönefeld-Abtnaundorf", 320000, 5693000, "Ossietzkystraße; Gorkistraße; Volksgartenstraße"),
    ("Reudnitz-Thonberg", 319200, 5689700, "Dresdner Straße; Riebeckstraße; Kohlgartenstraße"),
    ("Anger-Crottendorf", 320500, 5690500, "Zweinaundorfer Straße; Theodor-Neubauer-Straße"),
    ("Stötteritz", 320200, 5688200, "Holzhäuser Straße; Naunhofer Straße; Papiermühlstraße"),
)

LEIPZIG: tuple[District, ...] = tuple(
    District(name, (x, y), tuple(streets.split("; ")), spread=600) for name, x, y, streets in _L
)

_M = (
    ("Altstadt-Lehel", 691900, 5334700, "Maximilianstraße; Sendlinger Straße; Prinzregentenstraße"),
    ("Ludwigsvorstadt-Isarvorstadt", 690700, 5333700, "Lindwurmstraße; Fraunhoferstraße"),
    ("Maxvorstadt", 690800, 5336200, "Ludwigstraße; Theresienstraße; Gabelsbergerstraße"),
    ("Schwabing-West", 691100, 5337800, "Hohenzollernstraße; Belgradstraße; Elisabethstraße"),
    ("Au-Haidhausen", 693100, 5333800, "Rosenheimer Straße; Innere Wiener Straße; Lilienstraße"),
    ("Sendling", 689400, 5332500, "Plinganserstraße; Implerstraße; Daiserstraße"),
    ("Sendling-Westpark", 687200, 5332500, "Westendstraße; Albert-Roßhaupter-Straße"),
    ("Schwanthalerhöhe", 689000, 5334400, "Ganghoferstraße; Schwanthalerstraße; Gollierstraße"),
    ("Neuhausen-Nymphenburg", 687800, 5336600, "Nymphenburger Straße; Landshuter Allee"),
    ("Moosach", 686600, 5339400, "Dachauer Straße; Pelkovenstraße; Feldmochinger Straße"),
    ("Milbertshofen-Am Hart", 691000, 5340600, "Knorrstraße; Schleißheimer Straße"),
    ("Schwabing-Freimann", 693300, 5339000, "Leopoldstraße; Ungererstraße; Freisinger Landstraße"),
    ("Bogenhausen", 694900, 5336300, "Ismaninger Straße; Oberföhringer Straße"),
    ("Berg am Laim", 696100, 5333600, "Baumkirchner Straße; Berg-am-Laim-Straße; Kreillerstraße"),
    ("Trudering-Riem", 698700, 5333100, "Truderinger Straße; Wasserburger Landstraße"),
    ("Ramersdorf-Perlach", 695800, 5330800, "Putzbrunner Straße; Ottobrunner Straße"),
    ("Obergiesing-Fasangarten", 692800, 5331200, "Tegernseer Landstraße; St.-Martin-Straße"),
    ("Untergiesing-Harlaching", 691400, 5330100, "Candidstraße; Säbener Straße; Naupliastraße"),
    (
        "Thalkirchen-Obersendling-Forstenried-Fürstenried-Solln",
        687700,
        5328800,
        "Wolfratshauser Straße; Boschetsrieder Straße; Forstenrieder Allee",
    ),
    ("Hadern", 685000, 5332100, "Fürstenrieder Straße; Würmtalstraße; Guardinistraße"),
    ("Pasing-Obermenzing", 683000, 5335900, "Landsberger Straße; Verdistraße; Pippinger Straße"),
    ("Aubing-Lochhausen-Langwied", 680900, 5336300, "Bodenseestraße; Limesstraße; Ubostraße"),
    ("Allach-Untermenzing", 683200, 5340900, "Eversbuschstraße; Von-Kahr-Straße"),
    ("Feldmoching-Hasenbergl", 688700, 5342800, "Dülferstraße; Blodigstraße; Lerchenauer Straße"),
    ("Laim", 686400, 5334300, "Agnes-Bernauer-Straße; Gotthardstraße; Camerloherstraße"),
)

MUENCHEN: tuple[District, ...] = tuple(
    District(name, (x, y), tuple(streets.split("; ")), number=nr, spread=700)
    for nr, (name, x, y, streets) in enumerate(_M, start=1)
)

MUENCHEN_STADTBEZIRKE: dict[int, str] = {d.number: d.name for d in MUENCHEN if d.number}
