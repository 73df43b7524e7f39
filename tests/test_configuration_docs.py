"""docs/configuration.md lists every setting settings.py reads, and nothing it does not read.

The names come from the settings module's source: the variables it reads from the environment
(``env("NAME")``, ``env.str("NAME", ...)``, ``env.db("DATABASE_URL")``, ...) and the project's
own ``ETFSYNC_*`` settings it assigns. The page's names come from its tables whose first column
is headed "variable".
"""

import ast
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SETTINGS = PROJECT / "etfsync_site" / "settings.py"
CONFIGURATION = PROJECT / "docs" / "configuration.md"

NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def read_by_settings(source: str) -> set[str]:
    """The environment variables ``source`` reads through ``env`` and the ETFSYNC_* settings it
    assigns at module level."""
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_env(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and name.id.startswith("ETFSYNC_"):
                    names.add(name.id)
    return names


def _is_env(func: ast.expr) -> bool:
    """``env(...)`` or ``env.<cast>(...)``: django-environ's reader, as settings.py names it."""
    if isinstance(func, ast.Name):
        return func.id == "env"
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "env"
    )


def documented(markdown: str) -> set[str]:
    """The names in the first column of the page's tables headed ``| variable |``."""
    names = set()
    in_table = False
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|"):
            in_table = False
        elif cells[0].lower() == "variable":
            in_table = True
        elif in_table:
            names.update(NAME.findall(cells[0]))
    return names


def test_every_setting_is_documented_and_every_documented_setting_exists():
    read = read_by_settings(SETTINGS.read_text(encoding="utf-8"))
    listed = documented(CONFIGURATION.read_text(encoding="utf-8"))
    assert read, "found no settings in settings.py: has the way it reads them changed?"
    assert sorted(read - listed) == [], "read in settings.py, missing from docs/configuration.md"
    assert sorted(listed - read) == [], "in docs/configuration.md, not read by settings.py"


def test_the_reader_finds_what_settings_read_and_assign():
    source = """
import environ
env = environ.Env()
A = env("PLAIN")
B = env.int("AN_INT", default=1)
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://")}
if env.bool("A_SWITCH", default=False):
    C = 1
ETFSYNC_SOURCES = {"eastmoney": {}}
ETFSYNC_X: int = 1
os_name = other.str("NOT_ENV")
"""
    assert read_by_settings(source) == {
        "PLAIN",
        "AN_INT",
        "DATABASE_URL",
        "A_SWITCH",
        "ETFSYNC_SOURCES",
        "ETFSYNC_X",
    }


def test_the_page_reader_takes_the_first_column_of_variable_tables_only():
    page = """
| variable | default | meaning |
|---|---|---|
| `ONE` | `1` | mentions `NOT_A_ROW_NAME` in its meaning |
| `TWO`, `THREE` | | |

| status | when |
|---|---|
| `NOT_A_SETTING` | x |
"""
    assert documented(page) == {"ONE", "TWO", "THREE"}
