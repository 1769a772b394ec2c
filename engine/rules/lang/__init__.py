"""The rule expression language: a small, safe subset of Python expression syntax.

Conditions are parsed with `ast` and accepted only if every node is in the allowed set
(names, literals, comparisons, boolean operators, arithmetic, registered functions). Nothing is
ever passed to `eval`; the tree is lowered to durable_rules JSON and to Python closures.
"""
