"""Plain `--help` that reads well at 80 columns and in a pipe: options grouped under headings,
readable metavars.

Typer's plain help (rich_markup_mode=None) lists every option under one "Options" heading and
writes types as `<int>`, `<str>`, `<int range>`, `<list[str]>` and required arguments as
`{RUN}`. The command classes here keep Typer's parsing and change only the help text: options
with a `rich_help_panel` are listed under that heading, in the order the headings first occur,
and types read as INTEGER, FLOAT, TEXT, 1..N, [a|b] and arguments as RUN, RUN..., KIND.

Imports only typer (which carries its own click): `mlpcli --help` stays fast.
"""

from __future__ import annotations

import re

import typer.core

TYPE_NAMES = {"int": "INTEGER", "float": "FLOAT", "str": "TEXT", "list[str]": "TEXT",
              "bool": "BOOLEAN", "path": "PATH", "Path": "PATH"}
_TYPE = re.compile(r" <([^<>]+)>$")  # the " <type>" Typer appends to a parameter's name


def readable_type(param: typer.core.TyperArgument | typer.core.TyperOption, label: str) -> str:
    """`<int>` → INTEGER, `<int range>` → 1..N (the range's bounds), `<a|b>` → [a|b]."""
    if label.endswith(" range"):
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        if label == "int range":
            return f"{low if low is not None else ''}..{high if high is not None else 'N'}"
        return "FLOAT"
    if "|" in label:
        return f"[{label}]"
    return TYPE_NAMES.get(label, label.upper())


def help_record(param: typer.core.TyperArgument | typer.core.TyperOption, ctx: typer.Context):
    record = param.get_help_record(ctx)
    if record is None:
        return None
    name, text = record
    match = _TYPE.search(name)
    if match:
        if param.param_type_name == "argument":  # its name says it: RUN, DATA, KIND
            name = name[: match.start()]
        else:
            name = name[: match.start()] + " " + readable_type(param, match.group(1))
    if re.search(r" \d+\.\.N$", name):  # the metavar already gives the range
        text = re.sub(r"\s*\[x>=\d+\]", "", text)
    return name, text


PANELS = ("Data", "Network", "Optimisation", "Stopping", "Output")  # in this order, then others


def format_grouped_options(command: typer.core.TyperCommand, ctx: typer.Context,
                           formatter, grouped: bool) -> None:
    """Arguments, then (when `grouped`) each help panel's options under its heading, in the
    order of PANELS, then the rest under "Options"."""
    args, panels = [], {name: [] for name in PANELS}
    for param in command.get_params(ctx):
        record = help_record(param, ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            args.append(record)
        else:
            panel = (getattr(param, "rich_help_panel", None) if grouped else None) or "Options"
            panels.setdefault(panel, []).append(record)
    if "Options" in panels:  # the ungrouped ones (--help among them) come last
        panels["Options"] = panels.pop("Options")
    if args:
        with formatter.section("Arguments"):
            formatter.write_dl(args)
    for panel, records in panels.items():
        if not records:
            continue
        with formatter.section(panel):
            formatter.write_dl(records)


def usage_pieces(collected: list[str]) -> list[str]:
    """The usage line's pieces without Typer's braces: RUN... rather than {RUN...}..."""
    pieces = []
    for piece in collected:
        required = re.fullmatch(r"\{(.+?)\}(\.\.\.)?", piece)
        if required:
            name = required.group(1)
            piece = name if name.endswith("...") or not required.group(2) else name + "..."
            piece = piece.upper() if piece.islower() else piece
        pieces.append(piece)
    return pieces


class Command(typer.core.TyperCommand):
    grouped = False  # options under one heading: few options, or panels shared by accident

    def format_options(self, ctx, formatter) -> None:
        format_grouped_options(self, ctx, formatter, self.grouped)

    def collect_usage_pieces(self, ctx) -> list[str]:
        return usage_pieces(super().collect_usage_pieces(ctx))


class GroupedCommand(Command):
    grouped = True  # train and gradcheck: dozens of options, under headings


class Group(typer.core.TyperGroup):
    def format_options(self, ctx, formatter) -> None:
        format_grouped_options(self, ctx, formatter, grouped=False)
        self.format_commands(ctx, formatter)

    def collect_usage_pieces(self, ctx) -> list[str]:
        return usage_pieces(super().collect_usage_pieces(ctx))
