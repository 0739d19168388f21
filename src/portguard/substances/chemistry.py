"""Chemistry for the substances registry and precursor screening, all of it done by RDKit.

Why this module exists: a declaration that names a chemical, or a seized sample whose structure a laboratory
reports, must be compared with the scheduled precursors by structure, not by spelling. RDKit gives the identifiers
that make that comparison exact (canonical SMILES, InChIKey, formula), the Morgan fingerprints for a looser one,
and the reaction machinery for the one that matters most against designer precursors: **unmasking**.

Designer precursors are made to be one or a few simple reactions away from a scheduled substance (BMK glycidate
is BMK after ester hydrolysis and decarboxylation; 1-boc-4-AP is 4-AP after Boc removal). Their fingerprints are
often far from the parent's (Tanimoto 0.2–0.6) while harmless flavourings of the same shape score higher, so
similarity is a weak signal. Unmasking applies a table of generic one-step reactions (`REACTIONS`, reaction SMARTS
for RDKit) breadth first, up to four steps, and reports the scheduled structures it reaches with the path of
reactions and intermediates: that path is the reason a screening hit shows to an analyst.

Everything here is pure computation on structures: no database, no settings, nothing at import time (reactions
and the fingerprint generator are built on first use). Parsing is RDKit's own; text that RDKit cannot read, or
reads to a molecule it cannot sanitise, is refused with `InvalidInput` and RDKit's reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from rdkit import Chem, DataStructs
from rdkit.Chem import rdChemReactions, rdFingerprintGenerator
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Chem.MolStandardize import rdMolStandardize
from rdkit.Chem.rdMolDescriptors import CalcMolFormula
from rdkit.DataStructs import ExplicitBitVect
from rdkit.rdBase import BlockLogs
from stdnum import casrn
from stdnum.exceptions import ValidationError

from portguard.core.errors import InvalidInput

MAX_SMILES_LENGTH = 4000  # the largest scheduled structure (ergotamine) is 100 characters; a polymer is no query
MORGAN_RADIUS = 2
MORGAN_BITS = 2048

# ------------------------------------------------------------------------------------------------- structures


def parse_smiles(smiles: str) -> Chem.Mol:
    """The sanitised RDKit molecule of `smiles`, or `InvalidInput` saying why RDKit refused it."""
    if not isinstance(smiles, str):
        raise InvalidInput(f"a SMILES must be text, not {type(smiles).__name__}", field="smiles")
    text = smiles.strip()
    if not text:
        raise InvalidInput("the SMILES is empty", field="smiles")
    if len(text) > MAX_SMILES_LENGTH:
        raise InvalidInput(f"the SMILES has {len(text)} characters; at most {MAX_SMILES_LENGTH}", field="smiles")
    if any(ch.isspace() for ch in text):
        raise InvalidInput(f"a SMILES has no spaces: {text[:80]!r}", field="smiles")
    params = Chem.SmilesParserParams()
    params.sanitize = False
    params.allowCXSMILES = False  # atom labels and other CXSMILES extras would reach drawings; plain SMILES only
    params.parseName = False
    with BlockLogs():
        mol = Chem.MolFromSmiles(text, params)
    if mol is None:
        raise InvalidInput(f"not a SMILES RDKit can read: {text[:80]!r}", field="smiles")
    if mol.GetNumAtoms() == 0:
        raise InvalidInput("the SMILES has no atoms", field="smiles")
    try:
        with BlockLogs():
            Chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises its own MolSanitizeException kinds (valence, kekulisation, ...)
        raise InvalidInput(f"RDKit cannot sanitise {text[:80]!r}: {exc}", field="smiles") from exc
    return mol


def _inchikey(mol: Chem.Mol) -> str:
    with BlockLogs():  # InChI warns about undefined stereo on stderr; the key is still right
        return Chem.MolToInchiKey(mol)


@dataclass(frozen=True, slots=True)
class Structure:
    """A chemical structure by its identifiers: canonical isomeric SMILES, standard InChIKey, Hill formula."""

    smiles: str
    inchikey: str
    formula: str

    @classmethod
    def from_smiles(cls, smiles: str) -> Structure:
        """The structure of `smiles` (any valid SMILES; the stored one is RDKit's canonical form)."""
        return cls.from_mol(parse_smiles(smiles))

    @classmethod
    def from_mol(cls, mol: Chem.Mol) -> Structure:
        """The structure of a sanitised RDKit molecule."""
        if mol is None or mol.GetNumAtoms() == 0:
            raise InvalidInput("a structure needs at least one atom", field="smiles")
        key = _inchikey(mol)
        if not key:
            raise InvalidInput(f"InChI cannot describe {Chem.MolToSmiles(mol)!r}", field="smiles")
        return cls(smiles=Chem.MolToSmiles(mol), inchikey=key, formula=CalcMolFormula(mol))

    @property
    def skeleton(self) -> str:
        """The InChIKey's first block: connectivity only, the same for every stereoisomer."""
        return self.inchikey[:14]

    def to_mol(self) -> Chem.Mol:
        """A fresh RDKit molecule of this structure."""
        return parse_smiles(self.smiles)


def as_mol(query: Structure | Chem.Mol | str) -> Chem.Mol:
    """An RDKit molecule for a structure, a SMILES or a molecule (returned as it is)."""
    if isinstance(query, Chem.Mol):
        return query
    if isinstance(query, Structure):
        return query.to_mol()
    return parse_smiles(query)


# ------------------------------------------------------------------------------------------------ identifiers


def valid_cas(text: str | None) -> str | None:
    """`text` as a CAS Registry Number (`103-79-7`) if its check digit holds, else None (python-stdnum's rule)."""
    if not text or not isinstance(text, str):
        return None
    try:
        return casrn.validate(text.strip())
    except ValidationError:
        return None


# ---------------------------------------------------------------------------------------------------- drawing

_SVG_TAGS = frozenset({"svg", "rect", "path", "text", "tspan", "ellipse", "circle", "line", "polyline", "polygon"})
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][\w:.-]*)")
_EVENT_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def draw_svg(smiles: str, *, width: int = 300, height: int = 220) -> str:
    """An SVG drawing of `smiles` by RDKit, safe to inline in a page: no XML prologue, no scripts, no links."""
    if not (50 <= width <= 2000 and 50 <= height <= 2000):
        raise InvalidInput("a drawing is 50 to 2000 pixels wide and high", field="size")
    mol = parse_smiles(smiles)
    for atom in mol.GetAtoms():  # nothing user-written reaches the drawing: only element symbols and charges
        for name in atom.GetPropNames():
            atom.ClearProp(name)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.drawOptions().clearBackground = False
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    unexpected = {tag.lower() for tag in _TAG.findall(svg)} - _SVG_TAGS
    if unexpected or _EVENT_ATTRIBUTE.search(svg) or "javascript:" in svg.lower() or "href" in svg.lower():
        raise InvalidInput(f"the drawing has content that may not be inlined: {sorted(unexpected)}", field="smiles")
    return svg.strip()


# ------------------------------------------------------------------------------------------------ fingerprints


@cache
def _morgan_generator() -> rdFingerprintGenerator.FingerprintGenerator64:
    return rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)


def morgan_fingerprint(query: Structure | Chem.Mol | str) -> ExplicitBitVect:
    """The Morgan fingerprint (radius 2, 2048 bits, RDKit's MorganGenerator) of a structure."""
    return _morgan_generator().GetFingerprint(as_mol(query))


def tanimoto(query: Structure | Chem.Mol | str, *, other: Structure | Chem.Mol | str) -> float:
    """Tanimoto similarity of the Morgan fingerprints of two structures (0 to 1)."""
    return DataStructs.TanimotoSimilarity(morgan_fingerprint(query), morgan_fingerprint(other))


class SimilarityIndex:
    """Morgan fingerprints of a registry, compared with a query all at once (`BulkTanimotoSimilarity`)."""

    def __init__(self, entries: Iterable[tuple[str, Structure]]) -> None:
        pairs = list(entries)
        self.keys: tuple[str, ...] = tuple(key for key, _ in pairs)
        self._fingerprints = [morgan_fingerprint(structure) for _, structure in pairs]

    def __len__(self) -> int:
        return len(self.keys)

    def scores(self, query: Structure | Chem.Mol | str) -> list[float]:
        """Tanimoto of `query` against every entry, in the order of `keys`."""
        return list(DataStructs.BulkTanimotoSimilarity(morgan_fingerprint(query), self._fingerprints))

    def nearest(
        self, query: Structure | Chem.Mol | str, *, top: int = 5, threshold: float = 0.0
    ) -> list[tuple[str, float]]:
        """The `top` entries most similar to `query` with a score of at least `threshold`, best first."""
        ranked = sorted(zip(self.keys, self.scores(query), strict=True), key=lambda pair: (-pair[1], pair[0]))
        return [(key, score) for key, score in ranked if score >= threshold][:top]


# -------------------------------------------------------------------------------------------------- unmasking


@dataclass(frozen=True, slots=True)
class ReactionRule:
    """One generic one-step reaction of the unmasking table: a name for the path, RDKit reaction SMARTS, why."""

    name: str
    smarts: tuple[str, ...]
    why: str


# Each rule is written for a reactant of one molecule. A product template in parentheses is one product with
# perhaps several fragments (the acid and the alcohol of a hydrolysis); the engine splits them, so a ring-opening
# (a lactone, Meldrum's acid) and a chain cleavage read the same. Atoms matched but not mapped are removed; the
# hydrogen counts of the changed atoms are recomputed by sanitisation.
REACTIONS: tuple[ReactionRule, ...] = (
    ReactionRule(
        name="ester hydrolysis",
        smarts=("[#6:1][CX3:2](=[O:3])[OX2:4][#6;!$([CX3]=[O,S,N]):5]>>([#6:1][C:2](=[O:3])[OH].[O:4][#6:5])",),
        why="acid + alcohol: MAPA, EAPA, DEPAPD, MAMDPA and the glycidic esters are esters of masked BMK or PMK "
        "(carbamates, carbonates and anhydrides are not matched: the acyl carbon must carry a carbon)",
    ),
    ReactionRule(
        name="Boc removal",
        smarts=("[CH3]C([CH3])([CH3])OC(=O)[NX3:1]>>[N:1]",),
        why="acid cleaves the tert-butyl carbamate: 1-boc-4-AP gives 4-AP, 1-boc-4-piperidone gives 4-piperidone",
    ),
    ReactionRule(
        name="N-debenzylation",
        smarts=("[NX3;!$(N[#6,#16]=[O,S,N]):1]-[CH2:2]-[c:3]>>([N:1].[C:2][c:3])",),
        why="hydrogenolysis of a benzylic C–N bond of an amine (not an amide): N-benzyl-4-piperidone gives "
        "4-piperidone; both fragments are kept",
    ),
    ReactionRule(
        name="glycidic acid or ester → ketone",
        smarts=("[OX2;H1,$(O[#6])][CX3](=O)[C:1]1[O:2][C:3]1>>[C:3][C:1]=[O:2]",),
        why="hydrolysis and decarboxylation of a Darzens product opens the epoxide to the carbonyl on the carbon "
        "that carried the carboxyl: BMK/PMK glycidates give BMK/PMK, the flavouring EMPG gives 2-phenylpropanal",
    ),
    ReactionRule(
        name="beta-keto acid decarboxylation",
        smarts=("[OX2H1][CX3](=O)[CX4:1][CX3:2]=[O:3]>>[C:1][C:2]=[O:3]",),
        why="a carboxylic acid beta to a carbonyl (beta-keto acid, malonic acid) loses CO2 on warming: "
        "alpha-phenylacetoacetic acid gives BMK",
    ),
    ReactionRule(
        name="nitrile hydrolysis",
        smarts=("[CX2:1]#[NX1]>>[C:1](=O)[OH]",),
        why="nitrile to carboxylic acid: APAAN to alpha-phenylacetoacetic acid, one decarboxylation from BMK",
    ),
    ReactionRule(
        name="nitrile hydration",
        smarts=("[CX2:1]#[NX1:2]>>[C:1](=O)[N:2]",),
        why="partial hydrolysis of a nitrile to its primary amide: APAAN to APAA",
    ),
    ReactionRule(
        name="amide hydrolysis",
        smarts=("[#6:1][CX3:2](=[O:3])[NX3:4]>>([#6:1][C:2](=[O:3])[OH].[N:4])",),
        why="acid + amine: APAA, norfentanyl (to 4-AP), N-acetylanthranilic acid, ergometrine and ergotamine "
        "(to lysergic acid); ureas and carbamates are not matched",
    ),
    ReactionRule(
        name="acyl-Meldrum's acid → methyl ketone",
        smarts=(
            "[#6:4][CX3:1](=[O:2])[CX4H1:3]1C(=O)OC([CH3])([CH3])OC1=O>>[#6:4][C:1](=[O:2])[C:3]",
            "[#6:4][CX3:1]([OX2H1:2])=[CX3:3]1C(=O)OC([CH3])([CH3])OC1=O>>[#6:4][C:1](=[O:2])[C:3]",
        ),
        why="hydrolysis and double decarboxylation of a 5-acyl Meldrum's acid (keto or enol form; the sodium salt "
        "is the enolate): IMDPAM gives PMK",
    ),
    ReactionRule(
        name="nitroalkene or nitroalkane → ketone (Nef)",
        smarts=(
            "[CX3:1]=[CX3:2][N+](=O)[O-]>>[C:1][C:2]=O",
            "[CX4;H1,H2:2][N+](=O)[O-]>>[C:2]=O",
        ),
        why="reduction of a nitroalkene to the nitroalkane or oxime and hydrolysis (Nef): "
        "phenyl-2-nitropropene (P2NP) gives BMK, its methylenedioxy analogue gives PMK",
    ),
    ReactionRule(
        name="nitroalkene reduction → amine",
        smarts=("[CX3:1]=[CX3:2][N+:3](=O)[O-]>>[C:1][C:2][N+0:3]",),
        why="full reduction of a nitroalkene (LiAlH4, Al/Hg) gives the primary amine: P2NP gives amphetamine",
    ),
)


@cache
def _compiled(rules: tuple[ReactionRule, ...]) -> tuple[tuple[str, tuple[rdChemReactions.ChemicalReaction, ...]], ...]:
    out = []
    for rule in rules:
        reactions = []
        for smarts in rule.smarts:
            reaction = rdChemReactions.ReactionFromSmarts(smarts)
            reaction.Initialize()
            if reaction.GetNumReactantTemplates() != 1:
                raise ValueError(f"unmasking rule {rule.name!r} must have one reactant: {smarts}")
            reactions.append(reaction)
        out.append((rule.name, tuple(reactions)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Target:
    """A structure the unmasking looks for: a registry key, its structure and a label (e.g. "EU cat. 1")."""

    key: str
    structure: Structure
    label: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One reaction of an unmasking path and the structure it gives."""

    reaction: str
    smiles: str


@dataclass(frozen=True, slots=True)
class UnmaskHit:
    """A scheduled structure the query reaches, and how: the reactions and intermediates from the query to it."""

    target: Target
    query: str
    steps: tuple[Step, ...]
    match: Literal["exact", "skeleton"]

    @property
    def reaction_names(self) -> tuple[str, ...]:
        """The names of the reactions, in order."""
        return tuple(step.reaction for step in self.steps)

    @property
    def reason(self) -> str:
        """The path in one line, for the hit's reason: `query → (reaction) → smiles → … = target`."""
        parts = [self.query]
        for step in self.steps:
            parts.append(f"({step.reaction}) {step.smiles}")
        label = f" ({self.target.label})" if self.target.label else ""
        stereo = "; same skeleton, stereo differs or is unspecified" if self.match == "skeleton" else ""
        if not self.steps:
            return f"{self.query} is {self.target.key}{label} itself{stereo}"
        return " → ".join(parts) + f" = {self.target.key}{label}{stereo}"


@dataclass(frozen=True, slots=True)
class Unmasking:
    """The outcome of unmasking one query: the hits (shortest path first), how many structures were seen."""

    query: str
    hits: tuple[UnmaskHit, ...]
    explored: int
    truncated: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The registry keys reached, in hit order."""
        return tuple(hit.target.key for hit in self.hits)

    def hit(self, key: str) -> UnmaskHit | None:
        """The hit on registry key `key`, if reached."""
        return next((hit for hit in self.hits if hit.target.key == key), None)


@cache
def _nitro() -> Chem.Mol:
    return Chem.MolFromSmarts("[N+](=O)[O-]")


def _parent(mol: Chem.Mol) -> Chem.Mol:
    """The neutral main component of a query (a salt or solvate is its organic ion); untouched if already plain."""
    charged = {atom.GetIdx() for atom in mol.GetAtoms() if atom.GetFormalCharge() != 0}
    if charged:
        for match in mol.GetSubstructMatches(_nitro()):
            charged.difference_update(match)
    if not charged and len(Chem.GetMolFrags(mol)) == 1:
        return mol
    with BlockLogs():
        parent = rdMolStandardize.ChargeParent(mol)
    return parent if parent.GetNumAtoms() else mol


def _plain(smiles: str) -> Chem.Mol:
    """The molecule of a canonical SMILES read afresh: hydrogen counts implicit again, as the rules expect.

    A product keeps the explicit hydrogen count its atom had in the reactant (RDKit copies mapped atoms), so an
    enol OH made explicit by uncharging would stay OH after becoming C=O; reading the SMILES again resets it.
    """
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:  # RDKit wrote it; reading it back does not fail in practice
        raise InvalidInput(f"RDKit cannot read back its own SMILES {smiles!r}", field="smiles")
    return mol


@dataclass(slots=True)
class _Node:
    smiles: str
    inchikey: str
    mol: Chem.Mol
    depth: int
    parent: _Node | None = None
    reaction: str = ""

    def steps(self) -> tuple[Step, ...]:
        path: list[Step] = []
        node: _Node | None = self
        while node is not None and node.parent is not None:
            path.append(Step(reaction=node.reaction, smiles=node.smiles))
            node = node.parent
        return tuple(reversed(path))


class Unmasker:
    """Breadth-first unmasking of query structures against a fixed set of targets (a registry's structures).

    From the query (its neutral main component), every rule of `rules` is applied to every structure of the
    frontier; products are sanitised (failures dropped), split into fragments and deduplicated, and each new
    fragment is checked against the targets: by full InChIKey (`exact`), else by its first block (`skeleton`:
    same connectivity, stereo differs or is unspecified). Expansion goes on from hits too (APAAN reaches APAA,
    then BMK). The query itself, if it is a target, is a hit with no steps.

    Bounds: a fragment too small to become any target in the steps left is dropped (no rule adds more than one
    heavy atom to a fragment); a level keeps at most `max_frontier` structures and a reaction gives at most
    `max_products` products per structure (the result says `truncated` when the frontier was cut).
    Deduplication is by canonical SMILES, and by InChIKey for the fragments whose formula is a target's: only
    those can be hits, and InChI (about 150 µs a structure, against 5 µs for a formula) would otherwise be most
    of the cost.
    """

    def __init__(
        self,
        targets: Iterable[Target],
        *,
        max_steps: int = 4,
        max_frontier: int = 256,
        max_products: int = 64,
        rules: Sequence[ReactionRule] = REACTIONS,
    ) -> None:
        self.targets = tuple(targets)
        if not 0 <= max_steps <= 8:
            raise ValueError("max_steps is 0 to 8")
        self.max_steps = max_steps
        self.max_frontier = max_frontier
        self.max_products = max_products
        self.rules = tuple(rules)
        self._reactions = _compiled(self.rules)
        self._by_key: dict[str, list[Target]] = {}
        self._by_skeleton: dict[str, list[Target]] = {}
        for target in self.targets:
            self._by_key.setdefault(target.structure.inchikey, []).append(target)
            self._by_skeleton.setdefault(target.structure.skeleton, []).append(target)
        self._formulas = {target.structure.formula for target in self.targets}
        self._min_heavy = min((t.structure.to_mol().GetNumHeavyAtoms() for t in self.targets), default=0)

    def unmask(self, query: Structure | Chem.Mol | str) -> Unmasking:
        """The targets `query` reaches in at most `max_steps` reactions, each with its path."""
        start_smiles = Chem.MolToSmiles(_parent(Chem.Mol(as_mol(query))))
        start = _plain(start_smiles)
        root = _Node(smiles=start_smiles, inchikey=self._key(start), mol=start, depth=0)
        seen_smiles: set[str] = {start_smiles}
        seen_keys: set[str] = {root.inchikey} - {""}
        hits: dict[str, UnmaskHit] = {}
        self._check(root, query=start_smiles, hits=hits)
        frontier = [root]
        truncated = False
        explored = 1
        for depth in range(1, self.max_steps + 1):
            following: list[_Node] = []
            for node in frontier:
                for name, reactions in self._reactions:
                    for reaction in reactions:
                        for product in self._products(reaction, node.mol, steps_left=self.max_steps - depth):
                            smiles = Chem.MolToSmiles(product)
                            if smiles in seen_smiles:
                                continue
                            seen_smiles.add(smiles)
                            key = self._key(product)
                            if key and key in seen_keys:
                                continue
                            if key:
                                seen_keys.add(key)
                            child = _Node(
                                smiles=smiles, inchikey=key, mol=_plain(smiles), depth=depth, parent=node, reaction=name
                            )
                            explored += 1
                            self._check(child, query=start_smiles, hits=hits)
                            if len(following) < self.max_frontier:
                                following.append(child)
                            else:
                                truncated = True
            frontier = following
            if not frontier:
                break
        ordered = sorted(hits.values(), key=lambda hit: (len(hit.steps), hit.match != "exact", hit.target.key))
        return Unmasking(query=start_smiles, hits=tuple(ordered), explored=explored, truncated=truncated)

    def _key(self, mol: Chem.Mol) -> str:
        """The InChIKey of a structure whose formula is a target's; "" for the others, which cannot be a hit."""
        return _inchikey(mol) if CalcMolFormula(mol) in self._formulas else ""

    def _products(self, reaction: rdChemReactions.ChemicalReaction, mol: Chem.Mol, *, steps_left: int) -> list:
        out = []
        with BlockLogs():  # a product that fails sanitisation is dropped, not logged
            for products in reaction.RunReactants((mol,), self.max_products):
                for product in products:
                    if Chem.SanitizeMol(product, catchErrors=True) != Chem.SanitizeFlags.SANITIZE_NONE:
                        continue
                    for fragment in Chem.GetMolFrags(product, asMols=True, sanitizeFrags=False):
                        if fragment.GetNumHeavyAtoms() + steps_left >= self._min_heavy:
                            out.append(fragment)
        return out

    def _check(self, node: _Node, *, query: str, hits: dict[str, UnmaskHit]) -> None:
        if not node.inchikey:
            return
        exact = self._by_key.get(node.inchikey, [])
        for target in exact:
            if target.key not in hits:
                hits[target.key] = UnmaskHit(target=target, query=query, steps=node.steps(), match="exact")
        for target in self._by_skeleton.get(node.inchikey[:14], []):
            if target.key not in hits:
                hits[target.key] = UnmaskHit(target=target, query=query, steps=node.steps(), match="skeleton")


def unmask(query: Structure | Chem.Mol | str, *, targets: Iterable[Target], max_steps: int = 4) -> Unmasking:
    """Unmask one query against `targets` (for many queries, build one `Unmasker` and reuse it)."""
    return Unmasker(targets, max_steps=max_steps).unmask(query)
