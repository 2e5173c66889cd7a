"""A safe arithmetic calculator: the expression is parsed with `ast` and only numbers, arithmetic
operators and a short list of math functions are evaluated. No eval, no names, no attributes."""
from __future__ import annotations

import ast
import math
import operator

from ..decorator import skill

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"sqrt": math.sqrt, "log": math.log, "log10": math.log10, "log2": math.log2, "exp": math.exp,
              "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
              "atan": math.atan, "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil,
              "factorial": math.factorial, "min": min, "max": max, "hypot": math.hypot, "gcd": math.gcd}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_POWER = 10_000  # 9**9**9 would hang the worker; refuse such exponents
MAX_LENGTH = 500


def evaluate(expression: str) -> float | int:
    if len(expression) > MAX_LENGTH:
        raise ValueError(f"expression longer than {MAX_LENGTH} characters")
    tree = ast.parse(expression.replace("^", "**"), mode="eval")
    return _eval(tree.body)


def _eval(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_POWER:
            raise ValueError(f"exponent {right} is too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and not node.keywords):
        args = [_eval(a) for a in node.args]
        if node.func.id == "factorial" and args and args[0] > 1000:
            raise ValueError("factorial argument too large")
        return _FUNCTIONS[node.func.id](*args)
    raise ValueError(f"unsupported expression element: {ast.dump(node)[:60]}")


@skill(tags=["math"], examples=["What is 17% of 2,340?", "Compute the square root of 2 times pi"])
def calculate(expression: str) -> float | int:
    """Evaluate an arithmetic expression safely (numbers, + - * / // % **, sqrt, log, sin, pi, ...).

    Args:
        expression: The arithmetic expression, for example "(3 + 4) * sqrt(2)".
    """
    return evaluate(expression)
