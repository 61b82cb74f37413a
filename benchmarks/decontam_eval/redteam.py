"""Hand-written red-team rows for the decontamination evaluation set (`build.py` turns them into evalset rows).

``REWORDINGS``: benchmark problems restated by hand the way a leak reaches a training set in practice: reworded
throughout, sentences reordered, people, places and objects renamed, LaTeX written as Unicode (or the reverse),
figures left out. The mathematics, the numbers and so the answer are the benchmark item's: each is a copy.

``VARIANTS``: the same template with changed numbers, and the new answer worked out (by hand or by brute force):
a different problem, which decontamination must report as ``template_variant`` rather than as a copy.
Each row is (benchmark, item index, text[, answer]).
"""

# fmt: off
REWORDINGS: list[tuple[str, int, str]] = [
    # AIME 2024
    ("aime24", 0, "Maya takes a 9 km stroll every morning and finishes at a café. Walking steadily at s km/h, the outing lasts 4 hours, t minutes of which she spends in the café. Walking at s+2 km/h instead, it lasts 2 hours 24 minutes, again counting the t minutes at the café. If she walks at s + 1/2 km/h, how many minutes does the whole outing take, café time included?"),
    ("aime24", 1, "Triangle ABC is inscribed in a circle ω. The tangent lines to ω at B and at C meet at D, and line AD meets ω again at P. Given AB = 5, BC = 9 and AC = 10, the length AP equals m/n in lowest terms. Compute m + n."),
    ("aime24", 2, "We color each vertex of a regular octagon red or blue, each color with probability 1/2, independently. What is the probability that some rotation of the octagon sends every blue vertex to a spot that was originally red? Write it as m/n with m, n coprime positive integers and give m+n."),
    ("aime24", 8, "Two players, Bob and Alice, share a pile of n tokens; Alice moves first and they alternate. A move consists of taking 1 token or 4 tokens from the pile, and the one who takes the final token is the winner. For how many positive integers n ≤ 2024 can Bob guarantee a win no matter how Alice plays?"),
    ("aime24", 9, "Jen picks 4 different numbers from S = {1, 2, ..., 10}, and then 4 numbers are drawn at random from S. She gets a prize when at least two of her picks are among the drawn numbers, and the grand prize when all four are. Given that she won a prize, the probability she won the grand prize is m/n in lowest terms. Find m+n."),
    ("aime24", 12, "Let z be a complex number with |z| = 4. What is the maximum possible real part of (75+117i)z + (96+144i)/z?"),
    ("aime24", 15, "In the town of Aimeville there are 900 people. 195 of them have a diamond ring, 367 have golf clubs, and 562 have a garden spade; every single resident also has a bag of candy hearts. Exactly two of these items are owned by 437 residents and exactly three by 234 residents. How many residents own all four items?"),
    ("aime24", 16, "Triangle ABC has circumradius 13 and inradius 6; its circumcenter is O and its incenter is I, and the segments IA and OI are perpendicular. Compute AB·AC."),
    ("aime24", 22, "A list of positive integers sums to 30. Its unique mode is 9, and its median is a positive integer that is not itself in the list. What is the sum of the squares of the numbers in the list?"),
    ("aime24", 26, "Bob writes down every finite nonempty set B of positive integers whose largest element lies in a set A that Alice picked. There are 2024 sets on Bob's list. What is the sum of the elements of A?"),
    ("aime24", 27, "Let N be the largest four-digit positive integer such that changing any single one of its digits to 1 yields a multiple of 7. Write N = 1000Q + R with 0 ≤ R < 1000. What is Q + R?"),
    ("aime24", 29, "You have 25 identical white chips and 25 identical black chips. In how many ways can some of them be placed on the 25 cells of a 5×5 grid so that no cell holds more than one chip, all chips in any row share a colour and all chips in any column share a colour, and no further chip can be added without breaking one of these rules?"),
    # AIME 2025
    ("aime25", 0, "What is the sum of all integer bases b > 9 such that 17_b divides 97_b?"),
    ("aime25", 2, "After a game, the nine players of a baseball team go for ice cream; each gets one scoop of chocolate, vanilla or strawberry. Each flavor is chosen by at least one player, more players pick chocolate than vanilla, and more pick vanilla than strawberry. Let N count the possible assignments of flavors to players. What is N mod 1000?"),
    ("aime25", 3, "How many ordered pairs of integers (x, y) with −100 ≤ x, y ≤ 100 satisfy 12x² − xy − 6y² = 0?"),
    ("aime25", 4, "Consider the 8! = 40320 eight-digit numbers that use each of the digits 1 through 8 once. If N of them are multiples of 22, what is N − 2025?"),
    ("aime25", 5, "A circle of radius 3 is inscribed in an isosceles trapezoid whose area is 72. The parallel sides have lengths r ≠ s. Compute r² + s²."),
    ("aime25", 12, "Alex splits a disk into four quadrants by drawing two perpendicular diameters. Then he draws 25 additional chords, each joining two random points on the boundary that lie in different quadrants. What is the expected number of regions the 27 segments cut the disk into?"),
    ("aime25", 16, "Determine the sum of all positive integers n for which n + 2 is a divisor of 3(n + 3)(n² + 9)."),
    ("aime25", 21, "A is the set of positive divisors of 2025 and B is a random subset of A. The probability that B is nonempty and the lcm of its elements equals 2025 is m/n in lowest terms; find m + n."),
    ("aime25", 24, "16 chairs stand in a row. Eight people choose chairs so that nobody sits beside two other people. If N is the number of possible subsets of chairs chosen, find N modulo 1000."),
    ("aime25", 25, "S is the vertex set of a regular 24-gon. Count the ways to draw 12 equal-length segments such that every vertex of S is an endpoint of exactly one segment."),
    ("aime25", 28, "In right triangle ABC, ∠A = 90° and BC = 38. Points K and L inside the triangle satisfy AK = AL = BK = CL = KL = 14. The area of quadrilateral BKLC is n√3 for a positive integer n. What is n?"),
    ("aime25", 29, "Exactly three positive real values of k make f(x) = (x−18)(x−72)(x−98)(x−k)/x, for x > 0, attain its minimum at exactly two positive x. What is the sum of these three k?"),
    # AMC 2023
    ("amc23", 0, "Towns P and Q lie 45 miles apart. Carla starts in P and cycles toward Q at 18 mph; at the same moment Dana leaves Q riding toward P at 12 mph. How far from P are they when they meet?"),
    ("amc23", 1, "x and y are positive reals with y³ = x² and (y − x)² = 4y². Find x + y."),
    ("amc23", 3, "Evaluate 2³ − 1³ + 4³ − 3³ + 6³ − 5³ + ⋯ + 18³ − 17³."),
    ("amc23", 4, "Every player in a ping-pong tournament played every other player once. There were twice as many right-handers as left-handers, yet left-handers won 40% more games than right-handers. With no ties and no ambidextrous players, how many games were played in total?"),
    ("amc23", 7, "A frog named Flora begins at 0 on the number line and hops right repeatedly. Each hop, independently, has a positive integer length m with probability 1/2^m. What is the probability that she ever lands on 10? Give it as m/n in lowest terms and report m+n."),
    ("amc23", 16, "Among the perfect squares below 2023, how many positive ones are multiples of 5?"),
    ("amc23", 17, "How many digits does 8^5 · 5^10 · 15^5 have when written in base ten?"),
    ("amc23", 18, "Janet rolls a fair six-sided die four times, keeping a running total. What is the probability that her running total equals 3 at some point? Write it as m/n in lowest terms, then find m + n."),
    ("amc23", 21, "If Maureen gets an 11 on her next quiz, her quiz average goes up by 1. If instead she gets 11 on each of her next three quizzes, her average goes up by 2. What is her current average?"),
    ("amc23", 22, "Mrs. Jones fills three of four identical glasses completely with orange juice for her four sons, but the fourth is only 1/3 full when she runs out. How much must she pour from each of the three full glasses into the fourth so that all four hold the same amount? Express as m/n in lowest terms and give m + n."),
    ("amc23", 28, "Coins in Coinland are worth 6, 10 and 15 cents. Let x be the largest price in cents that cannot be paid exactly with these coins. What is the sum of the digits of x?"),
    ("amc23", 31, "Rolling n ordinary six-sided dice, the product of the faces can take 936 distinct values. Find n."),
    ("amc23", 34, "Jackson's brush paints a strip 6.5 mm wide, and he has enough paint for a strip 25 m long. How many square centimeters of paper can he cover?"),
    # MATH-500
    ("math500", 6, "Which is the least positive perfect cube that equals the sum of three consecutive integers?"),
    ("math500", 26, "Seven people sit around a round table; Pierre, Rosa and Thomas must be pairwise non-adjacent. How many seating arrangements are there, counting rotations as the same?"),
    ("math500", 80, "How many integers k with −500 ≤ k ≤ 500 make the equation log(kx) = 2 log(x+2) have exactly one real solution?"),
    ("math500", 81, "Ten treeks have the same weight as three squigs plus one goolee, and two treeks plus one goolee weigh as much as one squig. How many treeks together weigh as much as a single squig?"),
    ("math500", 93, "Find c such that the circle x² − 10x + y² + 6y + c = 0 has radius 1."),
    ("math500", 110, "A strictly increasing sequence of positive integers a1, a2, a3, … has, for every positive integer k, the terms a_{2k-1}, a_{2k}, a_{2k+1} in geometric progression and a_{2k}, a_{2k+1}, a_{2k+2} in arithmetic progression. If a13 = 2016, what is a1?"),
    ("math500", 190, "Paul and Jesse each pick at random one of the first six prime numbers. What is the probability that their two numbers add up to an even number?"),
    ("math500", 332, "For positive reals x, y, z with xyz(x+y+z) = 1, what is the smallest possible value of (x+y)(y+z)?"),
    ("math500", 353, "I own 6 different books, 2 of them math books. How many ways can I stack all 6 on a shelf so that the two math books are not adjacent?"),
    ("math500", 378, "How many two-digit prime numbers have digits adding up to 8?"),
    ("math500", 392, "A point P is at distances 3, 7, 8, 9 and 11 from five of the six vertices of a regular octahedron. How far is P from the sixth vertex?"),
    ("math500", 482, "Choose a positive odd integer below 2010 at random. The probability that its reciprocal is a terminating decimal is a/b in lowest terms. Find a+b."),
]

VARIANTS: list[tuple[str, int, str, str]] = [
    ("amc23", 0, "Cities $A$ and $B$ are $60$ miles apart. Alicia lives in $A$ and Beth lives in $B$. Alicia bikes towards $B$ at 20 miles per hour. Leaving at the same time, Beth bikes toward $A$ at 10 miles per hour. How many miles from City $A$ will they be when they meet?", "40"),
    ("amc23", 3, r"What is the value of \[2^3 - 1^3 + 4^3 - 3^3 + 6^3 - 5^3 + \dots + 20^3 - 19^3?\]", "4300"),
    ("amc23", 16, "How many positive perfect squares less than $2023$ are divisible by $7$?", "6"),
    ("amc23", 17, r"How many digits are in the base-ten representation of $4^5 \cdot 5^{10} \cdot 15^5$?", "16"),
    ("amc23", 21, "Maureen is keeping track of the mean of her quiz scores this semester. If Maureen scores a $13$ on the next quiz, her mean will increase by $1$. If she scores a $13$ on each of the next three quizzes, her mean will increase by $2$. What is the mean of her quiz scores currently?", "9"),
    ("amc23", 28, "In the state of Coinland, coins have values $6,9,$ and $20$ cents. Suppose $x$ is the value in cents of the most expensive item in Coinland that cannot be purchased using these coins with exact change. What is the sum of the digits of $x?$", "7"),
    ("amc23", 34, "Jackson's paintbrush makes a narrow strip with a width of $5$ millimeters. Jackson has enough paint to make a strip $20$ meters long. How many square centimeters of paper could Jackson cover with paint?", "1000"),
    ("aime25", 0, "Find the sum of all integer bases $b>9$ for which $18_{b}$ is a divisor of $98_{b}$.", "80"),
    ("aime25", 3, "Find the number of ordered pairs $(x,y)$, where both $x$ and $y$ are integers between $-50$ and $50$, inclusive, such that $12x^{2}-xy-6y^{2}=0$.", "57"),
    ("aime25", 4, "There are $8!=40320$ eight-digit positive integers that use each of the digits $1,2,3,4,5,6,7,8$ exactly once. Let $N$ be the number of these integers that are divisible by 11. Find the difference between $N$ and 2025.", "2583"),
    ("aime25", 16, "Find the sum of all positive integers $n$ such that $n+3$ divides the product $3(n+4)(n^2+10)$.", "70"),
    ("aime24", 8, "Alice and Bob play the following game. A stack of $n$ tokens lies before them. The players take turns with Alice going first. On each turn, the player removes either $1$ token or $4$ tokens from the stack. Whoever removes the last token wins. Find the number of positive integers $n$ less than or equal to $2000$ for which there exists a strategy for Bob that guarantees that Bob will win the game regardless of Alice's play.", "800"),
    ("aime24", 15, "Among the 1000 residents of Aimeville, there are 210 who own a diamond ring, 300 who own a set of golf clubs, and 600 who own a garden spade. In addition, each of the 1000 residents owns a bag of candy hearts. There are 400 residents who own exactly two of these things, and 250 residents who own exactly three of these things. Find the number of residents of Aimeville who own all four of these things.", "70"),
    ("aime24", 26, "Alice chooses a set $A$ of positive integers. Then Bob lists all finite nonempty sets $B$ of positive integers with the property that the maximum element of $B$ belongs to $A$. Bob's list has 2025 sets. Find the sum of the elements of A.", "56"),
    ("aime24", 27, "Let $N$ be the greatest four-digit positive integer with the property that whenever one of its digits is changed to $1$, the resulting number is divisible by $11$. Let $Q$ and $R$ be the quotient and remainder, respectively, when $N$ is divided by $1000$. Find $Q+R$.", "112"),
    ("math500", 6, "What is the smallest positive perfect cube that can be written as the sum of five consecutive integers?", "125"),
    ("math500", 26, "In how many ways can $8$ people sit around a round table if no two of the $3$ people Pierre, Rosa, and Thomas can sit next to each other? (Seating arrangements which are rotations of each other are treated as the same.)", "1440"),
    ("math500", 93, "For what value of $c$ will the circle with equation $x^2 - 8x + y^2 + 4y + c = 0$ have a radius of length 2?", "16"),
    ("math500", 190, "Paul and Jesse each choose a number at random from the first five primes. What is the probability that the sum of the numbers they choose is even?", r"\frac{17}{25}"),
    ("math500", 353, "Suppose that I have $7$ different books, $2$ of which are math books. In how many ways can I stack my $7$ books on a shelf if I do not want the math books to be next to each other?", "3600"),
    ("math500", 378, "For how many two-digit primes is the sum of the digits equal to 13?", "1"),
    ("math500", 397, "If $3x + 2(1 + x) = 27$, what is the value of $6x + 5$?", "35"),
]
# fmt: on
