"""`segw init`: scaffold a small project that `segw build` builds at once on embedded DuckDB."""
from __future__ import annotations

import re
from pathlib import Path

from .errors import SegwError

PROFILES = """\
# Connections, in dbt's format: profile -> target -> outputs. An existing dbt profile works as is.
# `segw build` uses the default target (`dev`: an embedded DuckDB file next to this project);
# `segw build --target pg` uses another one.
{name}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: warehouse.duckdb     # created on the first build
      schema: main               # models and seeds go here; segments go to `segment_schema`
    # pg:
    #   type: postgres
    #   host: 127.0.0.1
    #   port: 5432
    #   user: segw
    #   password: "{{{{ env_var('SEGW_PG_PASSWORD') }}}}"
    #   dbname: analytics
    #   schema: public
    # mariadb:
    #   type: mysql               # MariaDB or MySQL
    #   host: 127.0.0.1
    #   port: 3306
    #   user: segw
    #   password: "{{{{ env_var('SEGW_MYSQL_PASSWORD') }}}}"
    #   schema: analytics
"""

PROJECT = """\
# The project: its name, the profile it connects with, and where segment outputs go.
name: {name}
profile: {name}
segment_schema: segments      # memberships, history, the change feed and one relation per segment
schedule: "0 6 * * *"         # default schedule of segments without their own (cron, UTC)
vars:
  loyal_orders: 2             # read with {{{{ var('loyal_orders') }}}} in models and `sql:` conditions
"""

CUSTOMERS = """\
customer_id,email,first_name,country,email_opt_in,signed_up_at
1,ada@example.com,Ada,CH,true,2023-01-15 09:30:00
2,bruno@example.com,Bruno,FR,true,2023-03-02 14:00:00
3,chloe@example.com,Chloe,CH,false,2023-05-20 08:15:00
4,dario@example.com,Dario,IT,true,2023-07-11 19:45:00
5,emma@example.com,Emma,DE,true,2024-02-01 10:00:00
6,,Felix,CH,true,2024-04-18 16:20:00
"""

ORDERS = """\
order_id,customer_id,amount,ordered_at
101,1,120.00,2024-01-10 12:00:00
102,1,35.50,2024-03-05 18:30:00
103,2,80.00,2024-02-14 09:00:00
104,3,60.00,2024-01-22 11:10:00
105,3,42.00,2024-04-02 15:45:00
106,4,250.00,2024-05-01 20:00:00
107,4,19.90,2024-05-03 08:05:00
108,4,75.00,2024-06-12 13:30:00
109,5,12.00,2024-06-20 17:00:00
"""

ENTITIES = """\
# An entity is what segments group: one row per customer, with its key and related 1:N relations.
# `model:` names a model or seed of this project (or schema.table already in the warehouse).
entities:
  - name: customer
    model: customers            # seeds/customers.csv
    key: customer_id
    relations:
      orders:
        model: orders           # seeds/orders.csv
        foreign_key: customer_id
        time: ordered_at        # enables windows such as `within_last: 90 days`, and first/last

models:
  - name: customers
    description: One row per customer (a seed; replace it with your own model or table).
  - name: orders
    description: Orders with amount and time.
"""

SEGMENTS = """\
# Segments: who belongs, in YAML. See docs/language.md of segwarehouse for every operator.
# Build with `segw build`; see why someone is (not) in with `segw explain loyal_opted_in 1`.
segments:
  - name: loyal_opted_in
    title: Loyal customers who opted in
    description: Two orders or more, opted in to email, with an email address.
    entity: customer
    category: retention
    tags: [email]
    rules:
      all:
        - related: orders                  # an aggregate over the customer's orders
          count: {gte: 2}                  # try `within_last: 90 days` above this line
        - {property: email_opt_in, equals: true}
        - {property: email, is_set: true}
    columns: [email, first_name]           # carried into the segment's own relation
    # splits: {control: 10, variant: 90}   # A/B groups, stable per customer
    # exclude: [blocked]                   # a list or segment whose members are never in

# Static lists read keys from a seed (or a table):
# lists:
#   - name: blocked
#     entity: customer
#     from: seeds/blocked.csv
"""

GITIGNORE = """\
warehouse.duckdb
warehouse.duckdb.wal
target/
"""

FILES = {
    "profiles.yml": PROFILES,
    "segwarehouse.yml": PROJECT,
    "seeds/customers.csv": CUSTOMERS,
    "seeds/orders.csv": ORDERS,
    "models/entities.yml": ENTITIES,
    "segments/customers.yml": SEGMENTS,
    "macros/.gitkeep": "",
    ".gitignore": GITIGNORE,
}
FORMATTED = ("profiles.yml", "segwarehouse.yml")  # templates with {name}; the others are written as they are


def project_name(folder: Path, name: str | None) -> str:
    if name is not None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", name):
            raise SegwError(f"invalid project name '{name}'",
                            hint="use lower-case letters, digits and _ , starting with a letter")
        return name
    slug = re.sub(r"[^a-z0-9_]+", "_", folder.resolve().name.lower()).strip("_")
    slug = re.sub(r"^[^a-z]+", "", slug)[:50]
    return slug or "segments_project"


def init_project(folder: Path, name: str | None = None) -> tuple[str, list[Path]]:
    """Write the scaffold into folder (created if missing); refuse to overwrite any file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SegwError(f"{folder} is a file, not a folder", hint="name a new or empty folder")
    clashes = [path for path in FILES if (folder / path).exists()]
    if clashes:
        raise SegwError(f"{folder} already has {', '.join(clashes)}; nothing was written",
                        hint="run `segw init` in a new folder, e.g. `segw init my_segments`")
    name = project_name(folder, name)
    written = []
    for path, template in FILES.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.format(name=name) if path in FORMATTED else template)
        written.append(target)
    return name, written
