"""What a security code is: six ASCII digits, on both exchanges.

Written once. The parsers, the model's validator and database check, the API's validation and
its OpenAPI document all use it: when each wrote its own, a `\\d` in one of five copies let
full-width digits such as "５１００００" through to the database.
"""

import re

CODE_LENGTH = 6
CODE_PATTERN = f"^[0-9]{{{CODE_LENGTH}}}$"
CODE_RE = re.compile(CODE_PATTERN)
CODE_RULE = "six ASCII digits"


def is_security_code(value: object) -> bool:
    return isinstance(value, str) and CODE_RE.fullmatch(value) is not None
