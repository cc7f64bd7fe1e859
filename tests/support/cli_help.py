"""What a CLI11 program says it accepts, read from its --help output, command by command.

The man page and completion tests compare their documents with this, so that neither can miss a
command or an option the program has.
"""

import re
import subprocess


class Command:
    def __init__(self, path):
        self.path = path              # ("sharectl", "share", "create")
        self.options = {}             # "--visibility" -> its help text
        self.subcommands = []         # names, in help order
        self.positionals = []         # names, e.g. "FILE"

    @property
    def name(self):
        return " ".join(self.path)


def parse_help(text, path):
    """The Command a --help text describes."""
    command = Command(tuple(path))
    section = None
    waiting = []  # options whose description CLI11 wrapped onto the next line
    for line in text.splitlines():
        if waiting and re.match(r"^ {10,}\S", line):
            for name in waiting:
                command.options[name] = line.strip()
            waiting = []
            continue
        waiting = []
        header = re.match(r"^(Options|Subcommands|Positionals):$", line)
        if header:
            section = header.group(1)
            continue
        if not line.startswith("  ") or section is None:
            if line.strip() == "":
                section = None if section == "Subcommands" else section
            continue
        entry = re.match(r"^  (\S(?:.*?\S)?)(?: {2,}(.*))?$", line)
        if not entry:
            continue
        head, description = entry.group(1), entry.group(2) or ""
        if section == "Options":
            names = head.split(" ", 1)[0]
            for name in names.split(","):
                if name.startswith("-"):
                    command.options[name] = description
                    if not description:
                        waiting.append(name)
        elif section == "Subcommands":
            command.subcommands.append(head)
        elif section == "Positionals":
            command.positionals.append(head.split(" ", 1)[0])
    return command


def walk(program):
    """Every Command of program, depth first, from `program [subcommands...] --help`."""
    commands = []

    def visit(path):
        result = subprocess.run([program] + list(path[1:]) + ["--help"], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise AssertionError("%s --help failed (%d): %s" % (" ".join(path), result.returncode, result.stderr))
        command = parse_help(result.stdout, path)
        commands.append(command)
        for sub in command.subcommands:
            visit(path + [sub])

    visit([program.rsplit("/", 1)[-1]])
    return commands


def choices(description):
    """The values an option's help text lists as "a | b (default) | c", or [] if it lists none."""
    if "|" not in description:
        return []
    return [re.sub(r"\s*\(default\)", "", part).strip() for part in description.split("|")]
