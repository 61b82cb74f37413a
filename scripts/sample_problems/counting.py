"""Combinatorics and probability problems (written for this project)."""

from __future__ import annotations

from ._row import row

ROWS = [
    row(
        "In how many ways can a committee of 3 people be chosen from a group of 8 people?",
        r"""Order doesn't matter in a committee, so this is a combination: \binom{8}{3}.

\binom{8}{3} = \frac{8 \times 7 \times 6}{3!}. The numerator is 8 \times 7 \times 6 = 336, and 3! = 6. So 336 / 6 = 56.

Sanity check with the symmetric version \binom{8}{5}, which should be the same: \frac{8!}{5! \cdot 3!} = \frac{40320}{120 \times 6} = 56. Yes.

**Final Answer**
\boxed{56}""",
        r"""The number of committees is
\[
\binom{8}{3} = \frac{8 \cdot 7 \cdot 6}{3 \cdot 2 \cdot 1} = 56.
\]
\(\boxed{56}\)""",
        r"""The answer is $\binom{8}{3}=\frac{8\cdot 7\cdot 6}{6}=\boxed{56}$.""",
        source="math",
    ),
    row(
        "How many integers from 1 to 100, inclusive, are divisible by 3 or 5?",
        r"""Inclusion-exclusion. Multiples of 3 up to 100: floor of 100/3, and 3 \times 33 = 99, so 33 of them.

Multiples of 5: 5 \times 20 = 100, so 20.

Multiples of both means multiples of 15: 15 \times 6 = 90 and 15 \times 7 = 105 is too big, so 6.

Total: 33 + 20 - 6 = 47.

**Final Answer**
\boxed{47}""",
        r"""By inclusion-exclusion: \(33 + 20 - 6 = \boxed{47}\).""",
        r"""There are $33$ multiples of $3$, $20$ multiples of $5$ and $6$ multiples of $15$, so the answer is $33+20-6=\boxed{47}$.""",
        source="math",
    ),
    row(
        "How many distinct arrangements of the letters in the word BANANA are there?",
        r"""BANANA has 6 letters: B once, A three times, N twice.

The number of distinct arrangements is 6! divided by the factorials of the repeat counts: \frac{6!}{3! \cdot 2!}.

6! = 720, 3! = 6, 2! = 2. So 720 / (6 \times 2) = 720 / 12 = 60.

Let me double check the letter counts: B-A-N-A-N-A, yes 1 B, 3 A's, 2 N's, and 1 + 3 + 2 = 6.

**Final Answer**
\boxed{60}""",
        r"""With 3 A's and 2 N's among 6 letters, the number of arrangements is \(\frac{6!}{3!\,2!} = \frac{720}{12} = \boxed{60}\).""",
        r"""The number of arrangements is $\frac{6!}{3!\,2!}=\boxed{60}$.""",
        source="math",
    ),
    row(
        r"How many shortest lattice paths are there from $(0,0)$ to $(4,3)$ if each step moves one unit right or "
        r"one unit up?",
        r"""Every shortest path uses exactly 4 right steps and 3 up steps, so 7 steps in total. A path is determined by which 3 of the 7 steps are up.

So the count is \binom{7}{3} = \frac{7!}{3! \cdot 4!}. 7! = 5040, 3! = 6, 4! = 24, and 6 \times 24 = 144. Then 5040 / 144 = 35.

Alternatively \frac{7 \times 6 \times 5}{6} = 35. Same.

**Final Answer**
\boxed{35}""",
        r"""A path is a sequence of 4 R's and 3 U's, so there are \(\binom{7}{3} = 35\) paths.

\(\boxed{35}\)""",
        r"""Each path consists of $4$ right steps and $3$ up steps in some order, so there are $\binom{7}{3}=\boxed{35}$ paths.""",
        source="math",
    ),
    # Correct, but the ground-truth solution states the answer without \boxed{}.
    row(
        "At a party, each of 12 people shakes hands exactly once with each of the other people. How many "
        "handshakes take place?",
        r"""Each handshake involves a pair of people, so I need the number of pairs from 12: \binom{12}{2}.

\binom{12}{2} = \frac{12 \times 11}{2} = 66.

Another way: each person shakes 11 hands, giving 12 \times 11 = 132, but each handshake is counted twice, so 132 / 2 = 66.

**Final Answer**
\boxed{66}""",
        r"""Each handshake is a pair of people: \(\binom{12}{2} = \frac{12 \cdot 11}{2} = \boxed{66}\).""",
        r"""Each of the $12$ people shakes $11$ hands, and each handshake is counted twice, so there are $\frac{12\cdot 11}{2}=66$ handshakes.""",
        source="math",
        kind="gold_unboxed",
        why="the ground-truth solution states 66 without \\boxed{}, so gold_answer is null",
    ),
    row(
        "Two fair six-sided dice are rolled. What is the probability that the sum of the numbers shown is 8?",
        r"""Total outcomes: 6 \times 6 = 36.

Pairs that sum to 8: 2 + 6 = 8, 3 + 5 = 8, 4 + 4 = 8, 5 + 3 = 8, 6 + 2 = 8. So (2,6), (3,5), (4,4), (5,3), (6,2). That's 5 outcomes. (1,7) isn't possible since a die only goes to 6.

So the probability is 5/36.

Let me make sure I haven't missed any: first die 2 needs 6, 3 needs 5, 4 needs 4, 5 needs 3, 6 needs 2. First die 1 would need 7. So exactly 5. And 5 and 36 share no factors.

**Final Answer**
\boxed{\dfrac{5}{36}}""",
        r"""There are \(6 \times 6 = 36\) equally likely outcomes, of which 5 have sum 8: \((2,6), (3,5), (4,4), (5,3), (6,2)\). The probability is \(\boxed{\dfrac{5}{36}}\).""",
        r"""Of the $36$ outcomes, $5$ give a sum of $8$, so the probability is $\boxed{\frac{5}{36}}$.""",
        source="math",
    ),
    row(
        "A bag contains 4 red marbles and 6 blue marbles. Two marbles are drawn at random without replacement. "
        "What is the probability that both marbles are red?",
        r"""First draw red: 4 out of 10. Then, with one red gone, 3 red out of 9 left.

So P = \frac{4}{10} \cdot \frac{3}{9} = \frac{12}{90}. Simplify: divide top and bottom by 6, 12 / 6 = 2 and 90 / 6 = 15. So \frac{2}{15}.

Alternatively with combinations: \binom{4}{2} = 6 ways to pick 2 reds, \binom{10}{2} = 45 ways total, and \frac{6}{45} = \frac{2}{15}. Same.

**Final Answer**
\boxed{\frac{2}{15}}""",
        r"""\[
P = \frac{4}{10} \cdot \frac{3}{9} = \frac{12}{90} = \frac{2}{15}.
\]
\(\boxed{\frac{2}{15}}\)""",
        r"""The probability is $\frac{\binom42}{\binom{10}2}=\frac{6}{45}=\boxed{\frac{2}{15}}$.""",
        source="math",
    ),
    row(
        "A fair coin is flipped 5 times. What is the probability of getting exactly 3 heads?",
        r"""Each sequence of 5 flips has probability (1/2)^5 = 1/32. 

The number of sequences with exactly 3 heads is \binom{5}{3} = 10. Let me compute: \frac{5 \times 4 \times 3}{3 \times 2 \times 1} = \frac{60}{6} = 10.

So the probability is 10 / 32 = 5 / 16.

**Final Answer**
\boxed{\dfrac{5}{16}}""",
        r"""\(P = \binom{5}{3} \left(\frac{1}{2}\right)^5 = \frac{10}{32} = \boxed{\dfrac{5}{16}}\).""",
        r"""The probability is $\binom53\cdot\frac1{2^5}=\frac{10}{32}=\boxed{\frac{5}{16}}$.""",
        source="math",
    ),
    row(
        "Three fair six-sided dice are rolled. What is the probability that at least one of them shows a 6?",
        r"""Easier to use the complement: probability that none show a 6.

Each die misses 6 with probability 5/6, so all three miss with probability (5/6)^3 = 125/216. Indeed 5^3 = 125 and 6^3 = 216.

So at least one 6 has probability 1 - 125/216 = 91/216. Check: 216 - 125 = 91.

Can it simplify? 91 = 7 \times 13 and 216 = 2^3 \times 3^3, no common factors.

**Final Answer**
\boxed{\dfrac{91}{216}}""",
        r"""\(P(\text{at least one 6}) = 1 - \left(\frac{5}{6}\right)^3 = 1 - \frac{125}{216} = \boxed{\dfrac{91}{216}}\).""",
        r"""The probability that no die shows a $6$ is $\left(\frac56\right)^3=\frac{125}{216}$, so the answer is $1-\frac{125}{216}=\boxed{\frac{91}{216}}$.""",
        source="math",
    ),
    row(
        "A positive divisor of 36 is chosen at random. What is the probability that it is a perfect square?",
        r"""Divisors of 36: 1, 2, 3, 4, 6, 9, 12, 18, 36. That's 9 divisors. Also from 36 = 2^2 \times 3^2 the count is (2 + 1)(2 + 1) = 9. Good.

Perfect squares among them: 1, 4, 9, 36. That's 4.

So the probability is 4/9.

**Final Answer**
\boxed{\frac{4}{9}}""",
        r"""36 has \((2+1)(2+1) = 9\) divisors, of which 4 (namely 1, 4, 9, 36) are perfect squares. The probability is \(\boxed{\frac{4}{9}}\).""",
        r"""The divisors of $36$ are $1,2,3,4,6,9,12,18,36$, and $1,4,9,36$ are squares. The probability is $\boxed{\frac49}$.""",
        source="olympiads",
    ),
    # Correct, but the teacher answers with a decimal while the gold answer is a fraction.
    row(
        "A spinner is divided into 8 equal sections, 3 of which are red. The spinner is spun twice. What is the "
        "probability that it lands on red both times?",
        r"""Each spin lands on red with probability 3/8, and the spins are independent.

So both red: \frac{3}{8} \times \frac{3}{8} = \frac{9}{64}.

As a decimal, 9 / 64 = 0.140625.

**Final Answer**
\boxed{0.140625}""",
        r"""The probability is \(\left(\frac{3}{8}\right)^2 = \frac{9}{64} = 0.140625\).

\(\boxed{0.140625}\)""",
        r"""The probability is $\left(\frac38\right)^2=\boxed{\frac{9}{64}}$.""",
        source="math",
        kind="equivalent_form",
        why="the teacher boxes the decimal 0.140625 while the gold answer is \\frac{9}{64}",
    ),
    # Deliberate: the teacher counts ordered pairs (10 x 9) for an unordered choice.
    row(
        "In how many ways can 2 co-captains be chosen from a team of 10 players?",
        r"""We pick the first co-captain in 10 ways and the second in 9 ways.

So 10 \times 9 = 90 ways.

**Final Answer**
\boxed{90}""",
        r"""There are 10 choices for the first co-captain and 9 for the second, so \(10 \times 9 = \boxed{90}\).""",
        r"""The two co-captains form an unordered pair, so there are $\binom{10}{2}=\frac{10\cdot 9}{2}=\boxed{45}$ ways.""",
        source="math",
        kind="wrong_answer",
        flaw="conceptual_error",
        why="the teacher counts ordered pairs (90) for an unordered choice of two co-captains (gold 45)",
    ),
    # Deliberate: the teacher draws with replacement although the problem says without.
    row(
        "Two cards are drawn at random without replacement from a standard 52-card deck. What is the probability "
        "that both are aces?",
        r"""The probability of an ace is \frac{4}{52} = \frac{1}{13}.

Two aces: \frac{1}{13} \times \frac{1}{13} = \frac{1}{169}. Since 13^2 = 169.

**Final Answer**
\boxed{\dfrac{1}{169}}""",
        r"""Each draw is an ace with probability \(\frac{4}{52} = \frac{1}{13}\), so both are aces with probability \(\frac{1}{169}\).

\(\boxed{\dfrac{1}{169}}\)""",
        r"""The probability is $\frac{4}{52}\cdot\frac{3}{51}=\frac{12}{2652}=\boxed{\frac{1}{221}}$.""",
        source="math",
        kind="wrong_answer",
        flaw="conceptual_error",
        why="the teacher multiplies 4/52 by itself (drawing with replacement); without replacement it is 1/221",
    ),
]
