"""Unmasking: designer precursors are traced to their scheduled parents, look-alike flavourings are not.

The cases are the known answers of `substances.calibration`: the links between rows of the shared list (MAPA is
BMK after ester hydrolysis and decarboxylation), designer forms beyond the list, and legitimate chemicals of the
same shape. The similarity tests measure why fingerprints alone would mislead.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.substances import calibration, registry
from portguard.substances.calibration import BMK, FILE_DESIGNER_FORMS, LOOK_ALIKES, PMK, Case
from portguard.substances.chemistry import REACTIONS, ReactionRule, Structure, Target, Unmasker, tanimoto, unmask
from portguard.substances.registry import RegistryFile, SubstanceRecord


def _parent_keys(precursors: RegistryFile) -> set[str]:
    return {target.key for target in registry.unmasking_targets(precursors.records)}


def test_the_links_named_are_rows_of_the_shared_file(by_name: dict[str, SubstanceRecord]) -> None:
    for designer, parent in FILE_DESIGNER_FORMS.items():
        assert designer in by_name, designer
        assert parent in by_name, parent
        assert by_name[designer].structure is not None and by_name[parent].structure is not None


@pytest.mark.parametrize(("designer", "parent"), sorted(FILE_DESIGNER_FORMS.items()))
def test_every_designer_form_of_the_file_unmasks_to_its_parent_with_a_path(
    designer: str, parent: str, by_name: dict[str, SubstanceRecord], unmasker: Unmasker
) -> None:
    record = by_name[designer]
    result = unmasker.unmask(record.structure)
    hit = result.hit(parent)
    assert hit is not None, f"{designer} did not reach {parent}: {result.keys}"
    assert hit.match == "exact"
    assert 1 <= len(hit.steps) <= 4
    assert Structure.from_smiles(hit.steps[-1].smiles).inchikey == by_name[parent].inchikey
    assert all(step.reaction in {rule.name for rule in REACTIONS} for step in hit.steps)
    assert hit.reason.startswith(record.smiles) and hit.reason.endswith(f"= {parent} ({by_name[parent].label})")
    assert result.hit(designer) is not None and result.hit(designer).steps == ()  # it is scheduled itself
    assert not result.truncated


def test_the_paths_are_the_expected_chemistry(by_name: dict[str, SubstanceRecord], unmasker: Unmasker) -> None:
    def path(designer: str, parent: str) -> tuple[str, ...]:
        hit = unmasker.unmask(by_name[designer].structure).hit(parent)
        assert hit is not None
        return hit.reaction_names

    assert path("Methyl alpha-phenylacetoacetate", BMK) == ("ester hydrolysis", "beta-keto acid decarboxylation")
    assert path("Methyl 2-methyl-3-phenyloxirane-2-carboxylate", BMK) == ("glycidic acid or ester → ketone",)
    assert path("Diethyl (phenylacetyl)propanedioate", BMK) == (
        "ester hydrolysis",
        "ester hydrolysis",
        "beta-keto acid decarboxylation",
        "beta-keto acid decarboxylation",
    )
    assert path("alpha-Phenylacetoacetonitrile", BMK) == ("nitrile hydrolysis", "beta-keto acid decarboxylation")
    assert path("alpha-Phenylacetoacetonitrile", "alpha-Phenylacetoacetamide") == ("nitrile hydration",)
    assert path("Isopropylidene (2-(3,4-methylenedioxyphenyl)acetyl)malonate", PMK) == (
        "acyl-Meldrum's acid → methyl ketone",
    )
    assert path("tert-Butyl 4-(phenylamino)piperidine-1-carboxylate", calibration.FOUR_AP) == ("Boc removal",)
    assert path("Ergotamine", calibration.LYSERGIC_ACID) == ("amide hydrolysis",)  # stereo kept: exact InChIKey


def test_no_other_row_of_the_file_unmasks_to_another_row(precursors: RegistryFile, unmasker: Unmasker) -> None:
    """The links above are all there are: a new one (a new row, a new rule) shows here, to be named."""
    found = {}
    for record in precursors.records:
        if record.structure is None:
            continue
        others = [hit.target.key for hit in unmasker.unmask(record.structure).hits if hit.steps]
        if others:
            found[record.name] = others
    assert set(found) == set(FILE_DESIGNER_FORMS)
    for designer, parents in found.items():
        assert FILE_DESIGNER_FORMS[designer] in parents


@pytest.mark.parametrize("case", calibration.EXTRA_DESIGNER_FORMS, ids=lambda case: case.name)
def test_designer_forms_beyond_the_file_unmask_to_their_parent(case: Case, unmasker: Unmasker) -> None:
    hit = unmasker.unmask(case.smiles).hit(case.parent)
    assert hit is not None, case.name
    assert hit.match == "exact" and len(hit.steps) <= 4


def test_a_salt_is_unmasked_as_its_organic_ion(unmasker: Unmasker) -> None:
    result = unmasker.unmask("[Na+].CC1(C(=O)[O-])OC1c1ccccc1")
    assert result.query == "CC1(C(=O)O)OC1c1ccccc1"
    assert result.hit("2-Methyl-3-phenyloxirane-2-carboxylic acid").steps == ()  # BMK glycidic acid itself
    assert result.hit(BMK).reaction_names == ("glycidic acid or ester → ketone",)


def test_at_least_twelve_look_alikes_all_parse() -> None:
    assert len(LOOK_ALIKES) >= 12
    for case in LOOK_ALIKES:
        assert case.parent is None
        Structure.from_smiles(case.smiles)


@pytest.mark.parametrize("case", LOOK_ALIKES, ids=lambda case: case.name)
def test_legitimate_look_alikes_do_not_unmask_to_a_scheduled_structure(
    case: Case, unmasker: Unmasker, precursors: RegistryFile
) -> None:
    structure = Structure.from_smiles(case.smiles)
    assert structure.inchikey not in {record.inchikey for record in precursors.records}, "it is scheduled itself"
    result = unmasker.unmask(structure)
    assert result.hits == (), [hit.reason for hit in result.hits]
    assert not result.truncated


def test_empg_is_the_glycidate_isomer_that_gives_an_aldehyde_not_bmk(unmasker: Unmasker) -> None:
    """EMPG and BMK ethyl glycidate have one formula; the methyl's place decides what the epoxide opens to."""
    empg = Structure.from_smiles("CCOC(=O)C1OC1(C)c1ccccc1")
    bmk_ethyl_glycidate = Structure.from_smiles("CCOC(=O)C1(C)OC1c1ccccc1")
    assert empg.formula == bmk_ethyl_glycidate.formula
    assert unmasker.unmask(empg).hits == ()
    only_aldehyde = Unmasker([Target(key="2-phenylpropanal", structure=Structure.from_smiles("CC(C=O)c1ccccc1"))])
    assert only_aldehyde.unmask(empg).hit("2-phenylpropanal").reaction_names == ("glycidic acid or ester → ketone",)


@pytest.mark.parametrize("case", calibration.CATEGORY_2_ESTERS, ids=lambda case: case.name)
def test_esters_of_category_2b_acids_unmask_to_them_and_say_the_category(
    case: Case, unmasker: Unmasker, by_name: dict[str, SubstanceRecord]
) -> None:
    """Decided against the list: phenylacetic and anthranilic acid and piperidine are category 2B."""
    assert by_name[case.parent].eu_category == "2B"
    result = unmasker.unmask(case.smiles)
    assert result.keys == (case.parent,)
    assert "EU cat. 2B" in result.hits[0].reason


def test_category_3_solvents_are_not_targets(unmasker: Unmasker, precursors: RegistryFile) -> None:
    """Ethyl acetoacetate gives acetone and N-benzyl amines toluene: ordinary chemistry, not unmasking."""
    keys = _parent_keys(precursors)
    assert "Acetone" not in keys and "Toluene" not in keys and "Red phosphorus" not in keys
    everything = Unmasker(
        [Target(key=r.name, structure=r.structure) for r in precursors.records if r.structure is not None]
    )
    assert "Acetone" in everything.unmask("CCOC(=O)CC(C)=O").keys
    assert unmasker.unmask("CCOC(=O)CC(C)=O").hits == ()


def test_stereo_that_differs_is_a_skeleton_hit() -> None:
    ephedrine = Target(key="Ephedrine", structure=Structure.from_smiles("CN[C@@H](C)[C@H](O)c1ccccc1"))
    racemic_ester = "CC(=O)OC(c1ccccc1)C(C)NC"  # O-acetyl ephedrine without stereo
    hit = Unmasker([ephedrine]).unmask(racemic_ester).hit("Ephedrine")
    assert hit is not None and hit.match == "skeleton" and hit.reaction_names == ("ester hydrolysis",)
    assert "stereo" in hit.reason


def test_max_steps_limits_the_depth(by_name: dict[str, SubstanceRecord], precursors: RegistryFile) -> None:
    depeapd = by_name["Diethyl (phenylacetyl)propanedioate"].structure  # four steps from BMK
    targets = registry.unmasking_targets(precursors.records)
    assert BMK in unmask(depeapd, targets=targets, max_steps=4).keys
    assert BMK not in unmask(depeapd, targets=targets, max_steps=3).keys


# ----------------------------------------------------------------------------------- similarity would mislead


def _designer_scores(by_name: dict[str, SubstanceRecord], parent: str) -> dict[str, float]:
    return {
        designer: tanimoto(by_name[designer].structure, other=by_name[parent].structure)
        for designer, target in FILE_DESIGNER_FORMS.items()
        if target == parent
    }


@pytest.mark.parametrize(("parent", "look_alike"), [(BMK, "Benzylacetone"), (PMK, "Piperonyl acetone")])
def test_a_look_alike_scores_higher_against_the_parent_than_every_designer_form(
    parent: str, look_alike: str, by_name: dict[str, SubstanceRecord]
) -> None:
    case = next(case for case in LOOK_ALIKES if case.name == look_alike)
    designers = _designer_scores(by_name, parent)
    lure = tanimoto(case.smiles, other=by_name[parent].structure)
    assert len(designers) >= 5
    assert lure > max(designers.values()), (lure, designers)


def test_designer_forms_score_low_against_their_parent(by_name: dict[str, SubstanceRecord]) -> None:
    """Measured: 0.23 (1-boc-4-piperidone) to 0.56 (IMDPAM) for the masked BMK/PMK/fentanyl precursors."""
    scores = {
        designer: tanimoto(by_name[designer].structure, other=by_name[parent].structure)
        for designer, parent in FILE_DESIGNER_FORMS.items()
        if parent in (BMK, PMK, calibration.FOUR_AP, calibration.PIPERIDONE)
    }
    assert min(scores.values()) < 0.25
    assert max(scores.values()) < 0.6
    naive = {designer for designer, score in scores.items() if score >= 0.5}
    assert len(naive) <= 1  # a threshold of 0.5 finds one in sixteen


def test_naive_similarity_threshold_flags_look_alikes(by_name: dict[str, SubstanceRecord]) -> None:
    parents = [by_name[BMK].structure, by_name[PMK].structure, by_name["Safrole"].structure]
    flagged = {case.name for case in LOOK_ALIKES if max(tanimoto(case.smiles, other=p) for p in parents) >= 0.5}
    assert {"Benzylacetone", "Piperonyl acetone", "Piperonyl acetate", "Helional"} <= flagged


# ------------------------------------------------------------------------------------- never raises (random)

BRANCHES = (
    "C", "CC", "O", "OC", "N", "NC", "Cl", "F", "C=O", "C(=O)O", "C(=O)OC", "C(=O)OCC", "C(=O)N", "C(=O)NC", "C#N",
    "C(C)=O", "[N+](=O)[O-]", "C=C[N+](=O)[O-]", "c1ccccc1", "Cc1ccccc1", "c1ccc2c(c1)OCO2", "C(=O)OC(C)(C)C",
    "NC(=O)OC(C)(C)C", "C1OC1", "C1(C)OC1c1ccccc1", "N1CCCCC1", "C1CCNCC1", "C1C(=O)OC(C)(C)OC1=O", "OC(C)=O",
    "NCc1ccccc1", "C(=O)CC(=O)OC", "c1ccncc1", "S(=O)(=O)N",
)  # fmt: skip
SALTS = ("", ".[Na+]", ".Cl", ".[K+]", ".O")


@st.composite
def molecules(draw: st.DrawFn) -> str:
    """A chain of 1–6 carbons, each with up to two branches from `BRANCHES`, sometimes with a counter-ion."""
    atoms = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        branches = draw(st.lists(st.sampled_from(BRANCHES), max_size=2))
        atoms.append("C" + "".join(f"({branch})" for branch in branches))
    return "".join(atoms) + draw(st.sampled_from(SALTS))


@given(smiles=molecules())
@settings(max_examples=150, deadline=None)
def test_unmasking_never_raises_and_every_exact_hit_is_what_its_path_ends_in(smiles: str, unmasker: Unmasker) -> None:
    result = unmasker.unmask(smiles)
    assert result.explored >= 1
    for hit in result.hits:
        assert len(hit.steps) <= 4
        end = Structure.from_smiles(hit.steps[-1].smiles if hit.steps else result.query)
        if hit.match == "exact":
            assert end.inchikey == hit.target.structure.inchikey
        else:
            assert end.skeleton == hit.target.structure.skeleton


@given(designer=st.sampled_from(sorted(FILE_DESIGNER_FORMS)), extra=st.sampled_from(BRANCHES))
@settings(max_examples=60, deadline=None)
def test_a_designer_form_with_a_companion_still_unmasks_without_raising(
    designer: str, extra: str, unmasker: Unmasker, by_name: dict[str, SubstanceRecord]
) -> None:
    """A mixture is unmasked as its largest component: the designer form, or the larger companion."""
    record = by_name[designer]
    result = unmasker.unmask(f"{record.smiles}.{extra}")
    assert result.explored >= 1
    if Structure.from_smiles(extra).to_mol().GetNumHeavyAtoms() < record.structure.to_mol().GetNumHeavyAtoms():
        assert FILE_DESIGNER_FORMS[designer] in result.keys


# ------------------------------------------------------------------------------------------ the reaction table

RULE_EXAMPLES = {
    "ester hydrolysis": ("CCOC(=O)Cc1ccccc1", "O=C(O)Cc1ccccc1"),
    "Boc removal": ("CC(C)(C)OC(=O)N1CCC(=O)CC1", "O=C1CCNCC1"),
    "N-debenzylation": ("O=C1CCN(Cc2ccccc2)CC1", "O=C1CCNCC1"),
    "glycidic acid or ester → ketone": ("CC1(C(=O)O)OC1c1ccccc1", "CC(=O)Cc1ccccc1"),
    "beta-keto acid decarboxylation": ("CC(=O)C(C(=O)O)c1ccccc1", "CC(=O)Cc1ccccc1"),
    "nitrile hydrolysis": ("N#CCc1ccccc1", "O=C(O)Cc1ccccc1"),
    "nitrile hydration": ("CC(=O)C(C#N)c1ccccc1", "CC(=O)C(C(N)=O)c1ccccc1"),
    "amide hydrolysis": ("CCC(=O)N(c1ccccc1)C1CCNCC1", "c1ccc(NC2CCNCC2)cc1"),
    "acyl-Meldrum's acid → methyl ketone": ("CC1(C)OC(=O)C(C(=O)Cc2ccccc2)C(=O)O1", "CC(=O)Cc1ccccc1"),
    "nitroalkene or nitroalkane → ketone (Nef)": ("CC(=Cc1ccccc1)[N+](=O)[O-]", "CC(=O)Cc1ccccc1"),
    "nitroalkene reduction → amine": ("CC(=Cc1ccccc1)[N+](=O)[O-]", "CC(N)Cc1ccccc1"),
}


def test_every_rule_of_the_table_has_an_example_and_a_reason() -> None:
    assert {rule.name for rule in REACTIONS} == set(RULE_EXAMPLES)
    assert all(rule.why and rule.smarts for rule in REACTIONS)


@pytest.mark.parametrize("rule", REACTIONS, ids=lambda rule: rule.name)
def test_each_rule_alone_makes_its_product_in_one_step(rule: ReactionRule) -> None:
    reactant, product = RULE_EXAMPLES[rule.name]
    target = Target(key="product", structure=Structure.from_smiles(product))
    hit = Unmasker([target], rules=[rule], max_steps=1).unmask(reactant).hit("product")
    assert hit is not None and hit.reaction_names == (rule.name,)
    assert Unmasker([target], rules=[], max_steps=4).unmask(reactant).hits == ()


def test_a_cut_frontier_is_reported(by_name: dict[str, SubstanceRecord], precursors: RegistryFile) -> None:
    depeapd = by_name["Diethyl (phenylacetyl)propanedioate"].structure
    narrow = Unmasker(registry.unmasking_targets(precursors.records), max_frontier=1).unmask(depeapd)
    assert narrow.truncated


def test_a_scheduled_query_is_a_hit_with_no_steps(unmasker: Unmasker) -> None:
    hit = unmasker.unmask("c1ccccc1CC(C)=O").hit(BMK)
    assert hit is not None and hit.steps == ()
    assert hit.reason == f"CC(=O)Cc1ccccc1 is {BMK} (EU cat. 1, UN Table I) itself"
