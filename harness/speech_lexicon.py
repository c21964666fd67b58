"""The words the simulated agent knows without asking: filler, grammar, salon vocabulary.

A word of a caller turn that is in none of these lists and in no recognised phrase (date, name,
phone number, intent) is *unplaced*: the agent asks back instead of guessing what it meant.
"""

from __future__ import annotations

# Grammar, politeness, greetings, hesitation and everyday verbs: they carry no booking data.
FILLER = frozenset("""
ähm äh ähem hm hmm öhm mhm naja na also ach ok okay oh so tja eh gut schön prima super toll
hi hey i an rum herum rein besten liebsten gleiche gleichen selbe selben uhrzeit hallo halli hallöchen schönen schöne guten gute tag morgen abend grüß gruß grüezi gott servus moin moinsen tach tschuldigung
entschuldigung entschuldigen sie verzeihung bitte bittschön bitteschön danke dankeschön vielen dank herzlichen
lieben liebe freundlich freundlichen gerne gern sehr ganz mal eben halt eigentlich übrigens nochmal noch einmal
ich du er es wir ihr sie mir mich mein meine meinen meinem meiner meines uns unser unsere ihnen ihre ihren ihrem
euch dich dir sich man jemand
der die das den dem des ein eine einen einem einer eines kein keine keinen
und oder aber denn weil dass ob wenn als wie so auch noch schon nur dann da hier dort jetzt gleich
doch ja nein nee nö ne jo jep klar genau richtig stimmt passt perfekt einverstanden wunderbar prima
mit ohne für fuer zum zur zu bei beim im in an am um auf von vom aus nach über vor bis ab gegen
ist sind war waren wäre wären sei bin bist hat haben habe hab hatte hatten hätte hätten hättest
kann könnte können kannst könnten darf dürfte dürfen muss müsste müssen soll sollte sollen
will wollte wollen möchte möchten möchtest mag würde würden wird werden
geht gehen ginge gibt geben gäbe machen mache machst macht gemacht lassen lasse lässt tun
kommen komme kommt vorbeikommen vorbeischauen vorbei reinkommen reinschauen vorbeigehen
buchen buche gebucht reservieren reserviere vereinbaren ausmachen eintragen einplanen notieren
bekommen kriegen krieg kriege brauche brauchst braucht bräuchte benötige hätt wär
termin termine terminen termins terminchen zeit frei freien verfügbar möglich platz lücke
was wann wie wo welche welcher welches welchen warum wieso weshalb
salon haarmonie laden bei euch ihnen uhr mal einmal irgendwann irgendwie
neuen neue neu nächsten nächste kommenden diese diesen dieser lieber besser eher am liebsten
vielleicht wohl etwa ungefähr circa so etwas sowas bisschen wieder
sagen sage sagt gesagt meinte meine meinen gemeint heißt heiße heisse wissen weiß weiss sehen
geht's gehts hätt's wär's gibt's das's ginge schaffen
denke glaube finde hoffe dachte dachten schauen gucken nachschauen nachsehen
fragen frage wollte nur kurz anrufen rufe rufen angerufen nummer telefonnummer handynummer erreichbar
alte alten uhrzeit uhrzeiten zeiten danach vorher anschließend davor offen geöffnet geschlossen auf
natürlich selbstverständlich eigentlich klar mal
zwar vorhin gestern vorgestern neulich kürzlich glaub glaube denk denke nehm viel viele wieviel wievielen
wegen wenn's wenns nämlich brauch hätt 'nen nen ne 'ne ihn sie's fragen ob sondern aber nicht
irgendwas was etwas vielleicht kurzfristig dringend schnell möglichst spontan
erreichen erreicht erreichbar mobil handy festnetz rückruf zurückrufen mobilnummer
unter name namen vorname nachname heiße spricht apparat van de da di del ten ter dos
""".split())  # noqa: SIM905 - a word list reads better as text

# Choice and answer words (answers to the agent's own questions).
CHOICE = frozenset("""
erste ersten erster zweite zweiten zweiter dritte dritten dritter letzte letzten letzter
frühere früheren frühesten spätere späteren
nehme nehmen nimm passt geht okay ok gut
""".split())  # noqa: SIM905

# Connectors that may stand inside a service phrase ("Herrenschnitt mit Bart").
CONNECTORS = frozenset({"mit", "und", "ohne", "plus", "sowie"})

# For whom: the core reads "Tochter … Haarschnitt" as a child's cut, so these stay in the phrase.
PERSONS = frozenset("""
tochter sohn kind kinder kleine kleiner kleinen enkel enkelin enkelkind junge mädchen mann frau freundin
freund mutter vater mama papa oma opa schwester bruder herren herr damen dame
""".split())  # noqa: SIM905

# Stems of hair-salon service words, as a receptionist knows them (the core decides which service).
SERVICE_STEMS = (
    "schnitt", "schneid", "haar", "frisur", "föhn", "foehn", "fön", "foen", "färb", "faerb", "farb",
    "tön", "toen", "strähn", "straehn", "strenchen", "highlight", "balay", "blond", "dauerwell", "locke",
    "keratin", "glätt", "glaett", "glät", "hochsteck", "braut", "hochzeit", "kur", "pflege", "massage",
    "augenbrau", "wimper", "pony", "bart", "rasur", "rasier", "wasch", "spitzen", "ansatz", "styling",
    "zupf", "kopf", "coloration", "maschine", "kinder", "herren", "damen", "tattoo", "stech", "manikür",
    "maniküre", "pedikür", "nagel", "nägel", "make", "schmink", "extension", "verlängerung", "trocken",
    "legen", "welle", "scheitel", "nacken", "kontur", "fade", "undercut", "bob", "zopf", "flecht",
)
SERVICE_WORDS = frozenset({"cut", "color", "colour"})


def is_service_word(lowered: str) -> bool:
    return lowered in SERVICE_WORDS or any(stem in lowered for stem in SERVICE_STEMS)
