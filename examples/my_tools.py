"""A file of @skill functions, for `agentcl skills add examples/my_tools.py` (or a directory of such files)."""
from skills import skill


@skill(tags=["text"], examples=["how many vowels are in this sentence"])
def count_vowels(text: str) -> int:
    """Count the vowels in a text.

    Args:
        text: The text to count in.
    """
    return sum(ch in "aeiouAEIOU" for ch in text)
