"""Geometry problems (written for this project)."""

from __future__ import annotations

from ._row import row

ROWS = [
    row(
        "What is the length of the diagonal of a square with side length 6?",
        r"""The diagonal splits the square into two right triangles with legs 6 and 6. By Pythagoras, d^2 = 6^2 + 6^2.

6^2 + 6^2 = 36 + 36 = 72. So d = \sqrt{72}.

Simplify: 72 = 36 \times 2, so \sqrt{72} = 6\sqrt{2}.

Numerically 6\sqrt{2} \approx 8.485, which is a bit more than the side 6, makes sense.

**Final Answer**
\boxed{6\sqrt{2}}""",
        r"""By the Pythagorean theorem the diagonal is \(\sqrt{6^2 + 6^2} = \sqrt{72} = 6\sqrt{2}\).

\(\boxed{6\sqrt{2}}\)""",
        r"""The diagonal of a square with side $s$ is $s\sqrt2$, so the answer is $\boxed{6\sqrt{2}}$.""",
        source="math",
    ),
    row(
        "A right triangle has legs of length 9 and 12. What is the radius of its inscribed circle?",
        r"""First the hypotenuse: \sqrt{9^2 + 12^2} = \sqrt{81 + 144} = \sqrt{225} = 15.

For a right triangle the inradius is r = (a + b - c)/2. So (9 + 12 - 15) / 2 = 6 / 2 = 3.

Let me double check with area over semiperimeter. Area = \frac{1}{2} \times 9 \times 12 = 54. Semiperimeter = (9 + 12 + 15) / 2 = 18. So r = 54 / 18 = 3. 

**Final Answer**
\boxed{3}""",
        r"""The hypotenuse is \(15\). The area is \(54\) and the semiperimeter is \(18\), so \(r = \frac{54}{18} = \boxed{3}\).""",
        r"""The hypotenuse is $15$, the area is $54$ and the semiperimeter is $18$, so the inradius is $\frac{54}{18}=\boxed{3}$.""",
        source="math",
    ),
    row(
        r"A circle has circumference $10\pi$. What is its area?",
        r"""Circumference is 2\pi r, so 2\pi r = 10\pi means r = 5. Numerically 10 / 2 = 5.

Area is \pi r^2 = \pi \times 5^2. 5^2 = 25, so the area is 25\pi.

**Final Answer**
\boxed{25\pi}""",
        r"""From \(2\pi r = 10\pi\) we get \(r = 5\), so the area is \(\pi \cdot 5^2 = \boxed{25\pi}\).""",
        r"""The radius is $5$, so the area is $\boxed{25\pi}$.""",
        source="math",
    ),
    row(
        "Find the area of a triangle with side lengths 13, 14, and 15.",
        r"""I'll use Heron's formula. The semiperimeter is s = (13 + 14 + 15) / 2 = 21.

Then s - a: 21 - 13 = 8, 21 - 14 = 7, 21 - 15 = 6.

Area = \sqrt{21 \times 8 \times 7 \times 6}. Compute the product: 21 \times 8 = 168, 168 \times 7 = 1176, 1176 \times 6 = 7056.

\sqrt{7056}: 84^2 = 7056, since 80^2 = 6400 and 84^2 = 6400 + 640 + 16 = 7056. So the area is 84.

Alternatively, dropping the altitude to the side 14 splits it into 5 and 9 with height 12, since 5^2 + 12^2 = 169 = 13^2 and 9^2 + 12^2 = 225 = 15^2. Area = \frac{1}{2} \times 14 \times 12 = 84. Same.

**Final Answer**
\boxed{84}""",
        r"""With \(s = 21\), Heron's formula gives
\[
\sqrt{21 \cdot 8 \cdot 7 \cdot 6} = \sqrt{7056} = 84.
\]
\(\boxed{84}\)""",
        r"""The semiperimeter is $21$, so by Heron's formula the area is $\sqrt{21\cdot 8\cdot 7\cdot 6}=\sqrt{7056}=\boxed{84}$.""",
        source="amc_aime",
    ),
    row(
        r"Simplify $\sqrt{50} + \sqrt{18}$.",
        r"""Simplify each radical. 50 = 25 \times 2, so \sqrt{50} = 5\sqrt{2}. And 18 = 9 \times 2, so \sqrt{18} = 3\sqrt{2}.

Add them: 5\sqrt{2} + 3\sqrt{2} = 8\sqrt{2}.

Check numerically: \sqrt{50} \approx 7.071 and \sqrt{18} \approx 4.243, sum about 11.314, and 8\sqrt{2} \approx 11.314. Good.

**Final Answer**
\boxed{8\sqrt{2}}""",
        r"""\(\sqrt{50} + \sqrt{18} = 5\sqrt{2} + 3\sqrt{2} = \boxed{8\sqrt{2}}\).""",
        r"""$\sqrt{50}+\sqrt{18}=5\sqrt2+3\sqrt2=\boxed{8\sqrt2}$.""",
        source="math",
    ),
    row(
        r"What is the distance between the points $(1, 2)$ and $(7, 10)$?",
        r"""Distance formula: \sqrt{(7 - 1)^2 + (10 - 2)^2}.

7 - 1 = 6 and 10 - 2 = 8. So \sqrt{6^2 + 8^2} = \sqrt{36 + 64} = \sqrt{100} = 10.

It's a 6-8-10 right triangle, a scaled 3-4-5. Makes sense.

**Final Answer**
\boxed{10}""",
        r"""\(d = \sqrt{6^2 + 8^2} = \sqrt{100} = \boxed{10}\).""",
        r"""The distance is $\sqrt{6^2+8^2}=\boxed{10}$.""",
        source="math",
    ),
    row(
        "A cylinder has radius 3 and height 8. A cone with the same base and the same height is carved out of "
        "it. What is the volume of the remaining solid? Express your answer in terms of $\\pi$.",
        r"""Cylinder volume is \pi r^2 h = \pi \times 9 \times 8. 9 \times 8 = 72, so it's 72\pi.

Cone volume is one third of that: \frac{1}{3} \times 72 = 24, so 24\pi.

Remaining: 72\pi - 24\pi = 48\pi. In other words two thirds of the cylinder, and \frac{2}{3} \times 72 = 48. 

**Final Answer**
\boxed{48\pi}""",
        r"""The cylinder has volume \(72\pi\) and the cone \(\frac{1}{3} \cdot 72\pi = 24\pi\), leaving \(\boxed{48\pi}\).""",
        r"""The remaining volume is $\frac23$ of the cylinder's, namely $\frac23\cdot 72\pi=\boxed{48\pi}$.""",
        source="math",
    ),
    # Correct, but the answer is never boxed.
    row(
        "Each interior angle of a regular polygon measures 150 degrees. How many sides does the polygon have?",
        r"""Each exterior angle is 180 - 150 = 30 degrees. The exterior angles of any convex polygon add up to 360 degrees, so the number of sides is 360 / 30 = 12.

Check with the interior angle formula: (12 - 2) \times 180 / 12 = 1800 / 12 = 150. Yes.""",
        r"""Each exterior angle is \(180 - 150 = 30\) degrees, so the polygon has \(360 / 30 = 12\) sides.

The polygon has 12 sides.""",
        r"""Each exterior angle measures $180^\circ-150^\circ=30^\circ$, so there are $\frac{360}{30}=\boxed{12}$ sides.""",
        source="math",
        kind="no_boxed",
        why="the teacher ends with 'The polygon has 12 sides.' without \\boxed{}",
    ),
]
