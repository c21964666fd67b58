"""What salon callers say, grouped into concepts that service names are built from.

A catalog's service names are cut into these concepts ("Kinderhaarschnitt" = child + hair + cut),
and so are callers' sentences ("meine Tochter braucht einen Haarschnitt" = child + hair + cut), which
lets every catalog understand everyday paraphrases without hand-written aliases. Stems are written
as one says them; inflection (Tönung*en*, *ge*färb*t*) and compounding are handled by the matcher.

`conf` below 1 marks words that point at a concept without naming it ("blond" suggests colouring,
"Hochzeit" a bridal style): they can fill in a service but never count as a second service wish.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    name: str
    stems: tuple[tuple[str, float], ...]  # (stem as spoken, confidence it means this concept)
    weight: float = 1.0  # how much this part of a service name matters for the match
    # "whom" (für meine Frau) never books alone; an "object" (Bart, Wimpern) books only with a
    # verb ("Bart machen lassen", not "mein Bart juckt"); an "action" is what is done, a
    # "manner" how (nass, zupfen): a catalog without it still serves the wish ("Nassrasur" ->
    # "Rasur"), which a missing action never does ("Strähnchen färben" is no "Färben").
    role: str = "action"


def _c(name: str, *stems: str | tuple[str, float], weight: float = 1.0,
       role: str = "action") -> Concept:
    return Concept(name, tuple(s if isinstance(s, tuple) else (s, 1.0) for s in stems), weight,
                   role)


CONCEPTS: tuple[Concept, ...] = (
    # who the service is for
    _c("men", "herren", ("herr", 0.85), "mann", "männer", "männlich", "ehemann", "gents",
       role="whom"),
    _c("women", "damen", "dame", "frau", "frauen", "weiblich", "lady", "ladies",
       role="whom"),
    _c("children", "kinder", "kind", "kids", "sohn", "söhne", "tochter", "töchter", "enkel",
       "enkelin", ("junge", 0.85), "jungs", "mädchen", "baby",
       role="whom"),
    # hair is what a salon works on anyway: it neither makes nor breaks a match
    _c("hair", "haar", "haare", "haaren", weight=0.0),
    # what is done
    _c("cut", "schnitt", "schneid", "cut", "haircut", "fasson", "fassonschnitt", ("spitzen", 0.9),
       ("stutz", 0.8), ("kürz", 0.85), ("nachschneid", 1.0)),
    _c("machine", "maschine", "trimmer", "clipper", ("millimeter", 0.9), ("buzzcut", 0.9),
       role="manner"),
    _c("beard", "bart", "bärte", "vollbart", "schnurrbart", "schnauzer", "kinnbart",
       "oberlippenbart", "dreitagebart", role="object"),
    _c("grooming", ("pfleg", 0.8), "trimm", ("stutz", 0.8), ("kontur", 0.9), role="manner"),
    _c("wet", "nass", ("messer", 0.8), ("klinge", 0.8), role="manner"),
    _c("shave", "rasur", "rasier", "glattrasur", "glattrasier"),
    _c("wash", "wasch", "wäsche", "shampoo"),
    _c("blowdry", "föhn", "fön", "blowdry",
       ("styling", 0.85), ("stylen", 0.85)),
    _c("colour", "farb", "färb", "colorier", "coloration", "color", "colour",
       ("blond", 0.75), ("braun", 0.75), ("schwarz", 0.75), ("rot", 0.75),
       ("rötlich", 0.75), ("grau", 0.75), ("abdeck", 0.75), ("dunkler", 0.75),
       ("heller", 0.75)),
    _c("roots", "ansatz", "ansätze", "nachwuchs", ("herausgewachsen", 0.9),
       ("rausgewachsen", 0.9)),
    _c("tint", "tön", "tönung"),
    _c("highlights", "strähnchen", "strähn", "highlights", ("folie", 0.9),
       "lowlights", "strähnen"),
    _c("balayage", "balayage", ("ombre", 0.9), ("ombré", 0.9), ("babylights", 0.85)),
    _c("bleach", "blondierung", "blondier", "blondieren", "aufhell", "aufhellung",
       ("platinblond", 0.9)),
    _c("perm", "dauerwelle", "locken", "lockig", "welle"),
    _c("keratin", "keratin", "brazilian", role="manner"),
    _c("straighten", "glatt", "glätt", "glättung"),
    _c("updo", "hochsteck", "hochgesteckt", "dutt",
       ("chignon", 0.9)),
    _c("bride", "braut", "bräute", ("hochzeit", 0.8), ("heirate", 0.8), ("heirat", 0.8),
       ("trauung", 0.8), ("standesamt", 0.8), role="whom"),
    _c("style", "frisur", "frisuren", weight=0.5, role="manner"),
    _c("treatment", "kur", ("maske", 0.85), ("pfleg", 0.8),
       ("pflegebehandlung", 0.9), ("intensivpflege", 0.9)),
    _c("head", "kopf", role="object"),
    _c("massage", "massage", "massier"),
    _c("brows", "augenbrauen", "augenbraue", "brauen", "braue", role="object"),
    _c("pluck", "zupf", role="manner"),
    _c("lashes", "wimpern", "wimper", role="object"),
    _c("fringe", "pony", "ponys", "stirnfransen", "fransen", "stirnhaar",
       role="object"),
)

# Services this lexicon knows salons offer that a given catalog may not. A caller asking for one
# must not get the nearest catalog service instead ("Wimpern verlängern" is not "Wimpern färben").
# Stems that a catalog uses in its own names are taken out of this list by the matcher.
FOREIGN_SERVICES: tuple[str, ...] = (
    "verlänger", "verlängerung", "extension", "extensions", "lifting", "laminier", "laminierung",
    "maniküre", "pediküre", "nagel", "nägel", "gelnägel", "shellac", "waxing", "haarentfernung",
    "enthaarung", "microblading", "permanent", "tattoo", "piercing", "kosmetik", "peeling",
    "gesichtsbehandlung", "fußpflege", "perücke", "haartransplantation", "make", "makeup",
    "schminken", "visagistik", "ohrloch", "solarium", "sonnenstudio",
)

# Words that take a following name as a person ("bei Herrn Schmidt", "Frau Herrmann").
HONORIFICS: frozenset[str] = frozenset({"herr", "herrn", "frau", "fräulein", "dr", "doktor"})

# Words after which "Frau"/"Mann" is a person the service is for, not an honorific.
RELATION_MARKERS: frozenset[str] = frozenset({
    "meine", "meiner", "meinen", "meinem", "mein", "die", "der", "eine", "einer", "einen", "ein",
    "seine", "seiner", "ihre", "ihrer", "ihren", "unsere", "unserer", "als", "für", "den",
    "dem", "des", "alte", "alten", "junge", "jungen", "nette", "netten",
})

NEGATIONS: frozenset[str] = frozenset({
    "kein", "keine", "keinen", "keinem", "keiner", "keines", "nicht", "ohne", "nix", "nichts",
})
# Where a negation's reach ends: "keine Farbe, *nur* schneiden", "nicht färben *sondern* tönen".
CLAUSE_BREAKS: frozenset[str] = frozenset({
    "sondern", "aber", "nur", "bloß", "blos", "und", "oder", "dafür", "lieber", "stattdessen",
    "eher", "sowie", "plus", "danach", "dann", "außerdem",
})
# Verbs that say "do something to it" without saying what: with an object they ask for the
# salon's service for that object ("die Augenbrauen müssten mal gemacht werden").
GENERIC_ACTIONS: frozenset[str] = frozenset({
    "machen", "mache", "macht", "gemacht", "richten", "herrichten", "gerichtet", "form",
    "erledigen", "behandeln", "bearbeiten",
})
# A cancellation names its service too, but it must never turn into a booking.
CANCELLATION_STEMS: tuple[str, ...] = (
    "absag", "abgesagt", "storn", "cancel", "gecancel", "abbestell", "streich",
)

# Words callers use around a service that never name one; they stop compound joining and mark
# an honorific's follower as an ordinary word.
_FUNCTION_WORDS_TEXT = """
    ich du er sie es wir ihr mich mir dich dir ihn ihm uns euch sich mein meine meinen meinem
    meiner dein ihre ihren unser unsere der die das den dem des ein eine einen einem einer eines
    und oder aber mit ohne für bei zum zur zu von vom im in am an auf aus nach vor um bis ab
    ja nein nee doch also ähm äh ähh hm hmm mhm öhm naja na so mal halt eben eigentlich bitte
    danke gern gerne hallo guten tag morgen abend hätte möchte möchten würde würden will wollte
    brauche brauch bräuchte kann könnte könnten kannst lassen lasse machen mache gemacht haben
    habe hab hat ist sind war bin wäre termin termine buchen gebucht vereinbaren einen nen ne n
    bisschen paar mal wieder auch noch schon jetzt heute wie was wann wo welche welcher welchen
    gibt es geht da dort hier friseur frisör frisor salon sie ihnen einmal zweimal nur etwas
    irgendwas sowas so'n son sone
    wollen wollten willst würden würdest sollte sollen soll muss müsste dass ob weil wenn denn
    sonst sonstige sonstiges
"""
FUNCTION_WORDS: frozenset[str] = frozenset(_FUNCTION_WORDS_TEXT.split())
