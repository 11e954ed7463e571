"""Markdown for the generated pages: pipe tables, inline code, collapsed tables."""

from __future__ import annotations

from typing import Any

import pandas as pd


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table (MyST) of ``frame``; cells are escaped for pipes."""
    cells = frame.astype(str).map(lambda v: v.replace("|", "\\|").replace("\n", " "))
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"


def inline_code(text: Any) -> str:
    """Inline code that survives backticks in the text."""
    text = str(text)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if text else ""


def collapsed(summary: str, body: str) -> str:
    """A long generated table collapsed under a one-line summary (a dropdown)."""
    return f":::{{dropdown}} {summary}: show the table\n{body}\n:::\n"
