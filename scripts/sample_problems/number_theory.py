"""Number theory problems (written for this project)."""

from __future__ import annotations

from ._row import row

ROWS = [
    row(
        r"What is the remainder when $2^{10}$ is divided by 7?",
        r"""Okay, 2^{10} = 1024. Now divide by 7.

7 \times 146 = 1022, and 1024 - 1022 = 2. So the remainder is 2.

Let me double-check with cycles of powers of 2 mod 7. 2^1 = 2, 2^2 = 4, 2^3 = 8, and 8 = 7 + 1, so 2^3 leaves remainder 1. Then 2^9 = (2^3)^3 leaves remainder 1, and 2^{10} = 2^9 \times 2 leaves remainder 2. Consistent.

**Final Answer**
\boxed{2}""",
        r"""Since \(2^3 = 8 \equiv 1 \pmod 7\), we get \(2^{10} = (2^3)^3 \cdot 2 \equiv 2 \pmod 7\). Directly: \(1024 = 7 \times 146 + 2\).

The remainder is \(\boxed{2}\).""",
        r"""Since $2^3\equiv 1\pmod 7$, $2^{10}=(2^3)^3\cdot 2\equiv 2\pmod 7$. The remainder is $\boxed{2}$.""",
        source="math",
    ),
    row(
        "Find the greatest common divisor of 252 and 198.",
        r"""I'll use the Euclidean algorithm.

252 divided by 198: 252 - 198 = 54, so gcd(252, 198) = gcd(198, 54).

198 divided by 54: 3 \times 54 = 162, and 198 - 162 = 36. So now gcd(54, 36).

54 - 36 = 18, so gcd(36, 18).

36 = 2 \times 18 exactly, so the gcd is 18.

Let me verify with prime factorizations: 252 = 2^2 \times 3^2 \times 7 and 198 = 2 \times 3^2 \times 11. Common part: 2 \times 3^2 = 18. Yes.

**Final Answer**
\boxed{18}""",
        r"""By the Euclidean algorithm:
- \(252 = 1 \cdot 198 + 54\)
- \(198 = 3 \cdot 54 + 36\)
- \(54 = 1 \cdot 36 + 18\)
- \(36 = 2 \cdot 18\)

So \(\gcd(252, 198) = \boxed{18}\).""",
        r"""$252=2^2\cdot 3^2\cdot 7$ and $198=2\cdot 3^2\cdot 11$, so the greatest common divisor is $2\cdot 3^2=\boxed{18}$.""",
        source="math",
    ),
    row(
        "What is the sum of the first 50 positive odd integers?",
        r"""The first 50 odd numbers are 1, 3, 5, and so on. The 50th one is 2 \times 50 - 1 = 99.

It's an arithmetic series, so the sum is (first + last) times count over 2: (1 + 99) \times 50 / 2 = 2500.

Also I remember the sum of the first n odd numbers is n^2, and 50^2 = 2500. Both agree.

**Final Answer**
\boxed{2500}""",
        r"""The sum of the first \(n\) odd numbers is \(n^2\), so the answer is \(50^2 = \boxed{2500}\).""",
        r"""The sum of the first $n$ odd positive integers is $n^2$, so the answer is $50^2=\boxed{2500}$.""",
        source="math",
    ),
    row(
        "How many positive divisors does 360 have?",
        r"""First factor 360. 360 = 36 \times 10, and 36 = 2^2 \times 3^2, 10 = 2 \times 5. So 360 = 2^3 \times 3^2 \times 5. Check: 8 \times 9 \times 5 = 360. Good.

The number of divisors is the product of (exponent + 1) for each prime: (3 + 1)(2 + 1)(1 + 1) = 4 \times 3 \times 2 = 24.

**Final Answer**
\boxed{24}""",
        r"""\(360 = 2^3 \cdot 3^2 \cdot 5\), so it has \((3+1)(2+1)(1+1) = 24\) positive divisors.

\(\boxed{24}\)""",
        r"""Since $360=2^3\cdot 3^2\cdot 5$, the number of divisors is $4\cdot 3\cdot 2=\boxed{24}$.""",
        source="math",
    ),
    row(
        "The first term of a geometric sequence is 3 and the common ratio is 2. What is the sum of the first 8 "
        "terms?",
        r"""The terms are 3, 6, 12, 24, 48, 96, 192, 384. Let me add them: 3 + 6 + 12 + 24 + 48 + 96 + 192 + 384 = 765.

Using the formula instead: S = a(r^n - 1)/(r - 1) with a = 3, r = 2, n = 8. 2^8 = 256, so 256 - 1 = 255, and 3 \times 255 = 765. Denominator is 2 - 1 = 1.

Both give 765.

**Final Answer**
\boxed{765}""",
        r"""\[
S_8 = \frac{3(2^8 - 1)}{2 - 1} = 3 \times 255 = 765.
\]
\(\boxed{765}\)""",
        r"""The sum is $3\cdot\frac{2^8-1}{2-1}=3\cdot 255=\boxed{765}$.""",
        source="math",
    ),
    row(
        r"What is the units digit of $7^{2023}$?",
        r"""Units digits of powers of 7 cycle. Let me list: 7^1 = 7, 7^2 = 49, 7^3 = 343, 7^4 = 2401. Units digits: 7, 9, 3, 1, then it repeats with period 4.

So I need 2023 mod 4. 4 \times 505 = 2020, and 2023 - 2020 = 3. So 2023 leaves remainder 3.

The third entry in the cycle is 3. So the units digit of 7^{2023} is 3.

**Final Answer**
\boxed{3}""",
        r"""The units digits of powers of 7 repeat with period 4: 7, 9, 3, 1. Since \(2023 = 4 \times 505 + 3\), the units digit is the third in the cycle, \(\boxed{3}\).""",
        r"""The units digits of $7^n$ cycle through $7,9,3,1$. As $2023\equiv 3\pmod 4$, the units digit is $\boxed{3}$.""",
        source="amc_aime",
    ),
    row(
        "What is the least common multiple of 12, 18, and 30?",
        r"""Prime factorizations: 12 = 2^2 \times 3, 18 = 2 \times 3^2, 30 = 2 \times 3 \times 5.

LCM takes the highest power of each prime: 2^2, 3^2, 5. So 2^2 \times 3^2 \times 5 = 4 \times 9 \times 5 = 180.

Check: 180 / 12 = 15, 180 / 18 = 10, 180 / 30 = 6. All whole numbers. Is there anything smaller? 90 / 12 = 7.5, so 90 fails. 180 it is.

**Final Answer**
\boxed{180}""",
        r"""\(\operatorname{lcm}(12, 18, 30) = 2^2 \cdot 3^2 \cdot 5 = \boxed{180}\).""",
        r"""Taking the highest prime powers, the least common multiple is $2^2\cdot 3^2\cdot 5=\boxed{180}$.""",
        source="math",
    ),
    row(
        "The product of three consecutive positive integers is 210. What is their sum?",
        r"""Three consecutive integers with product 210. The cube root of 210 is a bit less than 6 since 6^3 = 216. So try 5, 6, 7: 5 \times 6 \times 7 = 210. 

So the integers are 5, 6 and 7 and the sum is 5 + 6 + 7 = 18.

Could there be another triple? The product is increasing in the smallest integer, and 4 \times 5 \times 6 = 120 while 6 \times 7 \times 8 = 336, so no.

**Final Answer**
\boxed{18}""",
        r"""Since \(5 \times 6 \times 7 = 210\), the integers are 5, 6, 7 and their sum is \(\boxed{18}\).""",
        r"""We have $210=5\cdot 6\cdot 7$, so the sum is $5+6+7=\boxed{18}$.""",
        source="amc_aime",
    ),
    row(
        "What is the smallest positive integer that leaves a remainder of 2 when divided by 3, a remainder of 3 "
        "when divided by 5, and a remainder of 2 when divided by 7?",
        r"""Hmm, Chinese remainder theorem. The conditions mod 3 and mod 7 both say remainder 2, so the number is 2 more than a multiple of both 3 and 7, i.e. 2 more than a multiple of 3 \times 7 = 21.

Candidates: 2, 23, 44, 65, 86, and so on.

Now the mod 5 condition: remainder 3.
2 leaves remainder 2 mod 5. No.
23: 23 - 20 = 3. Yes! Remainder 3.

Let me verify 23 fully: 23 = 3 \times 7 + 2, so remainder 2 mod 3. 23 = 5 \times 4 + 3, remainder 3 mod 5. 23 = 7 \times 3 + 2, remainder 2 mod 7. 

So the smallest is 23.

**Final Answer**
\boxed{23}""",
        r"""The number is \(\equiv 2 \pmod{21}\), so it is one of \(2, 23, 44, \ldots\). The first of these that is \(\equiv 3 \pmod 5\) is \(23\).

\(\boxed{23}\)""",
        r"""The conditions modulo $3$ and $7$ give $n\equiv 2\pmod{21}$. Checking $2,23,\dots$ modulo $5$, the smallest solution is $\boxed{23}$.""",
        source="olympiads",
    ),
    # Deliberate: an arithmetic slip in the second partial sum (36 + 49 + 64 + 81 + 100 is 330).
    row(
        "Find the sum of the squares of the first 10 positive integers.",
        r"""I'll just add them in two groups.

First five: 1 + 4 + 9 + 16 + 25 = 55.

Next five: 36 + 49 + 64 + 81 + 100 = 340.

Total: 55 + 340 = 395.

**Final Answer**
\boxed{395}""",
        r"""Adding the squares in two groups: \(1 + 4 + 9 + 16 + 25 = 55\) and \(36 + 49 + 64 + 81 + 100 = 340\), so the sum is \(55 + 340 = \boxed{395}\).""",
        r"""By the formula $\frac{n(n+1)(2n+1)}{6}$, the sum is $\frac{10\cdot 11\cdot 21}{6}=\boxed{385}$.""",
        source="math",
        kind="wrong_answer",
        flaw="arithmetic_slip",
        why="36 + 49 + 64 + 81 + 100 is added up as 340 (it is 330), so the teacher answers 395 instead of 385",
    ),
    # Deliberate: inclusion-exclusion is forgotten; every stated calculation is right, the method is not.
    row(
        "How many positive integers less than 100 are multiples of 6 or 9?",
        r"""Multiples of 6 below 100: the largest is 96 and 6 \times 16 = 96, so there are 16 of them.

Multiples of 9 below 100: the largest is 99 and 9 \times 11 = 99, so there are 11.

Adding them: 16 + 11 = 27.

**Final Answer**
\boxed{27}""",
        r"""There are 16 multiples of 6 and 11 multiples of 9 below 100, for a total of \(16 + 11 = \boxed{27}\).""",
        r"""There are $16$ multiples of $6$ and $11$ multiples of $9$ below $100$. The multiples of both are the multiples of $18$, of which there are $5$. By inclusion-exclusion the answer is $16+11-5=\boxed{22}$.""",
        source="amc_aime",
        kind="wrong_answer",
        flaw="conceptual_error",
        why="the teacher adds the two counts and forgets the 5 common multiples of 18 (answers 27, gold 22)",
    ),
    # Correct, but the answer is never boxed.
    row(
        "Find the remainder when 1234 is divided by 9.",
        r"""A number and its digit sum leave the same remainder mod 9. The digit sum of 1234 is 1 + 2 + 3 + 4 = 10, and 10 leaves remainder 1 when divided by 9.

Let me confirm by dividing: 9 \times 137 = 1233, and 1234 - 1233 = 1. So the remainder is 1.""",
        r"""The digit sum is \(1 + 2 + 3 + 4 = 10\), and \(10 = 9 + 1\). Therefore the remainder is 1.""",
        r"""Since $1234=9\cdot 137+1$, the remainder is $\boxed{1}$.""",
        source="math",
        kind="no_boxed",
        why="the teacher ends with 'Therefore the remainder is 1.' without \\boxed{}",
    ),
]
