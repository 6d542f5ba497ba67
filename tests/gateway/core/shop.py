"""A four-subgraph shop used by the gateway core tests, with its hand-written supergraph.

products:  Query.products/product/topProducts, Product @key(id) {name @shareable, price, weight},
           Mutation.addProduct
inventory: Product {inStock, shippingCost @requires(price weight), delivery(zip) @requires(...)}
reviews:   Query.latestReviews/search (union SearchResult = Product | Review),
           Review.author @provides(name), Product.reviews, Product.name @shareable,
           User.phone (progressively overridden by users, label off), Mutation.addReview
users:     Query.me, User @key(id) {name, email @override(from: reviews), phone @override(label)}
"""

from __future__ import annotations

from typing import Any

from tests.gateway.core.subgraph_kit import KitSubgraph

PRODUCTS: dict[str, dict[str, Any]] = {
    "p1": {"id": "p1", "name": "Nitrile gloves", "price": 12, "weight": 1},
    "p2": {"id": "p2", "name": "Cordless drill", "price": 150, "weight": 3},
    "p3": {"id": "p3", "name": "Angle grinder", "price": 90, "weight": 2},
}
STOCK = {"p1": True, "p2": False, "p3": True}
USERS: dict[str, dict[str, Any]] = {
    "u1": {"id": "u1", "name": "Ada", "email": "ada@example.com", "phone": "users-phone-1"},
    "u2": {"id": "u2", "name": "Bo", "email": "bo@example.com", "phone": "users-phone-2"},
}
REVIEWS: list[dict[str, Any]] = [
    {"id": "r1", "body": "Great gloves", "product": "p1", "author": "u1"},
    {"id": "r2", "body": "Thick enough", "product": "p1", "author": "u2"},
    {"id": "r3", "body": "Strong drill", "product": "p2", "author": "u1"},
]

PRODUCTS_SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
type Query { products: [Product!]! product(id: ID!): Product topProducts(first: Int = 2): [Product!]! }
type Mutation { addProduct(name: String!, price: Int!): Product! }
type Product @key(fields: "id") { id: ID! name: String! @shareable price: Int! weight: Int! }
"""

INVENTORY_SDL = """
extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires"])
type Product @key(fields: "id") {
  id: ID!
  price: Int! @external
  weight: Int! @external
  inStock: Boolean
  shippingCost: Int! @requires(fields: "price weight")
  delivery(zip: String!): String @requires(fields: "weight")
}
"""

REVIEWS_SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
  import: ["@key", "@shareable", "@external", "@provides"])
type Query { latestReviews: [Review!]! search(text: String!): [SearchResult!]! }
type Mutation { addReview(productId: ID!, body: String!): Review! }
type Subscription { reviewAdded: Review! }
union SearchResult = Product | Review
type Review { id: ID! body: String! author: User! @provides(fields: "name") product: Product! }
type User @key(fields: "id") { id: ID! name: String! @external email: String! phone: String }
type Product @key(fields: "id") { id: ID! name: String! @shareable reviews: [Review!]! }
"""

USERS_SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
type Query { me: User }
type User @key(fields: "id") {
  id: ID!
  name: String!
  email: String! @override(from: "reviews")
  phone: String @override(from: "reviews", label: "percent(0)")
}
"""

SUPERGRAPH = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)
{
  query: Query
  mutation: Mutation
  subscription: Subscription
}

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String,
  external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String,
  contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable
  on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

input join__ContextArgument { name: String! type: String! context: String! selection: join__FieldValue! }
scalar join__FieldSet
scalar join__FieldValue
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }

enum join__Graph {
  INVENTORY @join__graph(name: "inventory", url: "{inventory}")
  PRODUCTS @join__graph(name: "products", url: "{products}")
  REVIEWS @join__graph(name: "reviews", url: "{reviews}")
  USERS @join__graph(name: "users", url: "{users}")
}

type Query
  @join__type(graph: INVENTORY)
  @join__type(graph: PRODUCTS)
  @join__type(graph: REVIEWS)
  @join__type(graph: USERS)
{
  products: [Product!]! @join__field(graph: PRODUCTS)
  product(id: ID!): Product @join__field(graph: PRODUCTS)
  topProducts(first: Int = 2): [Product!]! @join__field(graph: PRODUCTS)
  latestReviews: [Review!]! @join__field(graph: REVIEWS)
  search(text: String!): [SearchResult!]! @join__field(graph: REVIEWS)
  me: User @join__field(graph: USERS)
}

type Mutation
  @join__type(graph: PRODUCTS)
  @join__type(graph: REVIEWS)
{
  addProduct(name: String!, price: Int!): Product! @join__field(graph: PRODUCTS)
  addReview(productId: ID!, body: String!): Review! @join__field(graph: REVIEWS)
}

type Subscription @join__type(graph: REVIEWS) {
  reviewAdded: Review! @join__field(graph: REVIEWS)
}

type Product
  @join__type(graph: INVENTORY, key: "id")
  @join__type(graph: PRODUCTS, key: "id")
  @join__type(graph: REVIEWS, key: "id")
{
  id: ID!
  name: String! @join__field(graph: PRODUCTS) @join__field(graph: REVIEWS)
  price: Int! @join__field(graph: INVENTORY, external: true) @join__field(graph: PRODUCTS)
  weight: Int! @join__field(graph: INVENTORY, external: true) @join__field(graph: PRODUCTS)
  inStock: Boolean @join__field(graph: INVENTORY)
  shippingCost: Int! @join__field(graph: INVENTORY, requires: "price weight")
  delivery(zip: String!): String @join__field(graph: INVENTORY, requires: "weight")
  reviews: [Review!]! @join__field(graph: REVIEWS)
}

type Review @join__type(graph: REVIEWS) {
  id: ID!
  body: String!
  author: User! @join__field(graph: REVIEWS, provides: "name")
  product: Product!
}

union SearchResult
  @join__type(graph: REVIEWS)
  @join__unionMember(graph: REVIEWS, member: "Product")
  @join__unionMember(graph: REVIEWS, member: "Review")
 = Product | Review

type User
  @join__type(graph: REVIEWS, key: "id")
  @join__type(graph: USERS, key: "id")
{
  id: ID!
  name: String! @join__field(graph: REVIEWS, external: true) @join__field(graph: USERS)
  email: String! @join__field(graph: USERS, override: "reviews")
  phone: String @join__field(graph: REVIEWS)
    @join__field(graph: USERS, override: "reviews", overrideLabel: "percent(0)")
}
"""


def supergraph(urls: dict[str, str]) -> str:
    sdl = SUPERGRAPH
    for name, url in urls.items():
        sdl = sdl.replace("{" + name + "}", url)
    return sdl


def _product(pid: str) -> dict[str, Any] | None:
    p = PRODUCTS.get(pid)
    return {"__typename": "Product", **p} if p else None


def _review(r: dict[str, Any]) -> dict[str, Any]:
    user = USERS[r["author"]]
    return {
        "__typename": "Review",
        "id": r["id"],
        "body": r["body"],
        # provides: reviews knows the author's name; its email/phone are the reviews copies
        "author": {
            "__typename": "User",
            "id": user["id"],
            "name": user["name"],
            "email": "stale@reviews",
            "phone": "reviews-phone",
        },
        "product": {"__typename": "Product", "id": r["product"], "name": PRODUCTS[r["product"]]["name"]},
    }


def make_subgraphs() -> dict[str, KitSubgraph]:
    added: list[dict[str, Any]] = []

    def add_product(name: str, price: int) -> dict[str, Any]:
        pid = f"p{len(PRODUCTS) + len(added) + 1}"
        p = {"__typename": "Product", "id": pid, "name": name, "price": price, "weight": 1}
        added.append(p)
        return p

    def product_entity(rep: dict[str, Any]) -> dict[str, Any] | None:
        found = _product(rep["id"])
        return found or next((p for p in added if p["id"] == rep["id"]), None)

    def add_review(productId: str, body: str) -> dict[str, Any]:
        # Sees the product added by a mutation that ran just before (mutations run in order).
        known = _product(productId) or next((p for p in added if p["id"] == productId), None)
        return {
            "__typename": "Review",
            "id": f"r-new-{productId}",
            "body": body,
            "author": {"__typename": "User", "id": "u1", "name": "Ada"},
            "product": {
                "__typename": "Product",
                "id": productId,
                "name": known["name"] if known else "UNKNOWN",
            },
        }

    products = KitSubgraph(
        "products",
        PRODUCTS_SDL,
        root={
            "Query": {
                "products": lambda: [_product(p) for p in PRODUCTS],
                "product": lambda id: _product(id),
                "topProducts": lambda first: [_product(p) for p in list(PRODUCTS)[:first]],
            },
            "Mutation": {"addProduct": add_product},
        },
        entities={"Product": product_entity},
    )
    products.added = added  # type: ignore[attr-defined]

    def stock_of(pid: str) -> Any:
        def resolve(_info: Any = None) -> bool | None:
            if pid == "p3":
                raise ValueError("stock count for p3 unavailable")
            return STOCK.get(pid)

        return resolve

    def inventory_product(rep: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"__typename": "Product", "id": rep["id"], "inStock": stock_of(rep["id"])}
        if "price" in rep and "weight" in rep:
            out["shippingCost"] = rep["price"] // 10 + rep["weight"] * 2
        if "weight" in rep:
            w = rep["weight"]
            out["delivery"] = lambda _info=None, zip="": f"{zip}:{'express' if w < 2 else 'freight'}"
        return out

    inventory = KitSubgraph("inventory", INVENTORY_SDL, entities={"Product": inventory_product})

    def search(text: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = [
            {"__typename": "Product", "id": p["id"], "name": p["name"]}
            for p in PRODUCTS.values()
            if text.lower() in p["name"].lower()
        ]
        found += [_review(r) for r in REVIEWS if text.lower() in r["body"].lower()]
        return found

    reviews = KitSubgraph(
        "reviews",
        REVIEWS_SDL,
        root={
            "Query": {"latestReviews": lambda: [_review(r) for r in REVIEWS], "search": search},
            "Mutation": {"addReview": add_review},
        },
        entities={
            "Product": lambda rep: {
                "__typename": "Product",
                "id": rep["id"],
                "name": PRODUCTS[rep["id"]]["name"] if rep["id"] in PRODUCTS else "?",
                "reviews": [_review(r) for r in REVIEWS if r["product"] == rep["id"]],
            },
            "User": lambda rep: {
                "__typename": "User",
                "id": rep["id"],
                "email": "stale@reviews",
                "phone": "reviews-phone",
            },
        },
    )
    users = KitSubgraph(
        "users",
        USERS_SDL,
        root={"Query": {"me": lambda: {"__typename": "User", **USERS["u1"]}}},
        entities={
            "User": lambda rep: {"__typename": "User", **USERS[rep["id"]]} if rep["id"] in USERS else None
        },
    )
    return {"products": products, "inventory": inventory, "reviews": reviews, "users": users}
