"""When two account names (usernames, email addresses) are the same account.

People type the same name in different ways: `émile` and `ÉMILE`, `josé` with a composed
`é` (U+00E9) or with `e` and a combining accent (U+0065 U+0301), `emile` in full-width
letters. They must find one account, and a second account must not be created under a
look-alike spelling. So every account name has two forms:

- `display_form`: what is stored and shown, the text as given in Unicode NFC (composed), so
  that the same visible name is always the same code points;
- `identity_key`: what is compared, NFKC with Unicode case folding (NFKC_Casefold), which
  also folds compatibility look-alikes (full-width letters, the ligature U+FB01 for `fi`).

SQLite's NOCASE folds ASCII only, so stores keep the key in a column of its own with a
unique index, and look accounts up by it.
"""

from __future__ import annotations

import unicodedata


def display_form(name: str) -> str:
    """`name` as it is stored and shown: Unicode NFC."""
    return unicodedata.normalize("NFC", name)


def identity_key(name: str) -> str:
    """The form two names are compared in: equal keys mean the same account."""
    # Casefolding can undo a normalisation (and NFKC can expose new case pairs), so the
    # fold is wrapped in normalisation on both sides, as Unicode's caseless matching does.
    folded = unicodedata.normalize("NFKC", name).casefold()
    return unicodedata.normalize("NFKC", folded)
