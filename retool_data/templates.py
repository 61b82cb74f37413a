"""Versioned prompt templates from the ReTool paper (arXiv 2504.11536).

Every dataset row records the template version that built it (`CURATION_TEMPLATE.version`), and the LLM cache
keys include it, so changing a template's text means bumping its version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD_RE = re.compile(r"\{([a-z_]+)\}")  # a placeholder such as {question}


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def format(self, **fields: str) -> str:
        missing = [k for k in self.fields if k not in fields]
        if missing:
            raise KeyError(f"template {self.id} needs {missing}")
        # One pass over the template: a value that itself contains "{field}" (a problem quoting a placeholder)
        # is inserted verbatim, never substituted again.
        return _FIELD_RE.sub(lambda m: fields.get(m.group(1), m.group(0)), self.text)

    @property
    def fields(self) -> list[str]:
        return sorted(set(_FIELD_RE.findall(self.text)))

    def unwrap(self, content: str, field: str = "question") -> str | None:
        """The value of ``field`` in ``content`` if this (one-field) template rendered it, else None."""
        head, _, tail = self.text.partition("{" + field + "}")
        if content.startswith(head) and content.endswith(tail) and len(content) >= len(head) + len(tail):
            return content[len(head) : len(content) - len(tail)]
        return None


# The cold-start curation template: turns a text-only reasoning trace into code-augmented reasoning. Version 2 adds
# rules and two worked examples of code that does the work (it solves, enumerates, checks; the text after a block
# states its result once instead of redoing it), the bar `retool_data.trace_quality` scores traces against.
CURATION_TEMPLATE = PromptTemplate(
    name="retool-coldstart",
    version="2",
    text="""You are a helpful AI assistant. Initially, when solving a question, you would need to think step by step, \
without the ability to use code for calculation. Now, you have the capability to write code to use the code \
interpreter for calculation. The code will be executed by a sandbox, and the result can be returned to enhance \
your reasoning process. You can now leverage code to enhance your calculation while still maintaining the \
reasoning process.
The thinking process can have multiple code snippets. Each code snippet is wrapped with: <code>
```python
code snippet
```
</code>, and should be executable. The returned result is wrapped with <interpreter>
execution results
</interpreter>.

Goal: Modify the original thinking process to make it more accurate by replacing manual calculation steps with \
code snippets and their execution results. The core reasoning logic of the original thinking process, including \
any unsuccessful attempts, should remain unchanged. You should only add necessary code snippets to assist in the \
calculation.

User Question:
{question}

Original Thinking Process (without code interpreter's support):
<original_thinking_process>
{original_response}
</original_thinking_process>

Details:
1. Identify sections in the <original_thinking_process> that would benefit from code execution (for example \
complex calculations, solving equations, checking cases or verifying a result).
2. Replace those sections with code snippets and the corresponding interpreter's execution results.
3. Keep the logical flow of the reasoning process, including the unsuccessful attempts.
4. The code must be complete and executable, and the execution results must match exactly what the code \
prints, with no extra or missing tokens.
5. End with the final answer in the form <answer>\\boxed{...}</answer>, and box the answer only there.
6. Let the code do the work: after a code snippet, state its result once, citing the output; never redo its \
calculation by hand. Leave calculations a reader does at a glance (such as 12 + 14) as text.
7. Put each code snippet right after the sentence that says what it computes, never before it.
8. Use exact arithmetic (fractions.Fraction, sympy) and round only at the end, to the digits the text uses; \
use sympy to solve equations and systems, and to expand, factor or simplify expressions.
9. Where the problem allows it, finish with a check in code: substitute the answer back, or try every case of \
a small search space.

Example 1.
Original: We need x^2 - 5x + 6 = 0. Factoring, (x - 2)(x - 3) = 0, so x = 2 or x = 3, and the sum of the \
roots is 2 + 3 = 5.
Revised: We need the roots of $x^2 - 5x + 6 = 0$ and their sum.
<code>
```python
from sympy import solve, symbols
x = symbols('x')
roots = solve(x**2 - 5*x + 6, x)
print(roots, sum(roots))
```
</code>
<interpreter>
[2, 3] 5
</interpreter>
The roots are 2 and 3, so the sum of the roots is 5.
<answer>\\boxed{5}</answer>

Example 2.
Original: Integers from 1 to 100 divisible by 3 or 5: there are 33 multiples of 3, 20 of 5 and 6 of 15, so \
33 + 20 - 6 = 47.
Revised: We count the integers from 1 to 100 divisible by 3 or 5. The range is small, so check every one.
<code>
```python
count = sum(1 for n in range(1, 101) if n % 3 == 0 or n % 5 == 0)
print(count)
```
</code>
<interpreter>
47
</interpreter>
There are 47 such integers.
<answer>\\boxed{47}</answer>

Revised Thinking Process (With code interpreter's support):
""",
)

# The RL rollout template (the paper's "Template for ReTool"): the user turn of every GRPO prompt and eval.
RL_TEMPLATE = PromptTemplate(
    name="retool-rl",
    version="1",
    text="""Solve the following problem step by step. You now have the ability to selectively write executable \
Python code to enhance your reasoning process. The Python code will be executed by an external sandbox, and the \
output (wrapped in `<interpreter>output_str</interpreter>`) can be returned to aid your reasoning and help you \
arrive at the final answer. The Python code should be complete scripts, including necessary imports.
Each code snippet is wrapped with `<code>
```python
code snippet
```
</code>`.
The last part of your response should be in the following format:
<answer>
\\boxed{'The final answer goes here.'}
</answer>

*user question:*
{question}

Remember to place the final answer in the last part using the format:
<answer>
\\boxed{'The final answer goes here.'}
</answer>""",
)

# The text-only baseline's user turn (evaluation without the interpreter): the RL template minus the code
# paragraph, with the same answer format, so the two runs differ only in the tool.
TEXT_TEMPLATE = PromptTemplate(
    name="retool-text",
    version="1",
    text="""Solve the following problem step by step.
The last part of your response should be in the following format:
<answer>
\\boxed{'The final answer goes here.'}
</answer>

*user question:*
{question}

Remember to place the final answer in the last part using the format:
<answer>
\\boxed{'The final answer goes here.'}
</answer>""",
)

TEMPLATES: dict[str, PromptTemplate] = {t.id: t for t in (CURATION_TEMPLATE, RL_TEMPLATE, TEXT_TEMPLATE)}


def curation_prompt(question: str, original_response: str) -> str:
    return CURATION_TEMPLATE.format(question=question, original_response=original_response)


def rl_prompt(question: str) -> str:
    return RL_TEMPLATE.format(question=question)


# The id of the prompt every stage builds (`build_prompt_messages` with its defaults); exported rows record it.
PROMPT_TEMPLATE_ID = RL_TEMPLATE.id


def build_prompt_messages(
    problem: str, *, template: PromptTemplate = RL_TEMPLATE, system_prompt: str | None = None
) -> list[dict[str, str]]:
    """The chat prompt of a problem: the one builder behind the export's ``messages``, SFT, GRPO, eval and iTool.

    One user turn, `RL_TEMPLATE` (the paper's "Template for ReTool") around the problem, and no system turn, so
    every stage renders the same prompt with a given chat template (the template's own default system turn, e.g.
    Qwen's, included alike) and the policy is trained (SFT), optimised (GRPO) and measured (eval) on one prompt.
    ``template``: `TEXT_TEMPLATE` for eval's text-only baseline. ``system_prompt``: a system turn first; set it
    in every stage or none (the export writes none).
    """
    user = {"role": "user", "content": template.format(question=problem)}
    return [{"role": "system", "content": system_prompt}, user] if system_prompt else [user]
