"""Values as a person types them: numbers and yes/no.

Owns `typed_number` and `YES_NO`, the one reading of what people type where a
number or a yes/no is asked for: the web form, ``procflow run``, and
``procflow decide``. The engine and the JSON API take the plain forms only.

Imports nothing of procflow.
"""

from __future__ import annotations

import re

__all__ = ["PLAIN_NUMBER", "YES_NO", "typed_number"]

PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
"""The plain form of a number that the engine stores and takes."""
_GROUPED_NUMBER = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_FULL_WIDTH_NUMBER = str.maketrans("０１２３４５６７８９．，－", "0123456789.,-")

YES_NO = {"y": True, "yes": True, "true": True, "是": True}
YES_NO |= {"n": False, "no": False, "false": False, "否": False}
"""The words a yes/no is typed as (lowercase), in English and Chinese."""


def typed_number(text: str, *, percent: bool = False) -> str:
    """A number as a person types it, in the plain form (`PLAIN_NUMBER`): full-width
    digits folded (what a Chinese input method types), blanks around it and commas
    between groups of three dropped (``1,200.50`` is ``1200.50``), and for a
    ``percent`` a ``%`` or ``％`` after it (``85%`` is ``85``). Anything else comes
    back as it was, for the caller to refuse with its own message: ``12,00`` stays
    ``12,00`` (a decimal comma, or a slip), never 1200."""
    folded = text.strip().translate(_FULL_WIDTH_NUMBER)
    if percent:
        folded = folded.removesuffix("%").removesuffix("％").rstrip()
    if _GROUPED_NUMBER.fullmatch(folded):
        return folded.replace(",", "")
    return folded if PLAIN_NUMBER.fullmatch(folded) else text
