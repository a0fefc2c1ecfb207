"""The words of update frequencies in English, German, French, Dutch and Spanish, as `Lexicon`s.

Entries are written as people spell them and folded by `vocab.frequency_text.tokens`, so accents
and case don't matter. Adjectives come with their inflections (mensuel, mensuelle, mensuels…;
jährlich, jährliche, jährlichen…); German and Dutch also build number compounds
(zweiwöchentlich, vierteljährlich, halfjaarlijks, veertiendaags). Spans count months as months and
years as years; `vocab.frequencies` turns them into periods (a month is 30 days, a year 365).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from functools import cache

from vocab.frequency_text import Lexicon, Phrase, Said, Span, tokens

_HALF, _QUARTER = Fraction(1, 2), Fraction(1, 4)


def _span(unit: str, amount: Fraction | int = 1) -> Span:
    return Span(unit, Fraction(amount))


MINUTE, HOUR, DAY, WEEK = _span("minute"), _span("hour"), _span("day"), _span("week")
MONTH, YEAR = _span("month"), _span("year")
FORTNIGHT, QUARTER, HALF_YEAR = _span("week", 2), _span("month", 3), _span("month", 6)


def _phrases(spellings: Iterable[str]) -> frozenset[Phrase]:
    return frozenset(tokens(s) for s in spellings)


def _table(entries: Iterable[tuple[Iterable[str], Said]]) -> dict[Phrase, Said]:
    """Phrase → meaning, from (spellings, meaning) pairs."""
    return {tokens(spelling): said for spellings, said in entries for spelling in spellings}


def _numbers(words: str, start: int = 1) -> dict[str, Fraction]:
    """Number words, listed from ``start`` up ("one two three" → 1, 2, 3)."""
    return {word: Fraction(n) for n, word in enumerate(words.split(), start)}


def _de(*stems: str) -> list[str]:
    """German adjectives with their endings: jährlich, jährliche, jährlichen, jährlicher, jährliches."""
    return [stem + ending for stem in stems for ending in ("", "e", "en", "er", "es", "em")]


def _fr(masculine: str, feminine: str | None = None) -> list[str]:
    """French adjectives: masculine and feminine, singular and plural, and the adverb in -ment."""
    feminine = feminine or masculine
    plural = masculine[:-2] + "aux" if masculine.endswith("al") else masculine + "s"
    return [masculine, plural, masculine + "s", feminine, feminine + "s", feminine + "ment"]


def _nl(*bases: str) -> list[str]:
    """Dutch adjectives: jaarlijks, jaarlijkse."""
    return [base + ending for base in bases for ending in ("", "e")]


def _es(masculine: str) -> list[str]:
    """Spanish adjectives: diario, diaria, diarios, diarias, diariamente; mensual, mensuales, mensualmente."""
    if masculine.endswith("o"):
        stem = masculine[:-1]
        return [stem + "o", stem + "a", stem + "os", stem + "as", stem + "amente"]
    return [masculine, masculine + "es", masculine + "mente"]


def _compounds(prefixes: Mapping[str, Fraction], bases: Mapping[str, Span]) -> dict[Phrase, Said]:
    """Number + base in one word: zwei + wöchentlich, halb + jährlich, veertien + daags."""
    return {(prefix + base,): span.scaled(value) for prefix, value in prefixes.items() for base, span in bases.items()}


def _bases(entries: Iterable[tuple[Iterable[str], Span]]) -> dict[str, Span]:
    return {tokens(spelling)[0]: span for spellings, span in entries for spelling in spellings}


def _english() -> Lexicon:
    words = _table([
        (["hourly"], HOUR), (["bihourly"], _span("hour", 2)), (["trihourly"], _span("hour", 3)),
        (["daily", "everyday"], DAY), (["semidaily"], DAY.scaled(_HALF)),
        (["weekly"], WEEK), (["semiweekly"], WEEK.scaled(_HALF)),
        (["biweekly", "fortnightly"], FORTNIGHT),  # biweekly: every two weeks, as the EU table has it
        (["monthly"], MONTH), (["semimonthly"], MONTH.scaled(_HALF)), (["bimonthly"], _span("month", 2)),
        (["quarterly"], QUARTER), (["yearly", "annual", "annually"], YEAR),
        (["semiannual", "semiannually", "biannual", "biannually", "halfyearly"], YEAR.scaled(_HALF)),
        (["biennial", "biennially"], _span("year", 2)), (["triennial", "triennially"], _span("year", 3)),
        (["quadrennial", "quadrennially"], _span("year", 4)),
        (["quinquennial", "quinquennially"], _span("year", 5)), (["sexennial"], _span("year", 6)),
        (["decennial", "decennially"], _span("year", 10)),
        (["continuous", "continual", "continually"], "CONT"),
        (["continuously", "real time", "realtime", "live"], "UPDATE_CONT"),
        (["irregular", "irregularly", "ad hoc", "adhoc"], "IRREG"),
        (["as needed", "as required", "when needed", "when required", "if needed", "if required",
          "on demand", "on request", "punctual"], "AS_NEEDED"),  # punctual: udata's id, which udata reads as "as needed"
        (["not planned", "no updates planned", "no update planned"], "NOT_PLANNED"),
        (["never", "not updated", "no updates", "no longer updated", "will not be updated",
          "will not be refreshed", "discontinued"], "NEVER"),
        (["unknown", "not known"], "UNKNOWN"), (["other"], "OTHER"),
    ])
    units = _table([
        (["minute", "minutes", "min", "mins"], MINUTE), (["hour", "hours", "hr", "hrs"], HOUR),
        (["day", "days", "working day", "working days", "business day", "business days", "weekday", "weekdays"], DAY),
        (["week", "weeks"], WEEK), (["fortnight", "fortnights"], FORTNIGHT),
        (["month", "months"], MONTH), (["quarter", "quarters"], QUARTER),
        (["half year", "half-year", "semester", "semesters"], HALF_YEAR), (["year", "years", "yr", "yrs"], YEAR),
    ])
    return Lexicon(
        language="English", words=words, bases={}, units=_units(units),
        numbers=_numbers("one two three four five six seven eight nine ten eleven twelve")
        | {"fifteen": Fraction(15), "twenty": Fraction(20), "thirty": Fraction(30), "half": _HALF},
        ordinals={"other": 2, "second": 2, "third": 3, "fourth": 4},
        multiples={"once": 1, "twice": 2, "thrice": 3}, times=frozenset({"times", "time", "x"}),
        every=_phrases(["every", "each"]), per=_phrases(["a", "an", "per", "each", "every"]),
        frames=_phrases(["updated", "is updated", "update", "updates", "refreshed"]),
        headings=_phrases(["update frequency", "frequency", "refresh rate"]),
        qualifiers=_phrases(["on weekdays", "weekdays", "on working days", "working days", "on business days",
                             "business days", "monday to friday"]),
        or_more=_phrases(["or several times", "or more times"]),
    )


def _units(table: Mapping[Phrase, Said]) -> dict[Phrase, Span]:
    return {phrase: said for phrase, said in table.items() if isinstance(said, Span)}


def _german() -> Lexicon:
    numbers = _numbers("zwei drei vier funf sechs sieben acht neun zehn elf zwolf", 2) | {
        "vierzehn": Fraction(14), "funfzehn": Fraction(15), "zwanzig": Fraction(20), "dreissig": Fraction(30)}
    prefixes = numbers | {"halb": _HALF, "viertel": _QUARTER}
    bases = _bases([
        (_de("minütlich"), MINUTE), (_de("stündlich"), HOUR), (_de("täglich", "tägig"), DAY),
        (_de("wöchentlich"), WEEK), (_de("monatlich"), MONTH), (_de("jährlich"), YEAR),
    ])
    words = _table([
        (_de("minütlich"), MINUTE), (_de("stündlich"), HOUR), (_de("täglich", "werktäglich"), DAY),
        (_de("wöchentlich"), WEEK), (_de("monatlich"), MONTH), (_de("jährlich"), YEAR),
        (["quartalsweise"], QUARTER),
        (_de("kontinuierlich", "laufend", "fortlaufend", "ständig"), "CONT"),
        (["echtzeit", "in echtzeit", "live"], "UPDATE_CONT"),
        (_de("unregelmäßig"), "IRREG"),
        (["bei bedarf", "nach bedarf", "wenn nötig", "falls nötig", "bedarfsweise"], "AS_NEEDED"),
        (["nicht geplant", "keine aktualisierung geplant", "nicht vorgesehen"], "NOT_PLANNED"),
        (["nie", "niemals", "keine aktualisierung", "keine aktualisierungen", "wird nicht aktualisiert"], "NEVER"),
        (_de("unbekannt"), "UNKNOWN"), (_de("ander", "sonstig"), "OTHER"),
    ]) | _compounds(prefixes, bases)
    units = _table([
        (["minute", "minuten"], MINUTE), (["stunde", "stunden"], HOUR),
        (["tag", "tage", "tagen", "tages", "tags", "werktag", "werktage", "werktagen"], DAY),
        (["woche", "wochen"], WEEK),
        (["monat", "monate", "monaten", "monats"], MONTH),
        (["quartal", "quartale", "quartalen", "quartals", "vierteljahr", "vierteljahre", "vierteljahres"], QUARTER),
        (["halbjahr", "halbjahre", "halbjahren", "halbjahres"], HALF_YEAR),
        (["jahr", "jahre", "jahren", "jahres", "jahrs"], YEAR),
    ])
    ones = {word: Fraction(1) for word in ("ein", "eine", "einen", "einem", "einer", "eins")}
    halves = {word: _HALF for word in ("halb", "halbe", "halben", "halbes", "halber")}
    multiples = {word + "mal": int(n) for word, n in (numbers | {"ein": Fraction(1)}).items()}
    return Lexicon(
        language="German", words=words, bases=bases, units=_units(units), numbers=numbers | ones | halves,
        ordinals={ordinal + ending: n for ordinal, n in (("zweit", 2), ("dritt", 3), ("viert", 4))
                  for ending in ("e", "en", "er", "es")},
        multiples=multiples, times=frozenset({"mal", "x"}),
        every=_phrases(["alle", "jeden", "jede", "jedes", "jeder"]),
        per=_phrases(["pro", "je", "im", "in", "in der", "am", "die"]),
        frames=_phrases(["aktualisierung", "aktualisierungen", "aktualisiert", "wird aktualisiert"]),
        headings=_phrases(["wird", "aktualisierungsintervall", "aktualisierungsfrequenz", "aktualisierungsrhythmus"]),
        qualifiers=_phrases(["werktags", "an werktagen", "montags bis freitags", "mo-fr"]),
        or_more=_phrases(["oder mehrmals", "oder öfter"]), numeric_prefix=True,
    )


def _french() -> Lexicon:
    words = _table([
        (_fr("horaire"), HOUR), (_fr("quotidien", "quotidienne") + _fr("journalier", "journalière"), DAY),
        (_fr("hebdomadaire"), WEEK), (_fr("bihebdomadaire"), WEEK.scaled(_HALF)),
        (_fr("mensuel", "mensuelle"), MONTH), (_fr("bimensuel", "bimensuelle"), MONTH.scaled(_HALF)),
        (_fr("bimestriel", "bimestrielle"), _span("month", 2)), (_fr("trimestriel", "trimestrielle"), QUARTER),
        (_fr("quadrimestriel", "quadrimestrielle"), _span("month", 4)),
        (_fr("semestriel", "semestrielle"), HALF_YEAR), (_fr("annuel", "annuelle"), YEAR),
        (_fr("biennal", "biennale"), _span("year", 2)), (_fr("triennal", "triennale"), _span("year", 3)),
        (_fr("quinquennal", "quinquennale"), _span("year", 5)), (_fr("décennal", "décennale"), _span("year", 10)),
        (_fr("continu", "continue") + _fr("continuel", "continuelle") + ["en continu"], "CONT"),
        (["temps réel", "en temps réel"], "UPDATE_CONT"),
        (_fr("irrégulier", "irrégulière") + ["sans régularité"], "IRREG"),
        (_fr("ponctuel", "ponctuelle") + ["au besoin", "si nécessaire", "si besoin", "selon les besoins",
                                           "selon besoin", "quand nécessaire", "à la demande",
                                           "en fonction des besoins"], "AS_NEEDED"),  # ponctuelle: udata's "Punctual"
        (["non planifié", "non planifiée", "non prévu", "non prévue"], "NOT_PLANNED"),
        (["jamais", "aucune mise à jour"], "NEVER"), (_fr("inconnu", "inconnue"), "UNKNOWN"), (["autre"], "OTHER"),
    ])
    units = _table([
        (["minute", "minutes"], MINUTE), (["heure", "heures"], HOUR),
        (["jour", "jours", "journée", "journées", "jour ouvré", "jours ouvrés", "jour ouvrable", "jours ouvrables"],
         DAY),
        (["semaine", "semaines", "huit jours"], WEEK),
        (["quinzaine", "quinzaines", "quinze jours"], FORTNIGHT), (["mois"], MONTH),
        (["trimestre", "trimestres"], QUARTER), (["semestre", "semestres"], HALF_YEAR),
        (["an", "ans", "année", "années"], YEAR),
    ])
    return Lexicon(
        language="French", words=words, bases={}, units=_units(units),
        numbers=_numbers("un deux trois quatre cinq six sept huit neuf dix onze douze")
        | {"une": Fraction(1), "quinze": Fraction(15), "vingt": Fraction(20), "trente": Fraction(30),
           "demi": _HALF, "demie": _HALF},
        ordinals={}, multiples={}, times=frozenset({"fois", "x"}),
        every=_phrases(["tous les", "toutes les", "chaque"]), per=_phrases(["par", "l'"]),
        frames=_phrases(["mise à jour", "mises à jour", "mis à jour", "est mis à jour", "est mise à jour",
                         "actualisation", "actualisé", "actualisée"]),
        headings=_phrases(["fréquence de mise à jour", "fréquence"]),
        qualifiers=_phrases(["jours ouvrés", "les jours ouvrés", "jours ouvrables", "les jours ouvrables",
                             "du lundi au vendredi", "en semaine"]),
        or_more=_phrases(["ou plusieurs fois"]),
    )


def _dutch() -> Lexicon:
    numbers = _numbers("twee drie vier vijf zes zeven acht negen tien elf twaalf", 2) | {
        "veertien": Fraction(14), "vijftien": Fraction(15), "twintig": Fraction(20), "dertig": Fraction(30)}
    bases = _bases([
        (_nl("dagelijks", "daags"), DAY), (_nl("wekelijks"), WEEK), (_nl("maandelijks"), MONTH),
        (_nl("jaarlijks"), YEAR),
    ])
    words = _table([
        (_nl("dagelijks"), DAY), (_nl("wekelijks"), WEEK), (_nl("maandelijks"), MONTH), (_nl("jaarlijks"), YEAR),
        (["continu", "voortdurend", "doorlopend"], "CONT"),
        (["real time", "realtime", "live"], "UPDATE_CONT"),
        (_nl("onregelmatig"), "IRREG"),
        (["indien nodig", "wanneer nodig", "als nodig", "naar behoefte", "op aanvraag"], "AS_NEEDED"),
        (["niet gepland"], "NOT_PLANNED"), (["nooit"], "NEVER"), (_nl("onbekend"), "UNKNOWN"),
        (["overige", "overig", "ander", "andere", "anders"], "OTHER"),
    ]) | _compounds(numbers | {"half": _HALF}, bases)
    units = _table([
        (["minuut", "minuten"], MINUTE), (["uur", "uren"], HOUR), (["dag", "dagen", "werkdag", "werkdagen"], DAY),
        (["week", "weken"], WEEK), (["maand", "maanden"], MONTH), (["kwartaal", "kwartalen"], QUARTER),
        (["halfjaar", "halfjaren", "semester", "semesters"], HALF_YEAR), (["jaar", "jaren"], YEAR),
    ])
    return Lexicon(
        language="Dutch", words=words, bases=bases, units=_units(units),
        numbers=numbers | {"een": Fraction(1), "half": _HALF, "halve": _HALF},
        ordinals={"andere": 2, "tweede": 2, "derde": 3, "vierde": 4},
        multiples={"eens": 1} | {word + "maal": int(n) for word, n in (numbers | {"een": Fraction(1)}).items()},
        times=frozenset({"keer", "keren", "maal", "x"}),
        every=_phrases(["elke", "elk", "iedere", "ieder", "om de", "om"]), per=_phrases(["per", "in de", "in het"]),
        frames=_phrases(["update", "updates", "bijgewerkt", "wordt bijgewerkt", "geactualiseerd", "actualisatie"]),
        headings=_phrases(["wordt", "update frequentie", "updatefrequentie", "frequentie", "actualisatiefrequentie"]),
        qualifiers=_phrases(["op werkdagen", "werkdagen", "op weekdagen", "maandag tot vrijdag"]),
        or_more=_phrases(["of meerdere keren", "of meermaals"]), numeric_prefix=True,
    )


def _spanish() -> Lexicon:
    words = _table([
        (_es("diario") + ["a diario"], DAY), (_es("semanal"), WEEK), (_es("bisemanal"), WEEK.scaled(_HALF)),
        (_es("quincenal"), FORTNIGHT), (_es("mensual"), MONTH), (_es("bimensual"), MONTH.scaled(_HALF)),
        (_es("bimestral"), _span("month", 2)), (_es("trimestral"), QUARTER),
        (_es("cuatrimestral"), _span("month", 4)), (_es("semestral"), HALF_YEAR), (_es("anual"), YEAR),
        (_es("bienal"), _span("year", 2)), (_es("trienal"), _span("year", 3)),
        (_es("quinquenal"), _span("year", 5)), (_es("decenal"), _span("year", 10)),
        (_es("continuo") + ["de forma continua", "en continuo"], "CONT"),
        (["tiempo real", "en tiempo real"], "UPDATE_CONT"), (_es("irregular"), "IRREG"),
        (["a demanda", "bajo demanda", "según sea necesario", "cuando sea necesario", "según necesidad",
          "si es necesario", "cuando se requiera"], "AS_NEEDED"),
        (["no planificado", "no planificada", "no previsto", "no prevista", "no programado", "no programada"],
         "NOT_PLANNED"),
        (["nunca"], "NEVER"), (_es("desconocido"), "UNKNOWN"), (["otro", "otra"], "OTHER"),
    ])
    units = _table([
        (["minuto", "minutos"], MINUTE), (["hora", "horas"], HOUR),
        (["día", "días", "día laborable", "días laborables", "día hábil", "días hábiles"], DAY),
        (["semana", "semanas", "ocho días"], WEEK), (["quincena", "quincenas", "quince días"], FORTNIGHT),
        (["mes", "meses"], MONTH), (["bimestre", "bimestres"], _span("month", 2)),
        (["trimestre", "trimestres"], QUARTER), (["cuatrimestre", "cuatrimestres"], _span("month", 4)),
        (["semestre", "semestres"], HALF_YEAR), (["año", "años"], YEAR),
    ])
    return Lexicon(
        language="Spanish", words=words, bases={}, units=_units(units),
        numbers=_numbers("uno dos tres cuatro cinco seis siete ocho nueve diez once doce")
        | {"un": Fraction(1), "una": Fraction(1), "quince": Fraction(15), "veinte": Fraction(20),
           "treinta": Fraction(30), "medio": _HALF, "media": _HALF},
        ordinals={}, multiples={}, times=frozenset({"vez", "veces", "x"}),
        every=_phrases(["cada", "todos los", "todas las"]), per=_phrases(["por", "al", "a la"]),
        frames=_phrases(["actualización", "actualizaciones", "actualizado", "actualizada", "se actualiza"]),
        headings=_phrases(["frecuencia de actualización", "frecuencia"]),
        qualifiers=_phrases(["días laborables", "en días laborables", "días hábiles", "de lunes a viernes"]),
        or_more=_phrases(["o varias veces", "o más veces"]),
    )


@cache
def lexicons() -> tuple[Lexicon, ...]:
    """The five languages' lexicons, built once."""
    return (_english(), _german(), _french(), _dutch(), _spanish())


__all__ = ["lexicons"]
