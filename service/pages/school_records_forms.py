"""The records pages' forms: what a school's staff typed, turned into the very input structs the
school API takes (``issuers.requests``, ``issuers.corrections``), and the domain's refusals
turned back into Danish words on the offending form field.

No rule lives here: msgspec checks shapes and types exactly as it does for the API (the
structs are the same), and the AMU rules engine, issuing and corrections decide the rest. This
module only maps names: a form field to the API member, a refusal's ``field`` back to the form
field, and a rule code to a Danish sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from issuers import rules
from issuers.corrections import CorrectionIn, RevocationIn
from issuers.errors import IssuingError, UnknownGoalError
from issuers.requests import AttemptIn, FactsIn, FactsUpdateIn, IkvGoalIn
from service.api.deliveries import PaperRequestIn

# -- the forms' fields: form name -> the API member it fills --------------------------------

ATTEMPT_FIELDS = {
    "heldOn": "proeve_dato",
    "kind": "proeve_art",
    "parts": "proeve_del1",
    "parts[0]": "proeve_del1",
    "parts[1]": "proeve_del2",
    "parts[2]": "proeve_del3",
    "postponed": "proeve_udsat",
    "notifiedOn": "proeve_meddelt",
    "retakeReason": "proeve_grund",
    "complaintDecision": "proeve_klage",
}
FACTS_FIELDS = {
    "dispensation": "disp_ansoegt",
    "dispensation.appliedByParticipant": "disp_ansoegt",
    "dispensation.assessmentReplacesExam": "disp_erstatter",
    "judgement": "bedoemmelse",
    "ikv": "ikv_maal",
    "goal": "ikv_maal",
    "result": "ikv_resultat",
    "examPassed": "ikv_proeve",
    "droppedOut": "afbrudt",
}
CORRECTION_FIELDS = {
    "reason": "ret_grund",
    "name": "ret_navn",
    "team": "ret_hold",
    "courseStart": "ret_start",
    "courseEnd": "ret_slut",
    "examDate": "ret_proevedato",
    "annotations": "ret_bestaaet",
    "annotations.examPassed": "ret_bestaaet",
}
REVOCATION_FIELDS = {"reason": "tilbagekald_grund"}
PAPER_FIELDS = {"reason": "papir_grund"}

# What a field needs, when the input was not even the right shape (msgspec refused it).
FIELD_TEXT = {
    "proeve_dato": "Skriv prøvedagen som en dato.",
    "proeve_art": "Vælg ordinær prøve, flyttet prøve eller omprøve.",
    "proeve_del1": "Vælg resultatet (eller marker, at prøven er udsat).",
    "proeve_del2": "Vælg bestået, ikke bestået eller udeblevet.",
    "proeve_del3": "Vælg bestået, ikke bestået eller udeblevet.",
    "proeve_meddelt": "Skriv datoen som en dato, eller lad feltet stå tomt.",
    "proeve_grund": "Teksten kan ikke gemmes: brug bogstaver, og højst 200 tegn.",
    "proeve_klage": "Teksten kan ikke gemmes: brug bogstaver, og højst 200 tegn.",
    "disp_ansoegt": "Marker, om deltageren har søgt om dispensation.",
    "disp_erstatter": "Marker, om skolens bedømmelse kan erstatte prøven.",
    "bedoemmelse": "Vælg, om deltageren nåede målet.",
    "ikv_maal": "Skriv målnummeret med fem cifre.",
    "ikv_resultat": "Vælg, hvad IKV'en konkluderede for målet.",
    "ikv_proeve": "Vælg, om målets prøve blev bestået.",
    "afbrudt": "Marker, at deltageren har afbrudt kurset.",
    "ret_grund": "Vælg, hvad der var forkert på beviset.",
    "ret_navn": "Navnet kan ikke gemmes: brug bogstaver, og højst 200 tegn.",
    "ret_hold": "Holdets reference kan ikke gemmes: brug bogstaver og tal, og højst 200 tegn.",
    "ret_start": "Skriv kursets første dag som en dato.",
    "ret_slut": "Skriv kursets sidste dag som en dato, ikke før den første.",
    "ret_proevedato": "Skriv prøvedagen som en dato, ikke før kursets første dag.",
    "ret_bestaaet": "Bemærkningerne passer ikke med AMU-reglerne: lad dem stå uændret.",
    "tilbagekald_grund": "Vælg, hvorfor beviset ikke skulle have været udstedt.",
    "papir_grund": (
        "Skriv den myndighed eller organisation, der kræver beviset på papir (ikke et CPR-nummer)."
    ),
}

# The AMU rules' refusals (issuers.rules.errors, by rule code), in the school's words.
RULE_TEXT = {
    "dispensation-after-collective-shortening": (
        "Holdets kursus er afkortet kollektivt (§ 17, stk. 8); så kan der ikke gives "
        "dispensation fra prøven."
    ),
    "dispensation-without-application": "Dispensation gives kun, når deltageren har søgt om den.",
    "dispensation-without-replacing-assessment": (
        "Dispensation kræver, at skolen vurderer, at dens bedømmelse kan erstatte prøven."
    ),
    "dispensation-without-attached-exam": "Målet har ingen prøve at dispensere fra.",
    "attempt-despite-dispensation": (
        "Deltageren har dispensation fra prøven; der kan ikke registreres et prøveforsøg."
    ),
    "second-retake-without-reason": "En anden omprøve kræver en særlig grund: skriv grunden.",
    "retake-without-complaint-decision": (
        "En tredje eller senere omprøve kræver en klageafgørelse: skriv dens reference."
    ),
    "retake-outside-window": "Omprøven ligger uden for den periode, hvor den må holdes.",
    "retake-without-failed-exam": "En omprøve kræver en prøve, der ikke blev bestået.",
    "attempt-after-pass": "Deltageren har allerede bestået prøven.",
    "result-for-postponed-exam": "En udsat prøve har intet resultat endnu.",
    "attempts-out-of-order": "Prøven skal ligge efter de prøver, der allerede er registreret.",
    "attempt-in-future": "Prøvedagen ligger i fremtiden.",
    "exam-parts-mismatch": "Antallet af prøvedele passer ikke med målets prøve.",
    "exam-result-without-attached-exam": (
        "Målet har ingen prøve: registrér lærerens bedømmelse i stedet."
    ),
    "skipped-exam-with-attempts": "Prøven er registreret som ikke afholdt.",
    "result-before-course-end": "Resultatet kan ikke ligge før kursets sidste dag.",
    "exam-before-course-start": "Prøven kan ikke ligge før kursets første dag.",
    "exam-outside-window": "Prøvedagen ligger uden for den periode, hvor prøven må holdes.",
    "date-out-of-range": "Datoen ligger uden for det mulige.",
    "vocational-elective-no-amu-certificate": (
        "En erhvervsuddannelseselev med målet som valgfag får ikke AMU-bevis."
    ),
    "unknown-goal": "Målnummeret findes ikke i målkataloget.",
    "authority-exam-not-applicable": "Målets prøve holdes ikke af en anden myndighed.",
    "ikv-outcome-outside-ikv-goal": (
        "IKV-resultater registreres kun på et hold med mål 40080 eller 40081."
    ),
    "teacher-judgement-on-ikv-goal": (
        "Mål 40080 og 40081 bedømmes ud fra IKV'en, ikke af læreren."
    ),
    "ikv-outcome-for-ikv-goal": "Et IKV-resultat gælder andre mål end 40080 og 40081.",
    "duplicate-ikv-outcome": "Målet har allerede et IKV-resultat.",
    "invalid-period": "Perioden er ugyldig.",
}

# A refusal that names the whole attempt but is about one of its fields: that field, so the
# form marks it (the day of an attempt "in the future" is what the staff member must change).
RULE_FIELD = {"attempt-in-future": "heldOn"}

_AT = re.compile(r"at `\$\.([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_ATTEMPT_PREFIX = re.compile(r"^attempts\[\d+\]\.")
_IKV_PREFIX = re.compile(r"^ikv\[\d+\]\.")


class FormError(Exception):
    """A form's input refused: Danish text per form field, or for the form as a whole."""

    def __init__(self, errors: Mapping[str, str], message: str | None = None) -> None:
        super().__init__("form refused")
        self.errors = dict(errors)
        self.message = message


def _convert(data: dict[str, Any], into: type[Any], fields: Mapping[str, str]) -> Any:
    """``data`` as ``into`` (msgspec's own checks, as for the API), or a FormError."""
    try:
        return msgspec.convert(data, into)
    except msgspec.ValidationError as e:
        text = str(e)
        found = _AT.search(text) or _MISSING.search(text)
        path = found.group(1) if found else ""
        name = fields.get(path) or fields.get(path.split(".")[0]) or next(iter(fields.values()))
        raise FormError({name: FIELD_TEXT[name]}) from e


def _given(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _checked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name) == "ja"


def attempt_in(form: Mapping[str, str]) -> AttemptIn:
    """The exam attempt form as the API's AttemptIn."""
    data: dict[str, Any] = {
        "parts": [
            part
            for name in ("proeve_del1", "proeve_del2", "proeve_del3")
            if (part := _given(form, name))
        ],
        "kind": form.get("proeve_art") or "ordinary",
        "postponed": _checked(form, "proeve_udsat"),
    }
    for member, name in (
        ("heldOn", "proeve_dato"),
        ("notifiedOn", "proeve_meddelt"),
        ("retakeReason", "proeve_grund"),
        ("complaintDecision", "proeve_klage"),
    ):
        if (value := _given(form, name)) is not None:
            data[member] = value
    result: AttemptIn = _convert(data, AttemptIn, ATTEMPT_FIELDS)
    return result


FACT_FORMS = ("dispensation", "bedoemmelse", "ikv", "afbrudt")


def facts_in(kind: str, form: Mapping[str, str], current: FactsIn) -> FactsUpdateIn:
    """The later-facts form ``kind`` as the API's FactsUpdateIn. An IKV outcome is added to
    the recorded ones (replacing the same goal's), as the API's list holds them all."""
    data: dict[str, Any]
    if kind == "dispensation":
        data = {
            "dispensation": {
                "appliedByParticipant": _checked(form, "disp_ansoegt"),
                "assessmentReplacesExam": _checked(form, "disp_erstatter"),
            }
        }
    elif kind == "bedoemmelse":
        data = {"judgement": _given(form, "bedoemmelse")} if _given(form, "bedoemmelse") else {}
        if not data:
            raise FormError({"bedoemmelse": FIELD_TEXT["bedoemmelse"]})
    elif kind == "ikv":
        goal = _given(form, "ikv_maal") or ""
        exam = {"ja": True, "nej": False}.get(form.get("ikv_proeve", ""))
        outcome: dict[str, Any] = {"goal": goal, "result": form.get("ikv_resultat", "")}
        if exam is not None:
            outcome["examPassed"] = exam
        added: IkvGoalIn = _convert(outcome, IkvGoalIn, FACTS_FIELDS)
        kept = [g for g in current.ikv or [] if g.goal != added.goal]
        return FactsUpdateIn(ikv=[*kept, added])
    elif kind == "afbrudt":
        if not _checked(form, "afbrudt"):
            raise FormError({"afbrudt": FIELD_TEXT["afbrudt"]})
        data = {"droppedOut": True}
    else:
        raise ValueError(kind)
    update: FactsUpdateIn = _convert(data, FactsUpdateIn, FACTS_FIELDS)
    return update


def correction_in(form: Mapping[str, str]) -> CorrectionIn:
    """The correction form as the API's CorrectionIn: the fields filled in, the annotations
    only when the staff member chose to correct them."""
    data: dict[str, Any] = {"reason": form.get("ret_grund", "")}
    for member, name in (
        ("name", "ret_navn"),
        ("team", "ret_hold"),
        ("courseStart", "ret_start"),
        ("courseEnd", "ret_slut"),
        ("examDate", "ret_proevedato"),
    ):
        if (value := _given(form, name)) is not None:
            data[member] = value
    if _checked(form, "ret_bemaerkninger"):
        data["annotations"] = {
            "examPassed": {"ja": True, "nej": False}.get(form.get("ret_bestaaet", "")),
            "dispensation": _checked(form, "ret_dispensation"),
            "ikv": _checked(form, "ret_ikv"),
        }
    change: CorrectionIn = _convert(data, CorrectionIn, CORRECTION_FIELDS)
    return change


def revocation_in(form: Mapping[str, str]) -> RevocationIn:
    revocation: RevocationIn = _convert(
        {"reason": form.get("tilbagekald_grund", "")}, RevocationIn, REVOCATION_FIELDS
    )
    return revocation


def paper_in(form: Mapping[str, str]) -> PaperRequestIn:
    paper: PaperRequestIn = _convert(
        {"reason": form.get("papir_grund", "")}, PaperRequestIn, PAPER_FIELDS
    )
    return paper


def refusal(error: IssuingError, fields: Mapping[str, str]) -> FormError:
    """A domain refusal (rule, input, unknown goal) on the form field it names."""
    field = error.field or ""
    field = _IKV_PREFIX.sub("", _ATTEMPT_PREFIX.sub("", field))
    name = fields.get(field) or fields.get(field.split(".")[0])
    if name is None and isinstance(error, rules.RuleViolation):
        name = fields.get(RULE_FIELD.get(error.rule, ""))
    if isinstance(error, rules.RuleViolation):
        text = RULE_TEXT.get(error.rule, f"AMU-reglerne tillader det ikke (regel {error.rule}).")
    elif isinstance(error, UnknownGoalError):
        text = RULE_TEXT["unknown-goal"]
    elif name is not None:
        text = FIELD_TEXT[name]
    else:
        text = "Oplysningerne kan ikke registreres sådan. Tjek felterne."
    if name is None:
        return FormError({}, text)
    return FormError({name: text})
