"""Two small text skills shipped as a plug-in package."""
from __future__ import annotations

import re

from skills import skill


@skill(tags=["text"], examples=["How many words are in this paragraph?"])
def word_count(text: str, unique: bool = False) -> int:
    """Count the words of a text.

    Args:
        text: The text to count.
        unique: Count distinct words (case-insensitive) instead of all words.
    """
    words = re.findall(r"\w+", text.lower())
    return len(set(words)) if unique else len(words)


@skill(tags=["text"], examples=["Turn this title into a URL slug"])
def slugify(title: str, max_length: int = 60) -> str:
    """Turn a title into a lower-case URL slug.

    Args:
        title: The title, for example "Hello, World!".
        max_length: Cut the slug to at most this many characters.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:max_length].rstrip("-")


SKILLS = [word_count, slugify]
