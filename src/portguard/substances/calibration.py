"""Known answers for precursor screening: designer forms and the parents they hide, and legitimate look-alikes.

Why: a screening rule is only as good as the cases it separates. The shared list of scheduled precursors has no
column marking designer forms, so the links between its rows are stated here (`FILE_DESIGNER_FORMS`, by the file's
`name` column: MAPA is BMK after ester hydrolysis and decarboxylation, 1-boc-4-AP is 4-AP after Boc removal). Forms
seized or offered but not (or not yet) on the list (`EXTRA_DESIGNER_FORMS`: P2NP, salts, other glycidic esters,
N-benzyl and Boc variants of the fentanyl precursors) come with the parent they reach. `LOOK_ALIKES` are chemicals
in ordinary trade — flavourings, fragrances, a synergist — of the same shape as BMK, PMK or safrole, several of
which score higher against a parent by fingerprint similarity than real designer forms do, and none of which
unmasks to a scheduled structure of category 1 or 2. The tests and `benchmarks/screening.py` read these lists, and
the screening service can use them to check itself.

Left out of the look-alikes on purpose, because they do unmask to a category 2B substance: esters of phenylacetic
acid (ethyl phenylacetate, a honey note) and of anthranilic acid (methyl anthranilate, grape), and piperine (black
pepper; amide hydrolysis gives piperidine). `CATEGORY_2_ESTERS` lists them with the acid they reach.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Case:
    """A named structure and what the screening should make of it: the registry entry it reaches, or None."""

    name: str
    smiles: str
    parent: str | None  # the `name` of the registry record it unmasks to; None for a legitimate chemical
    why: str


BMK = "1-Phenyl-2-propanone"
PMK = "3,4-Methylenedioxyphenylpropan-2-one"
FOUR_AP = "N-Phenylpiperidin-4-amine"
PIPERIDONE = "Piperidin-4-one"
NORFENTANYL = "N-Phenyl-N-(piperidin-4-yl)propanamide"
LYSERGIC_ACID = "Lysergic acid"
ANTHRANILIC_ACID = "Anthranilic acid"
PHENYLACETIC_ACID = "Phenylacetic acid"
PIPERIDINE = "Piperidine"

# designer form (file name) -> the scheduled parent (file name) it unmasks to
FILE_DESIGNER_FORMS: dict[str, str] = {
    "Methyl alpha-phenylacetoacetate": BMK,
    "Ethyl alpha-phenylacetoacetate": BMK,
    "Diethyl (phenylacetyl)propanedioate": BMK,
    "Methyl 2-methyl-3-phenyloxirane-2-carboxylate": BMK,
    "2-Methyl-3-phenyloxirane-2-carboxylic acid": BMK,
    "Ethyl 2-methyl-3-phenyloxirane-2-carboxylate": BMK,
    "alpha-Phenylacetoacetamide": BMK,
    "alpha-Phenylacetoacetonitrile": BMK,
    "Methyl 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylate": PMK,
    "3-(1,3-Benzodioxol-5-yl)-2-methyloxirane-2-carboxylic acid": PMK,
    "Ethyl 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylate": PMK,
    "Methyl 3-oxo-2-(3,4-methylenedioxyphenyl)butanoate": PMK,
    "Isopropylidene (2-(3,4-methylenedioxyphenyl)acetyl)malonate": PMK,
    "tert-Butyl 4-(phenylamino)piperidine-1-carboxylate": FOUR_AP,
    "N-Phenyl-N-(piperidin-4-yl)propanamide": FOUR_AP,
    "tert-Butyl 4-oxopiperidine-1-carboxylate": PIPERIDONE,
    # older links between listed precursors (pre-precursor -> precursor), found the same way
    "N-Acetylanthranilic acid": ANTHRANILIC_ACID,
    "Ergometrine": LYSERGIC_ACID,
    "Ergotamine": LYSERGIC_ACID,
}

EXTRA_DESIGNER_FORMS: tuple[Case, ...] = (
    Case("Phenyl-2-nitropropene (P2NP)", "CC(=Cc1ccccc1)[N+](=O)[O-]", BMK, "Nef: reduced and hydrolysed to BMK"),
    Case("MDP2NP", "CC(=Cc1ccc2c(c1)OCO2)[N+](=O)[O-]", PMK, "the methylenedioxy nitropropene; Nef to PMK"),
    Case("1-Phenyl-2-nitropropane", "CC(Cc1ccccc1)[N+](=O)[O-]", BMK, "nitroalkane; Nef to BMK"),
    Case("alpha-Phenylacetoacetic acid", "CC(=O)C(C(=O)O)c1ccccc1", BMK, "decarboxylates to BMK"),
    Case("Methyl 3-oxo-4-phenylbutanoate", "COC(=O)CC(=O)Cc1ccccc1", BMK, "the MAPA isomer; same two steps"),
    Case("Isopropyl BMK glycidate", "CC(C)OC(=O)C1(C)OC1c1ccccc1", BMK, "one of the 7 esters of 2024/1331"),
    Case("BMK glycidic acid sodium salt", "[Na+].CC1(C(=O)[O-])OC1c1ccccc1", BMK, "the salt form seized"),
    Case("PMK glycidic acid sodium salt", "[Na+].CC1(C(=O)[O-])OC1c1ccc2c(c1)OCO2", PMK, "the salt form seized"),
    Case("PMK glycidamide", "CC1(C(N)=O)OC1c1ccc2c(c1)OCO2", PMK, "amide hydrolysis, then glycidic acid → PMK"),
    Case(
        "IMDPAM sodium salt",
        "[Na+].CC1(C)OC(=O)C(=C([O-])Cc2ccc3c(c2)OCO3)C(=O)O1",
        PMK,
        "the form 2024/1331 lists: the enolate of the acyl Meldrum's acid",
    ),
    Case(
        "Diethyl (3,4-methylenedioxyphenylacetyl)malonate",
        "CCOC(=O)C(C(=O)Cc1ccc2c(c1)OCO2)C(=O)OCC",
        PMK,
        "the PMK analogue of DEPAPD: two hydrolyses, two decarboxylations",
    ),
    Case("N-Benzyl-4-piperidone", "O=C1CCN(Cc2ccccc2)CC1", PIPERIDONE, "debenzylation gives 4-piperidone"),
    Case("1-Benzyl-4-anilinopiperidine", "c1ccc(CN2CCC(Nc3ccccc3)CC2)cc1", FOUR_AP, "debenzylation gives 4-AP"),
    Case(
        "1-Boc-norfentanyl",
        "CCC(=O)N(c1ccccc1)C1CCN(C(=O)OC(C)(C)C)CC1",
        NORFENTANYL,
        "Boc removal gives norfentanyl (amide hydrolysis then 4-AP)",
    ),
)

LOOK_ALIKES: tuple[Case, ...] = (
    Case("Helional", "CC(Cc1ccc2c(c1)OCO2)C=O", None, "fragrance aldehyde of the PMK skeleton; nothing to cleave"),
    Case(
        "Ethyl methylphenylglycidate (EMPG)",
        "CCOC(=O)C1OC1(C)c1ccccc1",
        None,
        "'strawberry aldehyde': an isomer of BMK ethyl glycidate whose methyl sits on the other epoxide carbon; "
        "hydrolysis and decarboxylation give 2-phenylpropanal, not BMK",
    ),
    Case("Ethyl 3-phenylglycidate", "CCOC(=O)C1OC1c1ccccc1", None, "strawberry flavouring; gives phenylacetaldehyde"),
    Case("Piperonyl acetone", "CC(=O)CCc1ccc2c(c1)OCO2", None, "heliotrope fragrance: one CH2 longer than PMK"),
    Case("Piperonyl acetate", "CC(=O)OCc1ccc2c(c1)OCO2", None, "cherry/heliotrope note; gives piperonyl alcohol"),
    Case("Benzylacetone", "CC(=O)CCc1ccccc1", None, "floral fragrance: one CH2 longer than BMK"),
    Case("Raspberry ketone", "CC(=O)CCc1ccc(O)cc1", None, "flavouring"),
    Case("Benzyl acetate", "CC(=O)OCc1ccccc1", None, "jasmine note; gives benzyl alcohol and acetic acid"),
    Case("Benzyl benzoate", "O=C(OCc1ccccc1)c1ccccc1", None, "fragrance fixative, scabies medicine"),
    Case("Methyl cinnamate", "COC(=O)/C=C/c1ccccc1", None, "strawberry note; gives cinnamic acid"),
    Case("Cinnamaldehyde", "O=C/C=C/c1ccccc1", None, "cinnamon flavour"),
    Case("Acetophenone", "CC(=O)c1ccccc1", None, "solvent and fragrance: a BMK without its CH2"),
    Case("2-Phenylpropanal", "CC(C=O)c1ccccc1", None, "hyacinth note (hydratropaldehyde), the product of EMPG"),
    Case("Phenethyl alcohol", "OCCc1ccccc1", None, "rose note"),
    Case("Vanillin", "COc1cc(C=O)ccc1O", None, "vanilla flavour; the piperonal shape without the ring"),
    Case("Ethyl vanillin", "CCOc1cc(C=O)ccc1O", None, "vanilla flavour"),
    Case("trans-Anethole", "COc1ccc(/C=C/C)cc1", None, "anise flavour; the isosafrole shape"),
    Case("Estragole", "C=CCc1ccc(OC)cc1", None, "tarragon and basil; the safrole shape"),
    Case("Eugenol", "C=CCc1ccc(O)c(OC)c1", None, "clove oil; the safrole shape"),
    Case("Myristicin", "C=CCc1cc(OC)c2OCOc2c1", None, "nutmeg: safrole with a methoxy group"),
    Case("Piperonyl butoxide", "CCCCOCCOCCOCc1cc2OCOc2cc1CCC", None, "insecticide synergist with the PMK ring"),
    Case("Coumarin", "O=c1ccc2ccccc2o1", None, "tonka bean; a lactone that opens to coumarinic acid"),
    Case(
        "Ethyl acetoacetate",
        "CCOC(=O)CC(C)=O",
        None,
        "flavouring and synthesis intermediate; unmasks to acetone, which is category 3 and not a target",
    ),
    Case("Paracetamol", "CC(=O)Nc1ccc(O)cc1", None, "medicine; amide hydrolysis gives 4-aminophenol"),
)

CATEGORY_2_ESTERS: tuple[Case, ...] = (
    Case("Ethyl phenylacetate", "CCOC(=O)Cc1ccccc1", PHENYLACETIC_ACID, "honey note; its acid is category 2B"),
    Case("Methyl anthranilate", "COC(=O)c1ccccc1N", ANTHRANILIC_ACID, "grape flavour; its acid is category 2B"),
    Case("Piperine", "O=C(/C=C/C=C/c1ccc2c(c1)OCO2)N1CCCCC1", PIPERIDINE, "black pepper; amide of piperidine"),
)
