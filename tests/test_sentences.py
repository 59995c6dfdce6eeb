from index.sentences import split_sentences


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_splits_on_terminal_punctuation_and_keeps_abbreviations() -> None:
    text = 'Mr. Smith said the U.S. economy grew 3.5% in 2025. Then he left! "Is it?" she asked. J. Doe agreed.'
    assert sentences(text) == [
        "Mr. Smith said the U.S. economy grew 3.5% in 2025.",
        "Then he left!",
        '"Is it?" she asked.',
        "J. Doe agreed.",
    ]


def test_paragraph_break_always_ends_a_sentence() -> None:
    text = "A heading without a dot\n\nThe body starts here. It goes on."
    assert sentences(text) == ["A heading without a dot", "The body starts here.", "It goes on."]


def test_spans_are_exact_and_exclude_white_space() -> None:
    text = "  First one.   Second one?\n\n\n  Third, Inc. and co. done.  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one?", "Third, Inc. and co. done."]
    assert all(not text[s].isspace() and not text[e - 1].isspace() for s, e in spans)


def test_lower_case_after_dot_is_not_a_boundary() -> None:
    assert sentences("Revenue was $4.2bn. vs. last year it fell. Next Year.") == [
        "Revenue was $4.2bn. vs. last year it fell.",
        "Next Year.",
    ]


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("   \n\n ") == []
