"""The scripted policy of the MCTS / pairs tests: known right and wrong steps for "What is 12 * 7 + 1?" (gold 85).

Tree the search must build (children=2), with each node's evaluation:

    root
    ├── c1  step R1: x = 12 * 7; print(x + 1) -> 85     simulation: R2a ... \\boxed{85}   +1
    │   ├── c3  R2a: print(x + 1) again -> 85 (needs x)  simulation: \\boxed{85}         +1
    │   │   └── c5  "So the answer is 85" (EOS)                                       +1
    │   └── c4  "So the answer is 86" (EOS)                                           -1
    └── c2  step W1: x = 12 * 7; print(x - 1) -> 83     simulation: \\boxed{83}          -1
        ├── c6  "So the answer is 83" (EOS)                                           -1
        └── c7  "That subtracted; x + 1 is 85" (EOS)                                  +1

The faulty fragment at the root is one character of code (``+`` vs ``-``) and its interpreter output.
"""

from __future__ import annotations

PROBLEM = "What is 12 * 7 + 1?"
GOLD = "85"


def code(body: str) -> str:
    return f"<code>\n```python\n{body}\n```\n</code>"


def interpreter(text: str) -> str:
    return f"\n<interpreter>\n{text}\n</interpreter>\n"


R1 = "Let x be the product.\n" + code("x = 12 * 7\nprint(x + 1)") + interpreter("85")
W1 = "Let x be the product.\n" + code("x = 12 * 7\nprint(x - 1)") + interpreter("83")
R2A = "Check it once more.\n" + code("print(x + 1)") + interpreter("85")
R3 = "So the answer is 85.\n<answer>\\boxed{85}</answer>"
W2 = "So the answer is 86.\n<answer>\\boxed{86}</answer>"
W3 = "So the answer is 83.\n<answer>\\boxed{83}</answer>"
FIX = "That subtracted; x + 1 is 85.\n<answer>\\boxed{85}</answer>"

SCRIPT = {
    "": [R1 + R2A + R3, W1 + W3],
    R1: [R2A + R3, W2],
    W1: [W3, FIX],
}
