"""Arithmetic and word problems (written for this project)."""

from __future__ import annotations

from ._row import row

ROWS = [
    row(
        "A rectangular garden is 12 meters long and 7 meters wide. A path 1 meter wide is built around the "
        "outside of the garden. What is the area of the path, in square meters?",
        r"""Okay, so I need to find the area of a path that goes around a rectangular garden. The garden is 12 meters by 7 meters, and the path is 1 meter wide all the way around the outside.

Hmm, the easiest way is probably to compute the area of the big rectangle (garden plus path) and subtract the area of the garden.

If the path is 1 meter wide on every side, then the length grows by 1 meter on each end, so the outer length is 12 + 2 = 14 meters. Same for the width: 7 + 2 = 9 meters.

So the outer rectangle has area 14 \times 9 = 126 square meters.

The garden itself has area 12 \times 7 = 84 square meters.

Then the path is 126 - 84 = 42 square meters.

Wait, let me double-check by adding up the strips instead. Two long strips along the length: each is 12 by 1, so 2 \times 12 = 24. Two short strips along the width: each is 7 by 1, so 2 \times 7 = 14. Then the four corner squares, each 1 by 1, give 4. Total: 24 + 14 + 4 = 42. Yes, that matches.

**Final Answer**
The area of the path is \boxed{42} square meters.""",
        r"""The path adds 1 meter on every side, so the outer rectangle measures \(14 \times 9\) meters.

- Outer area: \(14 \times 9 = 126\) m\(^2\)
- Garden area: \(12 \times 7 = 84\) m\(^2\)
- Path area: \(126 - 84 = 42\) m\(^2\)

The area of the path is \(\boxed{42}\) square meters.""",
        r"""The garden together with the path is a rectangle measuring $(12+2)$ by $(7+2)$, that is $14$ by $9$, with area $126$. The garden alone has area $12\cdot 7=84$. So the path has area $126-84=\boxed{42}$ square meters.""",
    ),
    row(
        "A train travels 180 km in 2.5 hours. At the same constant speed, how many kilometers does it travel "
        "in 4 hours?",
        r"""Alright, let's figure out the speed first. The train goes 180 km in 2.5 hours, so the speed is 180 / 2.5 km per hour.

Let me compute that: 180 / 2.5 = 72. So the speed is 72 km/h. Check: 72 \times 2.5 = 180. Yes.

Now in 4 hours at 72 km/h, the distance is 72 \times 4 = 288 km.

Alternatively, I could scale directly: 4 hours is 4 / 2.5 = 1.6 times as long, so the distance is 180 \times 1.6 = 288. Same answer, good.

**Final Answer**
\boxed{288}""",
        r"""The speed is \( \frac{180}{2.5} = 72 \) km/h. In 4 hours the train travels \( 72 \times 4 = 288 \) km.

\[
\boxed{288}
\]""",
        r"""The speed of the train is $\frac{180}{2.5}=72$ km per hour, so in $4$ hours it travels $72\cdot 4=\boxed{288}$ km.""",
        source="math",
    ),
    row(
        "A jacket costs $80. It is discounted by 25%, and then a 10% sales tax is applied to the discounted "
        "price. What is the final price, in dollars?",
        r"""Okay, the jacket starts at 80 dollars. First the 25% discount.

25% of 80 is 0.25 \times 80 = 20, so the discounted price is 80 - 20 = 60 dollars. Equivalently 80 \times 0.75 = 60.

Now the 10% tax is applied to the discounted price, not the original. 10% of 60 is 60 \times 0.10 = 6. So the final price is 60 + 6 = 66.

Hmm, let me make sure I didn't apply it in the wrong order. The problem says discount first, then tax on the discounted price. Actually the order doesn't even matter for percentages multiplied together: 80 \times 0.75 \times 1.1 = 66. Either way it's 66.

**Final Answer**
\boxed{66}""",
        r"""After the discount the price is \(80 \times 0.75 = 60\) dollars. The tax adds \(60 \times 0.10 = 6\) dollars, so the final price is \(60 + 6 = \boxed{66}\) dollars.""",
        r"""The discounted price is $80(1-0.25)=60$ dollars, and after tax it becomes $60(1.10)=\boxed{66}$ dollars.""",
        source="math",
    ),
    row(
        "The average of five numbers is 18. When one of the numbers is removed, the average of the remaining "
        "four numbers is 15. What number was removed?",
        r"""Let me think. The average of five numbers is 18, so their sum is 5 \times 18 = 90.

After removing one number, the remaining four average 15, so their sum is 4 \times 15 = 60.

The removed number is the difference of the two sums: 90 - 60 = 30.

Let me sanity check: if the four numbers sum to 60 and we add back 30, we get 60 + 30 = 90, and 90 / 5 = 18. Correct.

**Final Answer**
\boxed{30}""",
        r"""The five numbers sum to \(5 \times 18 = 90\) and the remaining four sum to \(4 \times 15 = 60\). The removed number is \(90 - 60 = \boxed{30}\).""",
        r"""The sum of the five numbers is $5\cdot 18=90$ and the sum of the four remaining numbers is $4\cdot 15=60$. Hence the removed number is $90-60=\boxed{30}$.""",
        source="amc_aime",
    ),
    row(
        "Pipe A can fill a tank in 6 hours and pipe B can fill the same tank in 3 hours. If both pipes are "
        "opened together, how many hours will it take to fill the tank?",
        r"""Okay, classic work-rate problem. Pipe A fills 1/6 of the tank per hour, pipe B fills 1/3 of the tank per hour.

Together they fill \frac{1}{6} + \frac{1}{3} of the tank each hour. Common denominator 6: \frac{1}{6} + \frac{2}{6} = \frac{3}{6} = \frac{1}{2}.

So together they fill half the tank per hour, which means the whole tank takes 1 / \frac{1}{2} = 2 hours.

Check: in 2 hours, A fills 2/6 = 1/3 and B fills 2/3, and 1/3 + 2/3 = 1. Yes, exactly one tank.

**Final Answer**
\boxed{2}""",
        r"""Together the pipes fill \( \frac{1}{6} + \frac{1}{3} = \frac{1}{2} \) of the tank per hour, so the tank is full after \( \boxed{2} \) hours.""",
        r"""In one hour the two pipes fill $\frac16+\frac13=\frac12$ of the tank, so together they need $\boxed{2}$ hours.""",
        source="math",
    ),
    row(
        r"What is the value of $2^{10} - 2^{9} - 2^{8}$?",
        r"""Let me just compute each power. 2^{10} = 1024, 2^{9} = 512, and 2^{8} = 256.

So 1024 - 512 - 256. First 1024 - 512 = 512, then 512 - 256 = 256.

Alternatively, factor out 2^{8}: 2^{8}(2^2 - 2 - 1) = 2^{8} \cdot 1 = 256. Let me double check the inner part: 4 - 2 - 1 = 1. Yes.

So the answer is 256.

**Final Answer**
\boxed{256}""",
        r"""Factor out \(2^8\):
\[
2^{10} - 2^{9} - 2^{8} = 2^{8}(4 - 2 - 1) = 2^{8} = 256.
\]
The value is \(\boxed{256}\).""",
        r"""We have $2^{10}-2^9-2^8=2^8(2^2-2-1)=2^8=\boxed{256}$.""",
        source="amc_aime",
    ),
    row(
        r"Compute $\frac{1}{2} + \frac{1}{3} + \frac{1}{6} \cdot \frac{3}{4}$.",
        r"""Okay, order of operations first: the multiplication \frac{1}{6} \cdot \frac{3}{4} happens before the additions.

\frac{1}{6} \cdot \frac{3}{4} = \frac{3}{24} = \frac{1}{8}.

Now I need \frac{1}{2} + \frac{1}{3} + \frac{1}{8}. The least common denominator of 2, 3 and 8 is 24.

\frac{1}{2} = \frac{12}{24}, \frac{1}{3} = \frac{8}{24}, \frac{1}{8} = \frac{3}{24}.

Sum: 12 + 8 + 3 = 23, so the total is \frac{23}{24}.

Hmm, 23 is prime and doesn't divide 24, so it's already in lowest terms.

**Final Answer**
\boxed{\dfrac{23}{24}}""",
        r"""First multiply: \(\frac{1}{6} \cdot \frac{3}{4} = \frac{1}{8}\). Then
\[
\frac{1}{2} + \frac{1}{3} + \frac{1}{8} = \frac{12 + 8 + 3}{24} = \frac{23}{24}.
\]
\(\boxed{\dfrac{23}{24}}\)""",
        r"""Since $\frac16\cdot\frac34=\frac18$, the expression equals $\frac12+\frac13+\frac18=\frac{12+8+3}{24}=\boxed{\frac{23}{24}}$.""",
        source="math",
    ),
    row(
        r"What is the sum of the digits of $10^{5} - 7$?",
        r"""Let's see. 10^{5} = 100000. Subtract 7: 100000 - 7 = 99993.

The digits are 9, 9, 9, 9, 3. Their sum is 9 \times 4 + 3 = 39.

Double-check the subtraction: 99993 + 7 = 100000. Yes.

So the digit sum is 39.

**Final Answer**
\boxed{39}""",
        r"""\(10^5 - 7 = 99993\), whose digits sum to \(9 \times 4 + 3 = \boxed{39}\).""",
        r"""$10^5-7=99993$, and $9+9+9+9+3=\boxed{39}$.""",
        source="olympiads",
    ),
    row(
        r"Express $0.\overline{3} + 0.25$ as a common fraction.",
        r"""Okay, 0.\overline{3} is the repeating decimal 0.333..., which equals 1/3. Let me verify: if y = 0.333..., then 10y = 3.333..., and subtracting gives 9y = 3, so y = 3/9 = 1/3.

And 0.25 is 1/4.

So I need \frac{1}{3} + \frac{1}{4}. The common denominator is 12: \frac{4}{12} + \frac{3}{12} = \frac{7}{12}.

As a check, 7 / 12 \approx 0.5833, and 0.3333 + 0.25 = 0.5833. Matches.

**Final Answer**
\boxed{\frac{7}{12}}""",
        r"""Since \(0.\overline{3} = \frac{1}{3}\) and \(0.25 = \frac{1}{4}\),
\[
\frac{1}{3} + \frac{1}{4} = \frac{4 + 3}{12} = \boxed{\frac{7}{12}}.
\]""",
        r"""We have $0.\overline{3}=\frac13$ and $0.25=\frac14$, so the sum is $\frac13+\frac14=\boxed{\frac{7}{12}}$.""",
        source="math",
    ),
    # Deliberate: an arithmetic slip (17 x 23 is 391, not 381) carries through to a wrong answer.
    row(
        "A theater has 23 rows with 17 seats in each row. At one show, 45 seats are empty. How many people are "
        "seated?",
        r"""Okay, total seats first. There are 23 rows of 17 seats, so 17 \times 23 seats in total.

17 \times 23 = 381. Hmm, let me do it as 17 \times 20 = 340 plus 17 \times 3 = 51... that gives 340 + 41 = 381. Okay, 381 seats.

45 seats are empty, so the number of people seated is 381 - 45 = 336.

**Final Answer**
\boxed{336}""",
        r"""The theater has \(17 \times 23 = 381\) seats. With 45 empty, \(381 - 45 = 336\) people are seated.

\(\boxed{336}\)""",
        r"""There are $23\cdot 17=391$ seats, so $391-45=\boxed{346}$ people are seated.""",
        source="math",
        kind="wrong_answer",
        flaw="arithmetic_slip",
        why="17 x 23 is computed as 381 (it is 391), so the teacher answers 336 instead of 346",
    ),
    # Deliberate: an arithmetic slip in the last step (192 / 0.96 is 200).
    row(
        "A number is increased by 20% and the result is then decreased by 20%. The final result is 192. What "
        "was the original number?",
        r"""Let the original number be n. Increasing by 20% multiplies by 1.2, and decreasing by 20% multiplies by 0.8.

So the net factor is 1.2 \times 0.8 = 0.96. That means 0.96n = 192.

Then n = 192 / 0.96 = 210.

Hmm, interesting that it's not just back to the original, but that's expected since the 20% decrease applies to a bigger number.

**Final Answer**
\boxed{210}""",
        r"""The net change multiplies the number by \(1.2 \times 0.8 = 0.96\). So \(0.96n = 192\), giving \(n = 192 / 0.96 = 210\).

\(\boxed{210}\)""",
        r"""If the number is $n$, then $n(1.2)(0.8)=0.96n=192$, so $n=\boxed{200}$.""",
        source="amc_aime",
        kind="wrong_answer",
        flaw="arithmetic_slip",
        why="192 / 0.96 is written as 210 (it is 200)",
    ),
    # Deliberate: correct, but the answer is never boxed.
    row(
        r"What is the value of $1 + 2 + 3 + \cdots + 40$?",
        r"""Okay, this is the sum of the first 40 positive integers. The formula is n(n+1)/2.

With n = 40, that's 40 \times 41 / 2. 40 \times 41 = 1640, and 1640 / 2 = 820.

Let me double-check with pairing: pair 1 with 40, 2 with 39, and so on. Each pair sums to 41, and there are 20 pairs. 20 \times 41 = 820. Same.

So the sum is 820.""",
        r"""Using \(\frac{n(n+1)}{2}\) with \(n = 40\): \(\frac{40 \times 41}{2} = 820\).

The answer is 820.""",
        r"""The sum is $\frac{40\cdot 41}{2}=\boxed{820}$.""",
        source="math",
        kind="no_boxed",
        why="the teacher states 820 in words only; an answer extractor that needs \\boxed finds nothing",
    ),
]
