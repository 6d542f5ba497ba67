"""The category tree of a tenant: subtrees, ancestors, inherited attribute schemas, and the
rules of a category change (codes unique, no cycles, a sound schema)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from subgraphs.catalog.attributes import AttributeDef, validate_attribute_schema
from subgraphs.catalog.problems import Codes, DomainError, Issue

# --------------------------------------------------------------------------------------------
# Category tree


@dataclass(frozen=True, slots=True)
class CategoryNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    name: str
    attributes: tuple[AttributeDef, ...] = ()
    tenant_id: uuid.UUID | None = None


_CATEGORY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CategoryTree:
    """An in-memory view of one tenant's categories (hundreds of rows: cheap to load whole)."""

    def __init__(self, nodes: Iterable[CategoryNode]) -> None:
        self.nodes: dict[uuid.UUID, CategoryNode] = {n.id: n for n in nodes}
        self.children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
        for n in self.nodes.values():
            self.children.setdefault(n.parent_id, []).append(n.id)
        self.by_code = {n.code: n for n in self.nodes.values()}

    def get(self, category_id: uuid.UUID) -> CategoryNode:
        node = self.nodes.get(category_id)
        if node is None:
            raise DomainError.single(Codes.CATEGORY_NOT_FOUND, f"no category {category_id}", "categoryId")
        return node

    def ancestors(self, category_id: uuid.UUID) -> list[CategoryNode]:
        """From the root down to the parent of `category_id`."""
        chain: list[CategoryNode] = []
        seen = {category_id}
        parent = self.get(category_id).parent_id
        while parent is not None and parent not in seen and parent in self.nodes:
            seen.add(parent)
            chain.append(self.nodes[parent])
            parent = self.nodes[parent].parent_id
        return list(reversed(chain))

    def path(self, category_id: uuid.UUID) -> list[CategoryNode]:
        return [*self.ancestors(category_id), self.get(category_id)]

    def subtree_ids(self, root: uuid.UUID) -> list[uuid.UUID]:
        """`root` and every category below it (breadth first)."""
        self.get(root)
        out: list[uuid.UUID] = []
        queue = [root]
        seen: set[uuid.UUID] = set()
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            out.append(current)
            queue.extend(self.children.get(current, []))
        return out

    def would_create_cycle(self, category_id: uuid.UUID, new_parent_id: uuid.UUID | None) -> bool:
        """Moving `category_id` under `new_parent_id` loops when the new parent is the category
        itself or one of its descendants."""
        if new_parent_id is None:
            return False
        if category_id not in self.nodes:
            return False  # a new category cannot be anybody's ancestor yet
        return new_parent_id in set(self.subtree_ids(category_id))

    def effective_schema(self, category_id: uuid.UUID) -> list[AttributeDef]:
        """Attributes inherited from the ancestors plus the category's own; a deeper definition of
        the same name overrides (a subcategory may narrow `size` to fewer allowed values)."""
        merged: dict[str, AttributeDef] = {}
        for node in self.path(category_id):
            for d in node.attributes:
                merged[d.name] = d
        return list(merged.values())

    def roots(self) -> list[CategoryNode]:
        return [self.nodes[i] for i in self.children.get(None, [])]


def validate_category(
    tree: CategoryTree,
    *,
    category_id: uuid.UUID,
    code: str,
    name: str,
    parent_id: uuid.UUID | None,
    attributes: Sequence[AttributeDef],
) -> list[Issue]:
    issues: list[Issue] = []
    if not _CATEGORY_CODE.match(code):
        issues.append(
            Issue(Codes.INVALID_VALUE, "a category code is lowercase letters, digits and '-'", "code")
        )
    other = tree.by_code.get(code)
    if other is not None and other.id != category_id:
        issues.append(Issue(Codes.INVALID_VALUE, f"category code {code!r} is taken", "code"))
    if not name.strip():
        issues.append(Issue(Codes.REQUIRED, "a category needs a name", "name"))
    if parent_id is not None and parent_id not in tree.nodes:
        issues.append(Issue(Codes.CATEGORY_NOT_FOUND, f"no parent category {parent_id}", "parentId"))
    elif tree.would_create_cycle(category_id, parent_id):
        issues.append(
            Issue(
                Codes.CATEGORY_CYCLE, "a category cannot be moved under itself or its descendants", "parentId"
            )
        )
    issues += validate_attribute_schema(attributes)
    return issues
