"""How the ``pressure`` command line looks and fails: conventional help and one-line errors.

Typer's own help (0.29) writes required arguments as ``{source}`` and flags as ``--force <bool>``;
users expect ``SOURCE`` and ``--force``, so commands format their help here. Every error, a bad
option value included, is one line on stderr: exit status 2 for a wrong command line (usage),
1 for bad input (commands say so themselves through ``fail``).
"""

from __future__ import annotations

import sys

import typer
from typer.core import TyperCommand, TyperGroup

TYPE_NAMES = {"str": "TEXT", "float range": "FLOAT", "int range": "INTEGER", "float": "FLOAT", "int": "INTEGER",
              "path": "PATH", "file": "FILE", "directory": "DIR"}


def _metavar(param, ctx) -> str:
    """What goes after an option or stands for an argument in help: nothing for a flag."""
    if getattr(param, "is_flag", False):
        return ""
    if param.param_type_name == "argument":
        return (param.metavar or param.name).upper()
    if param.metavar:
        return param.metavar
    shown = param.display_type(ctx).strip("<>")
    return TYPE_NAMES.get(shown, shown if "|" in shown else shown.upper())


def _extras(param, ctx) -> str:
    """The bracketed notes after an option's help: its range and its default."""
    notes = []
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        low_open, high_open = getattr(param, "min_open", False), getattr(param, "max_open", False)
        if low is not None and high is not None:
            notes.append(f"{low:g}{'<' if low_open else '<='}x{'<' if high_open else '<='}{high:g}")
        elif low is not None:
            notes.append(f"x{'>' if low_open else '>='}{low:g}")
        else:
            notes.append(f"x{'<' if high_open else '<='}{high:g}")
    default = param.default
    if param.param_type_name == "option" and param.show_default and default not in (None, False, "", ()):
        value = getattr(default, "value", default)
        notes.append(f"default: {value:g}" if isinstance(value, float) else f"default: {value}")
    if param.required:
        notes.append("required")
    return f"  [{'; '.join(notes)}]" if notes else ""


class Command(TyperCommand):
    """A command whose help reads like any Unix tool's."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = ["[OPTIONS]"] if any(p.param_type_name == "option" for p in self.get_params(ctx)) else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = _metavar(param, ctx)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_help(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)))
        if self.help:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(self.help.strip())
        arguments = [(_metavar(p, ctx), (p.help or "") + _extras(p, ctx))
                     for p in self.get_params(ctx) if p.param_type_name == "argument"]
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        _format_options(self.get_params(ctx), ctx, formatter)


def _format_options(params, ctx, formatter) -> None:
    rows = []
    for param in params:
        if param.param_type_name != "option" or param.hidden:
            continue
        names = ", ".join(param.opts) + "".join(f" / {name}" for name in param.secondary_opts)
        rows.append((f"{names} {_metavar(param, ctx)}".strip(), (param.help or "") + _extras(param, ctx)))
    if rows:
        with formatter.section("Options"):
            formatter.write_dl(rows)


class Group(TyperGroup):
    """Runs the commands and turns every command-line error into one line."""

    def format_help(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, "[OPTIONS] COMMAND [ARGS]...")
        if self.help:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(self.help.strip())
        _format_options(self.get_params(ctx), ctx, formatter)
        commands = [(name, command.get_short_help_str(limit=200)) for name, command in self.commands.items()
                    if not command.hidden]
        with formatter.section("Commands"):
            formatter.write_dl(commands)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:  # a caller that handles errors itself
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        try:
            status = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except typer.Abort:  # Ctrl-C or end of input where the library was asking
            typer.echo("error: interrupted", err=True)
            sys.exit(130)
        except Exception as error:  # the command-line library's own errors
            if type(error).__name__ == "NoArgsIsHelpError":  # asked for nothing: the help
                typer.echo(error.ctx.get_help())
                sys.exit(0)
            if not hasattr(error, "format_message") or not hasattr(error, "exit_code"):
                raise
            context = getattr(error, "ctx", None)
            hint = f" (see {context.command_path} --help)" if context is not None else ""
            typer.echo(f"error: {error.format_message()}{hint if error.exit_code == 2 else ''}", err=True)
            sys.exit(error.exit_code)
        sys.exit(status if isinstance(status, int) else 0)
