"""The delivery desk's own rules, without HTTP: what a paper request may say, and the words for
why a certificate went where it went (the HTTP side is in test_http.py and test_paper.py)."""

from __future__ import annotations

import pytest

from issuers.delivery.desk import paper_reason, reason_text
from issuers.delivery.worker import EXEMPT, NO_CONSENT, ON_REQUEST
from issuers.errors import InvalidInputError


def test_a_paper_reason_is_the_authority_with_its_spaces_tidied() -> None:
    assert paper_reason("  Færdselsstyrelsen \n kræver  papir ") == "Færdselsstyrelsen kræver papir"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_a_blank_paper_reason_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        paper_reason(text)
    assert refused.value.field == "reason"


@pytest.mark.parametrize("text", ["Politiet, 010190-1234", "for 0101901234"])
def test_a_paper_reason_never_carries_a_cpr_number(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        paper_reason(text)
    assert refused.value.field == "reason"
    assert "0101" not in str(refused.value)


def test_every_delivery_note_has_words_and_no_note_has_none() -> None:
    for note in (EXEMPT, NO_CONSENT, ON_REQUEST):
        assert reason_text(note)
    assert reason_text(None) is None
    assert reason_text("digital-post") is None
