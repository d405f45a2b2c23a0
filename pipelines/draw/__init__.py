"""The 双随机 draw: inclusion probabilities, a fixed-size unequal-probability sample, random
inspectors under the avoidance rules, and a seed committed to before it is known.

Modules, in the order a plan uses them: `policy` (what the regulator chooses), `eligible` (the
inspection-object list and its exclusions), `design` (inclusion probabilities), `sample` (the
draw of targets), `inspectors` (the draw of inspectors), `commitment` (canonical hash and seed),
`plan` (the flow and its immutable folder), `verify` (re-running a stored plan), `export`
(task lists with Chinese headers).
"""
