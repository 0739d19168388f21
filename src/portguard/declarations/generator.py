"""Synthetic ICS2-like entry summary declarations for European container ports, deterministic per seed.

Why it exists: demos, load tests and benchmarks need declarations in volume, and the modules built on the ingest
(entity resolution, trade networks, risk rules) need data whose difficulties look like the real thing, with a
ground truth to score against. Real declarations are confidential; this generator stands in for them. It draws
only from `random.Random(seed)` (no global state, no clock, no network): the same arguments give the same
records, and `generate(n)` is a prefix of `generate(n + k)`. Records are plain JSON types shaped like
`DeclarationIn` (they are not validated here, which keeps generation fast; the tests validate them).

What it models:

* Vessel calls. Carriers (Maersk, MSC, CMA CGM, Hapag-Lloyd, ONE, COSCO, Evergreen) run weekly services from
  origin regions to European ports (NLRTM, NLVLI, BEANR, BEZEE, DEHAM, DEBRV, ESALG, ESVLC, FRLEH, ITGOA, PLGDN).
  A call has a vessel (IMO number with its check digit), a voyage number in the carrier's style and a routing
  (Panama from the west coast of South America; Suez or the Cape from Asia). Declarations of one call share
  vessel and voyage and are lodged within three days of each other; the customs office of first entry matches
  the port of discharge, and the bill of lading follows the carrier's style (MAEU123456789, MEDU..., COSU...).
* Trade lanes. Fruit (bananas 0803.90, pineapples 0804.30, avocados 0804.40) from EC/CO/CR/PE in 45R1 reefers;
  coffee 0901.11 (BR/CO/CI) and cocoa 1801.00 (CI/GH) bagged in 20' boxes; machinery 8479/8413 and chemicals
  2914/2926/2932 from CN/IN, a few of them drug-precursor-like (piperonal, APAAN, PMK glycidate, ...) and
  favoured by front companies; textiles from BD/CN/IN/VN/TR/PK; furniture, toys, footwear, tyres and solar
  modules from Asia. The port of loading is in the country of origin. Masses follow the packaging (a banana reefer
  holds about 1,080 boxes of 18.14 kg, a 20' of coffee 320 bags of 60 kg), gross exceeds net by the tare, and
  values follow a price per kg for the commodity, in USD or EUR. Containers carry valid ISO 6346 numbers of the
  carrier's or a lessor's owner code (tank operators for tanks) and one to three seals.
* Parties. Consignor (the exporter), consignee (an EU importer), notify party (the consignee again, or a
  forwarder), declarant (a forwarder of the port's country, or the carrier), sometimes the carrier. Companies come
  from a pool reused across declarations, with skewed popularity and lasting supplier relations; names and legal
  forms per country (B.V., GmbH, S.A.S., Ltda., Co., Ltd., ...), addresses, phones, e-mails, and for EU companies
  EORI numbers and valid IBANs (with the national check digits of BE, ES, FR, IT, NL and PL). Identifiers are
  synthetic; names are combinations of common words; the carriers are the only real companies named.
* What makes entity resolution hard. One company is written differently across declarations (case, legal-form
  variants "B.V."/"BV", abbreviations, accents dropped, typos, address and phone formatting, identifiers left out)
  and some forwarders file everything in capitals. Groups of distinct front companies (own names and EORIs) share
  an address, a phone, a free-mail domain and sometimes a bank account, and import the precursor-like chemicals;
  unrelated companies share business-centre addresses, the false positive.

`generate_labelled` yields every declaration with the pool ids of its parties, and `companies` returns the pool with
its front clusters, so entity-resolution and network modules can be scored against the truth.
"""

from __future__ import annotations

import json
import random
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from stdnum import iban as stdnum_iban
from stdnum.es import ccc as es_ccc

DEFAULT_START = date(2025, 1, 1)  # fixed, so the output depends on the arguments alone


def _t(text: str) -> tuple[str, ...]:
    """'a|b|c' -> ('a', 'b', 'c')"""
    return tuple(text.split("|"))


def _w(text: str) -> tuple[tuple[str, float], ...]:
    """'EC:10 CO:8' -> (('EC', 10.0), ('CO', 8.0))"""
    return tuple((key, float(weight)) for key, weight in (part.split(":") for part in text.split()))


def _routes(text: str) -> tuple[tuple[str, ...], ...]:
    """'|PA|PA CO' -> ((), ('PA',), ('PA', 'CO')): the countries a vessel passes between loading and discharge."""
    return tuple(tuple(route.split()) for route in text.split("|"))


EU = frozenset(_t("AT|BE|BG|CY|CZ|DE|DK|EE|ES|FI|FR|GR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK"))

# ---------------------------------------------------------------- ports, routes, carriers

# port of discharge -> (country, customs offices of first entry)
PORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "NLRTM": ("NL", ("NL000396", "NL000854")),
    "NLVLI": ("NL", ("NL000551",)),
    "BEANR": ("BE", ("BE101000", "BE101010")),
    "BEZEE": ("BE", ("BE212000",)),
    "DEHAM": ("DE", ("DE004851", "DE004852")),
    "DEBRV": ("DE", ("DE004101",)),
    "ESALG": ("ES", ("ES001101",)),
    "ESVLC": ("ES", ("ES004601",)),
    "FRLEH": ("FR", ("FR002300",)),
    "ITGOA": ("IT", ("IT261101",)),
    "PLGDN": ("PL", ("PL322010",)),
}

# importer country -> the ports it imports through, weighted
IMPORT_PORTS: dict[str, tuple[tuple[str, float], ...]] = {
    "NL": _w("NLRTM:9 NLVLI:1.5 BEANR:1"),
    "BE": _w("BEANR:8 BEZEE:2 NLRTM:2"),
    "DE": _w("DEHAM:6 DEBRV:3 NLRTM:3 BEANR:2"),
    "ES": _w("ESVLC:5 ESALG:4"),
    "FR": _w("FRLEH:7 BEANR:2"),
    "IT": _w("ITGOA:7 ESVLC:0.5"),
    "PL": _w("PLGDN:7 DEHAM:2 NLRTM:1"),
}

# origin country -> (service region, ports of loading weighted, routings)
ORIGINS: dict[str, tuple[str, tuple[tuple[str, float], ...], tuple[tuple[str, ...], ...]]] = {
    "EC": ("wcsa", _w("ECGYE:7 ECPBO:3"), _routes("PA|PA CO")),
    "PE": ("wcsa", _w("PECLL:6 PEPAI:4"), _routes("PA|EC PA")),
    "CO": ("carib", _w("COCTG:4 COSMR:3 COTRB:2 COBUN:2"), _routes("|PA")),
    "CR": ("carib", _w("CRMOB:8 CRLIO:2"), _routes("|PA|CO")),
    "BR": ("ecsa", _w("BRSSZ:7 BRPNG:2 BRRIG:1"), _routes("|ES")),
    "CI": ("waf", _w("CIABJ:7 CISPY:3"), _routes("|MA")),
    "GH": ("waf", _w("GHTEM:7 GHTKD:3"), _routes("|TG|MA")),
    "CN": ("fe", _w("CNSHA:5 CNNGB:4 CNYTN:3 CNTAO:2 CNXMN:1"), _routes("SG LK EG|SG ZA|SG MY EG|MY ZA MA")),
    "VN": ("fe", _w("VNSGN:5 VNCMT:3 VNHPH:3"), _routes("SG EG|SG ZA")),
    "IN": ("isc", _w("INNSA:6 INMUN:4 INMAA:2"), _routes("OM EG|AE EG|LK ZA")),
    "PK": ("isc", _w("PKKHI:6 PKBQM:3"), _routes("OM EG|AE ZA")),
    "BD": ("isc", _w("BDCGP:1"), _routes("LK EG|SG ZA")),
    "TR": ("med", _w("TRAMB:5 TRMER:3 TRIZM:2"), _routes("|GR")),
}


@dataclass(frozen=True, slots=True)
class Carrier:
    name: str
    country: str
    eori_country: str  # the member state of its EORI
    street: str
    postcode: str
    city: str
    phone: str
    dry: tuple[str, ...]  # owner codes of its dry boxes
    reefer: tuple[str, ...]
    seal: str  # seal number prefix
    weight: float  # market share


def _carrier(identity: str, dry: str, reefer: str, seal: str, weight: float) -> Carrier:
    """'name|country|EORI country|street|postcode|city|phone', owner codes of dry and reefer boxes, ..."""
    name, country, eori_country, street, postcode, city, phone = identity.split("|")
    return Carrier(name, country, eori_country, street, postcode, city, phone, _t(dry), _t(reefer), seal, weight)


CARRIERS: dict[str, Carrier] = {
    "MAEU": _carrier(
        "Maersk A/S|DK|DK|Esplanaden 50|1098|Copenhagen|+45 33 63 33 63",
        "MAEU|MSKU|MRKU|MRSU",
        "MNBU|MWCU|MMAU",
        "ML-",
        17,
    ),
    "MSCU": _carrier(
        "MSC Mediterranean Shipping Company S.A.|CH|BE|Chemin Rieu 12-14|1208|Geneva|+41 22 703 88 88",
        "MSCU|MEDU|MSDU|MSMU",
        "MSCU|MEDU|CXRU",
        "FX",
        20,
    ),
    "CMDU": _carrier(
        "CMA CGM S.A.|FR|FR|4 Quai d'Arenc|13002|Marseille|+33 4 88 91 90 00",
        "CMAU|CGMU|ECMU|APZU",
        "CGMU|TTNU",
        "C",
        13,
    ),
    "HLCU": _carrier(
        "Hapag-Lloyd AG|DE|DE|Ballindamm 25|20095|Hamburg|+49 40 3001 0", "HLXU|HLBU|HAMU|UACU", "HLXU|HLBU", "HLD", 7
    ),
    "ONEY": _carrier(
        "Ocean Network Express Pte. Ltd.|SG|NL|7 Straits View, Marina One East Tower|018936|Singapore|+65 6220 7330",
        "ONEU|NYKU|MOLU|KKFU",
        "ONEU",
        "ONE",
        6,
    ),
    "COSU": _carrier(
        "COSCO Shipping Lines Co., Ltd.|CN|NL|378 Dongdaming Road|200080|Shanghai|+86 21 3512 4888",
        "CSNU|CBHU|CCLU|OOLU",
        "CSNU|OOLU",
        "CS",
        11,
    ),
    "EGLV": _carrier(
        "Evergreen Marine Corp. (Taiwan) Ltd.|TW|NL|163 Hsin-Nan Road, Sec. 1, Luzhu|33858|Taoyuan|+886 3 312 6666",
        "EGHU|EMCU|EISU|TGBU",
        "EMCU",
        "EMC",
        6,
    ),
}
REGION_CARRIERS: dict[str, tuple[str, ...]] = {
    "wcsa": _t("MAEU|MSCU|CMDU|HLCU"),
    "carib": _t("MAEU|MSCU|CMDU|HLCU"),
    "ecsa": _t("MAEU|MSCU|CMDU|HLCU"),
    "waf": _t("MAEU|MSCU|CMDU"),
    "fe": _t("MAEU|MSCU|CMDU|HLCU|ONEY|COSU|EGLV"),
    "isc": _t("MAEU|MSCU|CMDU|HLCU|ONEY|COSU"),
    "med": _t("MAEU|MSCU|CMDU"),
}
REGION_DIRECTION = {"wcsa": "N", "carib": "N", "ecsa": "N", "waf": "N", "fe": "W", "isc": "W", "med": "W"}
LESSORS_DRY = _t("TGHU|TCLU|TCNU|TRHU|FCIU|SEGU|GESU|CAIU|TEMU|BMOU|DFSU")
LESSORS_REEFER = _t("SZLU|TRIU|CRXU|SEGU")
TANK_OPERATORS = _t("EXFU|HOYU|SUTU|BSIU|NTTU")

# ---------------------------------------------------------------- commodities


@dataclass(frozen=True, slots=True)
class Pack:
    """How a commodity travels: container size-type, net kg per package, packages per container, tare ratio."""

    size_type: str
    unit_kg: tuple[float, float]
    counts: tuple[int, ...]
    tare: float
    word: str


@dataclass(frozen=True, slots=True)
class Commodity:
    key: str
    sector: str
    hs6: str
    cn8: str | None
    descriptions: tuple[str, ...]
    origins: tuple[tuple[str, float], ...]  # countries of origin, weighted
    packs: tuple[Pack, ...]
    price: tuple[float, float]  # USD per kg net
    weight: float = 1.0  # share within the sector
    precursor: bool = False  # drug-precursor-like (favoured by front companies)


def _pack(size_type: str, unit: float | tuple[float, float], counts: str, tare: float, word: str) -> Pack:
    unit_kg = (float(unit), float(unit)) if isinstance(unit, int | float) else unit
    return Pack(size_type, unit_kg, tuple(int(c) for c in counts.split()), tare, word)


def _c(
    key: str,
    sector: str,
    hs: str,
    descriptions: str,
    origins: str,
    packs: tuple[Pack, ...],
    price: tuple[float, float],
    weight: float = 1.0,
    precursor: bool = False,
) -> Commodity:
    """`hs` is 'HS6' or 'HS6/CN8'."""
    hs6, _, cn8 = hs.partition("/")
    return Commodity(key, sector, hs6, cn8 or None, _t(descriptions), _w(origins), packs, price, weight, precursor)


DRUMS = _pack("22G1", (160, 190), "76 80 80 80", 0.11, "drums")
IBCS = _pack("22G1", (950, 1000), "18 20 20", 0.06, "IBCs")
TANK = _pack("22T6", (18_000, 24_000), "1", 0.0, "tank")
BAGS25 = _pack("22G1", 25, "640 720 800 800", 0.01, "bags")
FIBRE = _pack("22G1", (25, 50), "300 400 440", 0.07, "fibre drums")
CRATES40 = _pack("45G1", (300, 1500), "4 6 8 10 12 16 20", 0.12, "crates")
CRATES20 = _pack("22G1", (300, 1200), "3 4 6 8 10 12", 0.12, "crates")
PALLETS40 = _pack("45G1", (250, 700), "10 16 20 24", 0.08, "pallets")
CARTONS40 = _pack("45G1", (8, 18), "500 700 900 1100 1300", 0.08, "cartons")
CARTONS20 = _pack("22G1", (8, 18), "250 350 450 550", 0.08, "cartons")

COMMODITIES: tuple[Commodity, ...] = (
    # fruit, in 40' high-cube reefers
    _c("bananas", "fruit", "080390/08039010",
       "Fresh bananas|FRESH BANANAS CAVENDISH|Bananas, fresh, Cavendish, 18.14 kg boxes|Organic bananas",
       "EC:10 CO:8 CR:6 PE:1", (_pack("45R1", 18.14, "960 1080 1080 1080 1200", 0.094, "boxes"),), (0.75, 1.05), 6),
    _c("pineapples", "fruit", "080430/08043000", "Fresh pineapples|FRESH PINEAPPLES MD2|Pineapples, fresh, Golden",
       "CR:8 EC:1 CO:1", (_pack("45R1", 12.0, "1320 1386 1440 1512", 0.1, "boxes"),), (0.55, 0.85), 2),
    _c("avocados", "fruit", "080440/08044000", "Fresh avocados Hass|AVOCADOS HASS FRESH|Fresh avocados, 4 kg boxes",
       "PE:6 CO:4", (_pack("45R1", 4.0, "4800 5280 5520 5760", 0.11, "boxes"),), (1.8, 3.2), 2),
    # coffee and cocoa, bagged in 20' boxes
    _c("coffee_arabica", "coffee", "090111/09011100",
       "Green coffee beans, Arabica, not roasted|BRAZIL NY 2/3 SANTOS ARABICA GREEN COFFEE|Raw coffee",
       "BR:1", (_pack("22G1", 60, "300 320 320 330", 0.012, "bags"),), (4.5, 8.0)),
    _c("coffee_colombian", "coffee", "090111/09011100",
       "Colombian green coffee Excelso EP|GREEN COFFEE COLOMBIA SUPREMO|Coffee, not roasted, Arabica",
       "CO:1", (_pack("22G1", 70, "250 275 275 280", 0.012, "bags"),), (5.0, 8.5)),
    _c("coffee_robusta", "coffee", "090111/09011100",
       "Green coffee Robusta grade 2|ROBUSTA COFFEE BEANS|Coffee, not roasted, Robusta",
       "CI:3 BR:1", (_pack("22G1", 60, "300 320 320", 0.012, "bags"),), (3.5, 5.5), 0.6),
    _c("cocoa", "cocoa", "180100/18010000", "Raw cocoa beans, whole|COCOA BEANS MAIN CROP|Cocoa beans, fermented",
       "CI:6 GH:4", (_pack("22G1", (62.5, 64.0), "320 350 380 400", 0.013, "bags"),), (5.0, 9.5)),
    # machinery
    _c("machines", "machinery", "847989/84798997",
       "Industrial machine, packaging line|Machinery for industrial use, n.e.s.|Automatic filling machine",
       "CN:8 IN:2", (CRATES40, CRATES20), (8.0, 25.0), 3),
    _c("mixers", "machinery", "847982/84798200",
       "Mixing and kneading machines|Industrial mixer|Stainless steel mixing tank with agitator",
       "CN:7 IN:3", (CRATES40, CRATES20), (6.0, 18.0)),
    _c("robots", "machinery", "847950/84795000", "Industrial robots|Robotic arm, 6-axis", "CN:1", (CRATES20,),
       (25.0, 60.0), 0.5),
    _c("pumps", "machinery", "841370/84137030", "Centrifugal pumps|Centrifugal water pumps, electric|Submersible pumps",
       "CN:6 IN:4", (PALLETS40, CRATES20), (6.0, 15.0), 2),
    _c("pumps_other", "machinery", "841381", "Pumps for liquids|Diaphragm pumps|Dosing pumps", "CN:6 IN:4",
       (PALLETS40, CRATES20), (8.0, 20.0)),
    _c("pump_parts", "machinery", "841391/84139100", "Parts of pumps|Pump impellers and casings|Spare parts for pumps",
       "IN:6 CN:4", (PALLETS40, CRATES20), (10.0, 30.0)),
    # chemicals; the precursor-like ones are rare
    _c("acetone", "chemicals", "291411/29141100", "Acetone|ACETONE 99.5% MIN|Acetone, technical grade", "CN:6 IN:4",
       (DRUMS, IBCS, TANK), (0.7, 1.3), 3),
    _c("mek", "chemicals", "291412/29141200", "Butanone (methyl ethyl ketone)|METHYL ETHYL KETONE (MEK)|MEK solvent",
       "CN:7 IN:3", (DRUMS, IBCS, TANK), (0.9, 1.6), 2),
    _c("mibk", "chemicals", "291413/29141300", "4-Methylpentan-2-one (MIBK)|METHYL ISOBUTYL KETONE", "CN:6 IN:4",
       (DRUMS, TANK), (1.4, 2.4)),
    _c("thf", "chemicals", "293211/29321100", "Tetrahydrofuran|THF 99.9%|Tetrahydrofuran, stabilised", "CN:8 IN:2",
       (DRUMS, IBCS), (2.0, 3.5)),
    _c("acrylonitrile", "chemicals", "292610/29261000", "Acrylonitrile|ACRYLONITRILE MONOMER", "CN:7 IN:3",
       (DRUMS, TANK), (1.2, 2.0)),
    _c("dicyandiamide", "chemicals", "292620/29262000", "1-Cyanoguanidine (dicyandiamide)|DICYANDIAMIDE 99.5%",
       "CN:8 IN:2", (BAGS25,), (1.5, 2.8)),
    _c("heterocyclic", "chemicals", "293299",
       "Heterocyclic compounds with oxygen hetero-atom(s) only|Pharmaceutical intermediate|Fine chemical",
       "CN:6 IN:4", (FIBRE, DRUMS), (4.0, 20.0)),
    _c("piperonal", "chemicals", "293293/29329300", "Piperonal|Heliotropin (piperonal) for fragrances", "CN:8 IN:2",
       (FIBRE,), (8.0, 20.0), 0.15, True),
    _c("pmk_glycidate", "chemicals", "293299",
       "PMK methyl glycidate|Methyl 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylate|Organic powder",
       "CN:1", (FIBRE, DRUMS), (3.0, 15.0), 0.1, True),
    _c("apaan", "chemicals", "292640/29264000", "alpha-Phenylacetoacetonitrile|APAAN", "CN:1", (FIBRE, BAGS25),
       (3.0, 10.0), 0.05, True),
    _c("benzyl_cyanide", "chemicals", "292690", "Benzyl cyanide|Nitrile-function compounds, n.e.s.|Phenylacetonitrile",
       "CN:6 IN:4", (DRUMS,), (2.0, 5.0), 0.3, True),
    _c("propiophenone", "chemicals", "291439",
       "Propiophenone|Aromatic ketones without other oxygen function|Ketone, aromatic",
       "CN:7 IN:3", (DRUMS,), (3.0, 8.0), 0.3, True),
    _c("bromoketone", "chemicals", "291479",
       "2-Bromo-4'-methylpropiophenone|Halogenated derivatives of ketones|Organic intermediate",
       "CN:1", (FIBRE,), (4.0, 12.0), 0.1, True),
    # textiles
    _c("tshirts", "textiles", "610910/61091000", "T-shirts of cotton, knitted|MENS COTTON T-SHIRTS|Ladies' T-shirts",
       "BD:5 CN:5 IN:3 VN:3 TR:2 PK:2", (CARTONS40, CARTONS20), (8.0, 18.0), 3),
    _c("trousers", "textiles", "620342/62034231", "Men's trousers of cotton denim|JEANS, COTTON, MEN|Men's trousers",
       "BD:5 CN:3 PK:3 TR:2 VN:2", (CARTONS40, CARTONS20), (10.0, 22.0), 2),
    _c("pullovers", "textiles", "611030/61103099",
       "Pullovers of man-made fibres, knitted|ACRYLIC SWEATERS|Cardigans, synthetic fibres",
       "CN:5 BD:4 TR:2 VN:2", (CARTONS40,), (9.0, 20.0)),
    _c("bed_linen", "textiles", "630231/63023100", "Bed linen of cotton|COTTON BEDSHEETS AND PILLOW CASES|Duvet covers",
       "PK:5 IN:4 TR:2", (CARTONS40, CARTONS20), (5.0, 10.0)),
    _c("cotton_yarn", "textiles", "520512", "Cotton yarn, single, uncombed|100% COTTON CARDED YARN NE 20/1",
       "PK:5 IN:5", (_pack("22G1", (40, 50), "400 440 480", 0.02, "bales"),), (2.5, 4.0)),
    # general cargo
    _c("furniture", "general", "940360/94036090", "Wooden furniture|Dining tables and chairs, wood|Wooden cabinets",
       "CN:5 VN:4 IN:2", (CARTONS40,), (1.8, 4.5), 2),
    _c("toys", "general", "950300", "Toys|Plastic toys|Plush toys|Toy building blocks", "CN:9 VN:1", (CARTONS40,),
       (4.0, 10.0), 2),
    _c("footwear", "general", "640299", "Footwear, rubber soles, plastic uppers|SPORTS SHOES|Sandals, rubber",
       "CN:5 VN:4 IN:1", (CARTONS40,), (8.0, 20.0)),
    _c("tyres", "general", "401110/40111000", "New pneumatic tyres for motor cars|PASSENGER CAR TYRES|Radial tyres",
       "CN:7 IN:2 VN:1", (_pack("45G1", (8, 12), "900 1100 1300", 0.0, "tyres"),), (2.2, 4.0)),
    _c("solar_modules", "general", "854143/85414300",
       "Photovoltaic modules|SOLAR PANELS MONOCRYSTALLINE 450W|Solar modules, 410 W",
       "CN:8 VN:2", (_pack("45G1", (21, 28), "620 660 720", 0.15, "modules"),), (1.2, 3.0)),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sector:
    weight: float  # share of declarations
    exporters: int  # in the pool
    importers: int
    items: tuple[int, ...]  # goods items per declaration, drawn uniformly
    containers: tuple[int, ...]
    importer_countries: tuple[tuple[str, float], ...]


SECTORS: dict[str, Sector] = {
    "fruit": Sector(28, 110, 60, (1, 1, 1, 1, 2), (1, 1, 1, 2, 2, 3), _w("NL:8 BE:6 DE:6 ES:3 FR:3 IT:3 PL:2")),
    "coffee": Sector(8, 55, 25, (1,), (1, 1, 2, 2, 3, 4), _w("DE:6 BE:3 NL:3 IT:4 FR:3 ES:2 PL:1")),
    "cocoa": Sector(7, 35, 18, (1,), (1, 2, 2, 3, 4, 5), _w("NL:8 BE:4 DE:3 FR:2")),
    "machinery": Sector(14, 80, 70, (1, 1, 2, 2, 3, 4), (1, 1, 1, 2), _w("DE:8 NL:3 IT:4 ES:3 PL:3 FR:3 BE:2")),
    "chemicals": Sector(12, 100, 60, (1, 1, 1, 2), (1, 1, 2, 2, 3), _w("NL:5 BE:5 DE:6 ES:2 FR:2 IT:2 PL:3")),
    "textiles": Sector(16, 120, 70, (1, 1, 2, 3, 4), (1, 1, 1, 2), _w("DE:6 NL:4 ES:4 FR:4 IT:3 PL:3 BE:2")),
    "general": Sector(15, 90, 90, (1, 1, 2, 3), (1, 1, 2, 3), _w("DE:6 NL:5 PL:4 ES:3 FR:3 IT:3 BE:3")),
}

# ---------------------------------------------------------------- countries: names, places


@dataclass(frozen=True, slots=True)
class City:
    name: str
    postcode: str  # 'low-high format' with format nl, n4, n5, n6, pl, br, gh, or 'none'
    area: str  # area code without trunk prefix ('' when numbers have none)
    digits: int  # subscriber digits after the area code
    streets: tuple[str, ...]  # '{n}' is the house number
    aliases: tuple[str, ...] = ()


def _city(name: str, postcode: str, area: str, digits: int, streets: str, aliases: str = "") -> City:
    return City(name, postcode, area, digits, _t(streets), _t(aliases) if aliases else ())


@dataclass(frozen=True, slots=True)
class Country:
    dial: str
    trunk: bool  # a national trunk prefix 0, written "(0)" in some formats
    tld: str
    roots: tuple[str, ...]
    words: dict[str, tuple[str, ...]]
    forms: tuple[tuple[str, float], ...]  # legal forms, weighted
    cities: tuple[City, ...]
    street_abbreviations: tuple[tuple[str, str], ...]


_EN_WORDS = {
    "fruit": _t("Fresh Produce|Fruit Import|Tropical Fruits|Fresh Trading|Fruit Company"),
    "coffee": _t("Coffee Traders|Coffee Importers|Green Coffee"),
    "cocoa": _t("Cocoa Trading|Cocoa Processing|Commodities"),
    "machinery": _t("Machinery|Industrial Equipment|Process Technology|Engineering"),
    "chemicals": _t("Chemicals|Chemical Trading|Specialty Chemicals|Chemical Distribution"),
    "textiles": _t("Fashion|Textiles|Apparel|Garments"),
    "general": _t("Trading|Import Export|International Trading|Wholesale|Home & Living"),
    "forwarder": _t("Logistics|Forwarding|Shipping Agency|Customs Services|Cargo|Freight Services"),
}


def _words(**local: str) -> dict[str, tuple[str, ...]]:
    """Sector words: English ones everywhere, and local ones (for EU countries, added to the English)."""
    return {sector: words + (_t(local[sector]) if sector in local else ()) for sector, words in _EN_WORDS.items()}


def _abbr(text: str) -> tuple[tuple[str, str], ...]:
    """'Avenida =Av. |Calle =Cl. ' -> (('Avenida ', 'Av. '), ('Calle ', 'Cl. '))"""
    return tuple((a, b) for a, b in (pair.split("=") for pair in text.split("|")))


COUNTRIES: dict[str, Country] = {
    "NL": Country(
        "31", True, "nl",
        _t("Rijnmond|Maasvlakte|Noordzee|Oranje|Delta|Van Dijk|De Haan|Zuidhaven|Botlek|Waalhaven|Holland|Vanderveen|"
           "Bakker|Smit|Dekker|Kuipers|Meijer|Hollandia|Eemhaven|Polder|Groenewoud|Van Leeuwen|Van den Broek|Visser"),
        _words(fruit="Groenten en Fruit|Versimport", general="Handelsmaatschappij|Groothandel", chemicals="Chemie",
               machinery="Pompen|Machinehandel", forwarder="Expeditie|Douane-expediteurs"),
        _w("B.V.:9 N.V.:1"),
        (
            _city("Rotterdam", "3011-3089 nl", "10", 7,
                  "Waalhaven Zuidzijde {n}|Marconistraat {n}|Keilestraat {n}|Vierhavensstraat {n}|Albert Plesmanweg "
                  "{n}|Weena {n}|Blaak {n}|Schiedamsedijk {n}|Maasboulevard {n}|Waalhaven Oostzijde {n}"),
            _city("Barendrecht", "2991-2994 nl", "180", 6, "Dierenriem {n}|Handelsweg {n}|Oranjeplaats {n}"),
            _city("Ridderkerk", "2981-2987 nl", "180", 6, "Nijverheidsweg {n}|Donkersloot {n}"),
            _city("Amsterdam", "1011-1109 nl", "20", 7, "Herengracht {n}|Strawinskylaan {n}|Westpoortweg {n}"),
            _city("Venlo", "5911-5928 nl", "77", 7, "Celsiusweg {n}|Venrayseweg {n}"),
            _city("Vlissingen", "4381-4389 nl", "118", 6, "Kanaalweg {n}|Edisonweg {n}", "Flushing"),
        ),
        _abbr("straat=str.|weg=wg.|Zuidzijde=Z.Z.|Oostzijde=O.Z.|laan=ln."),
    ),
    "BE": Country(
        "32", True, "be",
        _t("Schelde|Brabo|Kempen|Flanders|Antverpia|Scaldis|Van Hoof|Peeters|Janssens|Maes|Noordkasteel|Zandvliet|"
           "Lillo|Berendrecht|Waasland|De Smet"),
        _words(fruit="Fruithandel|Tropical Import", general="Handelshuis", chemicals="Chemicaliën",
               forwarder="Transport en Expeditie|Douane"),
        _w("N.V.:4 B.V.:4 S.A.:1 S.R.L.:1"),
        (
            _city("Antwerpen", "2000-2060 n4", "3", 7,
                  "Noorderlaan {n}|Italiëlei {n}|Meir {n}|Haven {n}|Kaai {n}|Brouwersvliet {n}|Sint-Pietersvliet {n}|"
                  "Oosterweelsteenweg {n}|Lange Lozanastraat {n}", "Antwerp|Anvers"),
            _city("Mechelen", "2800-2812 n4", "15", 6, "Mechelsesteenweg {n}|Battelsesteenweg {n}", "Malines"),
            _city("Gent", "9000-9052 n4", "9", 7, "Skaldenstraat {n}|Port Arthurlaan {n}", "Ghent|Gand"),
            _city("Brussel", "1000-1210 n4", "2", 7, "Avenue Louise {n}|Rue de la Loi {n}", "Bruxelles|Brussels"),
            _city("Zeebrugge", "8380-8380 n4", "50", 6, "Kustlaan {n}|Leopold II-dam {n}", "Brugge"),
        ),
        _abbr("straat=str.|laan=ln.|steenweg=stwg.|Avenue =Av. "),
    ),
    "DE": Country(
        "49", True, "de",
        _t("Hanse|Elbe|Nord|Alster|Weser|Müller|Schröder|Becker|Hansa|Altona|Fischer|Wagner|Nordsee|Köhler|Hoffmann|"
           "Ostsee|Rhein|Kaiser|Bergmann|Brandt"),
        _words(fruit="Fruchthandel|Fruchtimport", coffee="Kaffee-Import|Kaffeehandel", chemicals="Chemiehandel|Chemie",
               machinery="Maschinenbau|Pumpentechnik|Anlagenbau", general="Handelsgesellschaft|Import|Großhandel",
               textiles="Textilhandel|Mode", forwarder="Spedition|Logistik|Zollagentur"),
        _w("GmbH:7 GmbH_&_Co._KG:3 AG:1"),
        (
            _city("Hamburg", "20095-22769 n5", "40", 8,
                  "Am Sandtorkai {n}|Große Elbstraße {n}|Billstraße {n}|Ballindamm {n}|Hohe Bleichen {n}|"
                  "Ericusspitze {n}|Waltershofer Damm {n}|Ost-West-Straße {n}"),
            _city("Bremen", "28195-28779 n5", "421", 7, "Überseetor {n}|Konsul-Smidt-Straße {n}|Am Speicher XI {n}"),
            _city("Düsseldorf", "40210-40629 n5", "211", 7, "Königsallee {n}|Kaistraße {n}", "Duesseldorf"),
            _city("Frankfurt am Main", "60306-60599 n5", "69", 8, "Mainzer Landstraße {n}|Hanauer Landstraße {n}",
                  "Frankfurt"),
            _city("München", "80331-81929 n5", "89", 8, "Leopoldstraße {n}|Landsberger Straße {n}", "Munich"),
        ),
        _abbr("straße=str.|Straße=Str.|straße=strasse|Straße=Strasse|Landstraße=Landstr."),
    ),
    "ES": Country(
        "34", False, "es",
        _t("Hispano|Mediterráneo|Levante|Ibérica|Andaluza|Valenciana|Estrecho|Algecireña|García|Martínez|Costa Sol|"
           "Turia|Albufera|Gibraltar"),
        _words(fruit="Frutas|Importaciones Hortofrutícolas", chemicals="Química|Productos Químicos",
               general="Importaciones|Comercial", forwarder="Logística|Transitarios|Aduanas"),
        _w("S.L.:7 S.A.:3"),
        (
            _city("Valencia", "46001-46026 n5", "96", 7,
                  "Avenida del Puerto {n}|Calle de Colón {n}|Calle Xàtiva {n}|Avenida de Aragón {n}"),
            _city("Algeciras", "11201-11207 n5", "956", 6,
                  "Avenida Virgen del Carmen {n}|Calle Ancha {n}|Polígono Industrial Cortijo Real {n}"),
            _city("Madrid", "28001-28050 n5", "91", 7, "Calle de Alcalá {n}|Paseo de la Castellana {n}"),
            _city("Barcelona", "08001-08040 n5", "93", 7, "Carrer de Balmes {n}|Avinguda Diagonal {n}"),
        ),
        _abbr("Calle =C/ |Avenida =Avda. |Polígono Industrial=Pol. Ind.|Carrer =C/ "),
    ),
    "FR": Country(
        "33", True, "fr",
        _t("Normandie|Seine|Atlantique|Provence|Océane|Dubois|Lefèvre|Moreau|Estuaire|Caux|Bretagne|Mistral|Lambert|"
           "Girard"),
        _words(fruit="Fruits|Primeurs", chemicals="Chimie", general="Négoce|Import", forwarder="Transit"),
        _w("S.A.S.:6 SARL:3 S.A.:1"),
        (
            _city("Le Havre", "76600-76620 n5", "2", 8,
                  "{n} Quai de Southampton|{n} Boulevard de Strasbourg|{n} Rue de Paris|{n} Avenue Lucien Corbeaux"),
            _city("Paris", "75001-75020 n5", "1", 8, "{n} Rue de Rivoli|{n} Avenue de la République"),
            _city("Rungis", "94150-94150 n5", "1", 8, "{n} Rue de la Tour|{n} Avenue des Halles"),
            _city("Marseille", "13001-13016 n5", "4", 8, "{n} Boulevard des Dames|{n} Quai du Lazaret"),
        ),
        _abbr("Rue =R. |Boulevard =Bd |Avenue =Av. |Quai =Q. "),
    ),
    "IT": Country(
        "39", False, "it",
        _t("Ligure|Tirreno|Lanterna|Padana|Rossi|Bianchi|Ferrari|Esposito|Genovese|Mediterranea|Appennino|Italica|"
           "Colombo|Marittima"),
        _words(fruit="Frutta", chemicals="Chimica", machinery="Meccanica", forwarder="Spedizioni"),
        _w("S.r.l.:7 S.p.A.:3"),
        (
            _city("Genova", "16121-16167 n5", "010", 7,
                  "Via XX Settembre {n}|Via Balbi {n}|Lungomare Canepa {n}|Piazza della Vittoria {n}", "Genoa"),
            _city("Milano", "20121-20162 n5", "02", 8, "Corso Buenos Aires {n}|Via Torino {n}", "Milan"),
            _city("La Spezia", "19121-19139 n5", "0187", 6, "Viale San Bartolomeo {n}|Via del Molo {n}"),
            _city("Verona", "37121-37142 n5", "045", 7, "Corso Porta Nuova {n}|Via Sommacampagna {n}"),
        ),
        _abbr("Via =V. |Corso =C.so |Piazza =P.za |Lungomare =L.mare |Viale =V.le "),
    ),
    "PL": Country(
        "48", False, "pl",
        _t("Bałtyk|Pomorze|Wisła|Gdańsk|Kaszuby|Nowak|Kowalski|Wiśniewski|Westerplatte|Oliwa|Polmar|Amber"),
        _words(chemicals="Chemia", general="Handel", forwarder="Logistyka|Agencja Celna"),
        _w("Sp._z_o.o.:9 S.A.:1"),
        (
            _city("Gdańsk", "80001-80999 pl", "58", 7, "ul. Długa {n}|ul. Portowa {n}|al. Grunwaldzka {n}", "Gdansk"),
            _city("Gdynia", "81001-81999 pl", "58", 7, "ul. Morska {n}|ul. Świętojańska {n}"),
            _city("Warszawa", "00001-04999 pl", "22", 7, "al. Jana Pawła II {n}|ul. Marszałkowska {n}", "Warsaw"),
            _city("Poznań", "60001-61999 pl", "61", 7, "ul. Głogowska {n}|ul. Bukowska {n}", "Poznan"),
        ),
        _abbr("ul. =|al. =Aleja "),
    ),
    "EC": Country(
        "593", True, "com.ec",
        _t("Pacífico|Los Ríos|El Oro|Guayas|Machala|Costa Verde|San Lorenzo|La Julia|Balao|Santa Rosa|Vinces|Litoral"),
        {"fruit": _t("Exportadora Bananera|Agrícola|Frutera|Bananera")},
        _w("S.A.:7 Cía._Ltda.:3"),
        (
            _city("Guayaquil", "090101-090150 n6", "4", 7,
                  "Avenida 9 de Octubre {n}|Avenida Francisco de Orellana {n}|Kilómetro {n} Vía a Daule|"
                  "Calle Chile {n}"),
            _city("Machala", "070101-070110 n6", "7", 7, "Avenida 25 de Junio {n}|Calle Rocafuerte {n}"),
        ),
        _abbr("Avenida =Av. |Calle =Cl. |Kilómetro=Km"),
    ),
    "CO": Country(
        "57", False, "com.co",
        _t("Urabá|Magdalena|Caribe|Los Andes|Tayrona|Sierra Nevada|Antioquia|Huila|Cafetera|Macondo|Sinú|Atrato"),
        {"fruit": _t("C.I. Frutas del|Comercializadora Internacional|Agroindustrial|Bananeras"),
         "coffee": _t("Cafés Especiales|Exportadora de Café|Trilladora")},
        _w("S.A.S.:7 S.A.:2 Ltda.:1"),
        (
            _city("Bogotá", "110111-110911 n6", "601", 7, "Calle 100 # {n}-15|Carrera 7 # {n}-62", "Bogota D.C."),
            _city("Medellín", "050001-050036 n6", "604", 7, "Calle 10 Sur # {n}-20|Carrera 43A # {n}-30", "Medellin"),
            _city("Santa Marta", "470001-470008 n6", "605", 7, "Carrera 1 # {n}-23|Calle 22 # {n}-10"),
            _city("Cartagena", "130001-130015 n6", "605", 7, "Avenida Pedro de Heredia # {n}-40"),
            _city("Apartadó", "057501-057504 n6", "604", 7, "Calle 100 # {n}-05|Carrera 100 # {n}-45", "Apartado"),
        ),
        _abbr("Carrera =Cra. |Calle =Cl. |Avenida =Av. |#=No."),
    ),
    "CR": Country(
        "506", False, "co.cr",
        _t("Atlántico|Limón|Caribe|Pococí|Siquirres|Guácimo|Sarapiquí|Tropical|Talamanca|Matina"),
        {"fruit": _t("Piñas del|Agrícola|Frutas Tropicales|Exportadora")},
        _w("S.A.:8 S.R.L.:2"),
        (
            _city("San José", "10101-10110 n5", "", 8, "Avenida Central, calle {n}|Paseo Colón, edificio {n}",
                  "San Jose"),
            _city("Limón", "70101-70105 n5", "", 8, "Barrio Cieneguita, lote {n}|Moín, bodega {n}", "Puerto Limón"),
            _city("Guápiles", "70201-70207 n5", "", 8, "Zona Industrial, nave {n}", "Guapiles"),
        ),
        _abbr("Avenida =Av. |edificio=edif.|Barrio =Bo. "),
    ),
    "PE": Country(
        "51", False, "com.pe",
        _t("Inca|Norte|Chavimochic|Olmos|Piura|Chincha|Sol de Ica|Andino|Virú|Chao"),
        {"fruit": _t("Agroexportadora|Agrícola|Palta|Frutícola")},
        _w("S.A.C.:7 S.A.:3"),
        (
            _city("Lima", "15001-15498 n5", "1", 7, "Avenida Javier Prado Este {n}|Calle Los Negocios {n}"),
            _city("Piura", "20001-20009 n5", "73", 6, "Avenida Sánchez Cerro {n}|Zona Industrial Mz. {n}"),
            _city("Trujillo", "13001-13011 n5", "44", 6, "Avenida América Norte {n}"),
        ),
        _abbr("Avenida =Av. |Calle =Ca. "),
    ),
    "BR": Country(
        "55", True, "com.br",
        _t("Cerrado|Sul de Minas|Mogiana|Santos|Paulista|Guaxupé|Varginha|Espírito Santo|Bahia|Serra|Alta Paulista|"
           "Conilon"),
        {"coffee": _t("Cafés do|Exportadora de Café|Comércio de Café|Armazéns Gerais")},
        _w("Ltda.:8 S.A.:2"),
        (
            _city("Santos", "11010-11095 br", "13", 8, "Rua XV de Novembro {n}|Avenida Conselheiro Nébias {n}"),
            _city("São Paulo", "01000-05999 br", "11", 8, "Avenida Paulista {n}|Rua Funchal {n}", "Sao Paulo"),
            _city("Varginha", "37002-37026 br", "35", 8, "Rodovia BR-491 km {n}|Rua Delfim Moreira {n}"),
        ),
        _abbr("Avenida =Av. |Rua =R. |Rodovia =Rod. "),
    ),
    "CI": Country(
        "225", False, "ci",
        _t("Ivoire|Sassandra|Lagunes|Soubré|Bandama|Comoé|Éburnie|Daloa|Cavally|Nzi"),
        {"cocoa": _t("Société Ivoirienne de Cacao|Cacao Export|Négoce de Cacao"),
         "coffee": _t("Café-Cacao Export|Société de Café")},
        _w("SA:6 SARL:4"),
        (
            _city("Abidjan", "none", "27", 8,
                  "Boulevard de Vridi, lot {n}|Rue des Jardins, Zone 4, lot {n}|"
                  "Zone Industrielle de Yopougon, lot {n}"),
            _city("San-Pédro", "none", "27", 8, "Zone Portuaire, lot {n}", "San Pedro"),
        ),
        _abbr("Boulevard =Bd |Zone Industrielle=ZI|Rue =R. "),
    ),
    "GH": Country(
        "233", True, "com.gh",
        _t("Ashanti|Volta|Gold Coast|Akwaaba|Kumasi|Brong|Western|Sankofa|Adinkra|Tema"),
        {"cocoa": _t("Cocoa Merchants|Cocoa Buying Company|Agro Commodities")},
        _w("Ltd.:8 Limited:2"),
        (
            _city("Accra", "100-999 gh", "30", 7, "{n} Liberation Road|{n} Independence Avenue"),
            _city("Tema", "100-999 gh", "303", 6, "Harbour Road, plot {n}|Community 1, plot {n}"),
        ),
        _abbr("Road=Rd|Avenue=Ave"),
    ),
    "CN": Country(
        "86", True, "com.cn",
        _t("Haitian|Jinlong|Huaxin|Xinyuan|Hengtai|Ruifeng|Tianhe|Zhongda|Hongxing|Dongfang|Kangda|Baoli|Shengda|"
           "Yongsheng|Jiahe|Longsheng|Huarui|Xinhua|Mingyang|Sanjiang|Wanfeng|Fuda|Jinhai|Tongda"),
        {"machinery": _t("Machinery|Pump|Intelligent Equipment|Heavy Industry"),
         "chemicals": _t("Chemical|Pharmaceutical Technology|Biotechnology|New Material|Fine Chemical"),
         "textiles": _t("Textile|Garment|Knitting|Apparel Import & Export"),
         "general": _t("Import & Export|Industrial|Trading|Furniture|Toys|Footwear|Rubber")},
        _w("Co.,_Ltd.:1"),
        (
            _city("Shanghai", "200001-201999 n6", "21", 8,
                  "No. {n} Zhangjiang Road, Pudong New District|Room {n}, No. 1288 Yanan West Road|"
                  "No. {n} Jufeng Road, Pudong"),
            _city("Ningbo", "315000-315899 n6", "574", 8,
                  "No. {n} Zhongshan East Road, Yinzhou District|No. {n} Beilun Port Road"),
            _city("Shenzhen", "518000-518133 n6", "755", 8,
                  "No. {n} Shennan Avenue, Futian District|Building {n}, Bao'an Industrial Park"),
            _city("Qingdao", "266000-266199 n6", "532", 8, "No. {n} Hong Kong Middle Road|No. {n} Jiaozhou Bay Road"),
            _city("Hangzhou", "310000-311999 n6", "571", 8, "No. {n} Jiangnan Avenue, Binjiang District"),
            _city("Wuhan", "430000-430399 n6", "27", 8, "No. {n} Optics Valley Avenue"),
        ),
        _abbr("Road=Rd.|Avenue=Ave.|District=Dist.|No. =#|Building=Bldg."),
    ),
    "IN": Country(
        "91", True, "co.in",
        _t("Shree|Gujarat|Mahalaxmi|Sai|Bharat|Deccan|Narmada|Krishna|Ganesh|Sunrise|Om|Jai Ambe|Vishal|Aarti|Omkar|"
           "Siddhi"),
        {"machinery": _t("Pumps|Engineering|Industries|Machine Tools"),
         "chemicals": _t("Chemicals|Organics|Pharmachem|Intermediates"),
         "textiles": _t("Textiles|Exports|Spinning Mills|Fabrics"),
         "general": _t("Exports|Handicrafts|Tyres|Overseas")},
        _w("Pvt._Ltd.:7 Ltd.:3"),
        (
            _city("Mumbai", "400001-400104 n6", "22", 8, "{n} Nariman Point|Plot {n}, MIDC Andheri East"),
            _city("Ahmedabad", "380001-382481 n6", "79", 8, "Plot {n}, GIDC Vatva|{n} Ashram Road"),
            _city("Vapi", "396191-396195 n6", "260", 7, "Plot {n}, GIDC Phase II"),
            _city("Ankleshwar", "393001-393002 n6", "2646", 6, "Plot {n}, GIDC Estate"),
            _city("Tiruppur", "641601-641608 n6", "421", 7, "{n} Avinashi Road|{n} Kangeyam Road"),
            _city("Chennai", "600001-600119 n6", "44", 8, "{n} Anna Salai|Plot {n}, SIPCOT Irungattukottai"),
        ),
        _abbr("Road=Rd.|Plot =Plot No. |Phase II=Ph-II"),
    ),
    "BD": Country(
        "880", True, "com.bd",
        _t("Dhaka|Bengal|Padma|Meghna|Jamuna|Sonar|Rupali|Karnaphuli|Surma|Royal"),
        {"textiles": _t("Knitwear|Apparels|Garments|Fashions|Denim")},
        _w("Ltd.:1"),
        (
            _city("Dhaka", "1000-1362 n4", "2", 8, "House {n}, Road 11, Gulshan 1|Plot {n}, Tejgaon I/A"),
            _city("Gazipur", "1700-1751 n4", "2", 8, "Plot {n}, BSCIC Industrial Area"),
            _city("Chattogram", "4000-4225 n4", "31", 7, "Plot {n}, CEPZ|{n} Agrabad C/A", "Chittagong"),
        ),
        _abbr("Road=Rd.|House =H-|Plot =P-"),
    ),
    "VN": Country(
        "84", True, "com.vn",
        _t("Saigon|Mekong|Song Hong|Phu Thanh|Viet Tien|An Phat|Thanh Cong|Hoang Long|Minh Phat"),
        {"textiles": _t("Garment|Textile Joint Stock"), "general": _t("Furniture|Wood Products|Footwear|Industrial")},
        _w("Co.,_Ltd.:6 JSC:4"),
        (
            _city("Ho Chi Minh City", "700000-700999 n6", "28", 8, "{n} Nguyen Van Linh, District 7|{n} Vo Van Kiet",
                  "HCMC|Saigon"),
            _city("Binh Duong", "820000-820999 n6", "274", 7, "Lot {n}, VSIP II Industrial Park"),
            _city("Hai Phong", "180000-180999 n6", "225", 7, "{n} Le Hong Phong|Lot {n}, Dinh Vu IP", "Haiphong"),
        ),
        _abbr("District=Dist.|Industrial Park=IP"),
    ),
    "TR": Country(
        "90", True, "com.tr",
        _t("Anadolu|Ege|Marmara|Bosphorus|Yıldız|Akdeniz|Toros|Kaya|Demir|Özkan"),
        {"textiles": _t("Tekstil|Konfeksiyon|Örme")},
        _w("A.Ş.:5 Ltd._Şti.:5"),
        (
            _city("İstanbul", "34000-34990 n5", "212", 7, "Merter Mahallesi, Keresteciler Sitesi No: {n}", "Istanbul"),
            _city("İzmir", "35000-35990 n5", "232", 7, "Atatürk Organize Sanayi Bölgesi {n}. Sokak", "Izmir"),
            _city("Denizli", "20000-20990 n5", "258", 7, "Organize Sanayi Bölgesi {n}. Cadde"),
        ),
        _abbr("Mahallesi=Mah.|Sokak=Sk.|Cadde=Cd.|Organize Sanayi Bölgesi=OSB"),
    ),
    "PK": Country(
        "92", True, "com.pk",
        _t("Indus|Punjab|Karachi|Crescent|Chenab|Ravi|Al-Noor|Kohinoor|Sapphire|Gulshan"),
        {"textiles": _t("Textile Mills|Towels|Home Textiles|Spinning")},
        _w("(Pvt.)_Ltd.:7 Ltd.:3"),
        (
            _city("Karachi", "74000-75950 n5", "21", 8,
                  "Plot {n}, Sector 7-A, Korangi Industrial Area|{n} Shahrah-e-Faisal"),
            _city("Faisalabad", "38000-38090 n5", "41", 7, "{n} Sargodha Road|Plot {n}, Sitara Industrial Estate"),
            _city("Lahore", "54000-54950 n5", "42", 8, "{n} Ferozepur Road"),
        ),
        _abbr("Road=Rd.|Industrial Area=I.A.|Sector =Sec. "),
    ),
}  # fmt: skip
EU_COUNTRIES = tuple(c for c in COUNTRIES if c in EU)
LATIN_ORDER = frozenset(_t("EC|CO|CR|PE|BR|ES|FR|IT|CI"))  # word before root: "Exportadora Machala S.A."

LEGAL_FORM_VARIANTS: dict[str, tuple[str, ...]] = {
    "B.V.": _t("BV|B.V|b.v.|Besloten Vennootschap"),
    "N.V.": _t("NV|N.V|nv"),
    "GmbH": _t("GMBH|Gmbh|G.m.b.H.|mbH"),
    "GmbH & Co. KG": _t("GmbH & Co.KG|GmbH&Co. KG|GMBH & CO KG|GmbH und Co. KG"),
    "AG": _t("A.G.|Aktiengesellschaft"),
    "S.A.": _t("SA|S.A|S. A."),
    "SA": _t("S.A.|S.A"),
    "S.L.": _t("SL|S.L|Sociedad Limitada"),
    "S.A.S.": _t("SAS|S.A.S|sas"),
    "SARL": _t("S.A.R.L.|Sarl|S.à r.l."),
    "S.r.l.": _t("SRL|s.r.l.|S.R.L."),
    "S.R.L.": _t("SRL|S.R.L|s.r.l."),
    "S.p.A.": _t("SPA|S.P.A.|SpA"),
    "Sp. z o.o.": _t("Sp. z.o.o.|sp. z o.o.|SP Z OO|Spółka z o.o."),
    "Ltda.": _t("LTDA|Ltda|Limitada"),
    "Cía. Ltda.": _t("Cia. Ltda.|CIA LTDA|Compañía Limitada"),
    "S.A.C.": _t("SAC|S.A.C"),
    "Co., Ltd.": _t("Co. Ltd.|CO.,LTD|Co.,Ltd|Company Limited|Co Ltd"),
    "Pvt. Ltd.": _t("Private Limited|Pvt Ltd|PVT. LTD.|P. Ltd."),
    "(Pvt.) Ltd.": _t("(Pvt) Ltd|Pvt. Ltd.|Private Limited"),
    "Ltd.": _t("Ltd|Limited|LTD"),
    "Limited": _t("Ltd.|Ltd|LIMITED"),
    "A.Ş.": _t("AS|A.S.|Anonim Şirketi"),
    "Ltd. Şti.": _t("Ltd. Sti.|LTD STI|Limited Şirketi"),
    "JSC": _t("J.S.C.|Joint Stock Company"),
}
NAME_ABBREVIATIONS = _abbr(
    "International=Intl.|Internacional=Int.|Import Export=Imp. Exp.|Import & Export=Imp. & Exp.|Import=Imp.|"
    "Export=Exp.|Trading=Trdg.|Company=Co.|Logistics=Log.|Chemicals=Chem.|Chemical=Chem.|Technology=Tech.|"
    "Industrial=Ind.|Industries=Inds.|Exportadora=Export.|Comercializadora Internacional=C.I.|"
    "Handelsgesellschaft=Handelsges.|Engineering=Engg.|Equipment=Equip.|Garments=Garm.|Textiles=Tex.|"
    "Agrícola=Agr.|Société=Sté|Pharmaceutical=Pharma|Machinery=Mach.|Forwarding=Fwdg.|Services=Svcs.|"
    "Distribution=Distr.| & = and | and = & | en = & "
)
_ASCII_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "ı": "i", "İ": "I", "ø": "o", "æ": "ae", "đ": "d"})
FREEMAIL = _t("gmail.com|outlook.com|hotmail.com|yahoo.com")
MAILBOXES = _t("info|sales|import|export|office|contact|logistics|customs|trade|admin")

# ---------------------------------------------------------------- check digits and identifiers

_ISO6346 = {c: i for i, c in enumerate("0123456789A BCDEFGHIJK LMNOPQRSTU VWXYZ") if c != " "}
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# precomputed weighted sums: digits at positions 4-6 and 7-9 of a container number; base-36 pairs of an MRN body
_SERIAL_HIGH = [sum(int(d) << (4 + i) for i, d in enumerate(f"{v:03d}")) for v in range(1000)]
_SERIAL_LOW = [sum(int(d) << (7 + i) for i, d in enumerate(f"{v:03d}")) for v in range(1000)]
_PAIRS = [a + b for a in _B36 for b in _B36]
_PAIR_SUMS = [[(_ISO6346[p[0]] << (4 + 2 * k)) + (_ISO6346[p[1]] << (5 + 2 * k)) for p in _PAIRS] for k in range(6)]


def iso6346_check(code: str) -> str:
    """ISO 6346 check digit of a container's owner code, category and serial (ten characters); the same algorithm
    gives the check character of an EU MRN over its first 17."""
    return str(sum(_ISO6346[c] << i for i, c in enumerate(code)) % 11 % 10)


def imo_check(six: str) -> str:
    """IMO ship number check digit of its first six digits."""
    return str(sum(int(d) * w for d, w in zip(six, range(7, 1, -1), strict=True)) % 10)


def _ch(r: Callable[[], float], seq: Sequence[Any]) -> Any:
    return seq[int(r() * len(seq))]


def _digits(r: Callable[[], float], k: int) -> str:
    return f"{int(r() * 10**k):0{k}d}"


def _iban(country: str, bban: str) -> str:
    return f"{country}{stdnum_iban.calc_check_digits(country + '00' + bban)}{bban}"


_IT_ODD = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21)


def _cin(digits: str) -> str:
    """Italian CIN control letter over ABI, CAB and account number (digits only)."""
    return chr(ord("A") + sum(_IT_ODD[int(c)] if i % 2 == 0 else int(c) for i, c in enumerate(digits)) % 26)


def make_iban(r: Callable[[], float], country: str) -> str:
    """A valid IBAN of `country`: a BBAN in the national layout with its national check digits, then the ISO 13616
    mod-97 check digits (computed by stdnum)."""
    if country == "NL":  # bank code, and a ten-digit account number passing the old 11-test
        while True:
            account = _digits(r, 9)
            last = (11 - sum(int(d) * w for d, w in zip(account, range(10, 1, -1), strict=True)) % 11) % 11
            if last < 10:
                return _iban("NL", _ch(r, _t("ABNA|INGB|RABO|TRIO|KNAB|BUNQ")) + account + str(last))
    if country == "BE":  # bank code known to stdnum, account, mod-97 national check
        stem = _ch(r, _t("001|068|091|320|363|735|737|103|143")) + _digits(r, 7)
        return _iban("BE", f"{stem}{int(stem) % 97 or 97:02d}")
    if country == "DE":
        return _iban("DE", _ch(r, _t("20050550|20070000|20040000|29050101|30050110|50070010")) + _digits(r, 10))
    if country == "ES":  # CCC with its two check digits
        ccc = _ch(r, _t("2100|0049|0182|0081|2038")) + _digits(r, 4) + "00" + _digits(r, 10)
        return _iban("ES", ccc[:8] + es_ccc.calc_check_digits(ccc) + ccc[10:])
    if country == "FR":  # RIB key
        bank, branch, account = _ch(r, _t("30004|30003|30002|10278|20041")), _digits(r, 5), _digits(r, 11)
        return _iban(
            "FR", f"{bank}{branch}{account}{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"
        )
    if country == "IT":  # CIN letter
        rest = _ch(r, _t("03069|02008|05034|06175|03104")) + _digits(r, 5) + _digits(r, 12)
        return _iban("IT", _cin(rest) + rest)
    if country == "PL":  # sort code with its check digit
        sort = _ch(r, _t("102|124|105|114|109")) + _digits(r, 4)
        check = (10 - sum(int(d) * w for d, w in zip(sort, (3, 9, 7, 1, 3, 9, 7), strict=True)) % 10) % 10
        return _iban("PL", f"{sort}{check}{_digits(r, 16)}")
    raise ValueError(f"no IBAN layout for {country}")


_EORI_DIGITS = {"NL": "9", "BE": "0:9", "DE": "7", "ES": "B:8", "FR": "14", "IT": "11", "PL": "10:00000", "DK": "8"}


def make_eori(r: Callable[[], float], country: str) -> str:
    """An EORI number in the national style: NL + 9 digits, BE0 + 9, DE + 7, ESB + 8, PL + 10 + 00000, ..."""
    spec = _EORI_DIGITS[country]
    if ":" in spec:
        a, b = spec.split(":")
        return f"{country}{a}{_digits(r, int(b))}" if a.isalpha() or a == "0" else f"{country}{_digits(r, int(a))}{b}"
    return country + _digits(r, int(spec))


def make_imo(r: Callable[[], float]) -> str:
    six = str(910_000 + int(r() * 90_000))
    return six + imo_check(six)


# ---------------------------------------------------------------- spelling variants


def ascii_fold(text: str) -> str:
    """Accents and special letters dropped: 'Agrícola Spółka' -> 'Agricola Spolka'."""
    text = text.translate(_ASCII_EXTRA)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _typo(r: Callable[[], float], text: str) -> str:
    """One keying error in a word of five letters or more: transposition, omission, doubling or substitution."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return text
    i = _ch(r, candidates)
    w = words[i]
    j = 1 + int(r() * (len(w) - 2))
    op = int(r() * 4)
    if op == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif op == 1:
        w = w[:j] + w[j + 1 :]
    elif op == 2:
        w = w[:j] + w[j] + w[j:]
    else:
        c = _ch(r, "aeiounrst")
        w = w[:j] + (c.upper() if w[j].isupper() else c) + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def _name_variant(r: Callable[[], float], base: str, form: str) -> tuple[str, str]:
    op = int(r() * 8)
    if op == 0:
        return base.upper(), form.upper()
    if op in (1, 2) and form in LEGAL_FORM_VARIANTS:
        return base, _ch(r, LEGAL_FORM_VARIANTS[form])
    if op == 3:
        return base, ""
    if op == 4:
        found = [(a, b) for a, b in NAME_ABBREVIATIONS if a in base]
        if found:
            a, b = _ch(r, found)
            return base.replace(a, b, 1), form
    if op == 5:
        return _typo(r, base), form
    if op == 6 and ascii_fold(base) != base:
        return ascii_fold(base), ascii_fold(form)
    return base.replace(".", "").replace(",", ""), form.replace(".", "").replace(",", "")


def name_variants(r: Callable[[], float], base: str, form: str, k: int) -> list[str]:
    """The canonical 'base form' first, then up to `k` other ways of writing it (one or two changes each)."""
    out = [f"{base} {form}".strip()]
    for _ in range(3 * k):
        if len(out) > k:
            break
        b, f = _name_variant(r, base, form)
        if r() < 0.35:
            b, f = _name_variant(r, b, f)
        name = f"{b} {f}".strip()[:200]
        if name not in out:
            out.append(name)
    return out


def address_variants(
    r: Callable[[], float], country: Country, city: City, street: str, postcode: str | None, k: int
) -> list[tuple[str, str | None, str]]:
    """The canonical (street, postcode, city) first, then up to `k` other ways of writing it."""
    out = [(street, postcode, city.name)]
    for _ in range(3 * k):
        if len(out) > k:
            break
        s, p, c = out[0]
        for _ in range(1 + (r() < 0.4)):
            op = int(r() * 6)
            if op == 0:
                found = [(a, b) for a, b in country.street_abbreviations if a in s]
                if found:
                    a, b = _ch(r, found)
                    s = s.replace(a, b, 1)
            elif op == 1 and p is not None:
                p = p.replace(" ", "").replace("-", "")
            elif op == 2 and city.aliases:
                c = _ch(r, city.aliases)
            elif op == 3:
                s, c = s.upper(), c.upper()
            elif op == 4:
                s, c = ascii_fold(s), ascii_fold(c)
            else:
                s = s.replace(",", "").replace(".", "")
        if (s, p, c) not in out:
            out.append((s, p, c))
    return out


def phone_variants(country: Country, area: str, number: str) -> list[str]:
    """'+31 10 412 3456' first, then the other ways it is written: compact, 00 prefix, trunk prefix in brackets."""
    head, tail = number[:-4], number[-4:]
    split = len(head) % 3 if len(head) > 4 else len(head)  # 4 digits stay together, 5 become 2 + 3
    grouped = " ".join(g for g in (head[:split], *(head[i : i + 3] for i in range(split, len(head), 3)), tail) if g)
    prefix = f"+{country.dial} {area} " if area else f"+{country.dial} "
    out = [prefix + grouped, f"+{country.dial}{area}{number}", f"00{country.dial} {area} {number}".replace("  ", " ")]
    if country.trunk and area:
        out.append(f"+{country.dial} (0){area} {number}")
        out.append(f"0{area} {grouped}")
    return out


def _postcode(r: Callable[[], float], spec: str) -> str | None:
    if spec == "none":
        return None
    span, fmt = spec.split(" ")
    lo, hi = (int(x) for x in span.split("-"))
    n = lo + int(r() * (hi - lo + 1))
    width = len(span.split("-")[0])
    if fmt == "nl":
        letters = "ABCDEGHJKLMNPRSTVWXZ"
        return f"{n:04d} {_ch(r, letters)}{_ch(r, letters)}"
    if fmt == "pl":
        return f"{n // 1000:02d}-{n % 1000:03d}"
    if fmt == "br":
        return f"{n:05d}-{int(r() * 1000):03d}"
    if fmt == "gh":
        return f"GT-{n:03d}-{int(r() * 10_000):04d}"
    return f"{n:0{width}d}"


def _slug(text: str) -> str:
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())[:24] or "mail"


# ---------------------------------------------------------------- the company pool


@dataclass(frozen=True, slots=True)
class Company:
    """A company of the pool as it really is (its canonical record); declarations write it in variants."""

    id: str
    kind: str  # exporter | importer | forwarder | carrier
    sector: str | None
    country: str
    name: str
    street: str
    postcode: str | None
    city: str
    phone: str
    email: str
    eori: str | None
    iban: str | None
    front_cluster: str | None = None  # distinct companies of one cluster share contact details (fronts)
    business_centre: bool = False  # at an address shared with unrelated companies


@dataclass(frozen=True, slots=True)
class _Spelling:
    """What the variants of a company are made from."""

    base: str
    form: str
    country: Country
    city: City
    area: str
    number: str
    domain: str


Weighted = tuple[list[Any], list[float], float, int]  # keys, cumulative weights, total, last index


def _weighted(items: Sequence[tuple[Any, float]]) -> Weighted:
    keys, cum, total = [], [], 0.0
    for key, weight in items:
        total += weight
        keys.append(key)
        cum.append(total)
    return keys, cum, total, len(keys) - 1


def _pick(r: Callable[[], float], keys: list[Any], cum: list[float], total: float, hi: int) -> Any:
    return keys[bisect(cum, r() * total, 0, hi)]


def _spread(cum: list[float]) -> list[float]:
    return [b - a for a, b in zip([0.0, *cum[:-1]], cum, strict=True)]


class _Pool:
    """Companies with their relations (suppliers, ports, currency), forwarders and carriers. Built from the
    seed alone, so that the pool does not depend on the period."""

    def __init__(self, r: Callable[[], float]) -> None:
        self.r = r
        self.companies: list[Company] = []
        self.spellings: list[_Spelling | None] = []
        self._addresses: set[tuple[str, str | None, str]] = set()
        self._names: set[str] = set()
        self.products: dict[int, Weighted] = {}  # exporter -> commodities
        self.importers: dict[str, Weighted] = {}  # sector -> importers by popularity
        self.suppliers: dict[int, Weighted] = {}  # importer -> exporters
        self.ports: dict[int, Weighted] = {}  # importer -> ports of discharge
        self.eur: dict[int, bool] = {}  # importer -> invoices in EUR (else USD)
        self.forwarders: dict[str, Weighted] = {}  # country -> forwarders
        self.upper_case: set[int] = set()  # forwarders that file in capitals
        self.carriers: dict[str, int] = {}
        self._build()

    def _address(self, country: str) -> tuple[City, str, str | None]:
        r = self.r
        while True:
            city = _ch(r, COUNTRIES[country].cities)
            street = _ch(r, city.streets).format(n=1 + int(r() * 250))
            postcode = _postcode(r, city.postcode)
            if (street, postcode, city.name) not in self._addresses:
                self._addresses.add((street, postcode, city.name))
                return city, street, postcode

    def _name(self, country: str, sector: str, root: str | None) -> tuple[str, str]:
        r = self.r
        profile = COUNTRIES[country]
        words = profile.words.get(sector) or _EN_WORDS[sector]
        for attempt in range(1000):
            stem = root if root and attempt < 30 else _ch(r, profile.roots)
            word = _ch(r, words)
            if attempt >= 100:  # the combinations are used up: a second company of the same words
                word = f"{word} {_ch(r, _t('Group|Holding|International|Europe|Global|Partners'))}"
            if word.endswith((" del", " do")):
                base = f"{word} {stem}"
            elif country == "CN" and r() < 0.7:
                base = f"{_ch(r, profile.cities).name} {stem} {word}"
            elif country in LATIN_ORDER and r() < 0.85:
                base = f"{word} {stem}"
            else:
                base = f"{stem} {word}"
            if base not in self._names:
                self._names.add(base)
                return base, _pick(r, *_weighted(profile.forms)).replace("_", " ")
        raise RuntimeError(f"no free company name for {country} {sector}")  # pragma: no cover

    def _add(
        self,
        kind: str,
        sector: str | None,
        country: str,
        *,
        address: tuple[City, str, str | None] | None = None,
        phone: tuple[str, str] | None = None,
        email: str | None = None,
        iban: str | None = None,
        front_cluster: str | None = None,
        business_centre: bool = False,
        root: str | None = None,
    ) -> int:
        r = self.r
        profile = COUNTRIES[country]
        base, form = self._name(country, sector or "forwarder", root)
        city, street, postcode = address or self._address(country)
        area, number = phone or (city.area, _digits(r, city.digits))
        domain = email.split("@")[1] if email else f"{_slug(''.join(base.split(' ')[:2]))}.{profile.tld}"
        index = len(self.companies)
        eu = country in EU
        self.companies.append(
            Company(
                id=f"C{index:05d}",
                kind=kind,
                sector=sector,
                country=country,
                name=f"{base} {form}".strip(),
                street=street,
                postcode=postcode,
                city=city.name,
                phone=phone_variants(profile, area, number)[0],
                email=email or f"{_ch(r, MAILBOXES)}@{domain}",
                eori=make_eori(r, country) if eu else None,
                iban=(iban or make_iban(r, country)) if eu else None,
                front_cluster=front_cluster,
                business_centre=business_centre,
            )
        )
        self.spellings.append(_Spelling(base, form, profile, city, area, number, domain))
        return index

    def _build(self) -> None:
        r = self.r
        by_sector: dict[str, list[Commodity]] = {}
        for commodity in COMMODITIES:
            by_sector.setdefault(commodity.sector, []).append(commodity)

        for code, carrier in CARRIERS.items():
            index = len(self.companies)
            self.companies.append(
                Company(
                    id=f"C{index:05d}",
                    kind="carrier",
                    sector=None,
                    country=carrier.country,
                    name=carrier.name,
                    street=carrier.street,
                    postcode=carrier.postcode,
                    city=carrier.city,
                    phone=carrier.phone,
                    email=f"ics2@{_slug(carrier.name.split(' ')[0])}.com",
                    eori=make_eori(r, carrier.eori_country),
                    iban=None,
                )
            )
            self.spellings.append(None)
            self.carriers[code] = index

        # exporters, each with one to three products of its country
        exporters: dict[str, list[int]] = {}
        for sector_key, sector in SECTORS.items():
            country_weight: dict[str, float] = {}
            for commodity in by_sector[sector_key]:
                for country, weight in commodity.origins:
                    country_weight[country] = country_weight.get(country, 0.0) + weight * commodity.weight
            countries = _weighted(list(country_weight.items()))
            for _ in range(sector.exporters):
                country = _pick(r, *countries)
                index = self._add("exporter", sector_key, country)
                options = _weighted(
                    [(c, w * c.weight) for c in by_sector[sector_key] for oc, w in c.origins if oc == country]
                )
                chosen: list[Commodity] = []
                for _ in range(_ch(r, (1, 1, 2, 2, 3))):
                    commodity = _pick(r, *options)
                    if commodity not in chosen:
                        chosen.append(commodity)
                self.products[index] = _weighted([(c, 1.0 / (n + 1)) for n, c in enumerate(chosen)])
                exporters.setdefault(sector_key, []).append(index)

        # importers, with suppliers (popular exporters supply many), ports and currency; popularity is Zipf-like
        for sector_key, sector in SECTORS.items():
            pool = exporters[sector_key]
            order = sorted(pool, key=lambda _i: r())
            supply = _weighted([(i, 1.0 / (rank + 1) ** 0.8) for rank, i in enumerate(order)])
            countries = _weighted(sector.importer_countries)
            importers = []
            for rank in range(sector.importers):
                country = _pick(r, *countries)
                index = self._add("importer", sector_key, country)
                self._relations(index, country, sector_key, supply)
                importers.append((index, 1.0 / (rank + 1) ** 0.9))
            self.importers[sector_key] = _weighted(importers)

        # unrelated companies at business-centre addresses: the false positive of address matching
        for country in _t("NL|BE|DE|ES"):
            address = self._address(country)
            for _ in range(2 + int(r() * 3)):
                sector_key = _ch(r, _t("general|textiles|machinery"))
                index = self._add("importer", sector_key, country, address=address, business_centre=True)
                self._relations(index, country, sector_key, _weighted([(i, 1.0) for i in exporters[sector_key]]))
                keys, cum, _total, _hi = self.importers[sector_key]
                self.importers[sector_key] = _weighted([*zip(keys, _spread(cum), strict=True), (index, 0.08)])

        self._fronts(exporters)

        # forwarders: declarants and notify parties; some file everything in capitals
        for country in EU_COUNTRIES:
            forwarders = []
            for rank in range(5 + int(r() * 5)):
                index = self._add("forwarder", None, country)
                forwarders.append((index, 1.0 / (rank + 1)))
                if r() < 0.3:
                    self.upper_case.add(index)
            self.forwarders[country] = _weighted(forwarders)

    def _relations(self, index: int, country: str, sector: str, supply: Weighted) -> None:
        r = self.r
        suppliers: list[tuple[int, float]] = []
        for n in range(_ch(r, (1, 2, 2, 3, 3, 4, 5, 6))):
            supplier = _pick(r, *supply)
            if all(supplier != s for s, _ in suppliers):
                suppliers.append((supplier, 1.0 / (n + 1) ** 1.2))
        self.suppliers[index] = _weighted(suppliers)
        ports = _weighted([p for p in IMPORT_PORTS[country] if sector == "fruit" or p[0] != "NLVLI"])
        first, second = _pick(r, *ports), _pick(r, *ports)
        self.ports[index] = _weighted([(first, 4.0)] + ([(second, 1.0)] if second != first else []))
        self.eur[index] = r() < 0.35

    def _fronts(self, exporters: dict[str, list[int]]) -> None:
        """Clusters of distinct importers (own names and EORIs) sharing an address and/or a phone, a free-mail
        domain, sometimes a bank account, and suppliers; in chemicals, suppliers of precursor-like products."""
        r = self.r
        plans = _t("fruit NL|fruit BE|fruit ES|fruit DE|chemicals NL|chemicals BE|chemicals PL|chemicals DE|fruit NL|"
                   "chemicals NL|general BE|fruit IT")  # fmt: skip
        precursors = [i for i, (products, *_rest) in self.products.items() if any(c.precursor for c in products)]
        for n, plan in enumerate(plans):
            sector, country = plan.split(" ")
            profile = COUNTRIES[country]
            share = _ch(r, _t("address|phone|both|both"))
            address = self._address(country)
            mobile = ("6", _digits(r, 8)) if country == "NL" else (address[0].area, _digits(r, address[0].digits))
            root = _ch(r, profile.roots) if r() < 0.5 else None  # similar names: "Noordzee Fresh", "Noordzee Fruit"
            email = f"{_slug(root or _ch(r, profile.roots))}.{_ch(r, MAILBOXES)}{int(r() * 100)}@{_ch(r, FREEMAIL)}"
            iban = make_iban(r, country) if r() < 0.4 else None
            candidates = precursors if sector == "chemicals" and precursors else exporters[sector]
            suppliers = _weighted([(s, 1.0) for s in sorted({_ch(r, candidates) for _ in range(2)})])
            keys, cum, _total, _hi = self.importers[sector]
            members = []
            for _ in range(2 + int(r() * 3)):
                index = self._add(
                    "importer",
                    sector,
                    country,
                    address=address if share != "phone" else None,
                    phone=mobile if share != "address" else None,
                    email=email,
                    iban=iban,
                    front_cluster=f"F{n:02d}",
                    root=root,
                )
                self.suppliers[index] = suppliers
                self.ports[index] = _weighted([(_pick(r, *_weighted(IMPORT_PORTS[country])), 1.0)])
                self.eur[index] = r() < 0.5
                members.append((index, 0.15))
            self.importers[sector] = _weighted([*zip(keys, _spread(cum), strict=True), *members])


# ---------------------------------------------------------------- the declaration stream

Call = tuple[str, str, str, float, int]  # carrier, IMO, voyage, seconds from start, service number
Service = tuple[float, list[str], int, int]  # first departure, vessels, first voyage counter, service number
WEEK = 7 * 86_400
ROTATION = {"wcsa": 8, "carib": 7, "ecsa": 8, "waf": 6, "fe": 12, "isc": 9, "med": 5}  # vessels of a weekly service
Mentions = tuple[list[tuple[dict[str, Any], dict[str, Any]]], str | None, tuple[str, str] | None]


class _Stream:
    def __init__(self, seed: int, start: date, days: int) -> None:
        if days < 1:
            raise ValueError("days must be at least 1")
        self.r = r = random.Random(seed).random  # noqa: S311 - synthetic data, not security
        self.pool = _Pool(r)
        self.ids = [company.id for company in self.pool.companies]
        self.owner_sums = {
            owner: sum(_ISO6346[c] << k for k, c in enumerate(owner))
            for owner in {
                *LESSORS_DRY,
                *LESSORS_REEFER,
                *TANK_OPERATORS,
                *(o for c in CARRIERS.values() for o in c.dry + c.reefer),
            }
        }
        self.start = datetime(start.year, start.month, start.day)  # naive, printed with Z: UTC
        self.seconds = days * 86_400
        self.calls: dict[tuple[str, str], list[Call]] = {}
        self.services: dict[tuple[str, str], Service] = {}
        self.imos: set[str] = set()
        self.templates: dict[int, Mentions] = {}
        self.sectors = _weighted([(key, sector.weight) for key, sector in SECTORS.items()])
        self.origin_ports = {country: _weighted(spec[1]) for country, spec in ORIGINS.items()}
        self.mrn_multiplier = 1 + 6 * int(r() * 36**11)  # coprime with 36: i -> body is one-to-one
        self.mrn_offset = int(r() * 36**12)
        self.bl_offset = int(r() * 10**9)
        self.mrn_prefix: dict[tuple[int, str], tuple[str, int]] = {}

    # ------------------------------------------------------------ vessel calls and documents

    def _service(self, region: str, carrier: str) -> Service:
        """A carrier's weekly service from `region` to Europe: first departure, its own rotation of vessels (each
        comes back after a round trip), first voyage counter, and a number that fixes its routing."""
        service = self.services.get((region, carrier))
        if service is None:
            r = self.r
            vessels: list[str] = []
            while len(vessels) < ROTATION[region]:
                imo = make_imo(r)
                if imo not in self.imos:
                    self.imos.add(imo)
                    vessels.append(imo)
            service = (r() * min(WEEK, self.seconds), vessels, 10 + int(r() * 80), len(self.services))
            self.services[(region, carrier)] = service
        return service

    def _calls(self, region: str, pod: str) -> list[Call]:
        """The departures, over the period, of the services from `region` that call at `pod` (made on first use).
        A departure is the same vessel and voyage whatever the port of discharge."""
        r = self.r
        available = list(REGION_CARRIERS[region])
        chosen: list[str] = []
        for _ in range(min(len(available), _ch(r, (1, 2, 2, 3)))):
            chosen.append(_pick(r, *_weighted([(c, CARRIERS[c].weight) for c in available if c not in chosen])))
        calls = []
        for carrier in chosen:
            t, vessels, counter, number = self._service(region, carrier)
            k = 0
            while t < self.seconds:
                voyage = self._voyage(carrier, region, t, counter + k, number)
                calls.append((carrier, vessels[k % len(vessels)], voyage, t, number))
                k += 1
                t += WEEK
        self.calls[(region, pod)] = calls
        return calls

    def _voyage(self, carrier: str, region: str, t: float, counter: int, service: int) -> str:
        """A voyage number in the carrier's style, unique for the vessel."""
        year, week, _ = (self.start + timedelta(seconds=t)).isocalendar()
        d = REGION_DIRECTION[region]
        if carrier == "MAEU":
            return f"{year % 10}{week:02d}{d}"
        if carrier == "MSCU":
            return f"{'FAQXJ'[service % 5]}{'LNRM'[service % 4]}{year % 10}{week:02d}{'A' if d == 'N' else 'R'}"
        if carrier == "CMDU":
            return f"0{'FMNP'[service % 4]}{_B36[counter // 100 % 36]}{counter % 100:02d}{d}1MA"
        if carrier == "HLCU":
            return f"{year % 100:02d}{week:02d}{d}"
        if carrier == "EGLV":
            return f"{1000 + counter:04d}-{counter % 1000:03d}{d}"
        return f"{counter % 1000:03d}{d}"

    def _bill(self, carrier: str, pol: str, i: int) -> str:
        serial = (self.bl_offset + i * 7919) % 10**9
        if carrier == "MAEU":
            return f"MAEU{serial:09d}"
        if carrier == "MSCU":
            return f"MEDU{_PAIRS[360 + serial % 936]}{serial % 10**6:06d}"
        if carrier == "CMDU":
            return f"{pol[2:]}{serial % 10**7:07d}"
        if carrier in ("HLCU", "ONEY"):
            return f"{carrier}{pol[2:]}{serial:09d}"
        if carrier == "COSU":
            return f"COSU{6_000_000_000 + serial:010d}"
        return f"EGLV{140_000_000_000 + serial:012d}"

    def _mrn(self, i: int, year: int, country: str) -> str:
        """An MRN-like reference: year, country, 12 characters (a one-to-one scramble of i), 'A', check character."""
        prefix = self.mrn_prefix.get((year, country))
        if prefix is None:
            head = f"{year % 100:02d}{country}"
            prefix = head, sum(_ISO6346[c] << k for k, c in enumerate(head)) + (_ISO6346["A"] << 16)
            self.mrn_prefix[(year, country)] = prefix
        head, total = prefix
        x = (i * self.mrn_multiplier + self.mrn_offset) % 36**12
        pairs = []
        for k in range(6):
            x, v = divmod(x, 1296)
            pairs.append(_PAIRS[v])
            total += _PAIR_SUMS[k][v]
        return f"{head}{''.join(pairs)}A{total % 11 % 10}"

    # ------------------------------------------------------------ parties

    def _templates(self, index: int, upper: bool) -> Mentions:
        """A company's ways of being written, made on its first mention: (party fields, address) pairs, the first
        canonical; and its EORI and IBAN (compact and grouped by four)."""
        key = index << 1 | upper
        if upper:
            templates, eori, ibans = self._templates(index, False)
            upper_templates = [
                ({**f, "name": f["name"].upper()}, {**a, "street": a["street"].upper(), "city": a["city"].upper()})
                for f, a in templates
            ]
            self.templates[key] = mentions = (upper_templates, eori, ibans)
            return mentions
        r = self.r
        company = self.pool.companies[index]
        spelling = self.pool.spellings[index]
        if spelling is None:  # a carrier
            names = [company.name, company.name.upper(), company.name.replace(".", "").replace(",", "")]
            addresses = [(company.street, company.postcode, company.city)]
            phones, emails = [company.phone], [company.email]
        else:
            k = 1 + int(r() * 5)
            names = name_variants(r, spelling.base, spelling.form, k)
            addresses = address_variants(r, spelling.country, spelling.city, company.street, company.postcode, k)
            phones = phone_variants(spelling.country, spelling.area, spelling.number)
            free = spelling.domain in FREEMAIL  # a free-mail address has no other mailbox of the company
            emails = [company.email, company.email if free else f"{_ch(r, MAILBOXES)}@{spelling.domain}"]
        templates = []
        for n in range(2 + 2 * len(names)):
            canonical = n == 0
            name = names[0] if canonical else _ch(r, names)
            street, postcode, city = addresses[0] if canonical or r() < 0.5 else _ch(r, addresses)
            fields: dict[str, Any] = {"name": name}
            address: dict[str, Any] = {"street": street, "city": city}
            if postcode is not None:
                address["postcode"] = postcode
            address["country"] = company.country
            if canonical or r() < 0.8:
                fields["phone"] = phones[0] if canonical or r() < 0.5 else _ch(r, phones)
            if canonical or r() < 0.5:
                fields["email"] = emails[0] if canonical or r() < 0.7 else emails[-1]
            templates.append((fields, address))
        iban = company.iban
        ibans = None if iban is None else (iban, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))
        self.templates[key] = mentions = (templates, company.eori, ibans)
        return mentions

    def _party(self, role: str, index: int, upper: bool, eori_p: float, iban_p: float) -> dict[str, Any]:
        r = self.r
        mentions = self.templates.get(index << 1 | upper) or self._templates(index, upper)
        templates, eori, ibans = mentions
        fields, address = templates[0] if r() < 0.45 else templates[int(r() * len(templates))]
        party = {"role": role, **fields, "address": address.copy()}
        if eori is not None and r() < eori_p:
            party["eori"] = eori
        if ibans is not None and r() < iban_p:
            party["iban"] = ibans[r() < 0.25]
        return party

    # ------------------------------------------------------------ one declaration

    def declaration(self, i: int) -> tuple[dict[str, Any], list[str]]:
        r = self.r
        pool = self.pool
        companies = pool.companies

        # who trades what, and the vessel call
        keys, cum, total, hi = self.sectors
        sector_key = keys[bisect(cum, r() * total, 0, hi)]
        sector = SECTORS[sector_key]
        keys, cum, total, hi = pool.importers[sector_key]
        consignee = keys[bisect(cum, r() * total, 0, hi)]
        keys, cum, total, hi = pool.suppliers[consignee]
        consignor = keys[bisect(cum, r() * total, 0, hi)]
        origin = companies[consignor].country
        region, _ports, routings = ORIGINS[origin]
        keys, cum, total, hi = self.origin_ports[origin]
        pol = keys[bisect(cum, r() * total, 0, hi)]
        keys, cum, total, hi = pool.ports[consignee]
        pod = keys[bisect(cum, r() * total, 0, hi)]
        pod_country, offices = PORTS[pod]
        office = offices[0] if len(offices) == 1 or r() < 0.75 else offices[1]
        calls = self.calls.get((region, pod)) or self._calls(region, pod)
        carrier_code, imo, voyage, t0, service = calls[int(r() * len(calls))]
        carrier = CARRIERS[carrier_code]
        when = self.start + timedelta(seconds=int(t0 + r() * min(259_200.0, self.seconds - t0)))
        route = [origin]
        for country in (*routings[service % len(routings)], pod_country):
            if country != route[-1]:
                route.append(country)

        # goods items and the containers they travel in
        products = pool.products[consignor]
        keys, cum, total, hi = products
        front = companies[consignee].front_cluster is not None
        counts = sector.items
        items = []
        for _ in range(counts[int(r() * len(counts))]):
            commodity = keys[bisect(cum, r() * total, 0, hi)]
            if front and sector_key == "chemicals" and not commodity.precursor and r() < 0.5:
                commodity = next((c for c in keys if c.precursor), commodity)
            items.append(commodity)
        main = items[0]
        packs = main.packs
        pack = packs[int(r() * len(packs))]
        size_type = pack.size_type
        if size_type == "22T6":  # a tank carries one liquid
            items = [main]
            owners = TANK_OPERATORS
        elif size_type == "45R1":
            owners = carrier.reefer if r() < 0.75 else LESSORS_REEFER
        else:
            owners = carrier.dry if r() < 0.7 else LESSORS_DRY
        counts = sector.containers
        n_containers = counts[int(r() * len(counts))]
        seal = carrier.seal
        second_seal = 0.6 if sector_key in ("fruit", "coffee", "cocoa") else 0.2
        owner_sums = self.owner_sums
        numbers = []
        containers = []
        while len(numbers) < n_containers:
            owner = owners[int(r() * len(owners))]
            serial = int(r() * 1_000_000)
            high, low = divmod(serial, 1000)
            check = (owner_sums[owner] + _SERIAL_HIGH[high] + _SERIAL_LOW[low]) % 11 % 10
            number = f"{owner}{serial:06d}{check}"
            if number in numbers:  # pragma: no cover - one in millions
                continue
            seals = [f"{seal}{int(r() * 10_000_000):07d}"]
            if r() < second_seal:
                seals.append(f"{origin}{int(r() * 1_000_000):06d}")  # the shipper's or an origin authority's seal
            numbers.append(number)
            containers.append({"number": number, "seals": seals, "size_type": size_type})

        currency, fx = ("EUR", 0.92) if pool.eur[consignee] else ("USD", 1.0)
        n_items = len(items)
        goods = []
        for seq, commodity in enumerate(items, start=1):
            if n_items <= n_containers:  # each item in containers of its own
                in_containers = numbers[seq - 1 :: n_items]
                share = float(len(in_containers))
            else:  # items share containers
                in_containers = [numbers[(seq - 1) % n_containers]]
                share = n_containers / n_items
            item_pack = pack if commodity is main else commodity.packs[0]
            low_kg, high_kg = item_pack.unit_kg
            counts = item_pack.counts
            packages = max(1, round(counts[int(r() * len(counts))] * share * (0.9 + 0.1 * r())))
            net = round(packages * (low_kg + (high_kg - low_kg) * r()), 1)
            low_price, high_price = commodity.price
            descriptions = commodity.descriptions
            description = descriptions[int(r() * len(descriptions))]
            if r() < 0.3 and packages > 1:
                description = f"{packages} {item_pack.word} {description}"
            goods.append(
                {
                    "seq": seq,
                    "hs_code": commodity.cn8 if commodity.cn8 is not None and r() < 0.3 else commodity.hs6,
                    "description": description,
                    "gross_mass_kg": round(net * (1.0 + item_pack.tare * (0.85 + 0.3 * r())), 1),
                    "net_mass_kg": net,
                    "value": round(net * (low_price + (high_price - low_price) * r()) * fx, 2),
                    "currency": currency,
                    "packages": packages,
                    "country_of_origin": origin,
                    "containers": in_containers,
                }
            )

        # parties
        carrier_index = pool.carriers[carrier_code]
        keys, cum, total, hi = pool.forwarders[pod_country]
        declarant = carrier_index if r() < 0.4 else keys[bisect(cum, r() * total, 0, hi)]
        notify = consignee if r() < 0.65 else keys[bisect(cum, r() * total, 0, hi)]
        upper = declarant in pool.upper_case
        party = self._party
        parties = [
            party("consignor", consignor, upper, 0.0, 0.0),
            party("consignee", consignee, upper, 0.9, 0.45),
            party("notify_party", notify, upper, 0.6, 0.2),
            party("declarant", declarant, upper, 1.0, 0.3),
        ]
        ids = self.ids
        truth = [ids[consignor], ids[consignee], ids[notify], ids[declarant]]
        if declarant != carrier_index and r() < 0.35:
            parties.append(party("carrier", carrier_index, upper, 1.0, 0.0))
            truth.append(ids[carrier_index])

        declaration = {
            "ref": self._mrn(i, when.year, pod_country),
            "type": "ENS",
            "lodged_at": when.isoformat() + "Z",
            "office": office,
            "transport_mode": "1",
            "transport_document": self._bill(carrier_code, pol, i),
            "vessel_imo": imo,
            "voyage": voyage,
            "port_of_loading": pol,
            "port_of_discharge": pod,
            "country_of_departure": origin,
            "route_countries": route,
            "parties": parties,
            "goods": goods,
            "containers": containers,
        }
        return declaration, truth


# ---------------------------------------------------------------- public API


def generate_labelled(
    n: int, *, seed: int = 0, start: date | None = None, days: int = 90
) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Like `generate`, with the truth: the pool ids (`Company.id`) of each declaration's parties, in order."""
    if n < 0:
        raise ValueError("n must not be negative")
    stream = _Stream(seed, start or DEFAULT_START, days)
    for i in range(n):
        yield stream.declaration(i)


def generate(n: int, *, seed: int = 0, start: date | None = None, days: int = 90) -> Iterator[dict[str, Any]]:
    """`n` declarations as JSON-compatible dicts shaped like `DeclarationIn`, lodged over `days` days from `start`
    (default 2025-01-01, UTC); the same arguments give the same declarations."""
    for declaration, _truth in generate_labelled(n, seed=seed, start=start, days=days):
        yield declaration


def companies(seed: int = 0) -> list[Company]:
    """The company pool behind `generate(..., seed=seed)` (canonical records and front clusters)."""
    return list(_Pool(random.Random(seed).random).companies)  # noqa: S311 - synthetic data, not security


def write_jsonl(path: str | Path, n: int, *, seed: int = 0, start: date | None = None, days: int = 90) -> int:
    """Write `n` declarations to `path` as JSON Lines (UTF-8, read by `readers.read_ics2`); returns how many."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        for declaration in generate(n, seed=seed, start=start, days=days):
            out.write(encode(declaration) + "\n")
            count += 1
    return count
