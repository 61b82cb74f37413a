"""Unicode folding for text identity: what makes two problems "the same text" to dedup and `problem_id`.

A problem copied with Cyrillic look-alikes (``а`` U+0430 for ``a``), zero-width characters or bidi controls reads
the same as the original but hashes differently. Two folds undo that:

- `strip_invisible`: removes format characters (Unicode category Cf: zero-width space/joiners, bidi embeddings,
  overrides and isolates, soft hyphen, BOM, tag characters) and the other default-ignorable code points
  (variation selectors, the combining grapheme joiner, Hangul fillers).
- `fold_confusables`: NFKC, invisibles removed, then every *non-ASCII* character replaced by its confusable
  skeleton (Unicode TR39 `confusables.txt`, as ICU's `SpoofChecker` implements it: ``а`` -> ``a``,
  ``ο`` (Greek) -> ``o``, ``×`` -> ``x``, ``−`` -> ``-``). ASCII is left alone on purpose: TR39 also folds
  ``m`` -> ``rn``, ``1`` -> ``l`` and ``0`` -> ``O``, which would merge different numbers (``x = 10`` vs
  ``x = lO``) and change the id of every problem in the corpus. The price: a non-ASCII look-alike of a digit
  (Cyrillic ``О`` for ``0``) folds to the letter, not to the digit.

`identity_text` (fold, casefold, ``$`` dropped, whitespace collapsed) is what `schema.problem_id` hashes and what
exact dedup compares. For pure-ASCII text it equals the older normalization, so those ids do not change.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Default_Ignorable_Code_Point characters that are not Cf (DerivedCoreProperties.txt): the combining grapheme
# joiner, Hangul fillers, the Khmer inherent vowels, the Mongolian free variation selectors, variation selectors.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
_WHITESPACE = re.compile(r"\s+")


def _is_invisible(ch: str) -> bool:
    if unicodedata.category(ch) == "Cf":
        return True
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


@lru_cache(maxsize=1)
def _spoof_checker():  # ICU objects are created once; getSkeleton is thread-safe on a shared checker
    import icu

    return icu.SpoofChecker()


@lru_cache(maxsize=65536)
def _char_fold(ch: str) -> str:
    """What one non-ASCII character becomes: nothing if invisible, else its TR39 skeleton (NFC)."""
    if _is_invisible(ch):
        return ""
    if unicodedata.category(ch) == "Cs":  # a lone surrogate (not valid Unicode): kept visible, as its escape
        return ch.encode("utf-8", "backslashreplace").decode("ascii")
    return unicodedata.normalize("NFC", _spoof_checker().getSkeleton(0, ch))


def lone_surrogate(text: str) -> int | None:
    """Offset of the first lone surrogate in `text` (a ``\\udXXX`` JSON escape with no pair: not valid Unicode,
    and refused by UTF-8 encoders, polars, arrow and SQLite), else None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError as exc:
        return exc.start


def escape_surrogates(text: str) -> str:
    """`text` with lone surrogates written as ``\\udXXX`` escapes (backslashreplace), so any column takes it."""
    return text if lone_surrogate(text) is None else text.encode("utf-8", "backslashreplace").decode("utf-8")


def strip_invisible(text: str) -> str:
    """`text` without format (Cf) and other default-ignorable characters."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if not _is_invisible(ch))


def fold_confusables(text: str) -> str:
    """NFKC, invisibles removed, non-ASCII characters replaced by their confusable skeletons (module docstring)."""
    text = unicodedata.normalize("NFKC", text or "")
    if text.isascii():
        return text
    return "".join(ch if ch.isascii() else _char_fold(ch) for ch in text)


def identity_text(text: str) -> str:
    """The text two problems must share to be the same problem: folded, casefolded, `$` dropped, spaces collapsed.

    Casefolding comes first, so a capital look-alike and its small form fold to the same letter (Cyrillic ``І``
    -> ``і`` -> ``i``, as ASCII ``I`` -> ``i``)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    if not text.isascii():
        text = fold_confusables(text).casefold()
    return _WHITESPACE.sub(" ", text.replace("$", "")).strip()
