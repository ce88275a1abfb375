"""cvc5 on one SMT-LIB 2 query, in a process of its own (run by path: `python -I cvc5_worker.py`).

Reads {"script": SMT-LIB text, "milliseconds": limit} as JSON on stdin and writes {"answer": "sat",
"unsat" or "unknown", "reason": ..., "values": {constant: value}} on stdout: a Boolean as true or
false, an integer or bit-vector as an integer, a real as [numerator, denominator]. cvc5 holds the
interpreter's lock while it solves, so it never runs inside the server's process; the caller kills
this process when its time is up, and its address space is bounded. Imports nothing of Ostiary's.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

import cvc5

MEMORY_BYTES = 2 << 30  # the process's address space: past it cvc5 fails, and the caller is told so


def solve(script: str, milliseconds: int) -> dict[str, Any]:
    """The answer and, when sat, the values of the constants the script declares."""
    manager = cvc5.TermManager()
    solver = cvc5.Solver(manager)
    solver.setOption("produce-models", "true")
    solver.setOption("tlimit-per", str(max(1, milliseconds)))
    solver.setLogic("ALL")
    symbols = cvc5.SymbolManager(manager)
    parser = cvc5.InputParser(solver, symbols)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, script, "query")
    while True:
        command = parser.nextCommand()
        if command.isNull():
            break
        command.invoke(solver, symbols)
    result = solver.checkSat()
    if result.isUnsat():
        return {"answer": "unsat", "reason": "", "values": {}}
    if not result.isSat():
        return {"answer": "unknown", "reason": str(result.getUnknownExplanation()), "values": {}}
    values = {str(term.getSymbol()): _value(solver.getValue(term)) for term in symbols.getDeclaredTerms()}
    return {"answer": "sat", "reason": "", "values": values}


def _value(term: Any) -> Any:
    if term.isBooleanValue():
        return bool(term.getBooleanValue())
    if term.getSort().isReal():  # before isIntegerValue, which a whole real also is
        found = term.getRealValue()
        return [found.numerator, found.denominator]
    if term.isIntegerValue():
        return int(term.getIntegerValue())
    if term.isBitVectorValue():
        return int(term.getBitVectorValue(10))
    raise ValueError(f"a value of sort {term.getSort()} has no reading")


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    request = json.loads(sys.stdin.read())
    try:
        answer = solve(request["script"], int(request["milliseconds"]))
    except Exception as error:  # noqa: BLE001 -- any cvc5 failure is reported, never raised
        answer = {"answer": "error", "reason": f"{type(error).__name__}: {error}", "values": {}}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
