"""Algebra problems (written for this project)."""

from __future__ import annotations

from ._row import row

ROWS = [
    row(
        r"If $3x + 5 = 20$, what is the value of $x^2 - 2x$?",
        r"""Okay, so first I need to solve for x. The equation is 3x + 5 = 20. Subtract 5 from both sides: 20 - 5 = 15, so 3x = 15.

So 3x + 5 = 20 gives x = 5.

Now plug into x^2 - 2x. x^2 is 5^2 = 25, and 2x is 2 \times 5 = 10. So 25 - 10 = 15.

Wait, let me double-check the first step. 3 \times 5 + 5 = 20. Yes, that's right.

So x^2 - 2x = 15.

**Final Answer**
\boxed{15}""",
        r"""From \(3x + 5 = 20\) we get \(3x = 15\), so \(x = 5\). Then
\[
x^2 - 2x = 25 - 10 = 15.
\]
\(\boxed{15}\)""",
        r"""Subtracting $5$ gives $3x=15$, so $x=5$. Then $x^2-2x=25-10=\boxed{15}$.""",
        source="math",
    ),
    row(
        "The sum of two numbers is 27 and their difference is 5. What is their product?",
        r"""Let the numbers be a and b with a > b. Then a + b = 27 and a - b = 5.

Adding the two equations: 2a = 27 + 5 = 32, so a = 16. Let me compute it directly: 32 / 2 = 16.

Then b = 27 - 16 = 11. Check the difference: 16 - 11 = 5. Good.

The product is 16 \times 11 = 176.

**Final Answer**
\boxed{176}""",
        r"""Adding \(a + b = 27\) and \(a - b = 5\) gives \(2a = 32\), so \(a = 16\) and \(b = 11\). The product is \(16 \times 11 = \boxed{176}\).""",
        r"""The numbers are $\frac{27+5}{2}=16$ and $\frac{27-5}{2}=11$, so their product is $16\cdot 11=\boxed{176}$.""",
        source="math",
    ),
    row(
        r"Solve for $x$: $\frac{x}{4} + \frac{x}{6} = 5$.",
        r"""Hmm, fractions with denominators 4 and 6. The least common multiple of 4 and 6 is 12, so multiply everything by 12.

12 \times \frac{x}{4} = 3x and 12 \times \frac{x}{6} = 2x, and 12 \times 5 = 60.

So 3x + 2x = 60, which is 5x = 60, and 5x = 60 gives x = 12.

Let me verify: 12 / 4 = 3 and 12 / 6 = 2, and 3 + 2 = 5. Correct.

**Final Answer**
\boxed{12}""",
        r"""Multiplying by 12: \(3x + 2x = 60\), so \(5x = 60\) and \(x = 12\).

Check: \(\frac{12}{4} + \frac{12}{6} = 3 + 2 = 5\). \(\boxed{12}\)""",
        r"""Multiplying both sides by $12$ gives $3x+2x=60$, so $x=\boxed{12}$.""",
        source="math",
    ),
    row(
        r"The roots of $x^2 - 7x + 10 = 0$ are $r$ and $s$. What is $r^2 + s^2$?",
        r"""Okay, I could just find the roots, but let me use Vieta's formulas. For x^2 - 7x + 10, the sum of roots is r + s = 7 and the product is rs = 10.

Then r^2 + s^2 = (r + s)^2 - 2rs. So that's 7^2 - 2 \times 10 = 49 - 20 = 29.

Let me double check by actually factoring: x^2 - 7x + 10 = (x - 2)(x - 5). So the roots are 2 and 5. Then 2^2 + 5^2 = 4 + 25 = 29. Same answer.

**Final Answer**
\boxed{29}""",
        r"""By Vieta, \(r + s = 7\) and \(rs = 10\), so
\[
r^2 + s^2 = (r+s)^2 - 2rs = 49 - 20 = 29.
\]
\(\boxed{29}\)""",
        r"""We have $r+s=7$ and $rs=10$, so $r^2+s^2=(r+s)^2-2rs=49-20=\boxed{29}$.""",
        source="amc_aime",
    ),
    row(
        "Alice is 3 times as old as Bob. In 10 years, Alice will be twice as old as Bob. How old is Alice now?",
        r"""Let Bob's age be b. Then Alice is 3b.

In 10 years Bob will be b + 10 and Alice will be 3b + 10. The condition says 3b + 10 = 2(b + 10).

Expanding the right side: 2(b + 10) = 2b + 20. So 3b + 10 = 2b + 20 gives b = 10.

So Bob is 10 and Alice is 3 \times 10 = 30.

Check: in 10 years Alice is 30 + 10 = 40 and Bob is 10 + 10 = 20, and 40 = 2 \times 20. Yes!

**Final Answer**
\boxed{30}""",
        r"""Let Bob be \(b\) years old, so Alice is \(3b\). Then \(3b + 10 = 2(b + 10)\), which gives \(b = 10\). Alice is \(3 \times 10 = \boxed{30}\) years old.""",
        r"""If Bob is $b$ years old, then $3b+10=2(b+10)$, so $b=10$ and Alice is $\boxed{30}$.""",
        source="math",
    ),
    row(
        r"If $f(x) = 2x^2 - 3x + 1$, what is $f(4)$?",
        r"""Just substitute x = 4.

2x^2 becomes 2 \times 4^2 = 2 \times 16 = 32.

3x becomes 3 \times 4 = 12.

So f(4) = 32 - 12 + 1 = 21.

Hmm, let me redo it to be safe: 4^2 = 16, 2 \times 16 = 32, 32 - 12 = 20, 20 + 1 = 21. Yes.

**Final Answer**
\boxed{21}""",
        r"""\(f(4) = 2 \cdot 16 - 12 + 1 = 21\). So \(f(4) = \boxed{21}\).""",
        r"""$f(4)=2\cdot 4^2-3\cdot 4+1=32-12+1=\boxed{21}$.""",
        source="math",
    ),
    row(
        r"Find the sum of all real solutions of $|2x - 5| = 9$.",
        r"""Okay, absolute value equation. Two cases.

Case 1: 2x - 5 = 9 gives x = 7. Check: 2 \times 7 - 5 = 9. Good.

Case 2: 2x - 5 = -9 gives x = -2. Check: 2 \times (-2) - 5 = -9. Good, and |-9| is 9.

So the solutions are 7 and -2, and their sum is 7 + (-2) = 5.

Alternatively, the solutions are symmetric around the point where 2x - 5 = 0, which is x = 2.5, so the sum is 2 \times 2.5 = 5. Consistent.

**Final Answer**
\boxed{5}""",
        r"""Either \(2x - 5 = 9\), so \(x = 7\), or \(2x - 5 = -9\), so \(x = -2\). The sum of the solutions is \(7 + (-2) = \boxed{5}\).""",
        r"""The solutions are $x=7$ and $x=-2$, whose sum is $\boxed{5}$.""",
        source="olympiads",
    ),
    row(
        r"If $a + b = 10$ and $ab = 21$, find $a^3 + b^3$.",
        r"""Hmm, I remember the identity a^3 + b^3 = (a + b)^3 - 3ab(a + b).

So plug in: (a + b)^3 = 10^3 = 1000. And 3ab(a + b) = 3 \times 21 \times 10 = 630.

So a^3 + b^3 = 1000 - 630 = 370.

Let me verify with actual values. a and b are roots of t^2 - 10t + 21 = 0, which factors as (t - 3)(t - 7). So a and b are 3 and 7. Then 3^3 + 7^3 = 27 + 343 = 370. 

**Final Answer**
\boxed{370}""",
        r"""Using \(a^3 + b^3 = (a+b)^3 - 3ab(a+b)\):
\[
a^3 + b^3 = 1000 - 3 \cdot 21 \cdot 10 = 1000 - 630 = 370.
\]
\(\boxed{370}\)""",
        r"""We have $a^3+b^3=(a+b)^3-3ab(a+b)=1000-630=\boxed{370}$.""",
        source="aops_forum",
    ),
    row(
        r"Compute $\log_2 64 + \log_3 81$.",
        r"""Okay, \log_2 64 asks what power of 2 gives 64. 2^6 = 64, so \log_2 64 = 6.

\log_3 81: 3^4 = 81, so it's 4. Let me make sure: 3 \times 3 \times 3 \times 3 = 81. Yes.

Sum: 6 + 4 = 10.

**Final Answer**
\boxed{10}""",
        r"""Since \(2^6 = 64\) and \(3^4 = 81\), the sum is \(6 + 4 = \boxed{10}\).""",
        r"""$\log_2 64=6$ and $\log_3 81=4$, so the sum is $\boxed{10}$.""",
        source="math",
    ),
    row(
        r"Solve the inequality $x^2 - x - 6 < 0$. Express your answer in interval notation.",
        r"""First find where x^2 - x - 6 = 0. Factor: I need two numbers that multiply to -6 and add to -1. That's -3 and 2. So (x - 3)(x + 2) = 0, roots x = 3 and x = -2.

Check the roots: 3^2 - 3 - 6 = 0, and (-2)^2 - (-2) - 6 = 4 + 2 - 6 = 0. Good.

The parabola opens upward, so it's negative between the roots. Test x = 0: 0^2 - 0 - 6 = -6, which is negative. Test x = 4: 4^2 - 4 - 6 = 6, positive. So the solution is strictly between -2 and 3.

The inequality is strict, so the endpoints are excluded.

**Final Answer**
\boxed{(-2, 3)}""",
        r"""Factor: \((x - 3)(x + 2) < 0\). The product is negative strictly between the roots \(-2\) and \(3\), so the solution set is \(\boxed{(-2, 3)}\).""",
        r"""Since $x^2-x-6=(x-3)(x+2)$, the expression is negative exactly when $-2<x<3$, i.e. $x\in\boxed{(-2,3)}$.""",
        source="math",
    ),
    row(
        r"Find the domain of $f(x) = \sqrt{6 - 2x} + \sqrt{x + 1}$. Express your answer in interval notation.",
        r"""Both square roots need non-negative arguments.

First: 6 - 2x \geq 0 means 2x \leq 6, so x \leq 3. Indeed 6 / 2 = 3.

Second: x + 1 \geq 0 means x \geq -1.

Both conditions together: -1 \leq x \leq 3. The endpoints are allowed because the square root of 0 is fine. At x = 3: 6 - 2 \times 3 = 0. At x = -1: -1 + 1 = 0.

So the domain is the closed interval from -1 to 3.

**Final Answer**
\boxed{[-1, 3]}""",
        r"""We need \(6 - 2x \ge 0\) and \(x + 1 \ge 0\), i.e. \(x \le 3\) and \(x \ge -1\). The domain is \(\boxed{[-1, 3]}\).""",
        r"""We need $6-2x\ge 0$ and $x+1\ge 0$, that is $-1\le x\le 3$. The domain is $\boxed{[-1,3]}$.""",
        source="math",
    ),
    # Correct, but written as an inequality while the gold answer is an interval.
    row(
        r"Solve $2x - 3 > 5$ for $x$. Express your answer in interval notation.",
        r"""Add 3 to both sides: 2x > 5 + 3 = 8. Divide by 2: x > 8 / 2 = 4.

So every x greater than 4 works. Check a value: x = 5 gives 2 \times 5 - 3 = 7, and 7 > 5. And x = 4 gives 2 \times 4 - 3 = 5, which is not greater than 5, so 4 itself is excluded.

**Final Answer**
\boxed{x > 4}""",
        r"""Adding 3 gives \(2x > 8\), so \(x > 4\).

\(\boxed{x > 4}\)""",
        r"""We get $2x>8$, so $x>4$, which is the interval $\boxed{(4,\infty)}$.""",
        source="math",
        kind="equivalent_form",
        why="the teacher answers 'x > 4' while the gold answer is the interval (4, \\infty)",
    ),
    # Correct, but the answer is never boxed.
    row(
        r"Find the value of $x$ such that $5^{x+1} = 625$.",
        r"""Okay, 625 is a power of 5. Let me check: 5^2 = 25, 5^3 = 125, 5^4 = 625. Yes, 625 = 5^4.

So 5^{x+1} = 5^4, which means x + 1 = 4, so x = 3.

Double check: 5^{3+1} = 5^4 = 625. Correct.""",
        r"""Since \(625 = 5^4\), we need \(x + 1 = 4\).

**Answer:** \(x = 3\)""",
        r"""Since $625=5^4$, $x+1=4$ and $x=\boxed{3}$.""",
        source="math",
        kind="no_boxed",
        why="the teacher writes '**Answer:** x = 3' without \\boxed{}",
    ),
]
