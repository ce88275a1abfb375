"""What every check shares: the document's text and tree, its type, and the findings found so far."""

from __future__ import annotations

from dataclasses import dataclass, field

from ostiary.analyzer.finding import Finding, Key, Location, PathStep, Position
from ostiary.analyzer.issues import details
from ostiary.analyzer.jsontext import LineIndex, Node

IDENTITY, RESOURCE, SCP, RCP = (
    "IDENTITY_POLICY",
    "RESOURCE_POLICY",
    "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY",
)
TRUST = "AWS::IAM::AssumeRolePolicyDocument"
Path = tuple[PathStep, ...]
# Pattern-against-catalogue comparisons one validation may make (about a second of work): a hostile
# document of many wildcard actions or resources gets fewer redundancy findings, never a stalled server.
WORK_BUDGET = 1_000_000


@dataclass
class Context:
    """One validation: the text, its line index, the policy type and resource type, the findings."""

    text: str
    policy_type: str
    resource_type: str | None = None
    findings: list[Finding] = field(default_factory=list)
    uses_variables: bool = False
    work_left: int = WORK_BUDGET

    def __post_init__(self) -> None:
        self.lines = LineIndex(self.text)

    def afford(self, cost: int) -> bool:
        """Spend `cost` units of the work budget; False (nothing spent) when too little is left."""
        if cost > self.work_left:
            return False
        self.work_left -= cost
        return True

    @property
    def is_trust(self) -> bool:
        """Whether the document is a role trust policy."""
        return self.resource_type == TRUST

    def position(self, offset: int) -> Position:
        """The Position of an offset."""
        line, column = self.lines.position(offset)
        return Position(line, column, offset)

    def location(self, path: Path, node: Node) -> Location:
        """The Location of a node reached by `path`."""
        return Location(path, self.position(node.start), self.position(node.end))

    def add(self, code: str, path: Path, node: Node, **fields: object) -> None:
        """Record a finding on one node."""
        self.findings.append(Finding(code, details(code, **fields), (self.location(path, node),)))

    def add_many(self, code: str, places: list[tuple[Path, Node]], **fields: object) -> None:
        """Record one finding on several nodes."""
        locations = tuple(self.location(path, node) for path, node in places)
        self.findings.append(Finding(code, details(code, **fields), locations))


def strings(node: Node, path: Path) -> list[tuple[str, Path, Node]]:
    """The strings of a string-or-array element, each with its path and node (other items skipped)."""
    if node.kind == "string":
        return [(node.value, path, node)]
    if node.kind == "array":
        return [(item.value, (*path, i), item) for i, item in enumerate(node.items) if item.kind == "string"]
    return []


def key_path(path: Path) -> Path:
    """The path to the key of the member `path` reaches (its last step, as a Key)."""
    return (*path[:-1], Key(str(path[-1])))
